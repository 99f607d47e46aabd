from django.http import Http404, StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.csv_cells import CSV_FORMULA_MODES, ESCAPE
from annotation.exporting import EXPORT_FORMATS, STREAMERS, export_rows, stream_csv
from annotation.jobs.dispatch import job_enqueue
from annotation.models import Job, JobKind
from annotation.selectors import CAN_EXPORT, CAN_REVIEW, user_role
from annotation.services.audit import access_log_write
from annotation.services.compression import compression_job_start
from annotation.services.text_access import project_originals_served
from api.permissions import (
    JOB_KIND_ROLES,
    ProjectScopedMixin,
    job_kinds_for,
    text_view_param,
    url_id,
)
from api.schema import ORIGINALS_PARAMETER, file_responses
from api.serializers.jobs import JobAcceptedSerializer, JobCreateSerializer, JobSerializer

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
    """``GET /api/jobs/{id}``: members whose role may see the job's kind follow it
    (``JOB_KIND_ROLES``); other members get 403, non-members 404."""

    serializer_class = JobSerializer
    queryset = Job.objects.all()
    lookup_value_regex = r"\d+"

    @extend_schema(responses={200: JobSerializer})
    def retrieve(self, request, pk=None):
        job = Job.objects.filter(pk=url_id(pk)).first()
        role = user_role(user=request.user, project=job.project_id) if job else None
        if job is None or role is None:
            raise Http404("No such job.")
        if role not in JOB_KIND_ROLES[job.kind]:
            raise PermissionDenied("Your role in this project cannot see this kind of job.")
        return Response(JobSerializer(job).data)


class ProjectJobViewSet(ProjectScopedMixin, viewsets.GenericViewSet):
    """A project's jobs (only the kinds the requester's role may see); managers and
    reviewers start them."""

    serializer_class = JobSerializer
    roles = {"list": CAN_REVIEW | CAN_EXPORT, "create": CAN_REVIEW}

    @extend_schema(
        parameters=[OpenApiParameter("kind", str, enum=JobKind.values)],
        responses={200: JobSerializer(many=True)},
    )
    def list(self, request, project_pk=None):
        jobs = self.project.jobs.filter(kind__in=job_kinds_for(self.role))
        kind = request.query_params.get("kind")
        if kind:
            if kind not in JobKind.values:
                raise ValidationError(
                    {"kind": [f"Unknown kind {kind!r}; one of {JobKind.values}."]}
                )
            jobs = jobs.filter(kind=kind)
        page = self.paginate_queryset(jobs)
        return self.get_paginated_response(JobSerializer(page, many=True).data)

    @extend_schema(request=JobCreateSerializer, responses={202: JobAcceptedSerializer})
    def create(self, request, project_pk=None):
        data = JobCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        kind = data.validated_data["kind"]
        if self.role not in JOB_KIND_ROLES[kind]:
            raise PermissionDenied("Your role in this project cannot start this kind of job.")
        if kind == JobKind.COMPRESSION:
            job, created = compression_job_start(
                project=self.project, profile_id=data.validated_data.get("profile"),
                user=request.user, **({"tolerance": data.validated_data["tolerance"]}
                                      if "tolerance" in data.validated_data else {}),
            )  # fmt: skip
        else:
            job, created = job_enqueue(
                project=self.project, kind=kind, params=data.job_params(), user=request.user
            )
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
                    CSV_FORMULAS_PARAMETER, ORIGINALS_PARAMETER],
        responses=file_responses(EXPORT_FORMATS.values(), "The project's items, streamed."),
    )  # fmt: skip
    def get(self, request, project_pk=None):
        fmt = request.query_params.get("format", "jsonl")
        if fmt not in STREAMERS:
            raise ValidationError({"format": f"Unknown format {fmt!r}; one of {list(STREAMERS)}."})
        view = text_view_param(request, self.role)
        rows = export_rows(project=self.project, text_view=view)
        if fmt == "csv":
            stream = stream_csv(rows, csv_formulas=csv_formulas_param(request))
        else:
            stream = STREAMERS[fmt](rows)
        response = StreamingHttpResponse(stream, content_type=EXPORT_FORMATS[fmt])
        response["Content-Disposition"] = f'attachment; filename="project-{self.project.pk}.{fmt}"'
        access_log_write(actor=request.user, action="export_download", object_type="project",
                         object_id=self.project.pk, project_id=self.project.pk,
                         detail={"format": fmt, "originals": view.originals})  # fmt: skip
        project_originals_served(view=view, user=request.user, project=self.project,
                                 object_type="project_export", object_id=self.project.pk)  # fmt: skip
        return response
