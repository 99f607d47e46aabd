"""``GET /api/projects/{id}/drift``: the drift checks the project's drift jobs stored, newest
first (``POST /api/projects/{id}/jobs {"kind": "drift"}`` runs them). Managers and reviewers."""

from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.pagination import PageNumberPagination

from annotation.drift_selectors import drift_checks
from annotation.models import DriftCheck
from annotation.selectors import CAN_REVIEW
from api.permissions import ProjectScopedMixin


class DriftCheckSerializer(serializers.ModelSerializer):
    class Meta:
        model = DriftCheck
        fields = ["id", "kind", "reference", "window", "score", "p_value", "drift", "detail",
                  "job", "created_at"]  # fmt: skip
        read_only_fields = fields


class DriftPagination(PageNumberPagination):
    page_size = 100


class ProjectDriftView(ProjectScopedMixin, ListAPIView):
    roles = {"get": CAN_REVIEW}
    serializer_class = DriftCheckSerializer
    pagination_class = DriftPagination

    def get_queryset(self):
        return drift_checks(project=self.project)
