"""The delivery log's ``?status=`` filter and the "send test event" action: the API and the
Alerts & webhooks page, each hostile value a 400, the test event signed and SSRF-checked on
the same path as every event, and throttled per webhook."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client

from annotation.models import DeliveryStatus, WebhookDelivery
from annotation.services import webhooks
from annotation.services.webhooks import (
    event_emit,
    webhook_create,
    webhook_deliver,
    webhook_test_send,
)
from tests.webhook_receiver import webhook_receiver

SECRET = "a-long-enough-secret"


def _url(project, hook, suffix):
    return f"/api/projects/{project.pk}/webhooks/{hook.pk}/{suffix}"


def _hook(project, url="http://127.0.0.1:9/hook"):
    return webhook_create(project=project, url=url, secret=SECRET, events=["job.finished"])


def _log(project, hook, statuses):
    """One delivery per status, oldest first."""
    with transaction.atomic():
        made = [event_emit(project=project, event="job.finished", data={"n": n})[0]
                for n in range(len(statuses))]  # fmt: skip
    for delivery, status in zip(made, statuses, strict=True):
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=status)
    return made


@pytest.mark.django_db
def test_the_log_filters_by_status(api, project):
    hook = _hook(project)
    made = _log(project, hook, ["failed", "succeeded", "failed", "pending"])
    failed = api.get(_url(project, hook, "deliveries?status=failed")).json()
    assert [d["id"] for d in failed["results"]] == [made[2].pk, made[0].pk]
    assert api.get(_url(project, hook, "deliveries")).json()["count"] == 4
    assert api.get(_url(project, hook, "deliveries?status=")).json()["count"] == 4


@pytest.mark.django_db
@pytest.mark.parametrize("query", [
    "status=nope", "status=FAILED", "status=%00", "status=failed%27--", "status=failed&status=nope",
    "status=" + "x" * 5000, "page=0", "page=abc", "page=1e9999",
])  # fmt: skip
def test_hostile_filters_are_400(api, project, query):
    hook = _hook(project)
    response = api.get(_url(project, hook, f"deliveries?{query}"))
    assert response.status_code == 400, (query, response.content)


@pytest.mark.django_db
def test_the_test_event_is_signed_and_logged_like_every_event(api, project, monkeypatch,
                                                              django_capture_on_commit_callbacks):  # fmt: skip
    queued = []
    monkeypatch.setattr(webhooks, "_send", lambda pk, countdown=None: queued.append(pk))
    with webhook_receiver() as receiver:
        hook = _hook(project, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            response = api.post(_url(project, hook, "test"))
        assert response.status_code == 202, response.content
        body = response.json()
        assert body["event"] == "webhook.test" and body["status"] == "pending"
        assert queued == [body["id"]]  # the same task as every delivery, after the commit
        assert webhook_deliver(delivery_id=body["id"]) is False
    (got,) = receiver.requests
    want = "sha256=" + hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(got.headers["X-Quorum-Signature"], want)
    assert got.headers["X-Quorum-Event"] == "webhook.test"
    assert json.loads(got.body)["data"]["webhook"] == hook.pk
    log = api.get(_url(project, hook, "deliveries?status=succeeded")).json()["results"]
    assert [d["id"] for d in log] == [body["id"]]


@pytest.mark.django_db
def test_a_test_event_to_a_private_address_is_refused_at_sending(project, settings):
    hook = _hook(project)
    settings.QUORUM_WEBHOOK_ALLOW_PRIVATE = False  # the guard is checked again when sending
    delivery = webhook_test_send(webhook=hook)
    assert webhook_deliver(delivery_id=delivery.pk) is False
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.error.startswith("Refused")


@pytest.mark.django_db
def test_one_test_per_webhook_per_interval(api, project):
    hook, other = _hook(project), _hook(project)
    assert api.post(_url(project, hook, "test")).status_code == 202
    again = api.post(_url(project, hook, "test"))
    assert again.status_code == 429 and 0 < int(again["Retry-After"]) <= 30
    assert api.post(_url(project, other, "test")).status_code == 202  # per webhook
    WebhookDelivery.objects.filter(webhook=hook).update(
        created_at=WebhookDelivery.objects.get(webhook=hook).created_at - timedelta(seconds=31)
    )
    assert api.post(_url(project, hook, "test")).status_code == 202
    assert WebhookDelivery.objects.filter(event="webhook.test").count() == 3


@pytest.mark.django_db
def test_the_test_event_is_the_managers_and_not_a_subscription(project, members, client_for):
    hook = _hook(project)
    for role in ("reviewer", "annotator", "engineer"):
        assert client_for(members[role]).post(_url(project, hook, "test")).status_code == 403
    assert client_for(members["outsider"]).post(_url(project, hook, "test")).status_code == 404
    manager = client_for(members["manager"])
    assert manager.post(f"/api/projects/{project.pk}/webhooks/999999/test").status_code == 404
    assert (
        manager.post(f"/api/projects/{project.pk}/webhooks/99999999999999999999/test").status_code
        == 404
    )
    made = manager.post(f"/api/projects/{project.pk}/webhooks", {
        "url": "http://127.0.0.1:9/", "secret": SECRET, "events": ["webhook.test"]}, format="json")  # fmt: skip
    assert made.status_code == 400 and "events" in made.json()
    with transaction.atomic():
        assert event_emit(project=project, event="job.finished", data={})  # others still go


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_the_page_filters_the_log_and_refuses_an_unknown_status(project, manager):
    hook = _hook(project)
    made = _log(project, hook, ["failed", "succeeded"])
    page = _browser(manager).get(f"/projects/{project.pk}/webhooks?status=failed")
    html = page.content.decode()
    assert page.status_code == 200
    assert f'data-delivery="{made[0].pk}"' in html and f'data-delivery="{made[1].pk}"' not in html
    assert '<option value="failed" selected>' in html
    bad = _browser(manager).get(f"/projects/{project.pk}/webhooks?status=<b>x</b>")
    assert bad.status_code == 400 and "Unknown delivery status" in bad.content.decode()
    assert "<b>x</b>" not in bad.content.decode()


@pytest.mark.django_db
def test_the_page_button_sends_one_test_then_says_wait(project, manager, members):
    hook = _hook(project)
    browser = _browser(manager)
    first = browser.post(f"/projects/{project.pk}/webhooks/{hook.pk}/test", follow=True)
    assert first.status_code == 200 and "Test event queued" in first.content.decode()
    second = browser.post(f"/projects/{project.pk}/webhooks/{hook.pk}/test", follow=True)
    assert "Try again in" in second.content.decode()
    assert WebhookDelivery.objects.filter(event="webhook.test").count() == 1
    assert _browser(members["reviewer"]).post(
        f"/projects/{project.pk}/webhooks/{hook.pk}/test").status_code == 403  # fmt: skip
    assert browser.get(f"/projects/{project.pk}/webhooks/{hook.pk}/test").status_code == 405
