"""The alerts card on the dashboard, the badge on the projects list, and the managers'
"Alerts & webhooks" page with its forms and delivery log."""

import pytest
from django.db import transaction
from django.test import Client

from annotation.models import AlertRule, Webhook
from annotation.services.alerts import alert_clear, alert_raise
from annotation.services.webhooks import event_emit, webhook_create, webhook_deliver
from tests.webhook_receiver import webhook_receiver


def _browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _alert(project, key, message):
    return alert_raise(project=project, kind="drift", key=key, message=message)[0]


@pytest.mark.django_db
def test_the_dashboard_shows_open_alerts_first_escaped(project, members):
    _alert(project, "drift:old", "old one")
    alert_clear(project=project, key="drift:old")
    _alert(project, "drift:data", "<script>alert(1)</script> drift")
    page = _browser(members["reviewer"]).get(f"/projects/{project.pk}/dashboard")
    html = page.content.decode()
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert html.index('data-alert="drift:data"') < html.index('data-alert="drift:old"')
    assert 'id="open-alert-count">1' in html


@pytest.mark.django_db
def test_the_projects_list_counts_open_alerts(project, members):
    _alert(project, "a", "one")
    _alert(project, "b", "two")
    for role in ("manager", "annotator"):
        html = _browser(members[role]).get("/").content.decode()
        assert 'class="count alert-count"' in html and ">2<span" in html
    alert_clear(project=project, key="a")
    alert_clear(project=project, key="b")
    assert "alert-count" not in _browser(members["manager"]).get("/").content.decode()


@pytest.mark.django_db
def test_only_managers_open_the_webhooks_page(project, members):
    assert _browser(members["manager"]).get(f"/projects/{project.pk}/webhooks").status_code == 200
    for role in ("reviewer", "annotator", "engineer"):
        assert _browser(members[role]).get(f"/projects/{project.pk}/webhooks").status_code == 403
        post = _browser(members[role]).post(f"/projects/{project.pk}/webhooks/add", {})
        assert post.status_code == 403


@pytest.mark.django_db
def test_a_manager_adds_toggles_and_deletes_a_webhook_and_sees_the_log(project, manager):
    browser = _browser(manager)
    with webhook_receiver(answers=[500]) as receiver:
        browser.post(
            f"/projects/{project.pk}/webhooks/add",
            {"url": receiver.url, "secret": "a-long-enough-secret", "events": ["job.finished"]},
        )
        hook = Webhook.objects.get()
        with transaction.atomic():
            (delivery,) = event_emit(project=project, event="job.finished", data={})
        webhook_deliver(delivery_id=delivery.pk)
    html = browser.get(f"/projects/{project.pk}/webhooks").content.decode()
    assert "a-long-enough-secret" not in html
    assert f'data-delivery="{delivery.pk}"' in html and "500" in html
    browser.post(f"/projects/{project.pk}/webhooks/{hook.pk}/change", {"action": "toggle"})
    hook.refresh_from_db()
    assert hook.active is False
    browser.post(f"/projects/{project.pk}/webhooks/{hook.pk}/change", {"action": "delete"})
    assert not Webhook.objects.exists()


@pytest.mark.django_db
def test_a_refused_webhook_is_a_message_not_an_error(project, manager, settings):
    settings.QUORUM_WEBHOOK_ALLOW_PRIVATE = False
    browser = _browser(manager)
    answer = browser.post(f"/projects/{project.pk}/webhooks/add", {
        "url": "http://169.254.169.254/", "secret": "a-long-enough-secret",
        "events": ["job.finished"]}, follow=True)  # fmt: skip
    assert answer.status_code == 200 and "non-public address" in answer.content.decode()
    assert not Webhook.objects.exists()


@pytest.mark.django_db
def test_the_rules_form_saves_and_refuses_bad_numbers(project, manager):
    browser = _browser(manager)
    browser.post(f"/projects/{project.pk}/alert-rules", {
        "agreement_below-enabled": "on", "agreement_below-threshold": "0.5",
        "agreement_below-metric": "fleiss_kappa", "label_issues_above-count": "7"})  # fmt: skip
    rule = AlertRule.objects.get(kind="agreement_below")
    assert (
        rule.enabled and rule.params["threshold"] == 0.5 and rule.params["metric"] == "fleiss_kappa"
    )
    assert AlertRule.objects.get(kind="label_issues_above").enabled is False
    bad = browser.post(f"/projects/{project.pk}/alert-rules", {
        "agreement_below-enabled": "on", "agreement_below-threshold": "lots"}, follow=True)  # fmt: skip
    assert bad.status_code == 200 and "threshold" in bad.content.decode()
    assert AlertRule.objects.get(kind="agreement_below").params["threshold"] == 0.5


@pytest.mark.django_db
@pytest.mark.parametrize("count", ["9" * 5000, "-" + "9" * 5000])
def test_a_count_too_long_to_be_a_number_is_a_message_not_an_error(project, manager, count):
    """Python refuses to read an integer of more than 4,300 digits: the form names it."""
    page = _browser(manager).post(f"/projects/{project.pk}/alert-rules", {
        "label_issues_above-enabled": "on", "label_issues_above-count": count}, follow=True)  # fmt: skip
    assert page.status_code == 200 and "params.count" in page.content.decode()
    assert not AlertRule.objects.filter(kind="label_issues_above").exists()


@pytest.mark.django_db
def test_webhook_ids_of_another_project_change_nothing(project, manager, make_user):
    from annotation.models import Project

    other = Project.objects.create(name="Other", created_by=manager)
    hook = webhook_create(project=other, url="http://127.0.0.1:9/", secret="x" * 16,
                          events=["job.finished"])  # fmt: skip
    _browser(manager).post(f"/projects/{project.pk}/webhooks/{hook.pk}/change",
                           {"action": "delete"})  # fmt: skip
    assert Webhook.objects.filter(pk=hook.pk).exists()


@pytest.mark.django_db
def test_the_admin_lists_them_and_never_shows_a_secret(project, make_user):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("root", "r@example.org", "pw-pw-pw-pw")
    hook = webhook_create(project=project, url="http://127.0.0.1:9/", secret="never-shown-secret",
                          events=["alert.opened"])  # fmt: skip
    _alert(project, "drift:data", "drift")
    browser = _browser(admin)
    for path in ("webhook", "webhookdelivery", "alert", "alertrule"):
        assert browser.get(f"/admin/annotation/{path}/").status_code == 200, path
    change = browser.get(f"/admin/annotation/webhook/{hook.pk}/change/")
    assert change.status_code == 200 and "never-shown-secret" not in change.content.decode()


@pytest.mark.django_db
def test_every_member_sees_open_alerts_on_the_project_page(project, members):
    assert 'id="alerts"' not in _browser(members["annotator"]).get(
        f"/projects/{project.pk}/").content.decode()  # fmt: skip
    _alert(project, "drift:label", "Label drift detected.")
    for role in ("annotator", "engineer", "reviewer", "manager"):
        html = _browser(members[role]).get(f"/projects/{project.pk}/").content.decode()
        assert 'data-alert="drift:label"' in html and "Label drift detected." in html, role
