"""The webhooks, deliveries, alerts and alert-rules routes: what goes in, what comes out."""

import pytest
from django.db import transaction

from annotation.models import Project, Webhook
from annotation.services.alerts import alert_clear, alert_raise
from annotation.services.webhooks import event_emit, webhook_deliver
from api.views.monitoring import DeliveryPagination
from tests.webhook_receiver import webhook_receiver

SECRET = "a-long-enough-secret"


def _url(project, suffix=""):
    return f"/api/projects/{project.pk}/webhooks{suffix}"


@pytest.mark.django_db
def test_create_list_patch_delete_and_the_secret_never_comes_back(api, project):
    made = api.post(_url(project), {"url": "http://127.0.0.1:9/h", "secret": SECRET,
                                    "events": ["job.finished", "alert.opened"]}, format="json")  # fmt: skip
    assert made.status_code == 201, made.content
    assert SECRET not in made.content.decode() and "secret" not in made.json()
    hook = made.json()["id"]
    listed = api.get(_url(project))
    assert [w["id"] for w in listed.json()] == [hook] and SECRET not in listed.content.decode()
    patched = api.patch(_url(project, f"/{hook}"), {"active": False}, format="json")
    assert patched.status_code == 200 and patched.json()["active"] is False
    assert patched.json()["events"] == ["alert.opened", "job.finished"]
    assert Webhook.objects.get(pk=hook).secret == SECRET  # untouched by a patch without it
    assert api.delete(_url(project, f"/{hook}")).status_code == 204
    assert api.get(_url(project, f"/{hook}")).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("body", [
    {"url": "http://127.0.0.1:9/", "secret": SECRET, "events": []},
    {"url": "http://127.0.0.1:9/", "secret": SECRET, "events": ["nope"]},
    {"url": "http://127.0.0.1:9/", "secret": "short", "events": ["job.finished"]},
    {"url": "ftp://127.0.0.1/", "secret": SECRET, "events": ["job.finished"]},
    {"url": ["x"], "secret": SECRET, "events": ["job.finished"]},
    {"secret": SECRET, "events": ["job.finished"]}, [], "x", {"url": "http://\x00/"},
])  # fmt: skip
def test_hostile_bodies_are_400(api, project, body):
    response = api.post(_url(project), body, format="json")
    assert response.status_code == 400, response.content


@pytest.mark.django_db
def test_a_private_url_is_refused_when_not_allowed(api, project, settings):
    settings.QUORUM_WEBHOOK_ALLOW_PRIVATE = False
    for url in ("http://127.0.0.1:8000/", "http://169.254.169.254/latest", "http://[::1]/"):
        response = api.post(_url(project), {"url": url, "secret": SECRET,
                                            "events": ["job.finished"]}, format="json")  # fmt: skip
        assert response.status_code == 400 and "url" in response.json(), response.content
    assert not Webhook.objects.exists()


@pytest.mark.django_db
def test_another_projects_webhook_is_404(api, project, manager):
    other = Project.objects.create(name="Other", created_by=manager)
    hook = Webhook.objects.create(project=other, url="http://127.0.0.1:9/", secret=SECRET,
                                  events=["job.finished"])  # fmt: skip
    assert api.get(_url(project, f"/{hook.pk}")).status_code == 404
    assert api.get(_url(project, f"/{hook.pk}/deliveries")).status_code == 404
    assert api.delete(_url(project, f"/{hook.pk}")).status_code == 404


@pytest.mark.django_db
def test_the_delivery_log_is_paged_newest_first(api, project, monkeypatch):
    monkeypatch.setattr(DeliveryPagination, "page_size", 2)
    with webhook_receiver(answers=[500]) as receiver:
        hook = api.post(_url(project), {"url": receiver.url, "secret": SECRET,
                                        "events": ["job.finished"]}, format="json").json()  # fmt: skip
        with transaction.atomic():
            deliveries = [event_emit(project=project, event="job.finished", data={"n": n})[0]
                          for n in range(3)]  # fmt: skip
        for delivery in deliveries:
            webhook_deliver(delivery_id=delivery.pk)
    page = api.get(_url(project, f"/{hook['id']}/deliveries")).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    first = page["results"][0]
    assert first["payload"]["data"] == {"n": 2} and first["status"] == "succeeded"
    oldest = api.get(page["next"]).json()["results"][0]
    assert (oldest["status"], oldest["attempts"], oldest["response_code"]) == ("pending", 1, 500)
    assert oldest["history"][0]["response_code"] == 500


@pytest.mark.django_db
def test_alerts_open_first_and_filtered_by_state(project, members, client_for):
    raise_ = lambda key: alert_raise(project=project, kind="drift", key=key, message=key)  # noqa: E731
    raise_("drift:old")
    alert_clear(project=project, key="drift:old")
    raise_("drift:a")
    raise_("drift:b")
    annotator = client_for(members["annotator"])
    got = annotator.get(f"/api/projects/{project.pk}/alerts").json()["results"]
    assert [(a["key"], a["state"]) for a in got] == [
        ("drift:b", "open"),
        ("drift:a", "open"),
        ("drift:old", "resolved"),
    ]
    resolved = annotator.get(f"/api/projects/{project.pk}/alerts?state=resolved").json()
    assert [a["key"] for a in resolved["results"]] == ["drift:old"]
    assert annotator.get(f"/api/projects/{project.pk}/alerts?state=closed").status_code == 400


@pytest.mark.django_db
def test_alert_rules_read_and_written(api, project, members, client_for):
    rules = api.get(f"/api/projects/{project.pk}/alert-rules").json()["rules"]
    assert {r["kind"] for r in rules} >= {"agreement_below", "job_failed", "drift"}
    assert not any(r["enabled"] for r in rules)
    put = api.put(f"/api/projects/{project.pk}/alert-rules", {"rules": [
        {"kind": "agreement_below", "enabled": True, "params": {"threshold": 0.5}}]},
        format="json")  # fmt: skip
    assert put.status_code == 200, put.content
    (agreement,) = [r for r in put.json()["rules"] if r["kind"] == "agreement_below"]
    assert agreement["enabled"] and agreement["params"]["threshold"] == 0.5
    bad = api.put(f"/api/projects/{project.pk}/alert-rules", {"rules": [
        {"kind": "agreement_below", "params": {"threshold": "high"}}]}, format="json")  # fmt: skip
    assert bad.status_code == 400
    reviewer = client_for(members["reviewer"])
    assert reviewer.put(f"/api/projects/{project.pk}/alert-rules", {"rules": []},
                        format="json").status_code == 403  # fmt: skip


@pytest.mark.django_db
def test_every_alert_kind_has_a_visibility_rule():
    from annotation.models import AlertKind
    from annotation.monitoring_selectors import ALERT_KIND_ROLES

    assert set(ALERT_KIND_ROLES) == set(AlertKind.values)


SEEN_BY = {  # key -> roles that see it
    "agreement_below": {"manager", "reviewer"},
    "annotator_quality:7": {"manager", "reviewer"},
    "job_failed:import": {"manager"},
    "label_issues_above": {"manager", "reviewer", "annotator", "engineer"},
    "drift:data": {"manager", "reviewer", "annotator", "engineer"},
    "drift:annotator:7": {"manager", "reviewer"},
    "stopping_rule": {"manager", "reviewer", "annotator", "engineer"},
}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["manager", "reviewer", "annotator", "engineer"])
def test_each_role_sees_the_alerts_its_data_rules_allow(project, members, client_for, role):
    """As the routes of the data behind them: nobody learns a colleague's quality, or an
    import's rows, from an alert."""
    for key in SEEN_BY:
        alert_raise(project=project, kind=key.split(":")[0], key=key, message=key)
    want = sorted(key for key, roles in SEEN_BY.items() if role in roles)
    got = client_for(members[role]).get(f"/api/projects/{project.pk}/alerts").json()["results"]
    assert sorted(a["key"] for a in got) == want
    from django.test import Client

    browser = Client()
    browser.force_login(members[role])
    home = browser.get("/").content.decode()
    assert f">{len(want)}<span" in home
    page = browser.get(f"/projects/{project.pk}/").content.decode()
    assert sorted(k for k in SEEN_BY if f'data-alert="{k}"' in page) == want
