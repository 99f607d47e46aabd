"""The data-centric loop for a small team, end to end on a real worker (bench/team.py, small).

Three annotators of accuracy 0.95, 0.85 and 0.70 label SMS texts through the API on an overlap-1
project with a 30% agreement sample, adaptive overlap up to 3 and active learning, label issues
and agreement triggered by the project's own settings. Then: agreement is available early,
every job succeeded, no label-issue run flagged anything while its gate was closed, and the
snapshot's labels are the training labels.
"""

import csv
import json

import numpy as np
import pytest

from annotation.label_selectors import training_labels
from annotation.models import Item, Job, JobStatus
from annotation.services.projects import membership_set, project_create
from tests.reference_data import shared_data

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ACCURACIES = (0.95, 0.85, 0.70)
POOL, LABELS = 300, 90


def sms(n: int) -> list[tuple[str, str]]:
    path = shared_data("uci-sms-spam", "SMSSpamCollection")
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [(label, text) for label, text in rows[:n]]


def drain(project, wait_for_job) -> list[Job]:
    """Wait until every job of the project has finished (new ones may start meanwhile)."""
    while pending := list(project.jobs.exclude(status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED])):
        for job in pending:
            wait_for_job(job.pk, timeout=180)
    return list(project.jobs.all())


def test_a_team_gets_agreement_early_and_one_label_everywhere(
    transactional_db, worker_exports, celery_worker, wait_for_job, make_user, client_for
):
    manager = make_user("lead")
    project = project_create(
        creator=manager, name="team", labels=["ham", "spam"], overlap=1, max_overlap=3,
        min_item_agreement=1.0, agreement_sample=0.3, retrain_every=15, label_issues_every=30,
        agreement_every=3,
    )  # fmt: skip
    team = [make_user(f"a{i}") for i in range(3)]
    for user in team:
        membership_set(project=project, user=user, role="annotator")
    data = sms(POOL)
    api = client_for(manager)
    body = {"items": [{"id": str(i), "text": text} for i, (_, text) in enumerate(data)]}
    assert api.post(f"/api/projects/{project.pk}/import", body, format="json").status_code == 201

    rng = np.random.default_rng(0)
    clients = [client_for(user) for user in team]
    given = 0
    for turn in range(LABELS * 3):
        if given == LABELS:
            break
        who = turn % 3
        served = clients[who].get(f"/api/projects/{project.pk}/next")
        if served.status_code == 204:
            continue
        item = served.json()
        truth = data[int(item["external_id"])][0]
        answer = truth if rng.random() < ACCURACIES[who] else {"ham": "spam", "spam": "ham"}[truth]
        posted = clients[who].post(f"/api/items/{item['id']}/annotations/", {"label": answer},
                                   format="json")  # fmt: skip
        assert posted.status_code == 201, posted.content
        given += 1
    assert given == LABELS

    jobs = drain(project, wait_for_job)
    assert [j.kind for j in jobs if j.status == JobStatus.FAILED] == []
    assert Item.objects.filter(project=project, annotation_count__gte=2).exists()
    agreement = api.get(f"/api/projects/{project.pk}/agreement").json()
    assert "krippendorff_alpha" in agreement["project"]
    for run in (j for j in jobs if j.kind == "label_issues"):
        if not run.result["gate"]["passed"]:
            assert run.result["flagged"] == 0 and not run.label_issues.exists()

    created = api.post(f"/api/projects/{project.pk}/snapshots", {}, format="json")
    assert created.status_code == 202
    assert wait_for_job(created.json()["job"]["id"], timeout=120).status == JobStatus.SUCCEEDED
    download = api.get(f"/api/snapshots/{created.json()['id']}/download?format=jsonl")
    rows = [json.loads(line) for line in b"".join(download.streaming_content).splitlines()]
    exported = {row["id"]: row["labels"] for row in rows}
    training = training_labels(project=project, exclude_open_issues=False)
    external = dict(Item.objects.filter(project=project).values_list("pk", "external_id"))
    trained = {external[pk]: list(labels)
               for pk, labels in zip(training.item_ids.tolist(), training.labels, strict=True)}  # fmt: skip
    assert exported == trained
    assert len(exported) == Item.objects.filter(project=project, annotation_count__gte=1).count()
