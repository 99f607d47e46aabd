"""Snapshot bodies: the curation spec in, snapshot metadata out."""

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from rest_framework import serializers

from annotation.models import JobStatus, Snapshot, SnapshotStatus
from annotation.selectors import CAN_MANAGE
from annotation.services.snapshots import snapshot_managers_only
from annotation.snapshots.spec import (
    AUDIT_EXCLUSIONS,
    LABEL_SOURCES,
    SPLIT_NAMES,
    SnapshotSpec,
    spec_parse,
)
from annotation.snapshots.writers import FORMAT_FILES


def _flag(description: str, default: bool = False) -> dict[str, Any]:
    return {"type": "boolean", "default": default, "description": description}


_FRACTION = {"type": "number", "minimum": 0, "maximum": 1, "nullable": True, "default": None}
# The request body of ``POST /api/projects/{id}/snapshots`` as the schema shows it; the rules
# are ``spec_parse``'s (tests/api/test_schema.py keeps the two field lists equal).
SPEC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "label_source": {"type": "string", "enum": list(LABEL_SOURCES), "default": "final"},
        "min_agreement": _FRACTION,
        "min_consensus_quality": _FRACTION,
        "exclude_open_issues": _flag("Leave out items with an open label issue."),
        "only_reviewed": _flag("Only items a reviewer acted on."),
        "labels": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "nullable": True,
            "default": None,
        },  # fmt: skip
        "splits": {
            "type": "object",
            "additionalProperties": False,
            "properties": {n: {"type": "number", "minimum": 0} for n in SPLIT_NAMES},
            "description": "Ratios summing to 1.",
        },  # fmt: skip
        "stratify": _flag("Every label gets its share of each split.", default=True),
        "seed": {"type": "integer", "minimum": 0, "maximum": 2**32 - 1, "default": 0},
        "exclude": {
            "type": "array",
            "items": {"type": "string", "enum": list(AUDIT_EXCLUSIONS)},
            "description": "Kinds of the latest audit's findings to leave out.",
        },  # fmt: skip
        "redact_pii": _flag("Replace the personal data the latest audit found."),
        "originals": _flag(
            "Managers only: the original texts of items a reviewer redacted "
            "(the snapshot then downloads to managers only)."
        ),  # fmt: skip
        "annotator_names": _flag(
            "Managers only: usernames instead of annotator-1, "
            "annotator-2, ... (the snapshot then downloads to "
            "managers only)."
        ),  # fmt: skip
        "compression": {
            "type": "object",
            "nullable": True,
            "default": None,
            "additionalProperties": False,
            "required": ["profile"],
            "properties": {
                "profile": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
                "level": {
                    "oneOf": [
                        {"type": "number", "minimum": 0, "maximum": 1},
                        {"type": "string", "enum": ["proposed"]},
                    ],
                    "default": "proposed",
                },
            },
            "description": "Rows carry a compression profile's compressed text (a level its "
            "latest sweep measured, or the proposed one) with tokens and tokens_original.",
        },  # fmt: skip
        "include_original": _flag("With compression: rows also carry original_text."),
    },
}


class SnapshotSpecSerializer(serializers.Serializer):
    """The request body *is* the spec (every field optional); errors are keyed by field.

    Needs ``context["label_names"]``: the project's labels, to name unknown ones.
    """

    def to_internal_value(self, data: Any) -> SnapshotSpec:
        if not isinstance(data, dict):
            raise serializers.ValidationError({"spec": ["The body must be a JSON object."]})
        try:
            return spec_parse(data, label_names=self.context["label_names"])
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc


class SnapshotNotBuiltSerializer(serializers.Serializer):
    """409: the snapshot's files are not there yet (or its job failed)."""

    detail = serializers.CharField()
    status = serializers.CharField()
    job = serializers.IntegerField(allow_null=True)


class RelabeledSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The item's external id.")
    before = serializers.CharField(help_text="Its labels in snapshot a, joined.")
    after = serializers.CharField(help_text="Its labels in snapshot b, joined.")


class DiffExamplesSerializer(serializers.Serializer):
    added = serializers.ListField(child=serializers.CharField())
    removed = serializers.ListField(child=serializers.CharField())
    relabeled = RelabeledSerializer(many=True)


class SnapshotDiffSerializer(serializers.Serializer):
    """What changed from snapshot ``a`` to ``b``: counts, and the first examples of each."""

    a = serializers.IntegerField()
    b = serializers.IntegerField()
    a_version = serializers.IntegerField()
    b_version = serializers.IntegerField()
    added = serializers.IntegerField()
    removed = serializers.IntegerField()
    relabeled = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    examples = DiffExamplesSerializer()


class SnapshotSerializer(serializers.ModelSerializer):
    """A snapshot. ``lineage`` is null for non-managers when the spec asked for what only
    managers see (annotator names, original texts); the view passes ``context["role"]``."""

    status = serializers.SerializerMethodField()
    job = serializers.SerializerMethodField()
    created_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    downloads = serializers.SerializerMethodField()

    class Meta:
        model = Snapshot
        fields = [
            "id", "project", "version", "status", "job", "spec", "stats", "lineage",
            "content_hash", "row_count", "created_by", "created_at", "downloads",
        ]  # fmt: skip
        read_only_fields = fields

    def to_representation(self, snapshot: Snapshot) -> dict[str, Any]:
        data = super().to_representation(snapshot)
        if snapshot_managers_only(snapshot) and self.context.get("role") not in CAN_MANAGE:
            data["lineage"] = None
        return data

    def get_status(self, snapshot: Snapshot) -> str:
        # A job that failed before the handler ran leaves the snapshot "queued".
        job = snapshot.job
        failed = job is not None and job.status == JobStatus.FAILED
        return SnapshotStatus.FAILED if failed else snapshot.status

    def get_job(self, snapshot: Snapshot) -> dict[str, Any] | None:
        job = snapshot.job
        if job is None:
            return None
        return {"id": job.pk, "status": job.status, "progress": job.progress, "error": job.error}

    def get_downloads(self, snapshot: Snapshot) -> dict[str, str]:
        url = reverse("snapshot-download", args=[snapshot.pk])
        return {fmt: f"{url}?format={fmt}" for fmt in FORMAT_FILES}
