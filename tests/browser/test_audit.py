"""A data lead's way through the audit in the browser: the dashboard's audit panel, then the
review of findings by keyboard (the conflicts, a duplicate group merged, personal data), each
page checked by axe-core through the journey."""

import pytest
from playwright.sync_api import expect

from annotation.models import AccessLog, AuditFinding, FindingStatus, Item
from tests.audit_helpers import audited_project
from tests.browser.journey import Journey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def audited(project, make_user):
    return audited_project(project, make_user("audit-annotator"))


def test_the_dashboard_panel_counts_findings_and_leads_to_their_review(
    page, live_url, login, project, audited
):
    journey = Journey(page, "audit-panel")
    login(page, "manager")
    page.goto(f"{live_url}/projects/{project.pk}/dashboard")
    panel = page.locator("#audit-panel")
    expect(panel).to_contain_text(f"Latest run {audited.pk}")
    expect(panel.locator("tr[data-kind=conflict] td").first).to_have_text("2")
    expect(panel.locator("tr[data-kind=pii] td").last).to_have_text("1")
    expect(panel).to_contain_text("email 1")
    journey.seen("dashboard")
    expect(page.locator("[data-nav=audit] .count")).to_contain_text(
        str(AuditFinding.objects.exclude(kind="imbalance").count())
    )
    panel.locator("tr[data-kind=duplicate] a").click()
    expect(page.locator("#findings-title")).to_have_text("Exact duplicates: 1 open")
    journey.seen("duplicates")
    journey.done()


def test_a_reviewer_resolves_conflicts_and_merges_a_duplicate_group_by_keyboard(
    page, live_url, login, project, audited, members
):
    journey = Journey(page, "audit-review")
    login(page, "reviewer")
    page.goto(f"{live_url}/projects/{project.pk}/audit")
    expect(page.locator("#findings-title")).to_have_text("Duplicates with different labels: 2 open")
    journey.seen("conflicts")
    cards = page.locator(".finding")
    expect(cards.first).to_be_focused()
    second = int(cards.nth(1).get_attribute("data-finding"))
    page.keyboard.press("j")
    expect(cards.nth(1)).to_be_focused()
    page.keyboard.press("k")  # keep the second conflict
    expect(page.locator(".messages")).to_contain_text(f"finding {second}: kept")
    expect(page.locator("#findings-title")).to_have_text("Duplicates with different labels: 1 open")
    assert AuditFinding.objects.get(pk=second).status == FindingStatus.KEPT
    journey.seen("one-kept")

    page.click("a[data-kind=duplicate]")
    group = page.locator(".finding").first
    expect(group).to_be_focused()
    expect(group.locator(".ext")).to_have_text(["same", "same-copy"])
    keep = Item.objects.get(external_id="same-copy")
    group.locator(f"input[value='{keep.pk}']").check()  # the item to keep; the focus is on it
    page.keyboard.press("m")
    expect(page.locator(".messages")).to_contain_text("Exact duplicates finding")
    expect(page.locator("#audit-empty")).to_have_text("No open findings of this kind.")
    journey.seen("merged")
    merged = AuditFinding.objects.get(kind="duplicate")
    assert merged.status == FindingStatus.MERGED and merged.evidence["kept_item"] == keep.pk
    assert list(Item.objects.filter(excluded=True).values_list("external_id", flat=True)) == [
        "same"
    ]
    assert AccessLog.objects.filter(action="finding_merge", actor="reviewer").count() == 1
    journey.done()


def test_a_manager_sees_personal_data_redacted_until_asking_and_the_look_is_logged(
    page, live_url, login, project, audited
):
    journey = Journey(page, "audit-pii")
    login(page, "manager")
    page.goto(f"{live_url}/projects/{project.pk}/audit?kind=pii")
    text = page.locator(".finding .member-text").first
    expect(text).to_have_text("Call me on [PHONE] or mail [EMAIL]")
    journey.seen("redacted")
    page.click("text=Show the originals")
    expect(text).to_contain_text("jo.bloggs@example.com")
    assert AccessLog.objects.filter(action="pii_view", actor="manager").count() == 1
    journey.seen("originals")
    page.keyboard.press("r")
    expect(page.locator(".messages")).to_contain_text("redacted")
    assert Item.objects.get(external_id="pii").redacted_text == "Call me on [PHONE] or mail [EMAIL]"
    page.goto(f"{live_url}/projects/{project.pk}/access-log")
    expect(page.locator("#access-log")).to_contain_text("pii_view")
    expect(page.locator("#access-log")).to_contain_text("finding_redact")
    journey.seen("access-log")
    journey.done()
