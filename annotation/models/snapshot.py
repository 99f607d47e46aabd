"""Immutable, numbered dataset snapshots with their lineage."""

from django.conf import settings
from django.db import models

from annotation.models.job import Job
from annotation.models.project import Project


class SnapshotStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class Snapshot(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="snapshots")
    version = models.PositiveIntegerField()
    spec = models.JSONField(default=dict)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(
        max_length=10, choices=SnapshotStatus.choices, default=SnapshotStatus.QUEUED
    )
    lineage = models.JSONField(default=dict, blank=True)
    stats = models.JSONField(default=dict, blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    row_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["project", "version"], name="snapshot_unique_version"),
            models.CheckConstraint(
                condition=models.Q(status__in=SnapshotStatus.values), name="snapshot_status_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project} v{self.version}"
