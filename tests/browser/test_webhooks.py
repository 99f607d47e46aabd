"""A manager turns on an alert rule and adds a webhook in the browser; a job fails; the
alert shows on the dashboard and as a badge on the projects list, and the delivery (signed,
to a receiver on 127.0.0.1) shows in the log. Under the CSP and axe-core (journey.py)."""

import hashlib
import hmac

import pytest
from playwright.sync_api import expect

from annotation.jobs.runner import job_fail
from annotation.models import Job, WebhookDelivery
from annotation.services.webhooks import webhook_create, webhook_deliver
from tests.browser.journey import Journey
from tests.webhook_receiver import webhook_receiver

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WATCH = """window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective));
"""
SECRET = "browser-test-secret"


def test_a_failed_job_alerts_on_the_dashboard_and_reaches_the_webhook(
    page, live_url, login, project
):
    page.add_init_script(WATCH)
    journey = Journey(page, "alerts-webhooks")
    login(page, "manager")
    page.goto(f"{live_url}/projects/{project.pk}/webhooks")
    expect(page.locator("#no-webhooks")).to_be_visible()
    page.locator("input[name=job_failed-enabled]").check()
    page.locator("#save-rules").click()
    expect(page.locator(".messages")).to_contain_text("Alert rules saved")
    journey.seen("rules")
    with webhook_receiver() as receiver:
        page.locator("#webhook-form input[name=url]").fill(receiver.url)
        page.locator("#webhook-form input[name=secret]").fill(SECRET)
        page.locator("#webhook-form input[value='alert.opened']").check()
        page.locator("#add-webhook").click()
        expect(page.locator(".messages")).to_contain_text("Webhook added")
        assert SECRET not in page.content()
        journey.seen("webhook-added")

        job = Job.objects.create(project=project, kind="audit", status="running")
        job_fail(job_id=job.pk, error="The audit ran out of memory.")
        (delivery,) = WebhookDelivery.objects.all()
        webhook_deliver(delivery_id=delivery.pk)
    (got,) = receiver.requests
    want = "sha256=" + hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Quorum-Signature"] == want

    page.reload()
    row = page.locator(f"tr[data-delivery='{delivery.pk}']")
    expect(row).to_contain_text("alert.opened")
    expect(row).to_contain_text("succeeded")
    journey.seen("delivery-log")
    page.goto(f"{live_url}/projects/{project.pk}/dashboard")
    expect(page.locator("[data-alert='job_failed:audit']")).to_contain_text("ran out of memory")
    journey.seen("dashboard-alert")
    page.goto(f"{live_url}/")
    badge = page.locator(f"tr[data-project='{project.pk}'] .alert-count")
    expect(badge).to_contain_text("1")
    journey.seen("projects-badge")
    badge.focus()
    page.keyboard.press("Enter")  # the badge leads to the project page's alerts
    expect(page.locator("[data-alert='job_failed:audit']")).to_be_visible()
    journey.seen("project-page-alert")
    assert page.evaluate("window.__csp") == []
    journey.done()


def test_a_manager_sends_a_test_event_by_keyboard_and_filters_the_log(
    page, live_url, login, project
):
    page.add_init_script(WATCH)
    journey = Journey(page, "webhook-test-event")
    with webhook_receiver(answers=[500]) as receiver:
        hook = webhook_create(project=project, url=receiver.url, secret=SECRET,
                              events=["job.finished"])  # fmt: skip
        login(page, "manager")
        page.goto(f"{live_url}/projects/{project.pk}/webhooks")
        page.locator(f"[data-test-webhook='{hook.pk}']").focus()
        page.keyboard.press("Enter")
        expect(page.locator(".messages")).to_contain_text("Test event queued")
        journey.seen("test-queued")
        (delivery,) = WebhookDelivery.objects.filter(event="webhook.test")
        assert webhook_deliver(delivery_id=delivery.pk) is True  # a 500: retried later
    (got,) = receiver.requests
    want = "sha256=" + hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert (
        got.headers["X-Quorum-Signature"] == want
        and got.headers["X-Quorum-Event"] == "webhook.test"
    )
    page.reload()
    expect(page.locator(f"tr[data-delivery='{delivery.pk}']")).to_contain_text("webhook.test")
    page.locator("#delivery-filter select[name=status]").select_option("succeeded")
    page.locator("#delivery-filter button").click()
    expect(page.locator("#no-deliveries")).to_contain_text("No succeeded deliveries")
    journey.seen("filtered-empty")
    page.locator("#delivery-filter select[name=status]").select_option("pending")
    page.locator("#delivery-filter select[name=status]").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the Filter button, by keyboard
    expect(page.locator(f"tr[data-delivery='{delivery.pk}']")).to_contain_text("pending")
    assert "status=pending" in page.url
    journey.seen("filtered-pending")
    assert page.evaluate("window.__csp") == []
    journey.done()
