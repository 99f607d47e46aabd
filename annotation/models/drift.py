"""Drift checks over time: one row per test a drift job ran (``learning.services.drift``)."""

from django.db import models

from annotation.models.job import Job
from annotation.models.project import Project


class DriftKind(models.TextChoices):
    DATA = "data", "Data"
    LABEL = "label", "Label"
    ANNOTATOR = "annotator", "Annotator"


class DriftCheck(models.Model):
    """``reference`` names what was compared with what (two import batches, the labeled set
    and the pool, a meta field, an annotator; import batches by number, since the drift alert
    that quotes it is every member's); ``window`` the sizes, and two import batches' file
    names; ``detail`` the test's own numbers. ``drift`` is ``p_value < alpha``."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="drift_checks")
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=10, choices=DriftKind.choices)
    reference = models.CharField(max_length=300)
    window = models.JSONField(default=dict)
    score = models.FloatField(null=True, blank=True)
    p_value = models.FloatField(null=True, blank=True)
    drift = models.BooleanField(default=False)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "-created_at"], name="drift_check_recent")]

    def __str__(self) -> str:
        return f"{self.project_id} {self.kind} drift {self.reference}: {self.drift}"
