import uuid

from django.conf import settings
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.importing import errors as codes
from annotation.importing.errors import RowError
from annotation.jobs.dispatch import job_enqueue
from annotation.models import JobKind, Role
from annotation.selectors import CAN_MANAGE, items_for_project
from annotation.services.importing import ImportResult, import_file, import_objects
from api.parsers import BoundedJSONParser
from api.permissions import ProjectScopedMixin
from api.serializers.items import (
    ImportJsonSerializer,
    ImportQuerySerializer,
    ImportResultSerializer,
    ItemSerializer,
)
from api.serializers.jobs import JobAcceptedSerializer, JobSerializer

EVERY_ROLE = frozenset(Role.values)


class ItemViewSet(ProjectScopedMixin, viewsets.ReadOnlyModelViewSet):
    """A project's items (without anyone's labels), filterable by ``?status=``."""

    serializer_class = ItemSerializer
    roles = {"list": EVERY_ROLE, "retrieve": EVERY_ROLE}

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "role": self.role}

    def get_queryset(self):
        return items_for_project(
            project=self.project, status=self.request.query_params.get("status")
        )


class ImportView(ProjectScopedMixin, APIView):
    """Import items from a file (multipart ``file``) or a JSON body ``{"items": [...]}``.

    Small inputs answer at once with ``{"created", "skipped", "errors"}``; a file over
    the async threshold is imported by a worker: 202 with the job to poll.
    """

    parser_classes = [MultiPartParser, FormParser, BoundedJSONParser]
    roles = {"post": CAN_MANAGE}

    @extend_schema(
        parameters=[ImportQuerySerializer],
        request={"multipart/form-data": {"type": "object", "properties": {
            "file": {"type": "string", "format": "binary"}}},
            "application/json": ImportJsonSerializer},
        responses={201: ImportResultSerializer, 202: JobAcceptedSerializer, 400: ImportResultSerializer},
    )  # fmt: skip
    def post(self, request, project_pk=None):
        query = ImportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        options = query.validated_data
        upload = request.FILES.get("file")
        if upload is None:
            if not isinstance(request.data, dict):  # null, 5, true, [...]
                return _import_error('Send {"items": [...]} as the JSON body, or a file.')
            if "file" in request.data or request.content_type.startswith("multipart"):
                return _import_error("Send the file in a multipart field named 'file'.")
            body = ImportJsonSerializer(data=request.data)
            body.is_valid(raise_exception=True)
            result = import_objects(
                project=self.project, objects=body.validated_data["items"], user=request.user,
                on_duplicate=options["on_duplicate"],
            )  # fmt: skip
            return _import_answer(result)
        if upload.size > settings.QUORUM_ASYNC_IMPORT_BYTES:
            return self._import_later(upload, options)
        result = import_file(
            project=self.project, stream=upload, file_name=upload.name, user=request.user,
            fmt=options.get("format"), on_duplicate=options["on_duplicate"], size=upload.size,
        )  # fmt: skip
        return _import_answer(result)

    def _import_later(self, upload, options) -> Response:
        settings.QUORUM_UPLOAD_DIR.mkdir(parents=True, exist_ok=True)
        path = settings.QUORUM_UPLOAD_DIR / f"{uuid.uuid4().hex}-{upload.name[-100:]}"
        with path.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        params = {
            "path": str(path),
            "file_name": upload.name,
            "size": upload.size,
            "on_duplicate": options["on_duplicate"],
            "format": options.get("format"),
        }
        with transaction.atomic():
            job, _ = job_enqueue(
                project=self.project, kind=JobKind.IMPORT, params=params, user=self.request.user
            )
        return Response(JobSerializer(job).data | {"job": job.pk}, status=status.HTTP_202_ACCEPTED)


def _import_answer(result) -> Response:
    code = status.HTTP_201_CREATED if result.ok else status.HTTP_400_BAD_REQUEST
    return Response(result.as_dict(), status=code)


def _import_error(message: str) -> Response:
    """A request that is not an import at all, in the import answer's shape."""
    result = ImportResult()
    result.add_error(RowError(0, "file", message, codes.BAD_REQUEST))
    return Response(result.as_dict(), status=status.HTTP_400_BAD_REQUEST)
