"""Reads of stored agreement: the latest run per scope, a scope's series, the annotators' confusion.

The agreement job (``learning.agreement.service``) writes one :class:`AgreementRecord` per
(metric, scope, key) per run, all stamped with one time, and its coincidence matrix into the job
result; these selectors only read them, so the dashboard and the API never recompute agreement.
Values are JSON-ready (no NaN; None where undefined, with a reason).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Max

from annotation.models import AgreementRecord, Job, JobKind, JobStatus, Project


def _usernames(ids) -> dict[str, str]:
    users = get_user_model().objects.filter(pk__in={int(i) for i in ids if str(i).isdigit()})
    return {str(pk): name for pk, name in users.values_list("pk", "username")}


def _value(row: Mapping[str, Any]) -> dict:
    return {
        "value": row["value"],
        "n_items": row["n_items"],
        "n_annotations": row["n_annotations"],
        "reason": row["reason"] or None,
    }


def agreement_latest(*, project: Project) -> dict:
    """Every scope of the latest agreement run: project metrics, labels, annotators, pairs."""
    records = AgreementRecord.objects.filter(project=project)
    at = records.aggregate(at=Max("created_at"))["at"]
    result = {"computed_at": at, "project": {}, "labels": {}, "annotators": {}, "pairs": []}
    if at is None:
        return result | {"reason": "agreement has not been computed yet"}
    rows = list(
        records.filter(created_at=at).values(
            "metric", "scope", "scope_key", "value", "n_items", "n_annotations", "reason"
        )
    )
    keys = [r["scope_key"] for r in rows if r["scope"] == "annotator"]
    keys += [k for r in rows if r["scope"] == "pair" for k in r["scope_key"].split(":")]
    names = _usernames(keys)
    for row in rows:
        scope, key, metric = row["scope"], row["scope_key"], row["metric"]
        if scope == "project":
            result["project"][metric] = _value(row)
        elif scope == "label":
            result["labels"].setdefault(key, {})[metric] = _value(row)
        elif scope == "annotator":
            result["annotators"].setdefault(names.get(key, key), {})[metric] = _value(row)
        elif scope == "pair":
            a, _, b = key.partition(":")
            pair = {"a": names.get(a, a), "b": names.get(b, b), "metric": metric}
            result["pairs"].append(pair | _value(row))
    return result


def agreement_history(*, project: Project, scope: str = "project", key: str = "") -> dict:
    """The series per metric for one scope, oldest first: ``{metric: [{at, value, ...}]}``."""
    rows = (
        AgreementRecord.objects.filter(project=project, scope=scope, scope_key=key)
        .order_by("created_at", "id")
        .values("metric", "created_at", "value", "n_items", "n_annotations", "reason")
    )
    series: dict[str, list] = {}
    for row in rows:
        series.setdefault(row["metric"], []).append({"at": row["created_at"]} | _value(row))
    return {"scope": scope, "key": key, "series": series}


def latest_confusion(*, project: Project) -> dict:
    """The label-by-label coincidence matrix of the latest successful agreement run: how often one
    annotator's label met another's on the same item (symmetric; the diagonal is agreement)."""
    job = (
        Job.objects.filter(project=project, kind=JobKind.AGREEMENT, status=JobStatus.SUCCEEDED)
        .order_by("-finished_at", "-id")
        .values("result")
        .first()
    )
    result = (job["result"] if job else None) or {}
    if not result.get("coincidence"):
        return {"labels": [], "matrix": [], "reason": "agreement has not been computed yet"}
    return {"labels": result.get("categories", []), "matrix": result["coincidence"]}
