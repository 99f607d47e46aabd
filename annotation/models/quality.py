"""Label quality: flagged labels, the review audit log, annotator quality, agreement over time."""

from django.conf import settings
from django.db import models

from annotation.models.item import Item
from annotation.models.job import Job
from annotation.models.project import Project


class IssueStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    RELABELED = "relabeled", "Relabeled"
    DISMISSED = "dismissed", "Dismissed"
    REQUEUED = "requeued", "Sent back for more annotations"


class LabelIssue(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="label_issues")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="label_issues")
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="label_issues")
    # given_label/suggested_label are display text (a multi-label set joined with ", ");
    # given_labels/suggested_labels the label lists themselves.
    given_label = models.CharField(max_length=100)
    suggested_label = models.CharField(max_length=100)
    given_labels = models.JSONField(default=list)
    suggested_labels = models.JSONField(default=list)
    suggested_probability = models.FloatField(null=True, blank=True)
    quality = models.FloatField(help_text="cleanlab label quality score: lower is worse.")
    reason = models.CharField(max_length=500)
    labels_fingerprint = models.CharField(max_length=64, help_text="Item's labels when flagged.")
    status = models.CharField(max_length=10, choices=IssueStatus.choices, default=IssueStatus.OPEN)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["quality", "id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "job"], name="label_issue_once_per_job")
        ]
        indexes = [models.Index(fields=["project", "status", "quality"])]

    def __str__(self) -> str:
        return f"item {self.item_id}: {self.given_label} -> {self.suggested_label}? ({self.status})"


class ReviewActionKind(models.TextChoices):
    """What a reviewer did. ``undo`` is logged by the undo service; a request cannot ask for it."""

    ACCEPT = "accept", "Accept"
    RELABEL = "relabel", "Relabel"
    DISMISS = "dismiss", "Dismiss"
    REQUEUE = "requeue", "Requeue"
    UNDO = "undo", "Undo"


class ReviewAction(models.Model):
    """The audit log: every review decision, with the labels before and after."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="review_actions")
    issue = models.ForeignKey(
        LabelIssue, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_actions"
    )
    action = models.CharField(max_length=10, choices=ReviewActionKind.choices)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(action__in=ReviewActionKind.values), name="review_action_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.action} on item {self.item_id} by user {self.reviewer_id}"


class AnnotatorQuality(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    score = models.FloatField()
    n_items = models.PositiveIntegerField()
    method = models.CharField(max_length=20)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "annotator qualities"
        constraints = [
            models.UniqueConstraint(
                fields=["project", "annotator"], name="annotator_quality_unique"
            )
        ]

    def __str__(self) -> str:
        return f"user {self.annotator_id}: {self.score:.3f} over {self.n_items} items"


class AnnotatorQualityRecord(models.Model):
    """An annotator's quality as one label-quality run measured it: the history behind the
    latest value in :class:`AnnotatorQuality`, one row per annotator per run (a retried run
    rewrites its own rows), read by the "quality dropping" alert rule and the dashboard."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    score = models.FloatField()
    n_items = models.PositiveIntegerField()
    method = models.CharField(max_length=20)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "annotator"], name="annotator_quality_once_per_run"
            )
        ]
        indexes = [
            models.Index(
                fields=["project", "annotator", "created_at"], name="annotator_quality_series"
            )
        ]

    def __str__(self) -> str:
        return f"user {self.annotator_id} at {self.created_at:%Y-%m-%d %H:%M}: {self.score:.3f}"


class AgreementRecord(models.Model):
    """One agreement value at one time: the trend is a query, not a recomputation.

    (A dataset version is a :class:`~annotation.models.Snapshot`; this is not one.)
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="agreement")
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    metric = models.CharField(max_length=30)
    scope = models.CharField(max_length=20)
    scope_key = models.CharField(max_length=255, blank=True)
    value = models.FloatField(null=True, blank=True)
    n_items = models.PositiveIntegerField(default=0)
    n_annotations = models.PositiveIntegerField(default=0)
    reason = models.CharField(max_length=255, blank=True, help_text="Why value is empty.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["project", "metric", "scope", "created_at"], name="agreement_record_series"
            )
        ]

    def __str__(self) -> str:
        return f"{self.metric} {self.scope} {self.scope_key}: {self.value}"
