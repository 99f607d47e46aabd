"""The learning seam's records: each trained model is a version, the project's learning curve."""

from django.db import models


class ModelVersion(models.Model):
    project = models.ForeignKey(
        "annotation.Project", on_delete=models.CASCADE, related_name="model_versions"
    )
    job = models.ForeignKey(
        "annotation.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField()
    strategy = models.CharField(max_length=20)
    featurizer = models.CharField(max_length=30)
    n_labels = models.PositiveIntegerField()
    label_counts = models.JSONField(default=dict)
    cv_accuracy = models.FloatField(null=True, blank=True)
    cv_macro_f1 = models.FloatField(null=True, blank=True)
    n_scored = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["project", "version"], name="model_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.project_id} model v{self.version}"
