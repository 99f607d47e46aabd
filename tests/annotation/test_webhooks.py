"""Webhook deliveries against a receiver on 127.0.0.1 that each test starts: the signature a
receiver can verify, retries with back-off, the delivery log, and the SSRF guard."""

import hashlib
import hmac
import ipaddress
import json

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import given
from hypothesis import strategies as st

from annotation.models import WebhookDelivery
from annotation.services.webhooks import (
    event_emit,
    retry_countdown,
    webhook_create,
    webhook_deliver,
)
from annotation.tasks import deliver_webhook
from annotation.webhook_urls import WebhookUrlError, webhook_target
from tests.webhook_receiver import webhook_receiver

SECRET = "s3cret-s3cret-s3cret"


def _hook(project, url, events=("job.finished",)):
    return webhook_create(project=project, url=url, secret=SECRET, events=list(events))


def _emit(project, event="job.finished", data=None) -> WebhookDelivery:
    with transaction.atomic():  # the message would go on commit: the tests call the task
        (delivery,) = event_emit(project=project, event=event, data=data or {"job": 1})
    return delivery


@pytest.mark.django_db
def test_a_receiver_verifies_the_signature_of_the_raw_body(project):
    with webhook_receiver() as receiver:
        hook = _hook(project, receiver.url)
        delivery = _emit(project, data={"job": 7, "kind": "agreement", "status": "failed"})
        assert webhook_deliver(delivery_id=delivery.pk) is False
    (got,) = receiver.requests
    want = "sha256=" + hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(got.headers["X-Quorum-Signature"], want)
    payload = json.loads(got.body)
    assert payload["event"] == "job.finished" and payload["data"]["kind"] == "agreement"
    assert got.headers["X-Quorum-Event-Id"] == payload["id"] == str(delivery.event_id)
    assert got.headers["X-Quorum-Event"] == "job.finished"
    assert got.headers["X-Quorum-Timestamp"].isdigit()
    assert got.path == "/hook?x=1"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("succeeded", 1, 200)
    assert hook.deliveries.count() == 1


@pytest.mark.django_db
def test_a_wrong_secret_does_not_verify(project):
    with webhook_receiver() as receiver:
        _hook(project, receiver.url)
        webhook_deliver(delivery_id=_emit(project).pk)
    (got,) = receiver.requests
    forged = "sha256=" + hmac.new(b"another-secret", got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Quorum-Signature"] != forged


@pytest.mark.django_db
def test_only_webhooks_that_asked_for_an_event_get_it(project):
    with webhook_receiver() as receiver:
        _hook(project, receiver.url, events=["snapshot.ready"])
        with transaction.atomic():
            assert event_emit(project=project, event="job.finished", data={}) == []
            assert len(event_emit(project=project, event="snapshot.ready", data={})) == 1


@pytest.mark.django_db
def test_two_500s_then_200_are_retried_and_logged(project, settings):
    settings.QUORUM_WEBHOOK_RETRY_BASE_SECONDS = 5
    with webhook_receiver(answers=[500, 503]) as receiver:
        _hook(project, receiver.url)
        delivery = _emit(project)
        outcomes = [webhook_deliver(delivery_id=delivery.pk) for _ in range(3)]
        assert webhook_deliver(delivery_id=delivery.pk) is False  # delivered: nothing more
    assert outcomes == [True, True, False]
    assert len(receiver.requests) == 3
    assert len({r.body for r in receiver.requests}) == 1  # every retry sends the same body
    assert len({r.headers["X-Quorum-Event-Id"] for r in receiver.requests}) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("succeeded", 3, 200)
    assert [h["response_code"] for h in delivery.history] == [500, 503, 200]
    assert "500" in delivery.history[0]["error"] and delivery.delivered_at is not None
    assert [retry_countdown(n) for n in range(3)] == [5, 10, 20]


@pytest.mark.django_db
def test_a_receivers_long_answer_is_logged_cut_short(project, settings):
    """A receiver chooses its reason phrase (up to 64 KiB): every attempt in the log keeps
    at most 500 characters of the error, as the delivery's own ``error`` does."""
    settings.QUORUM_WEBHOOK_RETRY_BASE_SECONDS = 5
    with webhook_receiver(answers=[500, 500], reason="x" * 60_000) as receiver:
        _hook(project, receiver.url)
        delivery = _emit(project)
        webhook_deliver(delivery_id=delivery.pk)
        webhook_deliver(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert len(delivery.error) <= 500
    assert [len(h["error"]) <= 500 for h in delivery.history] == [True, True]


@pytest.mark.django_db
def test_the_celery_task_retries_until_delivered(project, settings):
    """The task itself, run in place (eager): its retries run at once, in order."""
    settings.QUORUM_WEBHOOK_RETRY_BASE_SECONDS = 0.01
    with webhook_receiver(answers=[500, 500]) as receiver:
        _hook(project, receiver.url)
        delivery = _emit(project)
        deliver_webhook.apply(args=[delivery.pk])
    delivery.refresh_from_db()
    assert [h["response_code"] for h in delivery.history] == [500, 500, 200]
    assert delivery.status == "succeeded" and len(receiver.requests) == 3


@pytest.mark.django_db
def test_attempts_stop_at_the_limit_and_a_4xx_is_not_retried(project, settings):
    settings.QUORUM_WEBHOOK_MAX_ATTEMPTS = 2
    with webhook_receiver(answers=[500, 500, 500, 404]) as receiver:
        _hook(project, receiver.url)
        failing = _emit(project)
        assert [webhook_deliver(delivery_id=failing.pk) for _ in range(2)] == [True, False]
        assert webhook_deliver(delivery_id=failing.pk) is False
        receiver.answers[:] = [404]
        refused = _emit(project)
        assert webhook_deliver(delivery_id=refused.pk) is False
    failing.refresh_from_db()
    refused.refresh_from_db()
    assert (failing.status, failing.attempts) == ("failed", 2)
    assert (refused.status, refused.attempts, refused.response_code) == ("failed", 1, 404)


@pytest.mark.django_db
def test_a_receiver_that_is_down_is_a_transient_error(project):
    with webhook_receiver() as receiver:
        url = receiver.url
    _hook(project, url)  # the server is gone: nothing listens on that port
    delivery = _emit(project)
    assert webhook_deliver(delivery_id=delivery.pk) is True
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.response_code is None
    assert "Connection" in delivery.error or "refused" in delivery.error.lower()


@given(st.integers(min_value=0, max_value=10_000))
def test_back_off_grows_and_is_capped(retries):
    assert 0 < retry_countdown(retries) <= 3600
    assert retry_countdown(retries) <= retry_countdown(retries + 1)


# --- SSRF ----------------------------------------------------------------------------------

REFUSED = [
    "http://127.0.0.1/hook", "http://localhost:8000/", "http://[::1]/", "http://10.1.2.3/",
    "http://192.168.0.1/", "http://172.16.5.4/", "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/", "http://0.0.0.0/", "http://2130706433/", "http://100.64.0.1/",
    "http://[::ffff:127.0.0.1]/", "http://[fe80::1]/", "http://224.0.0.1/",
    # IPv6 addresses that carry a private IPv4 one reach it: NAT64 (on a DNS64 network every
    # IPv4-only name resolves so), 6to4, IPv4-compatible and -translated forms
    "http://[64:ff9b::a9fe:a9fe]/", "http://[64:ff9b::a00:1]/", "http://[2002:7f00:1::]/",
    "http://[2002:a9fe:a9fe::1]/", "http://[::127.0.0.1]/", "http://[::ffff:0:7f00:1]/",
    "http://[64:ff9b:1::808:808]/",  # NAT64's local-use prefix: the network's own translator
]  # fmt: skip


@pytest.mark.parametrize("url", REFUSED)
def test_private_and_metadata_addresses_are_refused(url):
    with pytest.raises(WebhookUrlError) as refused:
        webhook_target(url, allow_private=False)
    assert refused.value.code == "private"


@pytest.mark.parametrize("url", ["ftp://8.8.8.8/", "file:///etc/passwd", "gopher://8.8.8.8/",
                                 "http://user:pw@8.8.8.8/", "http:///nohost", "http://[::1",
                                 "http://8.8.8.8/a b", "http://8.8.8.8/\r\nX-Evil: 1",
                                 "http://bücher.example/", "http://8.8.8.8:99999/",
                                 "http://8.8.8.8:0/"])  # fmt: skip
def test_other_schemes_credentials_and_broken_urls_are_refused(url):
    with pytest.raises(WebhookUrlError):
        webhook_target(url, allow_private=False)


def test_a_public_address_is_accepted():
    target = webhook_target("https://8.8.8.8:8443/p?q=1", allow_private=False)
    assert (target.address, target.port, target.path) == ("8.8.8.8", 8443, "/p?q=1")


@pytest.mark.parametrize("host", ["[64:ff9b::808:808]", "[2002:808:808::1]"])
def test_a_nat64_or_6to4_address_of_a_public_ipv4_one_is_accepted(host):
    """An IPv6-only network with DNS64 resolves every IPv4-only receiver to 64:ff9b::/96."""
    assert webhook_target(f"http://{host}/", allow_private=False).port == 80


@pytest.mark.django_db
def test_creation_refuses_a_private_url_unless_allowed(project, settings):
    settings.QUORUM_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(ValidationError) as refused:
        _hook(project, "http://127.0.0.1:9/hook")
    assert "url" in refused.value.message_dict


@pytest.mark.django_db
def test_sending_checks_the_address_again(project, settings):
    """Saved while allowed (or before DNS changed): refused at send time, never sent."""
    with webhook_receiver() as receiver:
        _hook(project, receiver.url)
        delivery = _emit(project)
        settings.QUORUM_WEBHOOK_ALLOW_PRIVATE = False
        assert webhook_deliver(delivery_id=delivery.pk) is False
    assert receiver.requests == []
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.error.startswith("Refused:")


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "value"), [("events", []), ("events", ["nope"]),
                                              ("events", "job.finished"), ("secret", "short"),
                                              ("secret", 12), ("url", None), ("url", "x" * 3000)])  # fmt: skip
def test_bad_fields_are_named(project, field, value):
    fields = {"url": "http://127.0.0.1:9/", "secret": SECRET, "events": ["job.finished"]}
    with pytest.raises(ValidationError) as refused:
        webhook_create(project=project, **(fields | {field: value}))
    assert field in refused.value.message_dict


@pytest.mark.django_db
def test_a_stranded_pending_delivery_is_sent_again_and_a_recent_one_is_not(project, settings):
    from datetime import timedelta

    from django.utils import timezone

    from annotation.services.webhooks import stranded_after, webhook_deliveries_resend

    with webhook_receiver() as receiver:
        _hook(project, receiver.url)
        old, recent, done = (_emit(project) for _ in range(3))
    long_ago = timezone.now() - stranded_after() - timedelta(minutes=1)
    WebhookDelivery.objects.filter(pk__in=[old.pk, done.pk]).update(created_at=long_ago)
    WebhookDelivery.objects.filter(pk=done.pk).update(status="succeeded")
    assert webhook_deliveries_resend() == [old.pk]
    WebhookDelivery.objects.filter(pk=old.pk).update(last_attempt_at=timezone.now())
    assert webhook_deliveries_resend() == []  # it was just tried: its retry is on its way
    assert recent.status == "pending"


@given(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)))
def test_an_address_literal_is_accepted_exactly_when_it_is_public(address):
    host = str(address) if address.version == 4 else f"[{address}]"
    reached = address
    if address.version == 6 and address.sixtofour is not None:
        reached = address.sixtofour
    elif address.version == 6 and int(address) >> 32 in (0, 0xFFFF, 0xFFFF0000, 0x64FF9B << 64):
        reached = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)  # the IPv4 it carries
    local_nat64 = address.version == 6 and address in ipaddress.ip_network("64:ff9b:1::/48")
    public = reached.is_global and not reached.is_multicast and not local_nat64
    try:
        webhook_target(f"http://{host}/", allow_private=False)
    except WebhookUrlError as refused:
        assert not public and refused.code in ("private", "resolve")
    else:
        assert public
