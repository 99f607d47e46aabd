"""Which label each item trains on: one selector shared by active learning and label issues.

Precedence per item: a reviewer's ``final_labels``, else the ``consensus_labels`` the
label-quality job wrote, else the majority of its annotations. Items with an open
``LabelIssue`` are left out: their label is in doubt until a reviewer decides.
Everything is read in bulk (three queries), whatever the project size.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from annotation.models import Annotation, IssueStatus, Item, LabelIssue, Project


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
    sources: list[str]

    def __len__(self) -> int:
        return int(self.item_ids.shape[0])


def majority_labels(votes: list[list[str]], *, multi_label: bool, order: list[str]) -> tuple:
    """The majority of one item's annotations.

    Single-label: the most frequent label; ties go to the label that comes first in
    ``order`` (the project's label order), so the result never depends on row order.
    Multi-label: every label that at least half of the annotations applied.
    """
    rank = {name: i for i, name in enumerate(order)}
    if multi_label:
        counts = Counter(name for vote in votes for name in set(vote))
        chosen = [name for name, c in counts.items() if 2 * c >= len(votes)]
        return tuple(sorted(chosen, key=lambda n: rank.get(n, len(rank))))
    counts = Counter(vote[0] for vote in votes if vote)
    if not counts:
        return ()
    best = max(counts.values())
    return (min((n for n, c in counts.items() if c == best), key=lambda n: rank.get(n, len(rank))),)


def training_labels(*, project: Project, exclude_open_issues: bool = True) -> TrainingLabels:
    """One label (tuple of names) per labeled item; names outside the label set are dropped."""
    order = list(project.labels.values_list("name", flat=True))
    known = set(order)
    votes: dict[int, list[list[str]]] = defaultdict(list)
    for item_id, names in (
        Annotation.objects.filter(project=project).values_list("item_id", "labels").iterator(5000)
    ):
        votes[item_id].append([n for n in (names or []) if n in known])
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
        chosen, source = _pick(final, consensus, votes.get(item_id, []), project, order, known)
        if chosen:
            ids.append(item_id)
            labels.append(chosen)
            sources.append(source)
    return TrainingLabels(np.asarray(ids, dtype=np.int64), labels, sources)


def _pick(final, consensus, votes, project, order, known) -> tuple[tuple[str, ...], str]:
    for value, source in ((final, "final"), (consensus, "consensus")):
        if value:
            names = [value] if isinstance(value, str) else list(value)
            names = tuple(n for n in names if n in known)
            if names:
                return (names if project.multi_label else names[:1]), source
    if votes:
        return majority_labels(votes, multi_label=project.multi_label, order=order), "majority"
    return (), ""


def label_targets(training: TrainingLabels, *, names: list[str], multi_label: bool) -> np.ndarray:
    """Classifier targets: (N,) int class indices, or a (N, K) 0/1 indicator for multi-label."""
    index = {name: k for k, name in enumerate(names)}
    if multi_label:
        y = np.zeros((len(training), len(names)), dtype=np.int64)
        for row, chosen in enumerate(training.labels):
            y[row, [index[n] for n in chosen]] = 1
        return y
    return np.asarray([index[chosen[0]] for chosen in training.labels], dtype=np.int64)
