"""The compression job through the API and the job runner: result, cache, refusals."""

import pytest

from annotation.jobs.runner import job_execute
from annotation.models import CompressedText, Item, Job, JobStatus
from annotation.services.compression import compression_profile_create
from annotation.services.projects import project_create
from tests.compression_helpers import compression_project

pytestmark = pytest.mark.django_db(transaction=True)
RESULT_KEYS = {"profile", "version", "baseline", "settings", "proposed"}
SETTING_KEYS = {"level", "tokens", "token_ratio", "attention_ratio", "macro_f1"}


def start(api, project, **body):
    return api.post(f"/api/projects/{project.pk}/jobs", {"kind": "compression", **body},
                    format="json")  # fmt: skip


def run(api, project, **body) -> Job:
    response = start(api, project, **body)
    assert response.status_code == 202, response.json()
    job_execute(job_id=response.json()["id"], task_id="test")
    return Job.objects.get(pk=response.json()["id"])


def test_the_sweep_measures_every_level_proposes_one_and_caches_every_item(api, project, manager):
    items = compression_project(project, manager)
    originals = {item.pk: item.text for item in items}
    job = run(api, project, tolerance=0.02)
    assert job.status == JobStatus.SUCCEEDED, job.error
    result = job.result
    assert set(result) == RESULT_KEYS
    assert set(result["baseline"]) == {"tokens", "macro_f1"}
    assert [set(s) for s in result["settings"]] == [SETTING_KEYS] * len(result["settings"])
    levels = [s["level"] for s in result["settings"]]
    assert levels == sorted(levels) and result["proposed"] in [0.0, *levels]
    best = next((s for s in result["settings"] if s["level"] == result["proposed"]), None)
    if best is not None:
        assert best["macro_f1"] >= result["baseline"]["macro_f1"] - 0.02 - 1e-9
    assert all(s["tokens"] < result["baseline"]["tokens"] for s in result["settings"])
    assert all(0 < s["attention_ratio"] <= s["token_ratio"] <= 1 for s in result["settings"])
    cached = CompressedText.objects.filter(profile_id=result["profile"], version=result["version"])
    assert cached.count() == len(items) * len(levels)
    for row in cached.filter(level=levels[-1]):
        original = originals[row.item_id]
        for out_start, orig_start, length in row.segments:  # kept text maps back verbatim
            assert (
                row.text[out_start : out_start + length]
                == original[orig_start : orig_start + length]
            )
        assert row.tokens < row.tokens_original
    assert dict(Item.objects.values_list("pk", "text")) == originals  # never overwritten


def test_a_rerun_overwrites_the_cache_and_a_new_version_gets_its_own(api, project, manager):
    compression_project(project, manager, n=30)
    first = run(api, project)
    count = CompressedText.objects.count()
    assert run(api, project).status == JobStatus.SUCCEEDED
    assert CompressedText.objects.count() == count
    profile_id = first.result["profile"]
    changed = api.patch(f"/api/projects/{project.pk}/compression-profiles/{profile_id}",
                        {"filters": [{"name": "markup"}, {"name": "normalize"}]},
                        format="json")  # fmt: skip
    assert changed.json()["version"] == 2
    second = run(api, project, profile=profile_id)
    assert second.result["version"] == 2
    assert CompressedText.objects.filter(version=2).count() == 30 * len(second.result["settings"])
    assert not CompressedText.objects.filter(version=1).exists()  # no one can ask for v1 now


def test_too_few_labels_fail_the_job_with_a_reason(api, project, manager):
    compression_project(project, manager, n=20, labeled=4)
    job = run(api, project)
    assert job.status == JobStatus.FAILED
    assert "at least 10 labeled items" in job.error and "4 labeled" in job.error


def test_a_multi_label_project_is_refused_readably(api, manager):
    project = project_create(creator=manager, name="Multi", labels=["a"], multi_label=True)
    compression_project(project, manager, n=30)
    job = run(api, project)
    assert job.status == JobStatus.FAILED and "single-label" in job.error


def test_a_profile_with_the_model_filter_is_refused_readably(api, project, manager):
    compression_project(project, manager, n=30)
    profile = compression_profile_create(project=project, name="m",
                                         filters=[{"name": "model"}])  # fmt: skip
    job = run(api, project, profile=profile.pk)
    assert job.status == JobStatus.FAILED and "model filter" in job.error


@pytest.mark.parametrize(
    ("body", "field"),
    [({"profile": 999999}, "profile"), ({"profile": "x"}, "profile"),
     ({"tolerance": 1.5}, "tolerance"), ({"tolerance": -0.1}, "tolerance"),
     ({"tolerance": True}, "tolerance")],
)  # fmt: skip
def test_bad_parameters_answer_400(api, project, body, field):
    response = start(api, project, **body)
    assert response.status_code == 400 and field in response.json(), response.json()


def test_other_kinds_take_no_profile_and_only_managers_start_a_sweep(
    api, project, members, client_for
):
    response = api.post(f"/api/projects/{project.pk}/jobs", {"kind": "audit", "profile": 1},
                        format="json")  # fmt: skip
    assert response.status_code == 400 and "profile" in response.json()
    assert start(client_for(members["reviewer"]), project).status_code == 403


def test_another_projects_profile_is_refused(api, project, manager):
    other = project_create(creator=manager, name="Other", labels=["a", "b"])
    theirs = compression_profile_create(project=other, name="t", filters=[{"name": "markup"}])
    response = start(api, project, profile=theirs.pk)
    assert response.status_code == 400 and "profile" in response.json()


def test_deleted_content_is_neither_swept_nor_cached_and_deleting_drops_the_cache(
    api, project, manager
):
    from annotation.services.retention import items_content_delete

    items = compression_project(project, manager, n=30)
    items_content_delete(project=project, item_ids=[items[0].pk], actor=manager, reason="asked")
    job = run(api, project)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert not CompressedText.objects.filter(item_id=items[0].pk).exists()
    assert CompressedText.objects.filter(item_id=items[1].pk).exists()
    items_content_delete(project=project, item_ids=[items[1].pk], actor=manager, reason="asked")
    assert not CompressedText.objects.filter(item_id=items[1].pk).exists()


def test_asking_again_while_a_sweep_of_that_profile_version_waits_joins_it(api, project):
    first = start(api, project)
    again = start(api, project, tolerance=0.05)
    assert again.status_code == 202 and again.json()["coalesced"] is True
    assert again.json()["id"] == first.json()["id"]
    other = compression_profile_create(project=project, name="o", filters=[{"name": "markup"}])
    separate = start(api, project, profile=other.pk)
    assert separate.json()["coalesced"] is False and separate.json()["id"] != first.json()["id"]


def test_a_large_project_is_measured_on_a_seeded_sample_and_cached_whole(
    api, project, manager, monkeypatch
):
    import numpy as np

    from learning.compress import count_tokens
    from learning.services import compression

    monkeypatch.setattr(compression, "MAX_SWEEP_ITEMS", 24)
    compression_project(project, manager, n=36)
    job = run(api, project)
    assert job.status == JobStatus.SUCCEEDED, job.error
    per_item = count_tokens(list(Item.objects.order_by("pk").values_list("text", flat=True)))
    assert job.result["baseline"]["tokens"] < per_item.sum()  # 24 items' tokens, not 36
    assert job.result["baseline"]["tokens"] >= np.sort(per_item)[:24].sum()
    assert CompressedText.objects.filter(level=1.0).count() == 36
