from rest_framework import serializers

from annotation.models import Item
from annotation.text_selectors import REDACTED_VIEW


class ItemSerializer(serializers.ModelSerializer):
    """An item. ``text`` is the redacted copy when a reviewer redacted it, unless
    ``context["text_view"]`` is a manager's view of the originals. ``priority`` and
    ``predicted_label`` are those of model version ``scored_by``: a rescore writes the head of
    its ranking only, so the other items keep an older model's."""

    text = serializers.SerializerMethodField()
    image_url = serializers.SerializerMethodField()

    class Meta:
        model = Item
        fields = [
            "id", "external_id", "text", "image_url", "meta", "status", "annotation_count",
            "required_overlap", "priority", "predicted_label", "scored_by", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_text(self, item) -> str:
        return self.context.get("text_view", REDACTED_VIEW).text(item)

    def get_image_url(self, item) -> str | None:
        return f"/media/items/{item.pk}" if item.image else None


class ImportJsonSerializer(serializers.Serializer):
    items = serializers.ListField(child=serializers.JSONField(), min_length=1, max_length=100_000)


class ImportQuerySerializer(serializers.Serializer):
    on_duplicate = serializers.ChoiceField(choices=["error", "skip"], default="error")
    format = serializers.ChoiceField(
        choices=["csv", "jsonl", "json", "labelstudio"], required=False
    )


class ImportErrorSerializer(serializers.Serializer):
    """One bad row (``row`` 0: the whole file); see ``annotation/importing/errors.py``."""

    row = serializers.IntegerField()
    field = serializers.CharField()
    message = serializers.CharField()
    code = serializers.CharField(
        help_text="Machine-readable cause, e.g. duplicate, unclosed_quote."
    )
    line = serializers.IntegerField(allow_null=True, help_text="The line in the file, when known.")
    params = serializers.DictField(help_text="The facts behind the message (id, offset, ...).")


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    skipped = serializers.IntegerField()
    labels = serializers.IntegerField()
    rows = serializers.IntegerField()
    # A field named `errors`, not the attribute the base class has: the metaclass
    # moves declared fields out of the class, so nothing is overridden.
    errors = ImportErrorSerializer(many=True)  # type: ignore[assignment]
    error_count = serializers.IntegerField()
    error_codes = serializers.DictField(
        child=serializers.IntegerField(), help_text="How many rows have each code."
    )
    batch = serializers.IntegerField(allow_null=True)
