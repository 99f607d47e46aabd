"""The monitoring seam: the stop set, each version's stop-set kappa, the forecast, the stats.

The active-learning job calls :func:`monitoring_record` after it stores a model version:
the version predicts the project's stop set (drawn once, seeded, from the open pool), its
kappa against the previous version's predictions is stored on the version, and so is the
forecast fitted on the learning curve so far. ``GET /api/projects/{id}/stats`` reads them
through :func:`stopping_section` and :func:`forecast_section`, which ``LearningConfig.ready``
registers with ``annotation.stats_registry`` (annotation does not import learning).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from django.db import IntegrityError, transaction

from annotation.models import Item, ItemStatus, Project
from annotation.services.alert_rules import alert_stopping_rule
from learning.classifier import predict_proba_full
from learning.models import ModelVersion, StopSet
from learning.monitoring.forecast import MIN_SAMPLE_ITEMS, Forecast, forecast
from learning.monitoring.stopping import (
    DEFAULT_WINDOW,
    STOP_SET_SIZE,
    least_stable,
    stopping_signal,
)
from learning.services.model_state import pool_features

FORECAST_METRIC = "cv_macro_f1"  # the curve without an evaluation sample
EVAL_METRIC = "eval_macro_f1"  # ... and with one
_EVAL_STREAM = 0xE7A1  # the evaluation sample's own random stream, apart from the stop set's
FORECAST_METHOD = "pow3-parametric-bootstrap+curve+no-plateau"  # change: stored ones refit


def stop_set_ensure(*, project: Project) -> list[int]:
    """The project's stop set, drawn on first use: ``STOP_SET_SIZE`` open items, seeded by the
    project's seed. A concurrent job that drew it first wins; both then read the same one."""
    existing = StopSet.objects.filter(project=project).values_list("item_ids", flat=True).first()
    if existing is not None:
        return list(existing)
    ids = np.asarray(
        Item.objects.filter(project=project, status=ItemStatus.OPEN)
        .order_by("id")
        .values_list("id", flat=True),
        dtype=np.int64,
    )
    rng = np.random.default_rng(project.seed)
    chosen = np.sort(rng.choice(ids, size=min(STOP_SET_SIZE, ids.size), replace=False)).tolist()
    try:
        with transaction.atomic():
            StopSet.objects.create(project=project, item_ids=chosen, seed=project.seed)
    except IntegrityError:
        return list(StopSet.objects.get(project=project).item_ids)
    return chosen


def evaluation_ids(*, project: Project) -> list[int]:
    """The project's evaluation sample, in the order it is served: the first ``eval_sample``
    items of its stop set (a seeded random sample of the open pool) in a seeded random order;
    [] when the setting is 0. A larger setting extends the same order, so the items already
    labeled stay in the sample. Turned on late, the sample keeps the stop-set items the model
    had already picked for labeling (a bias the size of the share of the pool labeled by
    then): it is meant to be set before labeling starts."""
    if not project.eval_sample:
        return []
    stop = stop_set_ensure(project=project)
    order = np.random.default_rng([project.seed, _EVAL_STREAM]).permutation(len(stop))
    return [int(stop[i]) for i in order[: project.eval_sample]]


def forecast_metric(project: Project) -> str:
    """The curve the forecast fits: the evaluation sample's when the project keeps one."""
    return EVAL_METRIC if project.eval_sample else FORECAST_METRIC


def stop_predictions(state: dict[str, Any], rows: list[tuple]) -> dict[str, str | list[str]]:
    """{item id: predicted label} on ``rows``; multi-label: the list of labels at p >= 0.5
    (a list, not a joined string: a label name may hold any separator)."""
    if not rows:
        return {}
    names = state["labels"]
    proba = predict_proba_full(state["model"], pool_features(state, rows), len(names))
    labels: list[str | list[str]]
    if state.get("multi_label"):
        labels = [[n for n, p in zip(names, row, strict=True) if p >= 0.5] for row in proba]
    else:
        labels = [names[i] for i in proba.argmax(axis=1)]
    return {str(r[0]): label for r, label in zip(rows, labels, strict=True)}


def monitoring_record(*, version: ModelVersion, state: dict[str, Any]) -> dict[str, Any]:
    """Store the version's stop-set predictions, its kappa and the forecast; returns both
    numbers for the job's result. ``state``: the fitted model (with its text featurizer)."""
    project = version.project
    ids = stop_set_ensure(project=project)
    rows = list(
        Item.objects.filter(pk__in=ids).order_by("id").values_list("id", "text", "image", "vector")
    )
    predictions = stop_predictions(state, rows)
    previous = (
        ModelVersion.objects.filter(project=project, version__lt=version.version)
        .exclude(stop_predictions=None)
        .order_by("-version")
        .values_list("stop_predictions", flat=True)
        .first()
    )
    kappa, unstable = (
        stop_kappa(previous, predictions, multi_label=bool(state.get("multi_label")))
        if previous
        else (None, None)
    )
    ModelVersion.objects.filter(pk=version.pk).update(
        stop_predictions=predictions, stop_kappa=kappa, stop_least_stable=unstable or ""
    )
    value = forecast_compute(project=project)
    ModelVersion.objects.filter(pk=version.pk).update(
        forecast={"key": forecast_key(project), "value": value}
    )
    stopping = stopping_section(project=project)
    alert_stopping_rule(project=project, fired=stopping["stopped"],
                        data={"stopped_at_labels": stopping["stopped_at_labels"],
                              "mean_kappa": stopping["mean_kappa"]})  # fmt: skip
    return {"stop_kappa": kappa, "forecast_status": value["status"]}


def stop_kappa(
    previous: dict[str, Any], current: dict[str, Any], *, multi_label: bool
) -> tuple[float | None, str | None]:
    """The stopping rule's kappa between two versions' stop-set predictions ({item id: label
    name, or for multi-label a list of names}) and the least stable label it comes from
    (``learning.monitoring.stopping.least_stable``: None when no label the stop set resolves
    is less stable than all of them together), over the items both predicted (items
    deleted since drop out); (None, None) when they share none. Multi-label predictions
    stored before 2026-12-08 are "|"-joined strings, read by splitting."""
    common = sorted(set(previous) & set(current))
    if not common:
        return None, None
    a, b = [previous[i] for i in common], [current[i] for i in common]
    if not multi_label:
        kappa, label = least_stable(a, b)
        return kappa, None if label is None else str(label)
    sets = [set(v.split("|")) - {""} if isinstance(v, str) else set(v) for v in a + b]
    names = sorted(set().union(*sets))
    if not names:  # no label predicted anywhere by either: nothing changed
        return 1.0, None
    column = {n: j for j, n in enumerate(names)}
    indicators = np.zeros((len(sets), len(names)), dtype=np.int64)
    for i, labels in enumerate(sets):
        indicators[i, [column[n] for n in labels]] = 1
    kappa, j = least_stable(indicators[: len(a)], indicators[len(a) :])
    return kappa, None if j is None else names[j]


def stopping_section(*, project: Project) -> dict[str, Any]:
    """``stats["stopping"]``: every version's kappa and the rule at the project's threshold
    (and, when the project turns it on, the plateau criterion)."""
    versions = list(
        project.model_versions.order_by("version").values(
            "version", "n_labels", "stop_kappa", "stop_least_stable"
        )
    )
    kappas = [v["stop_kappa"] for v in versions]
    labels = [v["n_labels"] for v in versions] if project.stop_on_plateau else None
    signal = stopping_signal(
        kappas, threshold=project.stop_threshold, window=DEFAULT_WINDOW, labels=labels
    )
    return {
        "threshold": signal.threshold,
        "window": signal.window,
        "stop_on_plateau": project.stop_on_plateau,
        "kappas": [
            {
                "model_version": v["version"],
                "labels": v["n_labels"],
                "kappa": v["stop_kappa"],
                "least_stable": v["stop_least_stable"] or None,
            }
            for v in versions
        ],
        "mean_kappa": signal.mean_kappa,
        "f_change_bound": signal.f_bound,
        "stopped": signal.stopped,
        "fired_by": signal.fired_by,
        "stopped_at_labels": (
            versions[signal.stopped_at]["n_labels"] if signal.stopped_at is not None else None
        ),
    }


def forecast_key(project: Project) -> list:
    """What a stored forecast was computed for: a forecast stored under another key (another
    target, or an older ``FORECAST_METHOD``) is refitted on read."""
    return [forecast_metric(project), float(project.forecast_target),
            bool(project.forecast_relative), FORECAST_METHOD]  # fmt: skip


def forecast_compute(*, project: Project) -> dict[str, Any]:
    """The forecast over the project's learning curve, JSON-ready: every version's
    cross-validated macro-F1 against its label count, or, with an evaluation sample, the
    versions' macro-F1 on its labeled items (those with at least ``MIN_SAMPLE_ITEMS``), each
    point weighted by the items it was measured on."""
    metric = forecast_metric(project)
    versions = project.model_versions.order_by("version")
    if metric == EVAL_METRIC:
        rows = versions.filter(eval_n__gte=MIN_SAMPLE_ITEMS).values_list(
            "n_labels", EVAL_METRIC, "eval_n"
        )
    else:
        rows = versions.values_list("n_labels", FORECAST_METRIC, "n_labels")
    points = list(rows)
    f: Forecast = forecast(
        [p[0] for p in points], [p[1] for p in points], target=project.forecast_target,
        relative=project.forecast_relative, seed=project.seed, sizes=[p[2] for p in points],
    )  # fmt: skip
    return {
        "metric": metric,
        "target": f.target if f.target is not None else project.forecast_target,
        "target_relative": project.forecast_relative,
        "plateau": f.plateau,
        "plateau_interval": list(f.plateau_interval) if f.plateau_interval else None,
        "labels_needed": f.labels_needed,
        "labels_needed_interval": list(f.labels_needed_interval)
        if f.labels_needed_interval
        else None,
        "status": f.status,
        "curve": [
            {"labels": p.labels, "value": p.value, "low": p.low, "high": p.high} for p in f.curve
        ],
    }


def forecast_section(*, project: Project) -> dict[str, Any]:
    """``stats["forecast"]``: the one the latest version stored, unless the project's target
    changed since; then it is fitted now (a few hundred small fits) and stored again."""
    latest = project.model_versions.order_by("-version").values("pk", "forecast").first()
    key = forecast_key(project)
    if latest and latest["forecast"] and latest["forecast"].get("key") == key:
        return latest["forecast"]["value"]
    value = forecast_compute(project=project)
    if latest:
        ModelVersion.objects.filter(pk=latest["pk"]).update(forecast={"key": key, "value": value})
    return value
