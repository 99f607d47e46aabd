from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.csv_cells import CSV_FORMULA_MODES, ESCAPE
from annotation.exporting import EXPORT_FORMATS, STREAMERS, export_rows
from annotation.models import Job, Role
from annotation.selectors import CAN_EXPORT, CAN_REVIEW, user_role
from annotation.services.jobs import job_enqueue
from api.permissions import ProjectScopedMixin
from api.serializers.items import JobCreateSerializer, JobSerializer

EVERY_ROLE = frozenset(Role.values)
CSV_FORMULAS_PARAMETER = OpenApiParameter(
    "csv_formulas", enum=list(CSV_FORMULA_MODES), default=ESCAPE,
    description="CSV only: `escape` prefixes cells a spreadsheet would run as formulas with "
    "a single quote; `raw` writes every cell unchanged, for programs.",
)  # fmt: skip


def csv_formulas_param(request) -> str:
    """The ``csv_formulas`` query parameter, checked (400 naming the choices)."""
    mode = request.query_params.get("csv_formulas", ESCAPE)
    if mode not in CSV_FORMULA_MODES:
        raise ValidationError(
            {"csv_formulas": f"Unknown mode {mode!r}; one of {list(CSV_FORMULA_MODES)}."}
        )
    return mode


class JobViewSet(viewsets.GenericViewSet):
    """``GET /api/jobs/{id}``: any member of the job's project may follow it."""

    serializer_class = JobSerializer
    queryset = Job.objects.all()

    def retrieve(self, request, pk=None):
        job = get_object_or_404(Job, pk=pk)
        if user_role(user=request.user, project=job.project_id) is None:
            raise Http404("No such job.")
        return Response(JobSerializer(job).data)


class ProjectJobViewSet(ProjectScopedMixin, viewsets.GenericViewSet):
    """A project's jobs; managers and reviewers start them."""

    serializer_class = JobSerializer
    roles = {"list": CAN_REVIEW | CAN_EXPORT, "create": CAN_REVIEW}

    def list(self, request, project_pk=None):
        jobs = self.project.jobs.all()
        kind = request.query_params.get("kind")
        if kind:
            jobs = jobs.filter(kind=kind)
        page = self.paginate_queryset(jobs)
        return self.get_paginated_response(JobSerializer(page, many=True).data)

    @extend_schema(request=JobCreateSerializer, responses={202: JobSerializer})
    def create(self, request, project_pk=None):
        data = JobCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job, created = job_enqueue(
            project=self.project, kind=data.validated_data["kind"], params=data.job_params(),
            user=request.user,
        )  # fmt: skip
        body = JobSerializer(job).data | {"job": job.pk, "coalesced": not created}
        return Response(body, status=status.HTTP_202_ACCEPTED)


class ExportView(ProjectScopedMixin, APIView):
    """Every item with its annotations, streamed: ``?format=jsonl|csv|json``.

    CSV cells that a spreadsheet would run as formulas get a leading ``'``;
    ``?csv_formulas=raw`` writes them unchanged for programs.
    """

    roles = {"get": CAN_EXPORT}

    @extend_schema(
        parameters=[OpenApiParameter("format", enum=list(EXPORT_FORMATS), default="jsonl"),
                    CSV_FORMULAS_PARAMETER],
        responses={(200, "application/x-ndjson"): bytes},
    )  # fmt: skip
    def get(self, request, project_pk=None):
        fmt = request.query_params.get("format", "jsonl")
        if fmt not in STREAMERS:
            raise ValidationError({"format": f"Unknown format {fmt!r}; one of {list(STREAMERS)}."})
        rows = export_rows(project=self.project)
        if fmt == "csv":
            stream = STREAMERS[fmt](rows, csv_formulas=csv_formulas_param(request))
        else:
            stream = STREAMERS[fmt](rows)
        response = StreamingHttpResponse(stream, content_type=EXPORT_FORMATS[fmt])
        response["Content-Disposition"] = f'attachment; filename="project-{self.project.pk}.{fmt}"'
        return response
