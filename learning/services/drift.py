"""The drift job: data, label and annotator drift checks, each stored as a ``DriftCheck``.

Loads the windows in bulk and calls ``learning.monitoring.drift``:

- *data*: the two latest import batches (features of up to ``WINDOW`` items each, on the
  project's featurizer; their ``meta`` fields too), and the labeled set against the open pool;
- *label*: the labels of the latest ``RECENT_SHARE`` of human annotations (at least
  ``MIN_WINDOW``) against the earlier ones;
- *annotator*: per annotator, agreement with the item's consensus on their recent
  annotations against their history.

A check whose windows are too small is not stored (nothing was tested). Results are kept over
time: each run adds rows, so the dashboard can plot them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from django.db import transaction

from annotation.models import Annotation, DriftCheck, DriftKind, ImportBatch, Item, ItemStatus, Job
from annotation.selectors import featurizer_kind
from annotation.services.alert_rules import alert_drift
from learning.featurize import TextFeaturizer
from learning.monitoring.drift import (
    DriftResult,
    annotator_drift,
    data_drift,
    label_drift,
    meta_drift,
)
from learning.services.model_state import pool_features

WINDOW = 1000  # items per side of a data check: ~0.1 s each (bench/monitoring.py)
MIN_WINDOW = 20
RECENT_SHARE = 0.2


def _sample(queryset, rng: np.random.Generator) -> list[tuple]:
    ids = np.asarray(queryset.values_list("id", flat=True), dtype=np.int64)
    if ids.size > WINDOW:
        ids = np.sort(rng.choice(ids, size=WINDOW, replace=False))
    return list(
        Item.objects.filter(pk__in=ids.tolist())
        .order_by("id")
        .values_list("id", "text", "image", "vector", "meta")
    )


def _data_checks(project, rng) -> list[tuple[str, dict, DriftResult]]:
    kind = featurizer_kind(project)
    pairs = []
    batches = list(
        ImportBatch.objects.filter(project=project, items__isnull=False)
        .distinct()
        .order_by("-created_at", "-id")[:2]
    )
    if len(batches) == 2:
        # The file names go in the window, which only the drift list shows (reviewers and
        # managers, as the imports page); the reference is also every member's alert text.
        latest, before = batches
        files = {"old_file": before.file_name, "new_file": latest.file_name}
        pairs.append((f"import batch {before.pk} vs {latest.pk}", files,
                      Item.objects.filter(import_batch=before), Item.objects.filter(import_batch=latest)))  # fmt: skip
    items = Item.objects.filter(project=project)
    pairs.append(("labeled set vs unlabeled pool", {}, items.exclude(status=ItemStatus.OPEN),
                  items.filter(status=ItemStatus.OPEN)))  # fmt: skip
    out = []
    for reference, files, old_qs, new_qs in pairs:
        old, new = _sample(old_qs, rng), _sample(new_qs, rng)
        if min(len(old), len(new)) < MIN_WINDOW:
            continue
        state: dict[str, Any] = {"featurizer": kind}
        if kind == "text":
            state["text"] = TextFeaturizer().fit([r[1] for r in old + new])
        X_old, X_new = pool_features(state, old), pool_features(state, new)
        window = {"old": len(old), "new": len(new)} | files
        out.append((reference, window, data_drift(X_old, X_new, rng=rng)))
        for result in meta_drift([r[4] or {} for r in old], [r[4] or {} for r in new]):
            out.append((f"meta.{result.detail['field']}: {reference}", window, result))
    return out


def _label_check(project) -> list[tuple[str, dict, DriftResult]]:
    rows = list(
        Annotation.objects.filter(project=project, annotator__isnull=False)
        .order_by("created_at", "id")
        .values_list("labels", flat=True)
    )
    recent = max(MIN_WINDOW, int(RECENT_SHARE * len(rows)))
    if len(rows) < recent + MIN_WINDOW:
        return []
    earlier = [name for labels in rows[:-recent] for name in labels]
    latest = [name for labels in rows[-recent:] for name in labels]
    window = {"earlier": len(rows) - recent, "recent": recent}
    return [("latest annotations vs earlier ones", window, label_drift(earlier, latest))]


def _annotator_checks(project) -> list[tuple[str, dict, DriftResult]]:
    rows = (
        Annotation.objects.filter(project=project, annotator__isnull=False)
        .exclude(item__consensus_labels=None)
        .order_by("annotator__username", "created_at", "id")
        .values_list("annotator__username", "labels", "item__consensus_labels")
    )
    agree: dict[str, list[bool]] = {}
    for name, labels, consensus in rows:
        agree.setdefault(name, []).append(sorted(labels or []) == sorted(consensus or []))
    out = []
    for name, series in agree.items():
        recent = max(MIN_WINDOW, int(RECENT_SHARE * len(series)))
        if len(series) < recent + MIN_WINDOW:
            continue
        window = {"history": len(series) - recent, "recent": recent}
        out.append(
            (f"annotator {name}", window, annotator_drift(series[:-recent], series[-recent:]))
        )
    return out


def drift_job_handler(job: Job, report_progress: Callable[[float], None]) -> dict:
    """Run every check the project's data allows; store one ``DriftCheck`` per test."""
    project = job.project
    rng = np.random.default_rng([project.seed, job.pk])
    checks = [(DriftKind.DATA, c) for c in _data_checks(project, rng)]
    report_progress(0.8)
    checks += [(DriftKind.LABEL, c) for c in _label_check(project)]
    checks += [(DriftKind.ANNOTATOR, c) for c in _annotator_checks(project)]
    with transaction.atomic():
        DriftCheck.objects.filter(job=job).delete()  # a retried job rewrites its own rows
        DriftCheck.objects.bulk_create(
            DriftCheck(
                project=project,
                job=job,
                kind=kind,
                reference=reference[:300],
                window=window,
                score=r.score,
                p_value=r.p_value,
                drift=r.drift,
                detail=r.detail,
            )  # fmt: skip
            for kind, (reference, window, r) in checks
        )
    for kind in DriftKind:  # the manager's drift rule, once per condition (annotation.alerts)
        found = [reference for k, (reference, _, r) in checks if k == kind and r.drift]
        if any(k == kind for k, _ in checks):
            alert_drift(project=project, kind=str(kind), detected=bool(found),
                        message=f"{kind.label} drift: {', '.join(found)[:300]}" if found else "",
                        data={"references": found[:20]})  # fmt: skip
    return {"checks": len(checks), "drift": sum(r.drift for _, (_, _, r) in checks)}
