"""Which label each item of a project has: one bulk selector for training, stats and jobs.

Each item's label is ``annotation.item_label.decide_label``'s, the rule snapshots and the
label-issue job use too: a reviewer's ``final_labels``, else the ``consensus_labels`` the
label-quality job wrote, else the majority of its annotations. Items with an open
``LabelIssue`` can be left out: their label is in doubt until a reviewer decides.
Everything is read in bulk (three queries), whatever the project size.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from django.db.models import Count

from annotation.item_label import Source, decide_label
from annotation.models import (
    Annotation,
    AnnotationSource,
    IssueStatus,
    Item,
    LabelIssue,
    Project,
)


@dataclass(frozen=True)
class TrainingLabels:
    """The training set of a project, one entry per item.

    Attributes
    ----------
    item_ids : (N,) int64, ascending.
    labels : N tuples of label names (length 1 for single-label projects).
    sources : N of ``"final"``, ``"consensus"``, ``"majority"``.
    """

    item_ids: np.ndarray
    labels: list[tuple[str, ...]]
    sources: list[Source]

    def __len__(self) -> int:
        return int(self.item_ids.shape[0])


def training_labels(*, project: Project, exclude_open_issues: bool = True) -> TrainingLabels:
    """One label (tuple of names) per labeled item, decided by ``annotation.item_label``."""
    order = list(project.labels.order_by("position", "id").values_list("name", flat=True))
    votes: dict[int, list[list[str]]] = defaultdict(list)
    annotations = (
        Annotation.objects.filter(project=project)
        .exclude(source=AnnotationSource.REVIEW)
        .values_list("item_id", "labels")
    )
    for item_id, names in annotations.iterator(5000):
        votes[item_id].append(names)
    decided = Item.objects.filter(project=project).exclude(
        final_labels__isnull=True, consensus_labels__isnull=True
    )
    reviewed = {pk: (final, consensus) for pk, final, consensus in
                decided.values_list("id", "final_labels", "consensus_labels").iterator(5000)}  # fmt: skip
    excluded: set[int] = set()
    if exclude_open_issues:
        excluded = set(
            LabelIssue.objects.filter(project=project, status=IssueStatus.OPEN).values_list(
                "item_id", flat=True
            )
        )
    ids, labels, sources = [], [], []
    for item_id in sorted(set(votes) | set(reviewed)):
        if item_id in excluded:
            continue
        final, consensus = reviewed.get(item_id, (None, None))
        decision = decide_label(final=final, consensus=consensus, votes=votes.get(item_id, []),
                                multi_label=project.multi_label, order=order)  # fmt: skip
        if decision.labels:
            ids.append(item_id)
            labels.append(decision.labels)
            sources.append(decision.source)
    return TrainingLabels(np.asarray(ids, dtype=np.int64), labels, sources)


def predicted_label_counts(*, project: Project) -> dict[str, int]:
    """{label name: unlabeled items the model predicts it for}, for the stats and the audit.

    The latest model version's counts over the whole pool it scored: a rescore writes
    per-item predictions only on the head of its ranking (``Item.score_generation``), so
    counting the items would mix models. Before any rescore, the predictions the items
    carry (imported ones), counted over the items no one has labeled.
    """
    latest = (
        project.model_versions.filter(n_scored__gt=0)
        .order_by("-version")
        .values_list("predicted_counts", flat=True)
        .first()
    )
    if latest:
        return {str(name): int(n) for name, n in latest.items()}
    return dict(
        Item.objects.filter(project=project, annotation_count=0)
        .exclude(predicted_label="")
        .values("predicted_label")
        .annotate(n=Count("id"))
        .values_list("predicted_label", "n")
    )
