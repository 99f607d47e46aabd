"""A webhook delivery on a real Celery worker: a receiver on 127.0.0.1 answers 500 twice,
then 200; the worker retries with growing waits and the delivery log shows each attempt."""

import hashlib
import hmac
import time

import pytest
from django.db import transaction

from annotation.models import WebhookDelivery
from annotation.services.webhooks import event_emit, webhook_create
from tests.webhook_receiver import webhook_receiver

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BASE = 0.5  # QUORUM_WEBHOOK_RETRY_BASE_SECONDS on the worker: waits of 0.5 s, then 1 s


def test_a_worker_retries_with_back_off_until_delivered(transactional_db, start_celery_worker,
                                                        project):  # fmt: skip
    worker = start_celery_worker(env={"QUORUM_WEBHOOK_RETRY_BASE_SECONDS": str(BASE)})
    with webhook_receiver(answers=[500, 500]) as receiver:
        webhook_create(project=project, url=receiver.url, secret="s" * 20,
                       events=["alert.opened"])  # fmt: skip
        with transaction.atomic():
            (delivery,) = event_emit(project=project, event="alert.opened", data={"key": "k"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            delivery.refresh_from_db()
            if delivery.status != "pending":
                break
            time.sleep(0.2)
    assert delivery.status == "succeeded", (delivery.history, worker.log_tail())
    assert [h["response_code"] for h in delivery.history] == [500, 500, 200]
    first, second, third = (r.at for r in receiver.requests)
    assert second - first >= BASE * 0.9 and third - second >= 2 * BASE * 0.9
    signature = "sha256=" + hmac.new(b"s" * 20, receiver.requests[-1].body,
                                     hashlib.sha256).hexdigest()  # fmt: skip
    assert receiver.requests[-1].headers["X-Quorum-Signature"] == signature
    assert WebhookDelivery.objects.count() == 1
