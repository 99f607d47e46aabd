"""Reads of the drift checks (``GET /api/projects/{id}/drift``)."""

from django.db.models import QuerySet

from annotation.models import DriftCheck, Project


def drift_checks(*, project: Project) -> QuerySet[DriftCheck]:
    """Every check the project's drift jobs stored, newest first."""
    return DriftCheck.objects.filter(project=project).order_by("-created_at", "-id")
