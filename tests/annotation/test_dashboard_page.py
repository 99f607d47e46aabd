"""The dashboard page and the project page's agreement section: who sees what."""

import pytest
from django.test import Client


@pytest.fixture
def browser_for(members):
    def make(who: str) -> Client:
        client = Client()
        client.force_login(members[who])
        return client

    return make


@pytest.mark.parametrize(
    "who, status", [("manager", 200), ("reviewer", 200), ("annotator", 403), ("outsider", 404)]
)
def test_dashboard_is_for_managers_and_reviewers(project, browser_for, who, status):
    assert browser_for(who).get(f"/projects/{project.pk}/dashboard").status_code == status


def test_project_page_links_the_dashboard_with_a_reason_before_any_run(project, browser_for):
    html = browser_for("reviewer").get(f"/projects/{project.pk}/").content.decode()
    assert f"/projects/{project.pk}/dashboard" in html
    assert "Not computed yet" in html
    html = browser_for("annotator").get(f"/projects/{project.pk}/").content.decode()
    assert "/dashboard" not in html


def test_the_learning_curve_says_when_its_scores_are_biased(project, browser_for):
    """Cross-validated scores on actively chosen items understate the model: said under the
    curve for every strategy but random, whose labeled items are a fair sample."""
    url = f"/projects/{project.pk}/dashboard"
    for strategy, shown in (("margin", True), ("entropy", True), ("random", False)):
        project.strategy = strategy
        project.save(update_fields=["strategy"])
        html = browser_for("manager").get(url).content.decode()
        assert ('id="curve-bias"' in html) is shown, strategy
    project.strategy, project.eval_sample = "margin", 100
    project.save(update_fields=["strategy", "eval_sample"])
    html = browser_for("manager").get(url).content.decode()
    assert 'id="curve-bias"' not in html and 'id="curve-fair"' in html
    assert "100 random items" in html
