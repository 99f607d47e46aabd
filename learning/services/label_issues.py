"""The label-issues job: confident learning and CROWDLAB consensus over every labeled item.

One seam, as everywhere in ``learning.services``: load the project's labeled items and their
annotations in bulk, call the pure maths (``learning.classifier.out_of_sample_proba``,
``learning.label_quality``), write the verdicts back in bulk in one transaction.

What the job writes:

* ``Item.consensus_labels/consensus_quality/consensus_method`` for items with two or more labels
  (CROWDLAB, or majority vote marked ``"majority"`` when there is too little overlap);
* one ``AnnotatorQuality`` row per annotator (imported labels have no annotator and get none),
  and the same numbers as this run's ``AnnotatorQualityRecord`` (the history);
* one ``LabelIssue`` per flagged item, most severe first. Open issues of earlier runs are replaced
  (the newest model's opinion wins); resolved ones stay as history. An item a reviewer resolved is
  not flagged again until its labels change: the audit log keeps the labels fingerprint the
  reviewer left behind, and the job compares it with the item's current one.

The label each item is judged on is ``annotation.item_label.decide_label``'s (reviewer's final
label, else consensus, else the majority), with this run's fresh consensus.
Items with an open flag are *not* left out here (unlike training): they are what is being judged.

Multi-label projects are searched label by label (``learning.services.label_issues_multilabel``):
an issue then carries the given and the suggested label *sets*; no consensus is written (CROWDLAB
is single-label only; several annotators count as a majority per label).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
from django.db import transaction

from annotation.item_label import decide_label
from annotation.models import (
    AnnotatorQuality,
    AnnotatorQualityRecord,
    IssueStatus,
    Item,
    Job,
    LabelIssue,
    Project,
    ReviewAction,
)
from annotation.services.review import IMPORT_KEY, labels_fingerprint
from learning.classifier import out_of_sample_proba
from learning.issue_gate import confident_flags, gate_verdict
from learning.label_quality import find_label_issues, multiannotator_consensus
from learning.services.label_issues_features import featurize_items, labels_by_item, project_gate
from learning.services.label_issues_multilabel import multilabel_issue_rows, multilabel_search

FOLDS = 5
WRITE_BATCH = 2000


@dataclass
class LabeledItems:
    """The project's labeled items as arrays.

    ``M`` (N, R) holds class indices (-1 missing), one column per annotator key in
    ``annotators`` (a user id, or ``IMPORT_KEY`` for imported labels); ``final`` (N,) is the
    reviewer's label index or -1; ``fingerprints`` (N,) the labels fingerprints.
    """

    item_ids: np.ndarray
    M: np.ndarray
    annotators: list
    final: np.ndarray
    fingerprints: list[str]


def label_issues_job_handler(job: Job, report_progress: Callable[[float], None]) -> dict:
    """Run confident learning on ``job.project``; returns the run's result JSON."""
    project = job.project
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now

    names = list(project.labels.order_by("position", "id").values_list("name", flat=True))
    if project.multi_label:
        return _multilabel_job(job, names, report_progress, lap, timings)
    data = load_labeled_items(project=project, names=names)
    n = data.item_ids.size
    lap("load")
    report_progress(0.1)
    if n < 4:
        note = f"too few labeled items ({n}) to cross-validate"
        gate = {"passed": False, "note": note, "labels": int(n),
                "thresholds": asdict(project_gate())}  # fmt: skip
        return {"note": note, "labeled": n, "flagged": 0, "gate": gate}
    y0 = decided_labels(data, names)
    X, featurizer = featurize_items(project=project, item_ids=data.item_ids)
    lap("featurize")
    report_progress(0.3)
    probs = out_of_sample_proba(X, y0, n_classes=len(names), folds=min(FOLDS, n), seed=project.seed)
    lap("cross_validate")
    report_progress(0.7)
    multi = (data.M >= 0).sum(axis=1) >= 2
    consensus = multiannotator_consensus(data.M, probs) if multi.any() else None
    given = y0.copy()
    if consensus is not None:
        given = decided_labels(data, names, np.where(multi, consensus.consensus_label, -1))
    thresholds = project_gate()
    verdict = gate_verdict(given, probs, n_classes=len(names), gate=thresholds)
    issues = find_label_issues(given, probs, class_names=names) if verdict.passed else None
    ranked = (
        confident_flags(issues.ranked, issues.label_quality, gate=thresholds) if issues else None
    )
    lap("cleanlab")
    report_progress(0.8)
    flagged, suppressed = _write(job, data, names, given, probs, issues, ranked, consensus, multi)
    lap("write")
    return {
        "labeled": int(n),
        "flagged": flagged,
        "mild_doubts_not_flagged": (
            0 if issues is None or ranked is None else int(issues.ranked.size - ranked.size)
        ),
        "suppressed_after_review": suppressed,
        "multi_annotated": int(multi.sum()),
        "consensus_method": consensus.method if consensus else None,
        "consensus_note": consensus.note if consensus else None,
        "note": verdict.note if issues is None else issues.note,
        "gate": verdict.as_dict(),
        "featurizer": featurizer,
        "folds": min(FOLDS, int(n)),
        "timings": timings,
    }


def _multilabel_job(job, names, report_progress, lap, timings) -> dict:
    search = multilabel_search(
        project=job.project, names=names, report_progress=report_progress, lap=lap
    )
    if search.issues is None:
        return {**search.result, "flagged": 0}
    reviewed = reviewed_fingerprints(project=job.project)
    rows, suppressed = multilabel_issue_rows(job=job, search=search, names=names, reviewed=reviewed)
    with transaction.atomic():
        _replace_open_issues(job, rows)
    lap("write")
    return {**search.result, "flagged": len(rows), "suppressed_after_review": suppressed,
            "timings": timings}  # fmt: skip


def decided_labels(data: LabeledItems, names: list[str],
                   consensus: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """Each item's label index by ``annotation.item_label``: final, else consensus, else majority.

    ``consensus`` is (N,) label indices from this run's consensus, -1 where there is none.
    """
    index = {name: k for k, name in enumerate(names)}
    out = np.empty(data.item_ids.size, dtype=np.int64)
    for i, (row, final) in enumerate(zip(data.M.tolist(), data.final.tolist(), strict=True)):
        agreed = -1 if consensus is None else int(consensus[i])
        decision = decide_label(
            final=names[final] if final >= 0 else None,
            consensus=names[agreed] if agreed >= 0 else None,
            votes=[names[k] for k in row if k >= 0], multi_label=False, order=names,
        )  # fmt: skip
        out[i] = index[decision.labels[0]]
    return out


def load_labeled_items(*, project: Project, names: list[str]) -> LabeledItems:
    """Every item with a human, imported or reviewer label, as a rating matrix.

    Review annotations are left out of ``M``: a reviewer's decision is ``Item.final_labels``.
    Labels that are no longer in the label set are ignored.
    """
    index = {name: k for k, name in enumerate(names)}
    per_item, finals = labels_by_item(project=project)
    item_ids = np.array(sorted(set(per_item) | set(finals)), dtype=np.int64)
    annotators = sorted({k for v in per_item.values() for k in v}, key=str)
    column = {key: j for j, key in enumerate(annotators)}
    M = np.full((item_ids.size, len(annotators)), -1, dtype=np.int64)
    final = np.full(item_ids.size, -1, dtype=np.int64)
    fingerprints = []
    for i, item_id in enumerate(item_ids.tolist()):
        given = per_item.get(item_id, {})
        for key, labels in given.items():
            if labels and labels[0] in index:
                M[i, column[key]] = index[labels[0]]
        final_labels = finals.get(item_id)
        if final_labels and final_labels[0] in index:
            final[i] = index[final_labels[0]]
        fingerprints.append(labels_fingerprint(given, final_labels))
    keep = (M >= 0).any(axis=1) | (final >= 0)
    return LabeledItems(
        item_ids[keep], M[keep], annotators, final[keep],
        [f for f, k in zip(fingerprints, keep, strict=True) if k],
    )  # fmt: skip


def reviewed_fingerprints(*, project: Project) -> dict[int, str]:
    """item id -> the labels fingerprint the item's latest review action left behind."""
    latest: dict[int, str] = {}
    actions = (
        ReviewAction.objects.filter(item__project=project)
        .order_by("item_id", "id")
        .values_list("item_id", "after")
    )
    for item_id, after in actions.iterator(chunk_size=10_000):
        latest[item_id] = (after or {}).get("labels_fingerprint", "")
    return latest


def _write(job, data, names, given, probs, issues, ranked, consensus, multi) -> tuple[int, int]:
    """Write the flags and the consensus. Without ``issues`` (the gate was closed) the open
    flags of earlier runs stay: a model too weak to judge cannot overrule them either."""
    if issues is None:
        with transaction.atomic():
            if consensus is not None:
                _write_consensus(job, data, names, consensus, multi)
        return 0, 0
    reviewed = reviewed_fingerprints(project=job.project)
    rows, suppressed = [], 0
    for i in ranked.tolist():
        item_id = int(data.item_ids[i])
        if reviewed.get(item_id) == data.fingerprints[i]:
            suppressed += 1
            continue
        suggested = int(issues.suggested_label[i])
        rows.append(
            LabelIssue(
                project=job.project,
                item_id=item_id,
                job=job,
                given_label=names[given[i]],
                suggested_label=names[suggested],
                given_labels=[names[given[i]]],
                suggested_labels=[names[suggested]],
                suggested_probability=float(probs[i, suggested]),
                quality=float(issues.label_quality[i]),
                reason=issues.reasons[i][:500],
                labels_fingerprint=data.fingerprints[i],
            )  # fmt: skip
        )
    with transaction.atomic():
        _replace_open_issues(job, rows)
        if consensus is not None:
            _write_consensus(job, data, names, consensus, multi)
    return len(rows), suppressed


def _replace_open_issues(job: Job, rows: list[LabelIssue]) -> None:
    """Open flags of earlier runs (and of an earlier attempt of this one) are replaced."""
    LabelIssue.objects.filter(project=job.project, status=IssueStatus.OPEN).delete()
    LabelIssue.objects.filter(job=job).delete()
    LabelIssue.objects.bulk_create(rows, batch_size=WRITE_BATCH)


def _write_consensus(job, data, names, consensus, multi) -> None:
    items = [
        Item(
            id=int(data.item_ids[i]),
            consensus_labels=[names[consensus.consensus_label[i]]],
            consensus_quality=float(consensus.consensus_quality[i]),
            consensus_method=consensus.method,
        )
        for i in np.flatnonzero(multi & (consensus.consensus_label >= 0)).tolist()
    ]
    Item.objects.bulk_update(
        items, ["consensus_labels", "consensus_quality", "consensus_method"], batch_size=WRITE_BATCH
    )
    for j, key in enumerate(data.annotators):
        score = consensus.annotator_quality[j]
        if key == IMPORT_KEY or not np.isfinite(score):
            continue
        measured = {"score": float(score), "n_items": int(consensus.annotator_n_items[j]),
                    "method": consensus.method}  # fmt: skip
        AnnotatorQuality.objects.update_or_create(
            project=job.project, annotator_id=key, defaults=measured | {"job": job}
        )
        AnnotatorQualityRecord.objects.update_or_create(
            job=job, annotator_id=key, defaults=measured | {"project": job.project}
        )
