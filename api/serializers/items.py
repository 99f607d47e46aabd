from rest_framework import serializers

from annotation.models import Item


class ItemSerializer(serializers.ModelSerializer):
    image_url = serializers.SerializerMethodField()

    class Meta:
        model = Item
        fields = [
            "id", "external_id", "text", "image_url", "meta", "status", "annotation_count",
            "required_overlap", "priority", "predicted_label", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_image_url(self, item) -> str | None:
        return f"/media/items/{item.pk}" if item.image else None


class ImportJsonSerializer(serializers.Serializer):
    items = serializers.ListField(child=serializers.JSONField(), min_length=1, max_length=100_000)


class ImportQuerySerializer(serializers.Serializer):
    on_duplicate = serializers.ChoiceField(choices=["error", "skip"], default="error")
    format = serializers.ChoiceField(
        choices=["csv", "jsonl", "json", "labelstudio"], required=False
    )


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    skipped = serializers.IntegerField()
    labels = serializers.IntegerField()
    rows = serializers.IntegerField()
    # A field named `errors`, not the attribute the base class has: the metaclass
    # moves declared fields out of the class, so nothing is overridden.
    errors = serializers.ListField(child=serializers.DictField())  # type: ignore[assignment]
    error_count = serializers.IntegerField()
    batch = serializers.IntegerField(allow_null=True)
