from rest_framework import serializers

from annotation.models import Item, Job


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
    errors = serializers.ListField(child=serializers.DictField())
    error_count = serializers.IntegerField()
    batch = serializers.IntegerField(allow_null=True)


class JobSerializer(serializers.ModelSerializer):
    duration_seconds = serializers.FloatField(read_only=True)

    class Meta:
        model = Job
        fields = [
            "id", "project", "kind", "status", "progress", "params", "result", "error",
            "attempts", "created_at", "started_at", "finished_at", "duration_seconds",
        ]  # fmt: skip
        read_only_fields = fields


class JobCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["active_learning", "label_issues", "agreement"])
    batch = serializers.IntegerField(
        required=False, min_value=1, max_value=1000,
        help_text="active_learning only: how many diverse items to put first "
        "(default: the project's batch_size). A job already waiting keeps its own.",
    )  # fmt: skip

    def validate(self, data):
        if "batch" in data and data["kind"] != "active_learning":
            raise serializers.ValidationError({"batch": "Only active_learning jobs take a batch."})
        return data

    def job_params(self) -> dict:
        return {"batch": self.validated_data["batch"]} if "batch" in self.validated_data else {}
