"""Webhooks: saving them (SSRF-checked), emitting events, and sending one delivery.

An event becomes one :class:`WebhookDelivery` row per active webhook of the project that
asked for it, written in the caller's transaction; its Celery message
(``annotation.tasks.deliver_webhook``) goes once that commits. The body is the payload as
canonical JSON, signed: ``X-Quorum-Signature: sha256=<hex HMAC-SHA256(secret, body)>``, with
``X-Quorum-Event``, ``X-Quorum-Event-Id`` (the same on every retry, for the receiver to
de-duplicate) and ``X-Quorum-Timestamp``. A 2xx answer delivers it; a 5xx, 408, 429, timeout
or connection error is retried with exponential back-off; any other answer, or a URL that
now resolves to a refused address, fails it at once.
"""

import hashlib
import hmac
import http.client
import json
import logging
import time
from datetime import timedelta
from typing import Any

from celery import current_app
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from annotation.models import (
    SUBSCRIBABLE_EVENTS,
    DeliveryStatus,
    Project,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)
from annotation.webhook_urls import WebhookUrlError, pinned_connection, webhook_target

logger = logging.getLogger(__name__)

DELIVER_WEBHOOK_TASK = "annotation.tasks.deliver_webhook"
SIGNATURE_HEADER = "X-Quorum-Signature"
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_SECRET = 200
MAX_ERROR = 500  # characters of an attempt's error kept in the log
MAX_RETRY_SECONDS = 3600.0
TEST_INTERVAL = timedelta(seconds=30)
SUBSCRIBABLE = [value for value, _ in SUBSCRIBABLE_EVENTS]


def webhook_sign(secret: str, body: bytes) -> str:
    """The ``X-Quorum-Signature`` value of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent (and signed): canonical JSON, so a retry sends the same body."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def retry_countdown(retries: int) -> float:
    """Seconds before retry number ``retries + 1``: base * 2**retries, at most an hour."""
    base = float(settings.QUORUM_WEBHOOK_RETRY_BASE_SECONDS)
    return min(MAX_RETRY_SECONDS, base * 2 ** max(0, min(retries, 30)))


def _checked_url(url: Any) -> str:
    if not isinstance(url, str) or not url or len(url) > 2000:
        raise ValidationError({"url": ["A URL of at most 2000 characters is required."]})
    try:
        webhook_target(url, allow_private=settings.QUORUM_WEBHOOK_ALLOW_PRIVATE)
    except WebhookUrlError as exc:
        raise ValidationError({"url": [str(exc)]}, code=exc.code) from None
    return url


def _checked_events(events: Any) -> list[str]:
    if (not isinstance(events, list) or not events
            or not all(isinstance(e, str) and e in SUBSCRIBABLE for e in events)):  # fmt: skip
        raise ValidationError({"events": [f"A non-empty list of: {', '.join(SUBSCRIBABLE)}."]})
    return sorted(set(events))


def _checked_secret(secret: Any) -> str:
    if not isinstance(secret, str) or not 16 <= len(secret) <= MAX_SECRET:
        raise ValidationError({"secret": [f"16 to {MAX_SECRET} characters."]})
    return secret


def webhook_create(*, project: Project, url: Any, secret: Any, events: Any,
                   active: bool = True, user=None) -> Webhook:  # fmt: skip
    """A new webhook; ``ValidationError`` keyed by field (a refused URL under ``url``)."""
    return Webhook.objects.create(
        project=project, url=_checked_url(url), secret=_checked_secret(secret),
        events=_checked_events(events), active=bool(active), created_by=user,
    )  # fmt: skip


def webhook_update(*, webhook: Webhook, url: Any = None, secret: Any = None,
                   events: Any = None, active: Any = None) -> Webhook:  # fmt: skip
    """Change the given fields (each checked as on creation)."""
    if url is not None:
        webhook.url = _checked_url(url)
    if secret is not None:
        webhook.secret = _checked_secret(secret)
    if events is not None:
        webhook.events = _checked_events(events)
    if active is not None:
        webhook.active = bool(active)
    webhook.save()
    return webhook


def webhook_delete(*, webhook: Webhook) -> None:
    webhook.delete()


def event_emit(*, project: Project, event: str, data: dict[str, Any]) -> list[WebhookDelivery]:
    """Queue ``event`` to every active webhook of ``project`` that asked for it; the messages
    go when the caller's transaction commits (nothing is sent for a rolled-back change)."""
    if event not in WebhookEvent.values:
        raise ValueError(f"Unknown webhook event {event!r}.")
    deliveries = [
        _delivery_queue(webhook, event, data)
        for webhook in Webhook.objects.filter(project=project, active=True)
        if event in webhook.events
    ]
    return deliveries


def _delivery_queue(webhook: Webhook, event: str, data: dict[str, Any]) -> WebhookDelivery:
    """One delivery row of ``event`` to ``webhook``; its message goes on commit."""
    delivery = WebhookDelivery(webhook=webhook, event=event, payload={})
    delivery.payload = {
        "id": str(delivery.event_id), "event": event, "project": webhook.project_id,
        "created_at": timezone.now().isoformat(), "data": data,
    }  # fmt: skip
    delivery.save()
    pk = delivery.pk
    transaction.on_commit(lambda: _send(pk))
    return delivery


class WebhookTestThrottled(Exception):
    """A test event went to this webhook less than ``TEST_INTERVAL`` ago; ``wait`` seconds
    are left."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"A test event was sent less than {TEST_INTERVAL.seconds} s ago.")
        self.wait = wait


def webhook_test_send(*, webhook: Webhook) -> WebhookDelivery:
    """Queue one ``webhook.test`` event to ``webhook``, whatever events it asked for and
    whether it is on, through the same delivery task as every event: signed, the URL checked
    against the SSRF guard again at sending, retried, logged. At most one per webhook per
    ``TEST_INTERVAL`` (``WebhookTestThrottled``): a button held down must not flood a
    receiver."""
    with transaction.atomic():
        # The webhook's row lock orders two tests of it (PostgreSQL; SQLite writes one at a time).
        Webhook.objects.select_for_update().filter(pk=webhook.pk).exists()
        last = (
            WebhookDelivery.objects.filter(webhook=webhook, event=WebhookEvent.WEBHOOK_TEST)
            .order_by("-created_at").values_list("created_at", flat=True).first()
        )  # fmt: skip
        since = timezone.now() - last if last is not None else None
        if since is not None and since < TEST_INTERVAL:
            raise WebhookTestThrottled((TEST_INTERVAL - since).total_seconds())
        return _delivery_queue(webhook, WebhookEvent.WEBHOOK_TEST, {
            "webhook": webhook.pk,
            "message": "A test event from Quorum: verify its signature as for every event.",
        })  # fmt: skip


def _send(delivery_id: int, countdown: float | None = None) -> None:
    try:
        current_app.signature(DELIVER_WEBHOOK_TASK, args=(delivery_id,)).apply_async(
            countdown=countdown
        )
    except Exception:  # the broker is down: the delivery stays pending, readable in the log
        logger.exception("could not queue webhook delivery %s", delivery_id)


def stranded_after() -> timedelta:
    """A pending delivery silent this long has no message left: longer than the longest
    back-off wait between two attempts, plus ten minutes."""
    longest = retry_countdown(max(0, settings.QUORUM_WEBHOOK_MAX_ATTEMPTS - 1))
    return timedelta(seconds=longest + 600)


def webhook_deliveries_resend(*, now=None) -> list[int]:
    """Send a new message for every pending delivery whose last attempt (or creation) is
    older than ``stranded_after()``. A message that was only late makes a second attempt
    at worst: the receiver de-duplicates on ``X-Quorum-Event-Id``."""
    cutoff = (now or timezone.now()) - stranded_after()
    stranded = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, webhook__active=True)
        .exclude(last_attempt_at__gte=cutoff)
        .filter(created_at__lt=cutoff)
        .values_list("pk", flat=True)[:1000]
    )
    for pk in stranded:
        _send(pk)
    return stranded


def webhook_deliver(*, delivery_id: int) -> bool:
    """One attempt at a pending delivery. True when it should be retried (a transient
    failure with attempts left); the outcome is written to the delivery either way."""
    delivery = WebhookDelivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return False  # gone, or already delivered (a duplicated message)
    started, now = time.monotonic(), timezone.now()
    code, error, transient = _attempt(delivery)
    duration_ms = int((time.monotonic() - started) * 1000)
    attempts = delivery.attempts + 1
    retry = transient and attempts < max(1, settings.QUORUM_WEBHOOK_MAX_ATTEMPTS)
    if code is not None and 200 <= code < 300:
        status = DeliveryStatus.SUCCEEDED
    else:
        status = DeliveryStatus.PENDING if retry else DeliveryStatus.FAILED
    error = error[:MAX_ERROR]  # the receiver writes its reason phrase (up to 64 KiB)
    entry = {"at": now.isoformat(), "response_code": code, "error": error,
             "duration_ms": duration_ms}  # fmt: skip
    WebhookDelivery.objects.filter(pk=delivery.pk, attempts=delivery.attempts).update(
        attempts=attempts, status=status, response_code=code, error=error,
        history=[*delivery.history, entry][-50:], last_attempt_at=now, duration_ms=duration_ms,
        delivered_at=now if status == DeliveryStatus.SUCCEEDED else None,
    )  # fmt: skip
    return status == DeliveryStatus.PENDING


def _attempt(delivery: WebhookDelivery) -> tuple[int | None, str, bool]:
    """(response code, error, transient) of one POST of ``delivery``."""
    webhook = delivery.webhook
    try:  # checked again: the host may resolve elsewhere since the webhook was saved
        target = webhook_target(webhook.url, allow_private=settings.QUORUM_WEBHOOK_ALLOW_PRIVATE)
    except WebhookUrlError as exc:
        return None, f"Refused: {exc}", exc.code == "resolve"
    body = webhook_body(delivery.payload)
    host = target.host if ":" not in target.host else f"[{target.host}]"
    default_port = 443 if target.scheme == "https" else 80
    headers = {
        "Host": host if target.port == default_port else f"{host}:{target.port}",
        "Content-Type": "application/json",
        "User-Agent": "Quorum-Webhooks/1",
        SIGNATURE_HEADER: webhook_sign(webhook.secret, body),
        "X-Quorum-Event": delivery.event,
        "X-Quorum-Event-Id": str(delivery.event_id),
        "X-Quorum-Timestamp": str(int(time.time())),
    }
    connection = pinned_connection(target, timeout=settings.QUORUM_WEBHOOK_TIMEOUT_SECONDS)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(64 * 1024)  # the answer's body is not kept
    except (OSError, ValueError, http.client.HTTPException) as exc:
        # timeouts, refused connections, TLS, unreadable answers
        return None, f"{exc.__class__.__name__}: {exc}", True
    except SoftTimeLimitExceeded:  # a receiver that trickles its answer past the task's limit
        return None, "The receiver took longer than the task's time limit to answer.", True
    finally:
        connection.close()
    code = response.status
    if 200 <= code < 300:
        return code, "", False
    return code, f"The receiver answered {code} {response.reason}.", code in RETRY_STATUSES
