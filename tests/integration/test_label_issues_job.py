"""The label-issues job end to end: import a labeled file with known wrong labels, run the
job through the API on a real Celery worker, and read the flags back from the API."""

import csv
import io

import numpy as np
import pytest

from annotation.models import LabelIssue
from annotation.services.projects import membership_set

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VOCAB = {
    "positive": "great lovely excellent superb wonderful delightful perfect happy",
    "negative": "awful broken terrible horrible useless dreadful sad angry",
    "neutral": "table chair window paper street number average plain",
}
N_PER_CLASS, FLIPS = 40, 8


def labeled_csv(seed: int = 0) -> tuple[bytes, set[str]]:
    """120 texts of six class words and two shared ones; FLIPS of them carry a wrong label."""
    rng = np.random.default_rng(seed)
    names, rows = list(VOCAB), []
    for name in names:
        words = VOCAB[name].split()
        for i in range(N_PER_CLASS):
            text = " ".join([*rng.choice(words, 6), *rng.choice(["the", "it", "was", "a"], 2)])
            rows.append([f"{name}-{i}", text, name])
    flipped = set()
    for row in (rows[j] for j in rng.choice(len(rows), FLIPS, replace=False)):
        row[2] = names[(names.index(row[2]) + 1) % 3]
        flipped.add(row[0])
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "text", "label"])
    writer.writerows(rows)
    return out.getvalue().encode(), flipped


def test_imported_wrong_labels_are_flagged_and_listed(
    transactional_db, celery_worker, wait_for_job, project, members, client_for
):
    api = client_for(members["manager"])
    content, flipped = labeled_csv()
    upload = io.BytesIO(content)
    upload.name = "audit.csv"
    imported = api.post(f"/api/projects/{project.pk}/import", {"file": upload}, format="multipart")
    assert imported.status_code == 201, imported.content
    assert imported.json()["labels"] == 3 * N_PER_CLASS

    started = api.post(f"/api/projects/{project.pk}/jobs", {"kind": "label_issues"}, format="json")
    assert started.status_code == 202
    job = wait_for_job(started.json()["id"], timeout=120)
    assert job.status == "succeeded", job.error
    assert job.result["labeled"] == 3 * N_PER_CLASS and job.result["timings"]["cleanlab"] >= 0

    listing = client_for(members["reviewer"]).get(f"/api/projects/{project.pk}/label-issues")
    results = listing.json()["results"]
    found = {r["item"]["external_id"] for r in results}
    assert flipped <= found, f"missed {flipped - found}"
    assert len(found - flipped) <= 2, f"false alarms {found - flipped}"
    assert [r["quality"] for r in results] == sorted(r["quality"] for r in results)
    assert all(r["run"] == job.pk for r in results)
    # annotators see none of it
    annotator = members["annotator"]
    membership_set(project=project, user=annotator, role="annotator")
    assert client_for(annotator).get(f"/api/projects/{project.pk}/label-issues").status_code == 403

    # after review, a second run through the worker does not flag the reviewed items again
    reviewed = results[0]["item"]["id"]
    assert api.post(f"/api/items/{reviewed}/review", {"action": "dismiss"},
                    format="json").status_code == 201  # fmt: skip
    again = api.post(f"/api/projects/{project.pk}/jobs", {"kind": "label_issues"}, format="json")
    second = wait_for_job(again.json()["id"], timeout=120)
    assert second.status == "succeeded", second.error
    assert second.result["suppressed_after_review"] == 1
    assert not LabelIssue.objects.filter(job=second, item_id=reviewed).exists()
