"""Webhooks, their deliveries, alert rules and alerts. A webhook's ``secret`` is write-only:
no answer ever carries it."""

from rest_framework import serializers

from annotation.models import (
    SUBSCRIBABLE_EVENTS,
    Alert,
    AlertKind,
    DeliveryStatus,
    Webhook,
    WebhookDelivery,
)


class WebhookSerializer(serializers.ModelSerializer):
    failed_deliveries = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Webhook
        fields = ["id", "project", "url", "events", "active", "created_at", "failed_deliveries"]
        read_only_fields = fields


class WebhookWriteSerializer(serializers.Serializer):
    """Shapes only: the URL's host, the events and the secret are the service's to check."""

    url = serializers.CharField(max_length=2000, help_text="http(s) to a public host.")
    secret = serializers.CharField(
        max_length=200, write_only=True, help_text="16 to 200 characters; never returned."
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=SUBSCRIBABLE_EVENTS), allow_empty=False
    )
    active = serializers.BooleanField(required=False, default=True)


class WebhookDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = ["id", "event_id", "event", "payload", "status", "attempts", "response_code",
                  "error", "history", "created_at", "last_attempt_at", "delivered_at",
                  "duration_ms"]  # fmt: skip
        read_only_fields = fields


class DeliveryQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, required=False)
    page = serializers.IntegerField(min_value=1, required=False)


class AlertSerializer(serializers.ModelSerializer):
    state = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = ["id", "kind", "key", "message", "data", "state", "opened_at", "resolved_at"]
        read_only_fields = fields

    def get_state(self, alert: Alert) -> str:
        return "open" if alert.resolved_at is None else "resolved"


class AlertQuerySerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=["open", "resolved"], required=False)
    page = serializers.IntegerField(min_value=1, required=False)


class AlertRuleSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AlertKind.choices)
    description = serializers.CharField(read_only=True)
    enabled = serializers.BooleanField(default=True)
    params = serializers.DictField(
        required=False, default=dict,
        help_text="agreement_below {threshold, metric}; annotator_quality {threshold, "
        "min_items}; annotator_quality_drop {drop, min_items, runs}; label_issues_above {count}; job_failed {kinds}; drift and stopping_rule {}.",
    )  # fmt: skip


class AlertRulesSerializer(serializers.Serializer):
    rules = AlertRuleSerializer(many=True)
