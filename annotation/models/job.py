"""Run records: every background job (import, active learning, label issues, agreement,
snapshot) is one row whose status decides whether there is work to do."""

from django.conf import settings
from django.db import models

from annotation.models.project import Project


class JobKind(models.TextChoices):
    IMPORT = "import", "Import"
    ACTIVE_LEARNING = "active_learning", "Active learning"
    LABEL_ISSUES = "label_issues", "Label issues"
    AGREEMENT = "agreement", "Agreement"
    SNAPSHOT = "snapshot", "Snapshot"
    AUDIT = "audit", "Data audit"
    COMPRESSION = "compression", "Compression sweep"
    DRIFT = "drift", "Drift checks"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Job(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=20, choices=JobKind.choices)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.FloatField(default=0.0)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Runs started; the current one's number is its claim token."
    )
    task_id = models.CharField(max_length=64, blank=True, help_text="Celery message running it.")
    claimed_by = models.CharField(
        max_length=200, blank=True, help_text="host:pid@namespace of the process running it."
    )
    sent_at = models.DateTimeField(null=True, blank=True, help_text="Its last message was sent.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Its runner's last sign of life (every few seconds)."
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Coalescing, enforced by the database: per project and kind at most
            # one job waiting. (Import, snapshot and compression jobs each carry their own
            # file, snapshot or profile, and never coalesce.)
            models.UniqueConstraint(
                fields=["project", "kind"],
                condition=models.Q(status="queued")
                & ~models.Q(kind="import")
                & ~models.Q(kind="snapshot")
                & ~models.Q(kind="compression"),
                name="job_one_waiting_per_kind",
            ),
        ]
        indexes = [models.Index(fields=["project", "kind", "status"])]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None
