"""The dashboard's numbers: ``GET /api/projects/{id}/stats`` and ``GET /api/projects/{id}/agreement``.

Managers and reviewers only (annotators should not see each other's agreement scores). Agreement
is computed by the agreement job, never on request; the stopping rule and the forecast are read
from the model versions (the forecast is refitted here only when the project's target changed
since the latest version stored it).
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.agreement_selectors import agreement_history, agreement_latest
from annotation.selectors import CAN_REVIEW
from annotation.stats import project_stats
from api.permissions import ProjectScopedMixin
from api.serializers.stats import ProjectStatsSerializer

SCOPES = ("project", "label", "annotator", "pair")


class ProjectStatsView(ProjectScopedMixin, APIView):
    roles = {"get": CAN_REVIEW}

    @extend_schema(responses={200: ProjectStatsSerializer})
    def get(self, request, project_pk=None):
        return Response(project_stats(project=self.project))


class ProjectAgreementView(ProjectScopedMixin, APIView):
    """Latest value for every scope; ``?history=1`` the series (``&scope=label&key=positive``)."""

    roles = {"get": CAN_REVIEW}

    @extend_schema(
        parameters=[
            OpenApiParameter("history", bool, default=False),
            OpenApiParameter("scope", str, enum=SCOPES, default="project"),
            OpenApiParameter("key", str, default=""),
        ],
        responses={200: dict},
    )
    def get(self, request, project_pk=None):
        params = request.query_params
        if params.get("history") not in (None, "", "0", "false"):
            scope = params.get("scope", "project")
            if scope not in SCOPES:
                raise ValidationError({"scope": f"Unknown scope {scope!r}; one of {list(SCOPES)}."})
            return Response(
                agreement_history(project=self.project, scope=scope, key=params.get("key", ""))
            )
        return Response(agreement_latest(project=self.project))
