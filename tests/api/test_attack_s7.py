"""Session 7's surfaces attacked as an outsider and as a low-privilege member would: the audit
and its review actions, the access log, content deletion and retention, import error reports,
the snapshot data card. Each probe states the rule it holds: a hostile input is one clear 4xx,
a role sees and does only what the permission matrix allows, and nothing is written halfway."""

import io

import pytest
from django.test import Client

from annotation.models import AccessLog, AuditFinding, FindingStatus, Item
from annotation.services.projects import project_create
from tests.audit_helpers import audited_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def audited(project, make_user):
    return audited_project(project, make_user("audit-annotator"))


@pytest.fixture
def other(manager):
    """A second project of the same manager: ids from here must never act on ``project``."""
    return project_create(creator=manager, name="Other", labels=["a", "b"])


def finding(kind: str) -> AuditFinding:
    return AuditFinding.objects.get(kind=kind)


# --- audit: findings and actions -------------------------------------------------------------


@pytest.mark.parametrize("query", ["kind=bogus", "status=nope", "page=0", "page=-1", "page=abc",
                                   "page=99999999999999999999", "page=9999", "page=1.5",
                                   "kind=pii%00", "page_size=100000"])  # fmt: skip
def test_audit_query_parameters_are_validated(audited, project, members, client_for, query):
    response = client_for(members["reviewer"]).get(f"/api/projects/{project.pk}/audit?{query}")
    assert response.status_code in (200, 400, 404), response.content
    if "page_size" in query:
        assert len(response.json()["findings"]) <= 100


@pytest.mark.parametrize("who, status", [("annotator", 403), ("engineer", 403),
                                         ("outsider", 404)])  # fmt: skip
def test_low_roles_cannot_act_on_findings(audited, members, client_for, who, status):
    group = finding("duplicate")
    response = client_for(members[who]).post(f"/api/findings/{group.pk}/resolve",
                                             {"action": "exclude"}, format="json")  # fmt: skip
    assert response.status_code == status
    assert AuditFinding.objects.get(pk=group.pk).status == FindingStatus.OPEN
    assert not Item.objects.filter(excluded=True).exists()


def test_a_reviewer_of_another_project_cannot_act_on_this_projects_finding(
    audited, other, make_user, client_for
):
    from annotation.services.projects import membership_set

    stranger = make_user("other-reviewer")
    membership_set(project=other, user=stranger, role="reviewer")
    group = finding("duplicate")
    response = client_for(stranger).post(f"/api/findings/{group.pk}/resolve",
                                         {"action": "exclude"}, format="json")  # fmt: skip
    assert response.status_code == 404
    assert AuditFinding.objects.get(pk=group.pk).status == FindingStatus.OPEN


def test_merge_cannot_keep_an_item_of_another_project(audited, other, members, client_for):
    group = finding("duplicate")
    foreign = Item.objects.create(project=other, external_id="foreign", text="x")
    response = client_for(members["reviewer"]).post(
        f"/api/findings/{group.pk}/resolve", {"action": "merge", "keep_item": foreign.pk},
        format="json")  # fmt: skip
    assert response.status_code == 400
    assert AuditFinding.objects.get(pk=group.pk).status == FindingStatus.OPEN
    assert not Item.objects.filter(excluded=True).exists()


@pytest.mark.parametrize("keep_item", [0, -1, "abc", 2**70, None, [1], {"a": 1}])
def test_merge_with_a_hostile_keep_item_is_a_400(audited, members, client_for, keep_item):
    group = finding("duplicate")
    response = client_for(members["reviewer"]).post(
        f"/api/findings/{group.pk}/resolve", {"action": "merge", "keep_item": keep_item},
        format="json")  # fmt: skip
    assert response.status_code == 400, response.content
    assert AuditFinding.objects.get(pk=group.pk).status == FindingStatus.OPEN


def test_acting_twice_is_a_400_and_changes_nothing_more(audited, members, client_for):
    group = finding("duplicate")
    api = client_for(members["reviewer"])
    url = f"/api/findings/{group.pk}/resolve"
    assert api.post(url, {"action": "keep"}, format="json").status_code == 200
    again = api.post(url, {"action": "exclude"}, format="json")
    assert again.status_code == 400
    assert AuditFinding.objects.get(pk=group.pk).status == FindingStatus.KEPT
    assert not Item.objects.filter(excluded=True).exists()
    assert AccessLog.objects.filter(action__startswith="finding_").count() == 1


def test_a_stale_copy_of_a_finding_cannot_be_resolved_a_second_time(audited, members):
    """Two requests that read the finding before either wrote it: the second must see the
    first's decision (the finding row is locked and read again), not act on a stale copy."""
    from annotation.services.audit import finding_resolve

    group = finding("duplicate")
    first, second = finding("duplicate"), finding("duplicate")
    finding_resolve(finding=first, user=members["reviewer"], action="keep")
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        finding_resolve(finding=second, user=members["manager"], action="exclude")
    assert AuditFinding.objects.get(pk=group.pk).status == FindingStatus.KEPT
    assert not Item.objects.filter(excluded=True).exists()
    assert AccessLog.objects.filter(action__startswith="finding_").count() == 1


def test_acting_on_a_finding_a_newer_audit_replaced_is_a_400_not_a_500(audited, members):
    """A reviewer loaded the finding, then a new audit run deleted the open findings."""
    from django.core.exceptions import ValidationError

    from annotation.services.audit import finding_resolve

    stale = finding("duplicate")
    AuditFinding.objects.filter(pk=stale.pk).delete()
    with pytest.raises(ValidationError):
        finding_resolve(finding=stale, user=members["reviewer"], action="exclude")
    assert not Item.objects.filter(excluded=True).exists()
    assert not AccessLog.objects.filter(action__startswith="finding_").exists()


@pytest.mark.parametrize("pk", ["abc", "-1", "0", "99999999999999999999999", "1.5", "١"])
def test_resolve_with_a_malformed_finding_id_is_a_404(audited, members, client_for, pk):
    response = client_for(members["reviewer"]).post(f"/api/findings/{pk}/resolve",
                                                    {"action": "keep"}, format="json")  # fmt: skip
    assert response.status_code == 404


@pytest.mark.parametrize("body", [{"action": "delete"}, {"action": ""}, {}, {"action": None},
                                  {"action": ["keep"]}])  # fmt: skip
def test_unknown_actions_are_a_400(audited, members, client_for, body):
    group = finding("duplicate")
    response = client_for(members["reviewer"]).post(f"/api/findings/{group.pk}/resolve", body,
                                                    format="json")  # fmt: skip
    assert response.status_code == 400


# --- access log ------------------------------------------------------------------------------


@pytest.mark.parametrize("who, status", [("reviewer", 403), ("annotator", 403), ("engineer", 403),
                                         ("outsider", 404)])  # fmt: skip
def test_only_managers_read_the_access_log(project, members, client_for, who, status):
    response = client_for(members[who]).get(f"/api/projects/{project.pk}/access-log")
    assert response.status_code == status


@pytest.mark.parametrize("method", ["put", "patch", "delete", "post"])
def test_the_access_log_cannot_be_changed(project, manager, client_for, method):
    count = AccessLog.objects.count()
    response = getattr(client_for(manager), method)(f"/api/projects/{project.pk}/access-log",
                                                     {"action": "x"}, format="json")  # fmt: skip
    assert response.status_code in (403, 405)  # no role may write it: 403 names the rule
    assert AccessLog.objects.count() == count


def test_another_projects_log_entries_never_show(project, other, manager, client_for):
    from annotation.services.audit import access_log_write

    access_log_write(actor=manager, action="pii_view", object_type="audit_finding",
                     object_id=1, project_id=other.pk)  # fmt: skip
    body = client_for(manager).get(f"/api/projects/{project.pk}/access-log?action=pii_view")
    assert body.status_code == 200 and body.json()["count"] == 0


@pytest.mark.parametrize("query", ["action=bogus", "action=", "page=0", "page=abc", "page=-5",
                                   "page=99999999999999999999999", "page=500"])  # fmt: skip
def test_access_log_query_parameters_are_validated(project, manager, client_for, query):
    response = client_for(manager).get(f"/api/projects/{project.pk}/access-log?{query}")
    assert response.status_code in (200, 400, 404)


def test_hostile_names_in_the_access_log_page_are_escaped(project, manager):
    from annotation.services.audit import access_log_write

    access_log_write(actor=manager, action="project_settings", object_type="project",
                     object_id="<img src=x onerror=alert(1)>", project_id=project.pk,
                     detail={"name": {"from": "a", "to": "</code><script>alert(1)</script>"}})  # fmt: skip
    page = Client()
    page.force_login(manager)
    html = page.get(f"/projects/{project.pk}/access-log?page=abc&action=<b>").content.decode()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;/code&gt;&lt;script&gt;" in html


# --- content deletion and retention ------------------------------------------------------------


@pytest.mark.parametrize("value", [-1, 0, 36_501, 10**30, "abc", 1.5, [], {}, True])
def test_hostile_retention_days_are_a_400(project, manager, client_for, value):
    response = client_for(manager).patch(f"/api/projects/{project.pk}",
                                         {"content_retention_days": value}, format="json")  # fmt: skip
    assert response.status_code == 400, response.content
    project.refresh_from_db()
    assert project.content_retention_days is None


def test_retention_can_be_cleared_with_null(project, manager, client_for):
    api = client_for(manager)
    assert api.patch(f"/api/projects/{project.pk}", {"content_retention_days": 30},
                     format="json").status_code == 200  # fmt: skip
    assert api.patch(f"/api/projects/{project.pk}", {"content_retention_days": None},
                     format="json").status_code == 200  # fmt: skip
    project.refresh_from_db()
    assert project.content_retention_days is None


@pytest.mark.parametrize("who, status", [("reviewer", 403), ("annotator", 403), ("engineer", 403),
                                         ("outsider", 404)])  # fmt: skip
def test_only_managers_delete_content(project, members, client_for, who, status):
    item = Item.objects.create(project=project, external_id="a", text="secret")
    response = client_for(members[who]).post(f"/api/projects/{project.pk}/delete-content",
                                             {"items": [item.pk], "reason": "x"}, format="json")  # fmt: skip
    assert response.status_code == status
    assert Item.objects.get(pk=item.pk).text == "secret"


@pytest.mark.parametrize("body", [
    {"items": [], "reason": "x"}, {"items": ["a"], "reason": "x"}, {"items": [2**64], "reason": "x"},
    {"items": [-1], "reason": "x"}, {"items": "1", "reason": "x"}, {"items": [1]},
    {"items": [1], "reason": "   "}, {"items": [1], "reason": "x" * 201}, {"items": None},
    {"items": list(range(1, 10_002)), "reason": "x"}, {"items": [[1]], "reason": "x"},
])  # fmt: skip
def test_hostile_delete_content_bodies_are_a_400(project, manager, client_for, body):
    item = Item.objects.create(project=project, external_id="a", text="secret")
    response = client_for(manager).post(f"/api/projects/{project.pk}/delete-content", body,
                                        format="json")  # fmt: skip
    assert response.status_code == 400, response.content
    assert Item.objects.get(pk=item.pk).text == "secret"


def test_delete_content_with_a_foreign_item_deletes_nothing(project, other, manager, client_for):
    mine = Item.objects.create(project=project, external_id="a", text="secret")
    theirs = Item.objects.create(project=other, external_id="b", text="theirs")
    response = client_for(manager).post(f"/api/projects/{project.pk}/delete-content",
                                        {"items": [mine.pk, theirs.pk], "reason": "x"},
                                        format="json")  # fmt: skip
    assert response.status_code == 400
    assert Item.objects.get(pk=mine.pk).text == "secret"
    assert Item.objects.get(pk=theirs.pk).text == "theirs"


# --- import error reports ----------------------------------------------------------------------


def test_an_import_with_a_hostile_file_name_is_stored_escaped_and_answers_4xx_or_2xx(
    project, manager, client_for
):
    name = '<img src=x onerror=alert(1)>"\n.csv'
    upload = io.BytesIO(b"text\nhello\n")
    upload.name = name
    response = client_for(manager).post(f"/api/projects/{project.pk}/import",
                                        {"file": upload}, format="multipart")  # fmt: skip
    assert response.status_code in (201, 400), response.content
    page = Client()
    page.force_login(manager)
    html = page.get(f"/projects/{project.pk}/import").content.decode()
    assert "<img src=x" not in html


def test_a_file_with_a_nul_in_its_name_is_a_4xx(project, manager, client_for):
    upload = io.BytesIO(b"text\nhello\n")
    upload.name = "a\x00b.csv"
    response = client_for(manager).post(f"/api/projects/{project.pk}/import",
                                        {"file": upload}, format="multipart")  # fmt: skip
    assert response.status_code in (201, 400), response.content


# --- redaction: what non-managers see after a reviewer redacted an item ------------------------


def test_a_redacted_items_original_is_not_served_to_non_managers(audited, project, members,
                                                                 client_for):  # fmt: skip
    pii = finding("pii")
    assert client_for(members["reviewer"]).post(f"/api/findings/{pii.pk}/resolve",
                                                {"action": "redact"}, format="json").status_code == 200  # fmt: skip
    item = Item.objects.get(external_id="pii")
    seen = {}
    for who in ("annotator", "reviewer", "engineer"):
        api = client_for(members[who])
        for url in (f"/api/projects/{project.pk}/items/{item.pk}",
                    f"/api/projects/{project.pk}/items?page_size=1000",
                    f"/api/projects/{project.pk}/export?format=jsonl"):  # fmt: skip
            response = api.get(url)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            seen[(who, url)] = (response.status_code, b"jo.bloggs" in body)
    leaks = {k: v for k, v in seen.items() if v[0] == 200 and v[1]}
    assert not leaks, leaks


def test_the_queue_history_and_snapshots_serve_the_redacted_copy_and_managers_the_original_on_request(
    audited, project, members, client_for, settings, tmp_path
):
    from annotation.jobs.runner import job_execute

    settings.QUORUM_EXPORT_DIR = tmp_path / "exports"
    pii = finding("pii")
    client_for(members["reviewer"]).post(f"/api/findings/{pii.pk}/resolve", {"action": "redact"},
                                         format="json")  # fmt: skip
    item = Item.objects.get(external_id="pii")
    annotator = client_for(members["annotator"])
    seen: list[str] = []
    while True:  # the annotator's queue, item by item, until it serves the redacted one
        served = annotator.get(f"/api/projects/{project.pk}/next",
                               {"exclude": ",".join(seen)} if seen else {})  # fmt: skip
        assert served.status_code == 200
        if served.json()["id"] == item.pk:
            break
        seen.append(str(served.json()["id"]))
    assert served.json()["text"] == "Call me on [PHONE] or mail [EMAIL]"
    assert annotator.post(f"/api/items/{item.pk}/annotations/", {"labels": ["ham"]},
                          format="json").status_code == 201  # fmt: skip
    history = annotator.get(f"/api/projects/{project.pk}/history").json()
    assert history[0]["item"]["text"] == "Call me on [PHONE] or mail [EMAIL]"
    manager = client_for(members["manager"])
    url = f"/api/projects/{project.pk}/items/{item.pk}"
    assert "jo.bloggs" not in manager.get(url).json()["text"]  # by default, the copy
    assert "jo.bloggs" in manager.get(url, {"originals": "true"}).json()["text"]  # logged
    engineer = client_for(members["engineer"])
    created = engineer.post(f"/api/projects/{project.pk}/snapshots", {"redact_pii": False},
                            format="json").json()  # fmt: skip
    job_execute(job_id=created["job"]["id"], task_id="test")
    response = engineer.get(f"/api/snapshots/{created['id']}/download?format=jsonl")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200 and b"[EMAIL]" in body and b"jo.bloggs" not in body


def test_an_item_a_reviewer_excluded_never_reaches_the_export(audited, project, members,
                                                             client_for):  # fmt: skip
    """The button says "Exclude from exports" and Item.excluded "Left out of snapshots and
    exports": an engineer's export must not hand out what a reviewer took out."""
    pii = finding("pii")
    assert client_for(members["reviewer"]).post(f"/api/findings/{pii.pk}/resolve",
                                                {"action": "exclude"}, format="json").status_code == 200  # fmt: skip
    for fmt in ("jsonl", "csv", "json"):
        response = client_for(members["engineer"]).get(
            f"/api/projects/{project.pk}/export?format={fmt}"
        )
        body = b"".join(response.streaming_content)
        assert response.status_code == 200 and b"filler-0" in body
        assert b"jo.bloggs" not in body and b'"pii"' not in body and b"\npii," not in body, fmt


@pytest.mark.parametrize("username", ["a\nb", "<script>x</script>", "a b", "x\r\nINFO forged"])
def test_usernames_cannot_carry_markup_or_line_breaks_into_the_access_log(
    make_user, client_for, username
):
    staff = make_user("staff", is_staff=True)
    response = client_for(staff).post("/api/users/", {"username": username,
                                      "password": "a-long-enough-Passw0rd"}, format="json")  # fmt: skip
    assert response.status_code == 400


# --- a very large duplicate group ---------------------------------------------------------------


@pytest.fixture
def big_group(project):
    """One open exact-duplicate finding of 1,500 items (a real data set can have a million)."""
    from annotation.models import Job
    from annotation.services.audit import FindingDraft, findings_replace

    Item.objects.bulk_create([Item(project=project, external_id=f"d{n}", text="same", sequence=n)
                              for n in range(1500)])  # fmt: skip
    ids = list(Item.objects.filter(project=project).order_by("pk").values_list("pk", flat=True))
    job = Job.objects.create(project=project, kind="audit", status="succeeded")
    findings_replace(job=job, drafts=[FindingDraft("duplicate", ids, 1.0, {"size": len(ids)})])
    return AuditFinding.objects.get(project=project), ids


def test_a_huge_group_is_listed_in_bounded_pieces_by_the_api_and_the_page(
    big_group, project, members, client_for, django_assert_max_num_queries
):
    group, ids = big_group
    api = client_for(members["reviewer"])
    with django_assert_max_num_queries(12):
        body = api.get(f"/api/projects/{project.pk}/audit?kind=duplicate").json()
    (listed,) = body["findings"]
    assert listed["item_count"] == 1500 and len(listed["items"]) == 1000
    assert [i["id"] for i in listed["items"]] == ids[:1000]
    page = Client()
    page.force_login(members["reviewer"])
    html = page.get(f"/projects/{project.pk}/audit?kind=duplicate").content.decode()
    assert html.count('name="keep_item"') == 12 and "and 1488 more" in html


def test_a_huge_group_is_merged_and_logged_in_bounded_pieces(big_group, members, client_for):
    group, ids = big_group
    response = client_for(members["reviewer"]).post(
        f"/api/findings/{group.pk}/resolve", {"action": "merge", "keep_item": ids[-1]},
        format="json")  # fmt: skip
    assert response.status_code == 200 and response.json()["item_count"] == 1500
    assert set(Item.objects.filter(excluded=False).values_list("pk", flat=True)) == {ids[-1]}
    (entry,) = AccessLog.objects.filter(action="finding_merge")
    assert entry.detail["items"] == ids[:1000] and entry.detail["item_count"] == 1500
