"""Request and response shapes of the labeling API (the queue, labels, skips, history)."""

from rest_framework import serializers

from annotation.models import Annotation, Lease
from annotation.queue_selectors import item_suggestion
from annotation.selectors import item_text_shown

MAX_TIME_SPENT_MS = 24 * 3600 * 1000
MAX_EXCLUDED = 20


def image_url(item) -> str | None:
    return f"/media/items/{item.pk}" if item.image else None


class NextQuerySerializer(serializers.Serializer):
    """``?exclude=12,13``: items the page already holds (prefetch asks for another one)."""

    exclude = serializers.CharField(required=False, allow_blank=True, max_length=400)

    def validate_exclude(self, value: str) -> list[int]:
        parts = [p for p in value.split(",") if p.strip()]
        if len(parts) > MAX_EXCLUDED:
            raise serializers.ValidationError(f"At most {MAX_EXCLUDED} items.")
        ids = [p.strip() for p in parts]
        # ASCII digits below 2**63 only: a longer number overflowed the query (500).
        if not all(i.isascii() and i.isdigit() and int(i) < 2**63 for i in ids):
            raise serializers.ValidationError("Comma-separated item ids.")
        return [int(i) for i in ids]


class SuggestionSerializer(serializers.Serializer):
    # A field named `label`, not the attribute the base class has: the metaclass
    # moves declared fields out of the class, so nothing is overridden.
    label = serializers.CharField()  # type: ignore[assignment]
    probability = serializers.FloatField(allow_null=True)


class QueueItemSerializer(serializers.Serializer):
    """The leased item as ``next`` returns it. Context: ``project`` and ``role``."""

    id = serializers.IntegerField(source="item.pk")
    external_id = serializers.CharField(source="item.external_id")
    text = serializers.SerializerMethodField()
    image_url = serializers.SerializerMethodField()
    meta = serializers.JSONField(source="item.meta")
    lease_expires_at = serializers.DateTimeField(source="expires_at")
    suggestion = serializers.SerializerMethodField()

    def get_text(self, lease: Lease) -> str:
        return item_text_shown(text=lease.item.text, redacted_text=lease.item.redacted_text,
                               role=self.context.get("role"))  # fmt: skip

    def get_image_url(self, lease: Lease) -> str | None:
        return image_url(lease.item)

    def get_suggestion(self, lease: Lease) -> dict | None:
        return item_suggestion(project=self.context["project"], item=lease.item)


# The two responses of the labeling hot path (next, submit) are built as plain dicts:
# DRF's field-by-field serialization cost more CPU than the queries behind them. The
# serializers stay the documented schema; tests pin that both give the same JSON.
_DATETIME = serializers.DateTimeField()


def queue_item_data(lease: Lease, *, project, role: str | None) -> dict:
    """``QueueItemSerializer(lease, context={"project": project, "role": role}).data``, faster."""
    item = lease.item
    return {
        "id": item.pk,
        "external_id": str(item.external_id),
        "text": str(item_text_shown(text=item.text, redacted_text=item.redacted_text, role=role)),
        "image_url": image_url(item),
        "meta": item.meta,
        "lease_expires_at": _DATETIME.to_representation(lease.expires_at),
        "suggestion": item_suggestion(project=project, item=item),
    }


def annotation_data(annotation: Annotation) -> dict:
    """``AnnotationSerializer(annotation).data``, faster."""
    a = annotation
    return {
        "id": a.pk, "item": a.item_id, "project": a.project_id, "labels": a.labels,
        "source": str(a.source), "time_spent_ms": a.time_spent_ms, "suggestion": str(a.suggestion),
        "suggestion_accepted": a.suggestion_accepted,
        "created_at": _DATETIME.to_representation(a.created_at),
        "updated_at": _DATETIME.to_representation(a.updated_at),
    }  # fmt: skip


class LabelsInputSerializer(serializers.Serializer):
    """``{"label": "x"}`` or ``{"labels": ["x", "y"]}``; validated into ``labels``."""

    # A field named `label`, not Field.label (see SuggestionSerializer).
    label = serializers.CharField(required=False, max_length=100)  # type: ignore[assignment]
    labels = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=100
    )
    time_spent_ms = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=MAX_TIME_SPENT_MS
    )

    def validate(self, data: dict) -> dict:
        if ("label" in data) == ("labels" in data):
            raise serializers.ValidationError({"labels": ['Send either "label" or "labels".']})
        if "label" in data:
            data["labels"] = [data.pop("label")]
        return data


class AnnotationInputSerializer(LabelsInputSerializer):
    suggestion_accepted = serializers.BooleanField(required=False, allow_null=True)


class AnnotationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Annotation
        fields = [
            "id", "item", "project", "labels", "source", "time_spent_ms", "suggestion",
            "suggestion_accepted", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class ConflictSerializer(serializers.Serializer):
    """A label the queue's rule refused: ``code`` is already_annotated, item_complete,
    lease_lost or not_leased; ``annotation_id`` only with already_annotated."""

    code = serializers.CharField()
    detail = serializers.CharField()
    annotation_id = serializers.IntegerField(required=False)


class SkipInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class SkipSerializer(serializers.Serializer):
    item = serializers.IntegerField(source="item_id")
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class HistoryItemSerializer(serializers.Serializer):
    """Context: ``role`` (the text as ``ItemSerializer`` shows it)."""

    id = serializers.IntegerField(source="pk")
    external_id = serializers.CharField()
    text = serializers.SerializerMethodField()
    image_url = serializers.SerializerMethodField()
    meta = serializers.JSONField()

    def get_text(self, item) -> str:
        return item_text_shown(text=item.text, redacted_text=item.redacted_text,
                               role=self.context.get("role"))  # fmt: skip

    def get_image_url(self, item) -> str | None:
        return image_url(item)


class HistoryEntrySerializer(AnnotationSerializer):
    """One of my annotations with the item it labels, for the page's "go back"."""

    item = HistoryItemSerializer()


class HistoryQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200, default=20)
    before = serializers.IntegerField(required=False, min_value=1)


class ProgressSerializer(serializers.Serializer):
    mine = serializers.IntegerField()
    done = serializers.IntegerField()
    total = serializers.IntegerField()
