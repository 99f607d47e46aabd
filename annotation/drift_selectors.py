"""Reads of the drift checks (``GET /api/projects/{id}/drift``)."""

from django.db.models import QuerySet

from annotation.models import DriftCheck, DriftKind, Project


def drift_checks(*, project: Project) -> QuerySet[DriftCheck]:
    """Every check the project's drift jobs stored, newest first."""
    return DriftCheck.objects.filter(project=project).order_by("-created_at", "-id")


def drift_latest(*, project: Project) -> list[DriftCheck]:
    """The checks of the project's latest drift job that stored any, flagged ones first."""
    latest = drift_checks(project=project).exclude(job=None).values_list("job", flat=True).first()
    if latest is None:
        return []
    return list(DriftCheck.objects.filter(job_id=latest).order_by("-drift", "kind", "reference"))


HISTORY_RUNS = 30


def drift_panel(check: DriftCheck) -> str:
    """Which chart a check belongs on: scores on one scale share a chart. A data check of a
    ``meta`` field scores the PSI, not the domain classifier's ROC-AUC, so it gets its own."""
    if check.kind == DriftKind.DATA and "field" in (check.detail or {}):
        return "meta"
    return str(check.kind)


def drift_baseline(check: DriftCheck) -> float | None:
    """The score of "no drift": the domain classifier's permutation baseline (its median AUC
    on shuffled windows); 0 for a PSI or a drop in agreement rate; None when untested."""
    if check.score is None:
        return None
    if drift_panel(check) == DriftKind.DATA:
        baseline = (check.detail or {}).get("baseline")
        return float(baseline) if isinstance(baseline, int | float) else 0.5
    return 0.0


def drift_history(*, project: Project, runs: int = HISTORY_RUNS) -> list[dict]:
    """Every check of the project's latest ``runs`` drift jobs, oldest run first: one point
    per check, ``{"run", "at", "panel", "series", "score", "p_value", "baseline", "drift"}``
    (``series`` is what was compared; ``at`` the run's time as ISO 8601)."""
    jobs = (
        DriftCheck.objects.filter(project=project).exclude(job=None)
        .order_by("-job_id").values_list("job_id", flat=True).distinct()
    )  # fmt: skip
    latest = list(jobs[:runs])
    checks = DriftCheck.objects.filter(project=project, job_id__in=latest).order_by(
        "created_at", "job_id", "kind", "reference", "id"
    )
    at: dict[int | None, str] = {}
    points = []
    for check in checks:
        stamp = at.setdefault(check.job_id, check.created_at.isoformat())
        points.append({
            "run": check.job_id, "at": stamp, "panel": drift_panel(check),
            "series": check.reference, "score": check.score, "p_value": check.p_value,
            "baseline": drift_baseline(check), "drift": check.drift,
        })  # fmt: skip
    return points
