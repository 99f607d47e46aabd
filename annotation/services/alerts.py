"""Alerts: one per condition, not one per check.

``alert_raise`` opens the alert of a condition (its ``key``) unless one is open already,
and ``alert_clear`` resolves it when the condition no longer holds; a later recurrence opens
a new alert. The database keeps at most one open alert per (project, key), so two checks
racing still open one. Opening and resolving each emit a webhook event
(``alert.opened`` / ``alert.resolved``), sent when the transaction commits.

Whoever watches a condition calls these two functions (the rules in
``annotation.services.alert_rules``; the monitoring work through its hooks there).
"""

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation.models import Alert, Project, WebhookEvent
from annotation.services.webhooks import event_emit


def _event_data(alert: Alert) -> dict[str, Any]:
    return {
        "alert": alert.pk, "kind": alert.kind, "key": alert.key, "message": alert.message,
        "data": alert.data, "opened_at": alert.opened_at.isoformat(),
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
    }  # fmt: skip


def alert_raise(*, project: Project, kind: str, key: str, message: str,
                data: dict[str, Any] | None = None) -> tuple[Alert, bool]:  # fmt: skip
    """The open alert of ``key``, opened now if there was none (``True``: it was opened,
    and ``alert.opened`` goes out). An open alert keeps its first message; its ``data``
    is brought up to date."""
    data = dict(data or {})
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update()
            .filter(project=project, key=key, resolved_at__isnull=True)
            .first()
        )
        if alert is not None:
            if alert.data != data:
                alert.data = data
                alert.save(update_fields=["data"])
            return alert, False
        try:
            with transaction.atomic():
                alert = Alert.objects.create(project=project, kind=kind, key=key[:200],
                                             message=message[:500], data=data)  # fmt: skip
        except IntegrityError:  # a concurrent check opened it first
            return Alert.objects.get(project=project, key=key, resolved_at__isnull=True), False
        event_emit(project=project, event=WebhookEvent.ALERT_OPENED, data=_event_data(alert))
        return alert, True


def alert_clear(*, project: Project, key: str) -> Alert | None:
    """Resolve the open alert of ``key``, if any (``alert.resolved`` goes out)."""
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update()
            .filter(project=project, key=key, resolved_at__isnull=True)
            .first()
        )
        if alert is None:
            return None
        alert.resolved_at = timezone.now()
        alert.save(update_fields=["resolved_at"])
        event_emit(project=project, event=WebhookEvent.ALERT_RESOLVED, data=_event_data(alert))
        return alert


def alert_set(*, project: Project, kind: str, key: str, holds: bool, message: str,
              data: dict[str, Any] | None = None) -> Alert | None:  # fmt: skip
    """Raise ``key`` while the condition ``holds``, clear it when it no longer does."""
    if holds:
        return alert_raise(project=project, kind=kind, key=key, message=message, data=data)[0]
    alert_clear(project=project, key=key)
    return None
