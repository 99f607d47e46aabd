from typing import Any

from django.contrib.auth.models import User
from rest_framework import serializers

from annotation.audit_selectors import ACCESS_ACTIONS, LISTED_MEMBERS
from annotation.models import AccessLog, AuditFinding, FindingKind, FindingStatus, Job
from annotation.services.audit import ACTIONS


class AuditFindingSerializer(serializers.ModelSerializer):
    items = serializers.SerializerMethodField()
    item_count = serializers.SerializerMethodField()
    resolved_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    run: serializers.PrimaryKeyRelatedField[Job] = serializers.PrimaryKeyRelatedField(
        source="job", read_only=True
    )  # the job, by id

    class Meta:
        model = AuditFinding
        fields = ["id", "kind", "status", "score", "items", "item_count", "evidence", "run",
                  "created_at", "resolved_by", "resolved_at"]  # fmt: skip
        read_only_fields = fields

    def get_items(self, finding: AuditFinding) -> list[dict[str, Any]]:
        """Each item's ``id`` and ``external_id``, the first ``LISTED_MEMBERS`` by id
        (prefetched per page); ``item_count`` says how many the finding has."""
        listed = getattr(finding, "listed_items", None)  # prefetched by audit_findings
        if listed is None:
            listed = finding.items.order_by("pk")[:LISTED_MEMBERS]
        return [{"id": i.pk, "external_id": i.external_id} for i in listed]

    def get_item_count(self, finding: AuditFinding) -> int:
        counted = getattr(finding, "item_count", None)  # annotated by audit_findings
        return counted if counted is not None else finding.items.count()


class AuditQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=FindingKind.values, required=False)
    status = serializers.ChoiceField(choices=FindingStatus.values, required=False)
    page = serializers.IntegerField(required=False, min_value=1)


class AuditRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class AuditPageSerializer(serializers.Serializer):
    """``GET /api/projects/{id}/audit``: the latest finished run's summary and its findings."""

    run = AuditRunSerializer(allow_null=True)
    summary = serializers.DictField(child=serializers.IntegerField())
    duplicate_rate = serializers.FloatField(allow_null=True)
    pii_by_type = serializers.DictField(child=serializers.IntegerField())
    imbalance = serializers.DictField(allow_null=True)
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    findings = AuditFindingSerializer(many=True)


class FindingActionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=list(ACTIONS))
    keep_item = serializers.IntegerField(required=False, min_value=1)


class AccessLogSerializer(serializers.ModelSerializer):
    """One entry: when, who (the id and username at the time), what, on which object."""

    class Meta:
        model = AccessLog
        fields = ["id", "created_at", "actor_id", "actor", "action", "object_type", "object_id",
                  "detail"]  # fmt: skip
        read_only_fields = fields


class AccessLogQuerySerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=ACCESS_ACTIONS, required=False)
    page = serializers.IntegerField(required=False, min_value=1)


class ContentDeleteSerializer(serializers.Serializer):
    """``POST /api/projects/{id}/delete-content``: which items, and why (into the access log)."""

    items = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
                                  min_length=1, max_length=10_000)  # fmt: skip
    reason = serializers.CharField(max_length=200)


class ContentDeletedSerializer(serializers.Serializer):
    deleted = serializers.IntegerField(help_text="Items whose content went now.")
    already_deleted = serializers.ListField(child=serializers.IntegerField())
