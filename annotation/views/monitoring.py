"""The managers' "Alerts & webhooks" page: the rules they turn on, the project's webhooks
and the delivery log. Plain forms (no script): each POST calls the same service as the API
and comes back here with a message."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from annotation.models import SUBSCRIBABLE_EVENTS, AlertKind, DeliveryStatus
from annotation.monitoring_selectors import (
    alert_rules_of,
    alerts_of,
    project_deliveries,
    webhook_get,
    webhooks_of,
)
from annotation.selectors import CAN_MANAGE
from annotation.services.alert_rules import DEFAULT_PARAMS, alert_rules_put
from annotation.services.webhooks import (
    WebhookTestThrottled,
    webhook_create,
    webhook_delete,
    webhook_test_send,
    webhook_update,
)
from annotation.views.pages import member_project_or_404

LOG_ROWS = 50


def _manager_project(request, project_id: int):
    project, role = member_project_or_404(request, project_id)
    if role not in CAN_MANAGE:
        raise PermissionDenied("Only managers manage alerts and webhooks.")
    return project, role


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(m)}" for field, m in exc.message_dict.items())
    return "; ".join(exc.messages)


@login_required
def webhooks_page(request, project_id: int):
    """``?status=`` keeps one delivery status in the log; an unknown one is a 400 (the page,
    unfiltered, saying so)."""
    project, role = _manager_project(request, project_id)
    hooks = list(webhooks_of(project=project))
    wanted = request.GET.get("status") or ""
    known = wanted in DeliveryStatus.values
    if wanted and not known:
        messages.error(
            request, f"Unknown delivery status; one of {', '.join(DeliveryStatus.values)}."
        )
    status = wanted if known else None
    log = project_deliveries(project=project, status=status)[:LOG_ROWS]
    context = {
        "project": project, "role": role, "webhooks": hooks, "log": log,
        "events": SUBSCRIBABLE_EVENTS, "rules": alert_rules_of(project=project),
        "alerts": list(alerts_of(project=project, role=role)[:20]),
        "open_alerts": alerts_of(project=project, state="open", role=role).count(),
        "statuses": DeliveryStatus.choices, "status": status,
    }  # fmt: skip
    return render(
        request, "annotation/webhooks.html", context, status=400 if wanted and not known else 200
    )


@login_required
@require_POST
def webhook_test(request, project_id: int, webhook_id: int):
    """Send the webhook one signed test event (``webhook_test_send``); its delivery shows in
    the log once the worker has tried it."""
    project, _ = _manager_project(request, project_id)
    webhook = webhook_get(project=project, webhook_id=webhook_id)
    if webhook is None:
        messages.error(request, "No such webhook.")
    else:
        try:
            webhook_test_send(webhook=webhook)
        except WebhookTestThrottled as exc:
            messages.error(request, f"{exc} Try again in {int(exc.wait) + 1} s.")
        else:
            messages.success(request, "Test event queued: its delivery is in the log below.")
    return redirect(reverse("webhooks", args=[project.pk]) + "#deliveries")


@login_required
@require_POST
def webhook_add(request, project_id: int):
    project, _ = _manager_project(request, project_id)
    try:
        webhook_create(project=project, url=request.POST.get("url", ""),
                       secret=request.POST.get("secret", ""),
                       events=request.POST.getlist("events"), user=request.user)  # fmt: skip
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, "Webhook added. Its secret is not shown again.")
    return redirect(reverse("webhooks", args=[project.pk]))


@login_required
@require_POST
def webhook_change(request, project_id: int, webhook_id: int):
    """``action``: ``toggle`` (on/off) or ``delete``."""
    project, _ = _manager_project(request, project_id)
    webhook = webhook_get(project=project, webhook_id=webhook_id)
    if webhook is None:
        messages.error(request, "No such webhook.")
    elif request.POST.get("action") == "delete":
        webhook_delete(webhook=webhook)
        messages.success(request, "Webhook deleted.")
    else:
        webhook_update(webhook=webhook, active=not webhook.active)
        messages.success(request, f"Webhook {'on' if webhook.active else 'off'}.")
    return redirect(reverse("webhooks", args=[project.pk]))


def _rule_from_form(post, kind: str) -> dict[str, Any]:
    """The form's fields ``<kind>-<param>`` as the rule's params, numbers parsed."""
    params: dict[str, Any] = {}
    for name, default in DEFAULT_PARAMS[kind].items():
        raw = post.get(f"{kind}-{name}")
        if raw is None:
            continue
        if isinstance(default, list):
            params[name] = [v for v in post.getlist(f"{kind}-{name}") if v]
        elif isinstance(default, int):
            # ASCII only: int("²") fails, isdigit() not; and int() refuses over 4,300 digits
            # (the service's counts stop at 10**9 anyway: a longer one it names as wrong)
            digits = raw.strip().removeprefix("-")
            readable = digits.isascii() and digits.isdigit() and len(digits) <= 18
            params[name] = int(raw) if readable else raw
        elif isinstance(default, float):
            try:
                params[name] = float(raw)
            except ValueError:
                params[name] = raw  # the service names it
        else:
            params[name] = raw
    return {"kind": kind, "enabled": post.get(f"{kind}-enabled") == "on", "params": params}


@login_required
@require_POST
def alert_rules_save(request, project_id: int):
    project, _ = _manager_project(request, project_id)
    try:
        alert_rules_put(project=project,
                        rules=[_rule_from_form(request.POST, kind) for kind in AlertKind.values])  # fmt: skip
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, "Alert rules saved.")
    return redirect(reverse("webhooks", args=[project.pk]) + "#rules")
