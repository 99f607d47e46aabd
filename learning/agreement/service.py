"""The agreement job: load a project's annotations in bulk, compute every scope, store records.

One seam (house style rule 4): one statement over the project's human annotations
(``learning.rawsql.human_annotation_rows``) -> an (N, R) rating matrix ->
:func:`learning.agreement.reports.agreement_report` -> ``bulk_create`` of
:class:`~annotation.models.AgreementRecord` rows, all stamped with one time. A redelivered job
replaces the rows it wrote before instead of duplicating them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.utils import timezone

from annotation.models import AgreementRecord, Job, Project
from learning.agreement.metrics import MISSING
from learning.agreement.reports import AgreementReport, agreement_report
from learning.rawsql import human_annotation_rows

NO_LABELS = "(none)"


@dataclass
class RatingData:
    """A project's annotations as arrays.

    ``M`` (N, R) category index per item and annotator (-1 = not annotated); ``item_ids`` (N,);
    ``annotator_ids`` (R,); ``categories`` names the K category indices: the project's labels first
    (so unused labels exist), then any other label set seen (multi-label sets, retired labels).
    ``Y`` (N, R, L) is set for multi-label projects: 1 / 0 / -1 per label of ``label_names``.
    """

    M: np.ndarray
    item_ids: np.ndarray
    annotator_ids: np.ndarray
    categories: list[str]
    label_names: list[str]
    Y: np.ndarray | None = None

    @property
    def n_annotations(self) -> int:
        return int((self.M >= 0).sum())


def load_ratings(*, project: Project) -> RatingData:
    """Every human annotation of the project in one query (reviews and imports are not opinions)."""
    label_names = list(project.labels.order_by("position", "id").values_list("name", flat=True))
    items, annotators, texts = human_annotation_rows(project_id=project.pk)
    # Decode each distinct label list once, not once per annotation (1M rows, a handful of sets).
    index: dict[tuple[str, ...], int] = {(name,): k for k, name in enumerate(label_names)}
    code_of_text: dict[str, int] = {}
    for text in sorted(set(texts)):
        key = tuple(sorted(json.loads(text) or ()))
        code_of_text[text] = index.setdefault(key, len(index))
    codes = np.fromiter(map(code_of_text.__getitem__, texts), dtype=np.int64, count=len(texts))
    item_ids, item_col = np.unique(np.asarray(items, dtype=np.int64), return_inverse=True)
    annotator_ids, ann_col = np.unique(np.asarray(annotators, dtype=np.int64), return_inverse=True)
    M = np.full((item_ids.size, annotator_ids.size), MISSING, dtype=np.int64)
    M[item_col, ann_col] = codes
    categories = [NO_LABELS if not key else "+".join(key) for key in index]
    Y = None
    if project.multi_label:
        sets = [json.loads(text) or () for text in texts]
        Y = _multilabel(item_col, ann_col, sets, M.shape, label_names)
    return RatingData(M, item_ids, annotator_ids, categories, label_names, Y)


def _multilabel(
    item_col: np.ndarray, ann_col: np.ndarray, sets: list, shape: tuple, label_names: list[str]
) -> np.ndarray:
    """(N, R, L) int8: 1 chose the label, 0 annotated without it, -1 never annotated the item."""
    Y = np.full((*shape, len(label_names)), MISSING, dtype=np.int8)
    Y[item_col, ann_col, :] = 0
    position = {name: k for k, name in enumerate(label_names)}
    hits = [(n, position[name]) for n, key in enumerate(sets) for name in key if name in position]
    if hits:
        rows, labels = np.asarray(hits).T
        Y[item_col[rows], ann_col[rows], labels] = 1
    return Y


def report_for(data: RatingData) -> AgreementReport:
    """The pure computation over loaded ratings (annotator keys are user ids as strings)."""
    return agreement_report(
        data.M,
        categories=data.categories,
        annotators=[str(a) for a in data.annotator_ids],
        Y=data.Y,
        label_names=data.label_names,
    )


def agreement_job_handler(job: Job, report_progress: Callable[[float], None]) -> dict:
    """Recompute agreement for ``job.project`` and store one record per (metric, scope, key)."""
    started = time.perf_counter()
    data = load_ratings(project=job.project)
    loaded = time.perf_counter()
    report_progress(0.4)
    report = report_for(data)
    computed = time.perf_counter()
    report_progress(0.8)
    now = timezone.now()
    records = [
        AgreementRecord(project_id=job.project_id, job=job, **record)
        for record in report.as_dicts()
    ]
    with transaction.atomic():
        AgreementRecord.objects.filter(job=job).delete()  # a redelivered run overwrites
        AgreementRecord.objects.bulk_create(records, batch_size=1000)
        # auto_now_add stamps each row separately; one time per run makes "the latest run" a query
        AgreementRecord.objects.filter(job=job).update(created_at=now)
    alpha = next(r for r in report.records if r.metric == "krippendorff_alpha")
    return {
        "n_items": int(((data.M >= 0).sum(axis=1) >= 2).sum()),
        "n_items_total": int(data.M.shape[0]),
        "n_annotations": data.n_annotations,
        "n_annotators": int(data.M.shape[1]),
        "krippendorff_alpha": alpha.value,
        "reason": alpha.reason,
        "snapshots": len(records),  # the job result's key predates the model's name
        "computed_at": now.isoformat(),
        "categories": report.categories,
        "coincidence": report.coincidence,
        "seconds": {
            "load": round(loaded - started, 3),
            "compute": round(computed - loaded, 3),
            "store": round(time.perf_counter() - computed, 3),
        },
    }
