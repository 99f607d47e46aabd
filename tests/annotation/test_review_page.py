"""The review page and the project page's quality section: who sees them."""

import pytest

from annotation.services.importing import import_objects
from tests.annotation.review_helpers import blobs_with_flips, run_job


@pytest.fixture
def flagged(project, members):
    rows, _ = blobs_with_flips()
    import_objects(project=project, objects=rows)
    return run_job(project)


@pytest.mark.parametrize(("role", "status"), [
    ("manager", 200), ("reviewer", 200), ("annotator", 403), ("engineer", 403), ("outsider", 404),
])  # fmt: skip
def test_the_review_page_is_for_managers_and_reviewers(client, project, members, role, status):
    client.force_login(members[role])
    assert client.get(f"/projects/{project.pk}/review").status_code == status


def test_the_project_page_shows_open_flags_and_annotator_quality_to_reviewers(
    client, project, members, flagged
):
    client.force_login(members["reviewer"])
    page = client.get(f"/projects/{project.pk}/").content.decode()
    assert 'id="label-quality"' in page and f'href="/projects/{project.pk}/review"' in page
    assert '<b id="open-issues">6</b>' in page


def test_annotators_see_no_quality_section(client, project, members, flagged):
    client.force_login(members["annotator"])
    page = client.get(f"/projects/{project.pk}/").content.decode()
    assert "label-quality" not in page and f"/projects/{project.pk}/review" not in page


def search_section(client, project) -> str:
    page = client.get(f"/projects/{project.pk}/review").content.decode()
    start = page.index('id="issue-search"')
    return " ".join(page[start : page.index("</section>", start)].split())


def test_the_review_page_says_what_the_latest_search_saw_and_decided(
    client, project, members, flagged
):
    flagged.status = "succeeded"
    flagged.save()
    client.force_login(members["reviewer"])
    section = search_section(client, project)
    assert "90 labeled items, cross-validated accuracy" in section
    assert "It flagged 6 labels" in section
    assert "at least 5 labels in every label used" in section


def test_a_closed_gate_is_shown_as_the_reason_nothing_was_flagged(
    client, project, members, settings
):
    rows, _ = blobs_with_flips()
    import_objects(project=project, objects=rows)
    settings.QUORUM_ISSUE_GATE_MIN_PER_CLASS = 31
    job = run_job(project)
    job.status = "succeeded"
    job.save()
    client.force_login(members["manager"])
    section = search_section(client, project)
    assert "It flagged nothing: not enough labels yet: need at least 31 labels" in section


def test_before_any_search_the_page_says_so(client, project, members):
    client.force_login(members["manager"])
    assert "No search for label issues has run yet." in search_section(client, project)
