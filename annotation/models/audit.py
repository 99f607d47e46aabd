"""The data audit's findings, and the access log an auditor reads."""

from django.conf import settings
from django.db import models

from annotation.models.item import Item
from annotation.models.job import Job
from annotation.models.project import Project


class FindingKind(models.TextChoices):
    DUPLICATE = "duplicate", "Exact duplicates"
    NEAR_DUPLICATE = "near_duplicate", "Near-duplicates"
    CONFLICT = "conflict", "Duplicates with different labels"
    OUTLIER = "outlier", "Outlier"
    LOW_INFORMATION = "low_information", "Low information"
    IMBALANCE = "imbalance", "Class imbalance or coverage"
    PII = "pii", "Personal data"


class FindingStatus(models.TextChoices):
    OPEN = "open", "Open"
    KEPT = "kept", "Kept"
    EXCLUDED = "excluded", "Excluded from exports"
    MERGED = "merged", "Merged"
    REDACTED = "redacted", "Redacted"


class AuditFinding(models.Model):
    """One thing an audit run found: its kind, the items involved, a score and the evidence.

    ``evidence`` is kind-specific JSON (a PII finding lists its entities with type and span;
    an imbalance finding names the label or metadata slice). A finding about the project as a
    whole (imbalance) has no items.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="audit_findings")
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="audit_findings")
    kind = models.CharField(max_length=20, choices=FindingKind.choices)
    items = models.ManyToManyField(Item, related_name="audit_findings", blank=True)
    score = models.FloatField(help_text="Strength of the finding in [0, 1]: higher is stronger.")
    evidence = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=FindingStatus.choices, default=FindingStatus.OPEN
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-score", "id"]
        indexes = [models.Index(fields=["project", "status", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind} ({self.status}) in project {self.project_id}"


class AccessLog(models.Model):
    """Who did what to which object, and when: downloads, role changes, settings changes,
    views of personal data. Written by services only, never changed; it keeps plain ids and
    names rather than foreign keys, so it outlives the items, projects and users it names."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor = models.CharField(max_length=150, blank=True, help_text="Username at the time.")
    project_id_logged = models.BigIntegerField(null=True, blank=True, db_index=True)
    action = models.CharField(max_length=40)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.object_type}"
