"""Reads of webhooks, their delivery log, alert rules and alerts."""

from django.db.models import Case, Count, Q, QuerySet, Value, When

from annotation.models import (
    Alert,
    AlertKind,
    AlertRule,
    Project,
    Webhook,
    WebhookDelivery,
)
from annotation.services.alert_rules import DEFAULT_PARAMS


def webhooks_of(*, project: Project) -> QuerySet[Webhook]:
    return Webhook.objects.filter(project=project).annotate(
        failed_deliveries=Count("deliveries", filter=Q(deliveries__status="failed"))
    )


def webhook_get(*, project: Project, webhook_id: int) -> Webhook | None:
    return webhooks_of(project=project).filter(pk=webhook_id).first()


def deliveries_of(*, webhook: Webhook) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(webhook=webhook).order_by("-created_at", "-pk")


def alerts_of(*, project: Project, state: str | None = None) -> QuerySet[Alert]:
    """Open alerts first (newest first), then resolved ones; ``state`` keeps one kind."""
    alerts = Alert.objects.filter(project=project)
    if state == "open":
        alerts = alerts.filter(resolved_at__isnull=True)
    elif state == "resolved":
        alerts = alerts.filter(resolved_at__isnull=False)
    # Open (resolved_at NULL) first; then the newest opened first in each group.
    open_first = Case(When(resolved_at__isnull=True, then=Value(0)), default=Value(1))
    return alerts.order_by(open_first, "-opened_at", "-pk")


def open_alert_counts(*, project_ids: list[int]) -> dict[int, int]:
    rows = (
        Alert.objects.filter(project_id__in=project_ids, resolved_at__isnull=True)
        .values("project_id")
        .annotate(n=Count("pk"))
    )
    return {row["project_id"]: row["n"] for row in rows}


def alert_rules_of(*, project: Project) -> list[dict]:
    """Every kind of rule, in ``AlertKind`` order: its state, or off with its defaults."""
    saved = {rule.kind: rule for rule in AlertRule.objects.filter(project=project)}
    rules = []
    for kind in AlertKind.values:
        rule = saved.get(kind)
        rules.append({
            "kind": kind, "description": AlertKind(kind).label,
            "enabled": bool(rule and rule.enabled),
            "params": {**DEFAULT_PARAMS[kind], **(rule.params if rule else {})},
        })  # fmt: skip
    return rules
