"""Reads of annotator quality over time (``AnnotatorQualityRecord``, one row per annotator per
label-quality run): the dashboard's per-annotator series and the "quality dropping" rule's
levels. Reviewers and managers only, as the latest quality (``/annotator-quality``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from annotation.models import AnnotatorQualityRecord, Project

HISTORY_RUNS = 30


def _run_key(row: Mapping[str, Any]) -> str:
    """A run is its job; a record whose job was deleted stands alone, at its own time."""
    return f"job:{row['job_id']}" if row["job_id"] is not None else f"at:{row['created_at']}"


def quality_history(*, project: Project, runs: int = HISTORY_RUNS) -> dict:
    """The latest ``runs`` label-quality runs, oldest first, and each annotator's score in each:
    ``{"runs": [{"job", "at"}], "annotators": [{"annotator", "scores", "n_items"}]}`` with
    ``scores[i]`` / ``n_items[i]`` None where the annotator was not measured in run ``i``."""
    records = (
        AnnotatorQualityRecord.objects.filter(project=project)
        .order_by("-created_at", "-id")
        .values("job_id", "created_at", "annotator__username", "score", "n_items")
    )
    # Newest first, a run's records lie together (label-quality jobs of a project run one
    # at a time), so the read stops at the first record of the run past ``runs``: the
    # dashboard reads this on every load and the history only grows.
    rows: list[Mapping[str, Any]] = []
    order: dict[str, dict] = {}
    for row in records.iterator(chunk_size=2000):
        key = _run_key(row)
        if key not in order:
            if len(order) == runs:
                break
            order[key] = {"job": row["job_id"], "at": row["created_at"].isoformat()}
        rows.append(row)
    keys = list(reversed(order))
    index = {key: i for i, key in enumerate(keys)}
    people: dict[str, dict] = {}
    for measured in rows:
        i = index.get(_run_key(measured))
        if i is None:
            continue
        name = measured["annotator__username"]
        person = people.setdefault(name, {"annotator": name, "scores": [None] * len(keys),
                                           "n_items": [None] * len(keys)})  # fmt: skip
        if person["scores"][i] is None:  # the newest row of the run wins (rows are newest first)
            person["scores"][i], person["n_items"][i] = measured["score"], measured["n_items"]
    return {"runs": [order[k] for k in keys],
            "annotators": [people[name] for name in sorted(people)]}  # fmt: skip


@dataclass(frozen=True)
class QualityLevel:
    """An annotator's latest measured quality against their own earlier level: the mean
    score of up to ``runs`` earlier measurements over at least ``min_items`` items (None when
    there is none)."""

    annotator_id: int
    annotator: str
    latest: float
    latest_items: int
    earlier: float | None
    earlier_runs: int


def quality_levels(*, project: Project, runs: int, min_items: int) -> list[QualityLevel]:
    """One :class:`QualityLevel` per annotator with a record, by annotator id. The latest
    measurement is the newest record whatever its size (the rule decides whether it is big
    enough); the earlier level counts only measurements of ``min_items`` or more."""
    rows = (
        AnnotatorQualityRecord.objects.filter(project=project)
        .order_by("annotator_id", "-created_at", "-id")
        .values_list("annotator_id", "annotator__username", "score", "n_items")
    )
    series: dict[int, list[tuple[str, float, int]]] = {}
    for annotator_id, name, score, n_items in rows:
        series.setdefault(annotator_id, []).append((name, score, n_items))
    levels = []
    for annotator_id, points in series.items():
        name, latest, latest_items = points[0]
        earlier = [score for _, score, n in points[1:] if n >= min_items][:runs]
        levels.append(QualityLevel(
            annotator_id=annotator_id, annotator=name, latest=latest, latest_items=latest_items,
            earlier=sum(earlier) / len(earlier) if earlier else None, earlier_runs=len(earlier),
        ))  # fmt: skip
    return levels
