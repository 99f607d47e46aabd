"""Compression profiles and the compressed text derived from them.

A profile is plain data (an ordered list of filters with their parameters) whose ``version``
grows on every change of its filters, so anything derived from it names the exact filters
that made it. Compressed text is derived and cached per (item, profile, version, level):
originals are never overwritten, and ``segments`` maps the kept characters back to them.
"""

from django.db import models

from annotation.models.item import Item
from annotation.models.project import Project

DEFAULT_PROFILE_NAME = "default"


class CompressionProfile(models.Model):
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="compression_profiles"
    )
    name = models.CharField(max_length=100)
    filters = models.JSONField(default=list, help_text='[{"name": ..., **params}] in order.')
    version = models.PositiveIntegerField(default=1, help_text="Grows on every filters change.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="compression_profile_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class CompressedText(models.Model):
    """One item compressed by one profile version at one aggressiveness level.

    ``segments``: the kept segments ``[[out_start, orig_start, length], ...]``; the characters
    of the original no segment covers were removed (a struck-through span in the preview).
    """

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    profile = models.ForeignKey(
        CompressionProfile, on_delete=models.CASCADE, related_name="compressed_texts"
    )
    version = models.PositiveIntegerField()
    level = models.FloatField()
    text = models.TextField()
    tokens = models.PositiveIntegerField()
    tokens_original = models.PositiveIntegerField()
    segments = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "version", "level", "item"], name="compressed_text_key"
            ),
        ]

    def __str__(self) -> str:
        return f"item {self.item_id} by profile {self.profile_id} v{self.version} at {self.level}"
