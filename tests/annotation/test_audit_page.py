"""The audit review page and the dashboard's audit panel: who sees them, what they show, and
acting on findings through the page's forms (the same service as the API)."""

import pytest
from django.test import Client

from annotation.models import AccessLog, AuditFinding, FindingStatus, Item
from tests.audit_helpers import audited_project


@pytest.fixture
def audited(project, make_user):
    return audited_project(project, make_user("audit-annotator"))


@pytest.fixture
def page_for(members):
    def make(who: str) -> Client:
        client = Client()
        client.force_login(members[who])
        return client

    return make


def finding(kind: str) -> AuditFinding:
    return AuditFinding.objects.get(kind=kind)


@pytest.mark.parametrize(
    "who, status", [("manager", 200), ("reviewer", 200), ("annotator", 403), ("engineer", 403),
                    ("outsider", 404)]
)  # fmt: skip
def test_the_audit_page_is_for_managers_and_reviewers(project, page_for, who, status):
    assert page_for(who).get(f"/projects/{project.pk}/audit").status_code == status


def test_the_dashboard_panel_counts_findings_per_kind_and_links_the_review(
    audited, project, page_for
):
    html = page_for("reviewer").get(f"/projects/{project.pk}/dashboard").content.decode()
    assert 'id="audit-panel"' in html
    assert f'<tr data-kind="duplicate"><th scope="row"><a href="/projects/{project.pk}/audit?kind=duplicate">Exact duplicates</a></th><td>1</td><td>1</td></tr>' in html  # fmt: skip
    assert f'<tr data-kind="conflict"><th scope="row"><a href="/projects/{project.pk}/audit?kind=conflict">Duplicates with different labels</a></th><td>2</td><td>2</td></tr>' in html  # fmt: skip
    assert "email 1" in html and "phone 1" in html


def test_the_dashboard_panel_says_when_no_audit_ran(project, page_for):
    html = page_for("manager").get(f"/projects/{project.pk}/dashboard").content.decode()
    assert "No audit has run yet" in html


def test_the_page_opens_on_the_first_kind_with_open_findings_and_lists_each_groups_items(
    audited, project, page_for
):
    html = page_for("reviewer").get(f"/projects/{project.pk}/audit").content.decode()
    assert "Duplicates with different labels: 2 open" in html
    assert "near-a" in html and "near-b" in html and "same-copy" in html
    # each member with the label its annotators gave: what a conflict is about
    assert '<span class="ext">same</span></td>\n            <td>ham</td>' in html
    assert '<span class="ext">same-copy</span></td>\n            <td>spam</td>' in html
    assert 'value="merge"' in html and 'value="redact"' not in html


def test_merging_a_duplicate_group_through_the_page_keeps_the_chosen_item(
    audited, project, page_for
):
    group = finding("duplicate")
    keep = Item.objects.get(external_id="same-copy")
    reviewer = page_for("reviewer")
    response = reviewer.post(
        f"/projects/{project.pk}/audit/findings/{group.pk}/resolve",
        {"action": "merge", "keep_item": str(keep.pk), "page": "1"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/projects/{project.pk}/audit?kind=duplicate&page=1"
    group.refresh_from_db()
    assert group.status == FindingStatus.MERGED and group.evidence["kept_item"] == keep.pk
    assert Item.objects.get(external_id="same").excluded
    assert not Item.objects.get(pk=keep.pk).excluded
    log = AccessLog.objects.get(action="finding_merge")
    assert log.actor == "reviewer" and log.object_id == str(group.pk)
    html = reviewer.get(response["Location"]).content.decode()
    assert f"Exact duplicates finding {group.pk}: merged." in html
    assert "No open findings of this kind." in html


def test_an_action_that_does_not_fit_is_a_message_not_a_change(audited, project, page_for):
    group = finding("duplicate")
    url = f"/projects/{project.pk}/audit/findings/{group.pk}/resolve"
    client = page_for("manager")
    for body in ({"action": "redact"}, {"action": "drop tables"},
                 {"action": "merge", "keep_item": "99999999999999999999999"},
                 {"action": "merge", "keep_item": str(Item.objects.get(external_id="pii").pk)}):  # fmt: skip
        response = client.post(url, body, follow=True)
        assert response.status_code == 200
        assert b'class="error"' in response.content
    group.refresh_from_db()
    assert group.status == FindingStatus.OPEN
    assert not Item.objects.filter(excluded=True).exists()


def test_acting_needs_the_reviewer_role_and_the_findings_own_project(
    audited, project, page_for, manager
):
    group = finding("duplicate")
    url = f"/projects/{project.pk}/audit/findings/{group.pk}/resolve"
    assert page_for("annotator").post(url, {"action": "keep"}).status_code == 403
    assert page_for("outsider").post(url, {"action": "keep"}).status_code == 404
    assert page_for("reviewer").get(url).status_code == 405
    from annotation.services.projects import project_create

    other = project_create(creator=manager, name="Other", labels=["a", "b"])
    wrong = f"/projects/{other.pk}/audit/findings/{group.pk}/resolve"
    assert page_for("manager").post(wrong, {"action": "keep"}).status_code == 404
    assert AuditFinding.objects.get(pk=group.pk).status == FindingStatus.OPEN


def test_personal_data_is_shown_redacted_and_a_managers_look_at_the_original_is_logged(
    audited, project, page_for
):
    pii = finding("pii")
    url = f"/projects/{project.pk}/audit?kind=pii"
    html = page_for("reviewer").get(url).content.decode()
    assert "[EMAIL]" in html and "jo.bloggs@example.com" not in html
    assert "Show the originals" not in html
    reviewer = page_for("reviewer").post(url, {"original": pii.pk}).content.decode()
    assert "jo.bloggs" not in reviewer
    assert not AccessLog.objects.filter(action="pii_view").exists()
    html = page_for("manager").get(url).content.decode()
    assert "Show the originals" in html and "jo.bloggs@example.com" not in html
    response = page_for("manager").post(url, {"original": pii.pk})
    assert "jo.bloggs@example.com" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    log = AccessLog.objects.get(action="pii_view")
    assert log.actor == "manager" and log.object_id == str(pii.pk)
    assert log.detail == {"items": [Item.objects.get(external_id="pii").pk]}


def test_redacting_through_the_page_writes_the_redacted_copy(audited, project, page_for):
    pii = finding("pii")
    page_for("reviewer").post(f"/projects/{project.pk}/audit/findings/{pii.pk}/resolve",
                              {"action": "redact"})  # fmt: skip
    item = Item.objects.get(external_id="pii")
    assert item.redacted_text == "Call me on [PHONE] or mail [EMAIL]"
    assert "jo.bloggs" in item.text


def test_the_originals_are_never_revealed_or_logged_by_a_get(audited, project, page_for):
    """A GET is what another site's <img src>, a link prefetcher or a crawler can send in a
    manager's name: it must neither show the originals nor write "pii_view" in their name."""
    pii = finding("pii")
    html = page_for("manager").get(f"/projects/{project.pk}/audit?kind=pii&original={pii.pk}")
    assert "jo.bloggs@example.com" not in html.content.decode()
    assert not AccessLog.objects.filter(action="pii_view").exists()


def test_revealing_the_originals_needs_the_csrf_token(audited, project, members):
    pii = finding("pii")
    forged = Client(enforce_csrf_checks=True)
    forged.force_login(members["manager"])
    response = forged.post(f"/projects/{project.pk}/audit?kind=pii", {"original": pii.pk})
    assert response.status_code == 403
    assert not AccessLog.objects.filter(action="pii_view").exists()


def test_hostile_item_texts_ids_and_labels_are_escaped_on_the_page_and_the_panel(
    project, page_for, make_user
):
    """Every member's text, external id and label reaches the page as text, never as markup."""
    from annotation.models import Annotation
    from annotation.services.projects import label_set_replace
    from tests.audit_helpers import audit_run

    label_set_replace(project=project, labels=["<b>ham</b>", "spam"])
    script = "<script>alert(1)</script> same text here twice"
    annotator = make_user("audit-annotator")
    for ext in ("<img src=x onerror=alert(1)>", '"><svg onload=alert(1)>'):
        item = Item.objects.create(project=project, external_id=ext, text=script)
        Annotation.objects.create(item=item, project=project, annotator=annotator,
                                  labels=["<b>ham</b>"])  # fmt: skip
    audit_run(project)
    for url in (
        f"/projects/{project.pk}/audit?kind=duplicate",
        f"/projects/{project.pk}/dashboard",
    ):
        html = page_for("manager").get(url).content.decode()
        for raw in ("<script>alert", "<img src=x", "<svg onload", "<b>ham</b>"):
            assert raw not in html, (url, raw)
    html = page_for("manager").get(f"/projects/{project.pk}/audit?kind=duplicate").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;ham&lt;/b&gt;" in html
