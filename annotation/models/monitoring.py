"""Webhooks, their delivery log, alert rules and alerts.

An alert is one *condition* of a project (its ``key``, e.g. ``"agreement_below"`` or
``"annotator_quality:7"``), open from when the condition was first seen to when it cleared:
at most one open alert per key, enforced by the database, so re-checking a condition that
still holds never opens a second one. A later recurrence opens a new alert.
"""

import uuid

from django.conf import settings
from django.db import models

from annotation.models.project import Project


class WebhookEvent(models.TextChoices):
    SNAPSHOT_READY = "snapshot.ready", "Snapshot ready"
    JOB_FINISHED = "job.finished", "Job finished"
    LABEL_ISSUES_FOUND = "label_issues.found", "Label issues found"
    ALERT_OPENED = "alert.opened", "Alert opened"
    ALERT_RESOLVED = "alert.resolved", "Alert resolved"
    WEBHOOK_TEST = "webhook.test", "Test event (sent on request)"


# What a webhook can ask for: every event but the test one, which goes to the one webhook a
# manager tests, whatever it asked for.
SUBSCRIBABLE_EVENTS = [
    (v, label) for v, label in WebhookEvent.choices if v != WebhookEvent.WEBHOOK_TEST
]


class Webhook(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=2000)
    secret = models.CharField(max_length=200, help_text="HMAC-SHA256 key; never shown again.")
    events = models.JSONField(default=list, help_text="WebhookEvent values it receives.")
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"webhook {self.pk} -> {self.url}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event sent to one webhook, with every attempt in ``history``."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField(default=uuid.uuid4, editable=False)
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    history = models.JSONField(
        default=list, help_text='[{"at", "response_code", "error", "duration_ms"}] per attempt.'
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["webhook", "created_at"])]

    def __str__(self) -> str:
        return f"{self.event} to webhook {self.webhook_id} ({self.status})"


class AlertKind(models.TextChoices):
    AGREEMENT_BELOW = "agreement_below", "Agreement below a threshold"
    ANNOTATOR_QUALITY = "annotator_quality", "An annotator's quality below a threshold"
    ANNOTATOR_QUALITY_DROP = "annotator_quality_drop", "An annotator's quality dropping"
    LABEL_ISSUES_ABOVE = "label_issues_above", "A label-issues run finds more than N"
    JOB_FAILED = "job_failed", "A job fails"
    DRIFT = "drift", "Drift detected"
    STOPPING_RULE = "stopping_rule", "The stopping rule fired"


class AlertRule(models.Model):
    """A rule a manager turned on, with its parameters (``annotation.alert_rules``)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="alert_rules")
    kind = models.CharField(max_length=30, choices=AlertKind.choices)
    params = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind"]
        constraints = [
            models.UniqueConstraint(fields=["project", "kind"], name="alert_rule_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.params} ({'on' if self.enabled else 'off'})"


class Alert(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=30, choices=AlertKind.choices)
    key = models.CharField(max_length=200, help_text="The condition; one open alert per key.")
    message = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)
    opened_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "key"],
                condition=models.Q(resolved_at__isnull=True),
                name="alert_one_open_per_condition",
            ),
        ]
        indexes = [models.Index(fields=["project", "resolved_at"])]

    def __str__(self) -> str:
        state = "open" if self.resolved_at is None else "resolved"
        return f"{self.key}: {self.message} ({state})"
