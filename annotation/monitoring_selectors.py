"""Reads of webhooks, their delivery log, alert rules and alerts."""

from django.db.models import Case, Count, Q, QuerySet, Value, When

from annotation.models import (
    Alert,
    AlertKind,
    AlertRule,
    Project,
    Role,
    Webhook,
    WebhookDelivery,
)
from annotation.selectors import CAN_MANAGE, CAN_REVIEW
from annotation.services.alert_rules import DEFAULT_PARAMS


def webhooks_of(*, project: Project) -> QuerySet[Webhook]:
    return Webhook.objects.filter(project=project).annotate(
        failed_deliveries=Count("deliveries", filter=Q(deliveries__status="failed"))
    )


def webhook_get(*, project: Project, webhook_id: int) -> Webhook | None:
    return webhooks_of(project=project).filter(pk=webhook_id).first()


def deliveries_of(*, webhook: Webhook, status: str | None = None) -> QuerySet[WebhookDelivery]:
    """The webhook's delivery log, newest first; ``status`` keeps one ``DeliveryStatus``."""
    deliveries = WebhookDelivery.objects.filter(webhook=webhook)
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries.order_by("-created_at", "-pk")


def project_deliveries(*, project: Project, status: str | None = None) -> QuerySet[WebhookDelivery]:
    """Every webhook's deliveries of ``project``, newest first (the page's log)."""
    deliveries = WebhookDelivery.objects.filter(webhook__project=project)
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries.select_related("webhook").order_by("-created_at", "-pk")


# Who sees the alerts of each kind: as the data behind them. Agreement and a person's quality
# are the reviewers' and managers' (as /agreement and /annotator-quality); a failed job's
# error may quote what only its kind's followers see (an import's rows): the managers'. A
# count of flagged labels and the project-wide monitoring signals are every member's, except
# annotator drift (``drift:annotator...`` keys), which names a person.
ALERT_KIND_ROLES: dict[str, frozenset[str]] = {
    AlertKind.AGREEMENT_BELOW: CAN_REVIEW,
    AlertKind.ANNOTATOR_QUALITY: CAN_REVIEW,
    AlertKind.ANNOTATOR_QUALITY_DROP: CAN_REVIEW,
    AlertKind.LABEL_ISSUES_ABOVE: frozenset(Role.values),
    AlertKind.JOB_FAILED: CAN_MANAGE,
    AlertKind.DRIFT: frozenset(Role.values),
    AlertKind.STOPPING_RULE: frozenset(Role.values),
}
PERSONAL_KEY_PREFIXES = ("drift:annotator",)


def _visible_to(role: str | None) -> Q:
    kinds = [kind for kind, roles in ALERT_KIND_ROLES.items() if role in roles]
    visible = Q(kind__in=kinds)
    if role not in CAN_REVIEW:
        for prefix in PERSONAL_KEY_PREFIXES:
            visible &= ~Q(key__startswith=prefix)
    return visible


def alerts_of(*, project: Project, role: str | None,
              state: str | None = None) -> QuerySet[Alert]:  # fmt: skip
    """The alerts ``role`` may see, open first (newest first), then resolved ones; ``state``
    keeps one kind."""
    alerts = Alert.objects.filter(project=project).filter(_visible_to(role))
    if state == "open":
        alerts = alerts.filter(resolved_at__isnull=True)
    elif state == "resolved":
        alerts = alerts.filter(resolved_at__isnull=False)
    # Open (resolved_at NULL) first; then the newest opened first in each group.
    open_first = Case(When(resolved_at__isnull=True, then=Value(0)), default=Value(1))
    return alerts.order_by(open_first, "-opened_at", "-pk")


def open_alert_counts(*, roles: dict[int, str]) -> dict[int, int]:
    """Open alerts per project id that its ``roles[project_id]`` may see (one query)."""
    if not roles:
        return {}
    visible = Q()
    for project_id, role in roles.items():
        visible |= Q(project_id=project_id) & _visible_to(role)
    rows = (
        Alert.objects.filter(resolved_at__isnull=True).filter(visible)
        .values("project_id").annotate(n=Count("pk"))
    )  # fmt: skip
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
