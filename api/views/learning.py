"""The project's learning curve: every model version, and the active-learning job in flight."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import JobKind, JobStatus, Role
from api.permissions import ProjectScopedMixin
from api.serializers.jobs import JobSerializer
from learning.models import ModelVersion


class ModelVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = [
            "id", "version", "strategy", "featurizer", "n_labels", "label_counts",
            "cv_accuracy", "cv_macro_f1", "eval_macro_f1", "eval_n", "n_scored", "job",
            "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class ProjectModelsSerializer(serializers.Serializer):
    """The answer of ``/models``: the learning curve, the model in use, the latest job."""

    models = ModelVersionSerializer(many=True)
    current = ModelVersionSerializer(allow_null=True)
    job = JobSerializer(allow_null=True)


class ProjectModelsView(ProjectScopedMixin, APIView):
    """``GET /api/projects/{id}/models``: versions oldest first (the learning curve),
    the version the queue uses now (``current``) and the latest active-learning job."""

    roles = {"get": frozenset(Role.values)}

    @extend_schema(responses={200: ProjectModelsSerializer})
    def get(self, request, project_pk=None):
        versions = list(ModelVersion.objects.filter(project=self.project).order_by("version"))
        in_use = next((v for v in reversed(versions) if v.n_scored), None)
        job = self.project.jobs.filter(kind=JobKind.ACTIVE_LEARNING).order_by("-id").first()
        running = (
            self.project.jobs.filter(
                kind=JobKind.ACTIVE_LEARNING, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
            )
            .order_by("id")
            .first()
        )
        return Response({
            "models": ModelVersionSerializer(versions, many=True).data,
            "current": ModelVersionSerializer(in_use).data if in_use else None,
            "job": JobSerializer(running or job).data if (running or job) else None,
        })  # fmt: skip
