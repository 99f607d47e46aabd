"""Review queue: flagged items, review actions, the audit log and annotator quality."""

from rest_framework import serializers

from annotation.models import (
    AnnotatorQuality,
    IssueStatus,
    Job,
    LabelIssue,
    ReviewAction,
    ReviewActionKind,
)
from annotation.review_selectors import item_label_summary
from annotation.services.review import REQUESTABLE_ACTIONS
from annotation.text_selectors import REDACTED_VIEW


class LabelIssueSerializer(serializers.ModelSerializer):
    """One flagged item with what the reviewer needs to decide: the item, each annotator's
    label, the model's suggestion and the agreement on the item.

    ``given_label``/``suggested_label`` are display text (a multi-label set joined with ", ");
    ``given_labels``/``suggested_labels`` the lists, e.g. to relabel with the suggestion."""

    item = serializers.SerializerMethodField()
    run: serializers.PrimaryKeyRelatedField[Job] = serializers.PrimaryKeyRelatedField(
        source="job", read_only=True
    )  # the job, by id
    given_labels = serializers.ListField(child=serializers.CharField(), read_only=True)
    suggested_labels = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = LabelIssue
        fields = [
            "id", "item", "run", "given_label", "suggested_label", "given_labels",
            "suggested_labels", "suggested_probability", "quality", "reason", "status",
            "resolved_at", "created_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_item(self, issue) -> dict:
        item = issue.item
        return {
            "id": item.pk,
            "external_id": item.external_id,
            "text": REDACTED_VIEW.text(item),  # reviewers never read originals
            "image_url": f"/media/items/{item.pk}" if item.image else None,
            "meta": item.meta,
            "status": item.status,
            "final_labels": item.final_labels,
            "consensus_labels": item.consensus_labels,
            "consensus_quality": item.consensus_quality,
            "consensus_method": item.consensus_method,
            **item_label_summary(item=item),
        }


class LabelIssueQuerySerializer(serializers.Serializer):
    # A field named `label`, not the attribute the base class has: the metaclass
    # moves declared fields out of the class, so nothing is overridden.
    label = serializers.CharField(required=False, max_length=100)  # type: ignore[assignment]
    status = serializers.ChoiceField(choices=IssueStatus.values, required=False)


class ReviewSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=REQUESTABLE_ACTIONS)
    # A field named `label`, not the attribute the base class has: the metaclass
    # moves declared fields out of the class, so nothing is overridden.
    label = serializers.CharField(required=False, max_length=100)  # type: ignore[assignment]
    labels = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=100
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")

    def validate(self, data):
        relabel = data["action"] == ReviewActionKind.RELABEL
        if relabel and not (data.get("label") or data.get("labels")):
            raise serializers.ValidationError({"label": "Relabel needs a label."})
        return data


class ReviewActionSerializer(serializers.ModelSerializer):
    reviewer = serializers.CharField(source="reviewer.username", read_only=True)
    run: serializers.PrimaryKeyRelatedField[Job] = serializers.PrimaryKeyRelatedField(
        source="job", read_only=True, allow_null=True
    )

    class Meta:
        model = ReviewAction
        fields = ["id", "item", "issue", "run", "reviewer", "action", "before", "after", "note",
                  "created_at"]  # fmt: skip
        read_only_fields = fields


class AnnotatorQualitySerializer(serializers.ModelSerializer):
    annotator = serializers.CharField(source="annotator.username", read_only=True)
    run: serializers.PrimaryKeyRelatedField[Job] = serializers.PrimaryKeyRelatedField(
        source="job", read_only=True, allow_null=True
    )

    class Meta:
        model = AnnotatorQuality
        fields = ["annotator", "score", "n_items", "method", "run", "updated_at"]
        read_only_fields = fields


class QualityRunSerializer(serializers.Serializer):
    job = serializers.IntegerField(allow_null=True, help_text="The label-quality run.")
    at = serializers.DateTimeField()


class AnnotatorSeriesSerializer(serializers.Serializer):
    annotator = serializers.CharField()
    scores = serializers.ListField(
        child=serializers.FloatField(allow_null=True), help_text="Per run; null: not measured."
    )
    n_items = serializers.ListField(child=serializers.IntegerField(allow_null=True))


class AnnotatorQualityHistorySerializer(serializers.Serializer):
    runs = QualityRunSerializer(many=True, help_text="Oldest first, the latest 30.")
    annotators = AnnotatorSeriesSerializer(many=True)
