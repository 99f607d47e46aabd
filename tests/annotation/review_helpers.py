"""Seeded data with known wrong labels, and a label-issues run without a worker."""

import numpy as np

from annotation.models import Job, JobKind
from learning.services.label_issues import label_issues_job_handler

LABELS = ["positive", "negative", "neutral"]
N_PER_CLASS, N_FLIPPED = 30, 6


def blobs_with_flips(seed: int = 0) -> tuple[list[dict], set[str]]:
    """Three well-separated Gaussian blobs; the first N_FLIPPED items carry a wrong label."""
    rng = np.random.default_rng(seed)
    rows, flipped = [], set()
    for k, name in enumerate(LABELS):
        centre = np.eye(3)[k] * 6
        for i in range(N_PER_CLASS):
            rows.append(
                {
                    "id": f"{name}-{i}",
                    "text": f"{name} {i}",
                    "vector": (centre + rng.normal(size=3)).round(4).tolist(),
                    "label": name,
                }
            )
    for row in rows[:: N_PER_CLASS * 3 // N_FLIPPED][:N_FLIPPED]:
        row["label"] = LABELS[(LABELS.index(row["label"]) + 1) % 3]
        flipped.add(row["id"])
    return rows, flipped


def run_job(project) -> Job:
    job = Job.objects.create(project=project, kind=JobKind.LABEL_ISSUES, status="running")
    job.result = label_issues_job_handler(job, lambda fraction: None)
    job.save()
    return job
