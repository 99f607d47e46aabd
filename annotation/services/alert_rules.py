"""The alert rules a manager turns on, evaluated where their data is written.

Every finished job reaches ``job_finished`` (a finish listener of the job runner, after the
job's outcome commits), which sends the plain webhook events (``job.finished``,
``snapshot.ready``, ``label_issues.found``) and checks the rules whose data that job wrote:

* ``agreement_below`` after an agreement job: the latest project-wide agreement
  (``params.metric``, Krippendorff's alpha by default) below ``params.threshold``;
* ``annotator_quality`` after a label-issues job (it writes ``AnnotatorQuality``): one alert
  per annotator whose score is below ``params.threshold`` over at least ``params.min_items``;
* ``annotator_quality_drop`` after a label-issues job too: one alert per annotator whose
  latest quality (over at least ``params.min_items``) is ``params.drop`` or more below their
  own earlier level, the mean of their ``params.runs`` previous measurements
  (``AnnotatorQualityRecord``, see ``annotation.quality_selectors``);
* ``label_issues_above`` after a label-issues job: it flagged more than ``params.count``;
* ``job_failed``: a job of ``params.kinds`` (all kinds when empty) failed; cleared by the
  next success of that kind.

The monitoring work raises its own conditions through two hooks, ``alert_drift`` and
``alert_stopping_rule``, which respect the rule's switch like the rules above.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from annotation.models import (
    AgreementRecord,
    Alert,
    AlertKind,
    AlertRule,
    AnnotatorQuality,
    Job,
    JobKind,
    JobStatus,
    Project,
    Snapshot,
    SnapshotStatus,
    WebhookEvent,
)
from annotation.quality_selectors import QualityLevel, quality_levels
from annotation.services.alerts import alert_clear, alert_set
from annotation.services.webhooks import event_emit

# Each kind's parameters and their defaults; ``_checked_params`` says what each may hold.
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    AlertKind.AGREEMENT_BELOW: {"threshold": 0.67, "metric": "krippendorff_alpha"},
    AlertKind.ANNOTATOR_QUALITY: {"threshold": 0.7, "min_items": 20},
    AlertKind.ANNOTATOR_QUALITY_DROP: {"drop": 0.1, "min_items": 20, "runs": 3},
    AlertKind.LABEL_ISSUES_ABOVE: {"count": 50},
    AlertKind.JOB_FAILED: {"kinds": []},
    AlertKind.DRIFT: {},
    AlertKind.STOPPING_RULE: {},
}
MAX_RUNS = 50
AGREEMENT_METRICS = ("krippendorff_alpha", "fleiss_kappa", "cohen_kappa", "percent")


def _number(value: Any, field: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValidationError({field: [f"A number from {low} to {high}."]})
    return float(value)


def _count(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**9:
        raise ValidationError({field: ["A whole number from 0."]})
    return value


def _checked_params(kind: str, params: Any) -> dict[str, Any]:
    if not isinstance(params, dict):
        raise ValidationError({"params": ["An object."]})
    unknown = set(params) - set(DEFAULT_PARAMS[kind])
    if unknown:
        raise ValidationError({"params": [f"Unknown for {kind}: {', '.join(sorted(unknown))}."]})
    merged = {**DEFAULT_PARAMS[kind], **params}
    if kind == AlertKind.AGREEMENT_BELOW:
        merged["threshold"] = _number(merged["threshold"], "params.threshold", -1.0, 1.0)
        if merged["metric"] not in AGREEMENT_METRICS:
            raise ValidationError({"params.metric": [f"One of {', '.join(AGREEMENT_METRICS)}."]})
    elif kind == AlertKind.ANNOTATOR_QUALITY:
        merged["threshold"] = _number(merged["threshold"], "params.threshold", 0.0, 1.0)
        merged["min_items"] = _count(merged["min_items"], "params.min_items")
    elif kind == AlertKind.ANNOTATOR_QUALITY_DROP:
        merged["drop"] = _number(merged["drop"], "params.drop", 0.01, 1.0)
        merged["min_items"] = _count(merged["min_items"], "params.min_items")
        merged["runs"] = _count(merged["runs"], "params.runs")
        if not 1 <= merged["runs"] <= MAX_RUNS:
            raise ValidationError({"params.runs": [f"A whole number from 1 to {MAX_RUNS}."]})
    elif kind == AlertKind.LABEL_ISSUES_ABOVE:
        merged["count"] = _count(merged["count"], "params.count")
    elif kind == AlertKind.JOB_FAILED:
        kinds = merged["kinds"]
        if not isinstance(kinds, list) or not all(k in JobKind.values for k in kinds):
            raise ValidationError({"params.kinds": [f"A list of: {', '.join(JobKind.values)}."]})
        merged["kinds"] = sorted(set(kinds))
    return merged


def alert_rules_put(*, project: Project, rules: list[dict[str, Any]]) -> list[AlertRule]:
    """Set the rules named (``{"kind", "enabled", "params"}``); others keep their state. A rule
    turned off resolves its open alerts (nobody watches that condition any more); the rules
    on stored numbers (agreement, annotator quality) are checked against them at once."""
    checked = []
    for rule in rules:
        kind = rule.get("kind")
        if kind not in AlertKind.values:
            raise ValidationError({"kind": [f"One of {', '.join(AlertKind.values)}."]})
        checked.append((kind, bool(rule.get("enabled", True)),
                        _checked_params(kind, rule.get("params", {}))))  # fmt: skip
    if len({kind for kind, _, _ in checked}) != len(checked):
        raise ValidationError({"kind": ["Each kind at most once."]})
    with transaction.atomic():
        for kind, enabled, params in checked:
            AlertRule.objects.update_or_create(
                project=project, kind=kind, defaults={"enabled": enabled, "params": params}
            )
            if not enabled:
                for key in Alert.objects.filter(project=project, kind=kind,
                                                resolved_at__isnull=True).values_list("key", flat=True):  # fmt: skip
                    alert_clear(project=project, key=key)
        # The stored numbers are checked at once against rules that read them, so a rule
        # turned on (or a threshold changed) does not wait for the next run to speak.
        check_agreement(project=project)
        check_annotator_quality(project=project)
        check_annotator_quality_drop(project=project)
    return list(AlertRule.objects.filter(project=project))


def _rule(project: Project, kind: str) -> dict[str, Any] | None:
    """The params of ``kind``'s rule when it is on, else None."""
    rule = AlertRule.objects.filter(project=project, kind=kind, enabled=True).first()
    return None if rule is None else {**DEFAULT_PARAMS[kind], **rule.params}


# --- where the data is written: a finished job ---------------------------------------------


def job_finished(*, job_id: int) -> None:
    """The job runner's finish listener: plain events, then the rules the job's data feeds."""
    job = Job.objects.select_related("project").filter(pk=job_id).first()
    if job is None or job.status not in (JobStatus.SUCCEEDED, JobStatus.FAILED):
        return
    project, succeeded = job.project, job.status == JobStatus.SUCCEEDED
    with transaction.atomic():
        event_emit(project=project, event=WebhookEvent.JOB_FINISHED, data={
            "job": job.pk, "kind": job.kind, "status": job.status, "error": job.error[:500],
            "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        })  # fmt: skip
        if succeeded and job.kind == JobKind.SNAPSHOT:
            _snapshot_ready(job)
        flagged = None
        if succeeded and job.kind == JobKind.LABEL_ISSUES:
            flagged = int((job.result or {}).get("flagged") or 0)
            if flagged:
                event_emit(project=project, event=WebhookEvent.LABEL_ISSUES_FOUND,
                           data={"job": job.pk, "count": flagged})  # fmt: skip
        _check_job_failed(job)
        if succeeded and job.kind == JobKind.AGREEMENT:
            check_agreement(project=project)
        if flagged is not None:
            _check_label_issues(job, flagged)
            check_annotator_quality(project=project)
            check_annotator_quality_drop(project=project)


def _snapshot_ready(job: Job) -> None:
    for snapshot in Snapshot.objects.filter(job=job, status=SnapshotStatus.READY):
        event_emit(project=job.project, event=WebhookEvent.SNAPSHOT_READY, data={
            "snapshot": snapshot.pk, "version": snapshot.version,
            "rows": snapshot.row_count, "job": job.pk,
        })  # fmt: skip


def _check_job_failed(job: Job) -> None:
    params = _rule(job.project, AlertKind.JOB_FAILED)
    if params is None or (params["kinds"] and job.kind not in params["kinds"]):
        return
    alert_set(project=job.project, kind=AlertKind.JOB_FAILED, key=f"job_failed:{job.kind}",
              holds=job.status == JobStatus.FAILED,
              message=f"A {job.get_kind_display().lower()} job failed: {job.error[:300]}",
              data={"job": job.pk, "kind": job.kind, "error": job.error[:500]})  # fmt: skip


def check_agreement(*, project: Project) -> None:
    """``agreement_below`` against the latest project-wide agreement record of its metric."""
    params = _rule(project, AlertKind.AGREEMENT_BELOW)
    if params is None:
        return
    latest = (
        AgreementRecord.objects.filter(project=project, scope="project", metric=params["metric"])
        .order_by("-created_at", "-pk")
        .first()
    )
    if latest is None or latest.value is None:
        return  # nothing measured: the condition is unknown, an open alert stays as it is
    alert_set(project=project, kind=AlertKind.AGREEMENT_BELOW, key="agreement_below",
              holds=latest.value < params["threshold"],
              message=f"Agreement ({params['metric']}) is {latest.value:.3f}, below "
                      f"{params['threshold']:.3f}.",
              data={"value": latest.value, "threshold": params["threshold"],
                    "metric": params["metric"], "n_items": latest.n_items})  # fmt: skip


def check_annotator_quality(*, project: Project) -> None:
    """One ``annotator_quality`` condition per annotator."""
    params = _rule(project, AlertKind.ANNOTATOR_QUALITY)
    if params is None:
        return
    rows = AnnotatorQuality.objects.filter(project=project).select_related("annotator")
    for row in rows:
        holds = row.n_items >= params["min_items"] and row.score < params["threshold"]
        alert_set(project=project, kind=AlertKind.ANNOTATOR_QUALITY,
                  key=f"annotator_quality:{row.annotator_id}", holds=holds,
                  message=f"{row.annotator.username}'s quality is {row.score:.3f} over "
                          f"{row.n_items} items, below {params['threshold']:.3f}.",
                  data={"annotator": row.annotator.username, "score": row.score,
                        "n_items": row.n_items, "threshold": params["threshold"]})  # fmt: skip


def quality_dropped(level: QualityLevel, *, drop: float, min_items: int) -> bool:
    """The ``annotator_quality_drop`` condition: a latest measurement over ``min_items`` or
    more, ``drop`` or more below an earlier level (compared at 1e-9, so 0.7 - 0.6 is 0.1)."""
    return (level.earlier is not None and level.latest_items >= min_items
            and round(level.earlier - level.latest, 9) >= drop)  # fmt: skip


def check_annotator_quality_drop(*, project: Project) -> None:
    """One ``annotator_quality_drop`` condition per annotator with a measurement."""
    params = _rule(project, AlertKind.ANNOTATOR_QUALITY_DROP)
    if params is None:
        return
    for level in quality_levels(project=project, runs=params["runs"],
                                min_items=params["min_items"]):  # fmt: skip
        earlier = level.earlier if level.earlier is not None else float("nan")
        alert_set(project=project, kind=AlertKind.ANNOTATOR_QUALITY_DROP,
                  key=f"annotator_quality_drop:{level.annotator_id}",
                  holds=quality_dropped(level, drop=params["drop"], min_items=params["min_items"]),
                  message=f"{level.annotator}'s quality dropped to {level.latest:.3f} from "
                          f"{earlier:.3f} (the mean of their {level.earlier_runs} earlier "
                          f"measurements), by {params['drop']:.2f} or more.",
                  data={"annotator": level.annotator, "score": level.latest,
                        "n_items": level.latest_items, "earlier": level.earlier,
                        "earlier_runs": level.earlier_runs, "drop": params["drop"]})  # fmt: skip


def _check_label_issues(job: Job, flagged: int) -> None:
    params = _rule(job.project, AlertKind.LABEL_ISSUES_ABOVE)
    if params is None:
        return
    alert_set(project=job.project, kind=AlertKind.LABEL_ISSUES_ABOVE, key="label_issues_above",
              holds=flagged > params["count"],
              message=f"The label-issues run flagged {flagged} labels (more than "
                      f"{params['count']}).",
              data={"job": job.pk, "count": flagged, "limit": params["count"]})  # fmt: skip


# --- hooks for the monitoring work ---------------------------------------------------------


def alert_drift(*, project: Project, kind: str, detected: bool, message: str = "",
                data: dict[str, Any] | None = None) -> Alert | None:  # fmt: skip
    """Call after each drift check of ``kind`` (``"data"``, ``"label"``, ``"annotator"``, or
    a finer key such as ``"annotator:7"``): opens the ``drift:<kind>`` alert while drift is
    ``detected`` and the manager turned the ``drift`` rule on, resolves it when a later check
    finds none. Returns the open alert, if any."""
    if _rule(project, AlertKind.DRIFT) is None:
        return None
    return alert_set(project=project, kind=AlertKind.DRIFT, key=f"drift:{kind}"[:200],
                     holds=detected, message=message or f"{kind.capitalize()} drift detected.",
                     data=data)  # fmt: skip


def alert_stopping_rule(*, project: Project, fired: bool, message: str = "",
                        data: dict[str, Any] | None = None) -> Alert | None:  # fmt: skip
    """Call after each model version's stopping signal: opens the ``stopping_rule`` alert when
    the rule ``fired`` (and the manager turned it on), resolves it if the model starts
    changing again."""
    if _rule(project, AlertKind.STOPPING_RULE) is None:
        return None
    return alert_set(project=project, kind=AlertKind.STOPPING_RULE, key="stopping_rule",
                     holds=fired, message=message or "The model has stopped changing: more "
                     "labels are unlikely to improve it.", data=data)  # fmt: skip
