"""The compression preview page: managers only, removed spans struck through, every text
escaped, the curve and the level picker from the latest sweep."""

import re

import pytest
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from annotation.jobs.runner import job_execute
from annotation.models import Item, Job
from annotation.services.compression import compression_job_start
from annotation.views.compression import diff_parts
from learning.compress import DEFAULT_PROFILE
from tests.compression_helpers import compression_project

pytestmark = pytest.mark.django_db(transaction=True)
HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def swept(project, manager):
    items = compression_project(project, manager, n=30)
    Item.objects.filter(pk=items[0].pk).update(text=items[0].text + "\n-- \n" + HOSTILE)
    job, _ = compression_job_start(project=project, user=manager)
    job_execute(job_id=job.pk, task_id="test")
    return Job.objects.get(pk=job.pk)


def test_the_page_strikes_removed_spans_and_escapes_every_text(project, manager, swept):
    level = swept.result["settings"][-1]["level"]
    html = page_client(manager).get(f"/projects/{project.pk}/compression?level={level}")
    body = html.content.decode()
    assert html.status_code == 200
    samples = body[body.index('class="samples"') :]
    outside_del = re.sub(r"<del>.*?</del>", "", samples, flags=re.S)
    assert "We use cookies" in samples and "We use cookies" not in outside_del
    assert "Order 0" in outside_del  # the content stays
    assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)" in body
    assert 'id="curve-table"' in body and "proposed" in body
    assert f'data-level="{level}"' in body


def test_without_a_sweep_the_page_says_so_and_junk_parameters_are_ignored(project, manager):
    compression_project(project, manager, n=12)
    client = page_client(manager)
    for query in ("", "?profile=abc", "?profile=99999999999999999999999", "?level=nan",
                  "?level=7&profile=1"):  # fmt: skip
        response = client.get(f"/projects/{project.pk}/compression{query}")
        assert response.status_code == 200 and 'id="no-sweep"' in response.content.decode()


def test_junk_levels_fall_back_to_the_proposal(project, manager, swept):
    client = page_client(manager)
    for level in ("abc", "0.3", "inf", "-1", "nan"):
        response = client.get(f"/projects/{project.pk}/compression?level={level}")
        assert response.status_code == 200
        assert 'aria-current="true"><td><a href="?profile=' in response.content.decode()
    original = client.get(f"/projects/{project.pk}/compression?level=0").content.decode()
    assert "<del>" not in original and "We use cookies" in original  # level 0: the originals


def test_only_managers_open_it_and_start_sweeps(project, members):
    for role in ("annotator", "reviewer", "engineer"):
        client = page_client(members[role])
        assert client.get(f"/projects/{project.pk}/compression").status_code == 403
        assert client.post(f"/projects/{project.pk}/compression/run").status_code == 403
    assert page_client(members["outsider"]).get(
        f"/projects/{project.pk}/compression").status_code == 404  # fmt: skip


def test_the_run_button_queues_a_sweep_of_the_chosen_profile(project, manager):
    client = page_client(manager)
    response = client.post(f"/projects/{project.pk}/compression/run", {"profile": "junk"})
    assert response.status_code == 302 and not Job.objects.exists()
    client.get(f"/projects/{project.pk}/compression")  # makes the default profile
    profile = project.compression_profiles.get()
    response = client.post(f"/projects/{project.pk}/compression/run", {"profile": profile.pk})
    assert response.status_code == 302
    assert Job.objects.get().params["profile"] == profile.pk


def test_diff_parts_rebuild_the_original_and_mark_what_no_segment_keeps():
    original = "keep this, drop this, keep that"
    parts = diff_parts(original, [[0, 0, 10], [10, 21, 10]])
    assert "".join(p["text"] for p in parts) == original
    assert [p["text"] for p in parts if p["removed"]] == [" drop this,"]
    assert diff_parts("abc", []) == [{"text": "abc", "removed": True}]


PIECES = ["<p>", "</p>", "&amp;", "  ", "\n", "\n\n", "> quoted", "-- \nJane", "Hello world.",
          "Hello world.", "x = 1", "é", "\u00a0", "<script>", "Accept cookies now please."]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(PIECES), max_size=12).map("".join), min_size=3,
                max_size=6), st.sampled_from([0.25, 0.5, 0.75, 1.0]))  # fmt: skip
def test_the_preview_diff_is_the_original_with_exactly_the_unkept_characters_struck(texts, level):
    """For any corpus and level, the struck-through view rebuilds the original, and what it
    leaves unstruck is exactly what the kept segments copy."""
    for original, edit in zip(
        texts, DEFAULT_PROFILE.build(level).fit_transform(texts), strict=True
    ):
        parts = diff_parts(original, [list(s) for s in edit.segments])
        assert "".join(p["text"] for p in parts) == original
        kept = {i for _, start, length in edit.segments for i in range(start, start + length)}
        pos, unstruck = 0, set()
        for part in parts:
            if not part["removed"]:
                unstruck |= set(range(pos, pos + len(part["text"])))
            pos += len(part["text"])
        assert unstruck == kept
