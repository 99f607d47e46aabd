"""The label-issues job on a multi-label project: load label sets, search, build the issue rows.

``learning.services.label_issues`` calls this for ``project.multi_label`` and writes the rows.
Each item is judged on the label set ``learning.services.training_data`` trains on (reviewer's
final labels, else the labels at least half of its annotators applied). CROWDLAB is single-label
only, so several annotators stay a majority per label, and no consensus is written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from annotation.models import Job, LabelIssue, Project
from annotation.services.review import labels_fingerprint
from learning.classifier import MIN_POSITIVES, multilabel_out_of_sample_proba
from learning.issue_gate import Gate, multilabel_gate
from learning.label_quality import MultiLabelIssues, find_multilabel_issues
from learning.services.label_issues_features import featurize_items, labels_by_item, project_gate
from learning.services.training_data import label_targets, training_labels

FOLDS = 5
CONSENSUS_NOTE = (
    "CROWDLAB is single-label only: an item with several annotators is judged on the labels "
    "at least half of them applied (majority per label); no consensus is written"
)


@dataclass
class MultiLabelSearch:
    """What the search found: items (N,), given sets Y (N, K), ``proba`` (N, K), the verdicts."""

    item_ids: np.ndarray
    fingerprints: list[str]
    Y: np.ndarray
    proba: np.ndarray
    issues: MultiLabelIssues | None
    result: dict = field(default_factory=dict)


def multilabel_search(
    *, project: Project, names: list[str], report_progress: Callable[[float], None], lap
) -> MultiLabelSearch:
    """Cross-validate one-vs-rest models on the labeled items and run confident learning."""
    training = training_labels(project=project, exclude_open_issues=False)
    Y = label_targets(training, names=names, multi_label=True)
    n = len(training)
    fingerprints, multi_annotated = _fingerprints(project=project, item_ids=training.item_ids)
    result = {"multi_label": True, "labeled": n, "multi_annotated": multi_annotated,
              "consensus_method": "majority_per_label", "consensus_note": CONSENSUS_NOTE,
              "label_sources": dict(Counter(training.sources))}  # fmt: skip
    lap("load")
    report_progress(0.1)
    if n < 4:
        result["note"] = f"too few labeled items ({n}) to cross-validate"
        return MultiLabelSearch(training.item_ids, fingerprints, Y, np.zeros(Y.shape), None, result)
    X, featurizer = featurize_items(project=project, item_ids=training.item_ids)
    lap("featurize")
    report_progress(0.3)
    folds = min(FOLDS, n)
    proba, modeled = multilabel_out_of_sample_proba(X, Y, folds=folds, seed=project.seed)
    lap("cross_validate")
    report_progress(0.7)
    gate = project_gate()
    trusted, per_label = multilabel_gate(Y, proba, gate=gate)
    issues = find_multilabel_issues(Y, proba, judge=modeled & trusted, class_names=names)
    lap("cleanlab")
    report_progress(0.8)
    skipped = [names[k] for k in np.flatnonzero(~issues.judged)]
    result.update(
        featurizer=featurizer, folds=folds, note=issues.note,
        gate={"passed": bool((modeled & trusted).any()), "labels": n,
              "per_label": dict(zip(names, per_label, strict=True)),
              "thresholds": asdict(gate),
              "note": None if (modeled & trusted).any() else _closed_note(per_label, gate)},
        labels_judged=[names[k] for k in np.flatnonzero(issues.judged)],
        labels_not_judged=skipped,
        labels_not_judged_note=(
            f"labels with fewer than {MIN_POSITIVES} items with them (or without them) get no "
            "model: their probability is their frequency, and they are neither flagged nor "
            "suggested (the given value is kept)" if skipped else None
        ),
    )  # fmt: skip
    return MultiLabelSearch(training.item_ids, fingerprints, Y, proba, issues, result)


def multilabel_issue_rows(
    *, job: Job, search: MultiLabelSearch, names: list[str], reviewed: dict[int, str]
) -> tuple[list[LabelIssue], int]:
    """Unsaved ``LabelIssue`` rows, most severe first, and how many a review suppressed."""
    issues, suppressed = search.issues, 0
    rows: list[LabelIssue] = []
    if issues is None:  # the gate was closed: nothing was judged
        return rows, suppressed
    for i in issues.ranked.tolist():
        item_id = int(search.item_ids[i])
        if reviewed.get(item_id) == search.fingerprints[i]:
            suppressed += 1
            continue
        given = [names[k] for k in np.flatnonzero(search.Y[i])]
        suggested = [names[k] for k in np.flatnonzero(issues.suggested[i])]
        believed = issues.suggested[i] & issues.judged  # the model's weakest belief in the set
        weakest = float(search.proba[i, believed].min()) if believed.any() else None
        rows.append(
            LabelIssue(
                project=job.project,
                item_id=item_id,
                job=job,
                given_label=_display(given),
                suggested_label=_display(suggested),
                given_labels=given,
                suggested_labels=suggested,
                suggested_probability=weakest,
                quality=float(issues.label_quality[i]),
                reason=issues.reasons[i][:500],
                labels_fingerprint=search.fingerprints[i],
            )
        )
    return rows, suppressed


def _closed_note(per_label: list[dict], gate: Gate) -> str:
    rarest = min((min(i["min_class_count"], i["labels"]) for i in per_label), default=0)
    return (
        "not enough labels yet: need a label with at least "
        f"{gate.min_per_class} items with it and without it whose model beats chance by "
        f"{gate.min_lift:.2f} (the rarest label has {rarest})"
    )


def _display(names: list[str]) -> str:
    text = ", ".join(names)
    return text if len(text) <= 100 else text[:99] + "…"


def _fingerprints(*, project: Project, item_ids: np.ndarray) -> tuple[list[str], int]:
    """Each item's labels fingerprint (as the review service computes it), and how many
    items have two or more annotations (reviewers' excluded)."""
    per_item, finals = labels_by_item(project=project)
    ids = item_ids.tolist()
    prints = [labels_fingerprint(per_item.get(i, {}), finals.get(i)) for i in ids]
    return prints, sum(len(per_item.get(i, {})) >= 2 for i in ids)
