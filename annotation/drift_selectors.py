"""Reads of the drift checks (``GET /api/projects/{id}/drift``)."""

from django.db.models import QuerySet

from annotation.models import DriftCheck, Project


def drift_checks(*, project: Project) -> QuerySet[DriftCheck]:
    """Every check the project's drift jobs stored, newest first."""
    return DriftCheck.objects.filter(project=project).order_by("-created_at", "-id")


def drift_latest(*, project: Project) -> list[DriftCheck]:
    """The checks of the project's latest drift job that stored any, flagged ones first."""
    latest = drift_checks(project=project).exclude(job=None).values_list("job", flat=True).first()
    if latest is None:
        return []
    return list(DriftCheck.objects.filter(job_id=latest).order_by("-drift", "kind", "reference"))
