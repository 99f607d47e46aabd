"""Compression profile bodies: ``{"name", "filters": [{"name": ..., **params}]}`` in, the
profile with its ``version`` out. The filters' own rules are the service's to check."""

from rest_framework import serializers

from annotation.models import CompressionProfile


class CompressionFilterSerializer(serializers.Serializer):
    """One filter: its ``name`` and its parameters as further keys."""

    name = serializers.CharField(help_text="markup, normalize, replies, boilerplate, "
                                 "repetition, near_duplicates or model.")  # fmt: skip


class CompressionProfileSerializer(serializers.ModelSerializer):
    filters = serializers.ListField(child=serializers.DictField(), read_only=True)

    class Meta:
        model = CompressionProfile
        fields = ["id", "project", "name", "filters", "version", "created_at", "updated_at"]
        read_only_fields = fields


class CompressionProfileWriteSerializer(serializers.Serializer):
    """Shapes only: names and parameters are checked by the service (400 keyed by field)."""

    name = serializers.CharField(max_length=100, allow_blank=True)
    filters = serializers.JSONField(
        help_text='An ordered list of filters, e.g. [{"name": "boilerplate", "min_share": 0.2}].'
    )
