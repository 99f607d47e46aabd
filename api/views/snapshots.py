"""Snapshots over HTTP: cut one (202 + job), list, read, download (ETag, Range), diff.

Managers and engineers only (``CAN_EXPORT``): other members get 403, non-members 404.
"""

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from annotation.csv_cells import RAW
from annotation.models import Snapshot, SnapshotStatus
from annotation.selectors import CAN_EXPORT, CAN_MANAGE, user_role
from annotation.services.audit import access_log_write
from annotation.services.snapshots import (
    snapshot_create,
    snapshot_diff,
    snapshot_file,
    snapshot_managers_only,
)
from annotation.services.text_access import project_originals_served, text_view_for
from annotation.snapshots.writers import CONTENT_TYPES, FORMAT_FILES, csv_from_jsonl
from api.permissions import ProjectScopedMixin, url_id
from api.schema import file_responses
from api.serializers.snapshots import (
    SPEC_SCHEMA,
    SnapshotDiffSerializer,
    SnapshotNotBuiltSerializer,
    SnapshotSerializer,
    SnapshotSpecSerializer,
)
from api.views.jobs import CSV_FORMULAS_PARAMETER, csv_formulas_param

CHUNK = 1 << 20
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class ProjectSnapshotViewSet(ProjectScopedMixin, viewsets.GenericViewSet):
    """``/api/projects/{id}/snapshots``: list them, or cut a new one from a spec."""

    serializer_class = SnapshotSerializer
    roles = {"list": CAN_EXPORT, "create": CAN_EXPORT}

    def list(self, request, project_pk=None):
        snapshots = self.project.snapshots.select_related("job", "created_by")
        page = self.paginate_queryset(snapshots)
        data = SnapshotSerializer(page, many=True, context={"role": self.role}).data
        return self.get_paginated_response(data)

    @extend_schema(request={"application/json": SPEC_SCHEMA}, responses={202: SnapshotSerializer})
    def create(self, request, project_pk=None):
        names = list(self.project.labels.values_list("name", flat=True))
        data = SnapshotSpecSerializer(data=request.data, context={"label_names": names})
        data.is_valid(raise_exception=True)
        snapshot = snapshot_create(
            project=self.project, spec=data.validated_data.as_dict(), user=request.user
        )
        answer = SnapshotSerializer(snapshot, context={"role": self.role}).data
        return Response(answer, status=status.HTTP_202_ACCEPTED)


class SnapshotViewSet(viewsets.GenericViewSet):
    """``/api/snapshots/{id}``, its ``download`` and its ``diff/{other}``."""

    serializer_class = SnapshotSerializer
    queryset = Snapshot.objects.all()
    lookup_value_regex = r"\d+"
    role: str | None = None

    def _snapshot(self, pk) -> Snapshot:
        snapshot = Snapshot.objects.select_related("job", "project").filter(pk=url_id(pk)).first()
        role = user_role(user=self.request.user, project=snapshot.project_id) if snapshot else None
        if snapshot is None or role is None:
            raise Http404("No such snapshot.")
        if role not in CAN_EXPORT:
            raise PermissionDenied("Only the project's managers and engineers can use snapshots.")
        self.role = role
        return snapshot

    @extend_schema(responses={200: SnapshotSerializer})
    def retrieve(self, request, pk=None):
        snapshot = self._snapshot(pk)
        return Response(SnapshotSerializer(snapshot, context={"role": self.role}).data)

    @extend_schema(
        parameters=[OpenApiParameter("format", enum=list(FORMAT_FILES), default="jsonl"),
                    CSV_FORMULAS_PARAMETER],
        responses={
            **file_responses(CONTENT_TYPES.values(), "The snapshot in the asked format."),
            **file_responses(CONTENT_TYPES.values(), "One byte range of it.", status=206),
            304: OpenApiResponse(description="Unchanged since the ETag in If-None-Match."),
            409: SnapshotNotBuiltSerializer,
            416: OpenApiResponse(description="The Range is beyond the file."),
        },
    )  # fmt: skip
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        snapshot = self._snapshot(pk)
        if snapshot_managers_only(snapshot) and self.role not in CAN_MANAGE:
            raise PermissionDenied("This snapshot holds original texts: managers only.")
        fmt = request.query_params.get("format", "jsonl")
        if fmt not in FORMAT_FILES:
            raise ValidationError(
                {"format": [f"Unknown format {fmt!r}; one of {list(FORMAT_FILES)}."]}
            )
        if snapshot.status != SnapshotStatus.READY:
            return _not_built(snapshot)
        _require_files(snapshot, fmt)
        response: HttpResponseBase
        if fmt == "csv" and csv_formulas_param(request) == RAW:
            response = _raw_csv(snapshot)
        else:
            response = file_response(request, snapshot_file(snapshot, fmt), etag=f'"{snapshot.content_hash}-{fmt}"',
                                     content_type=CONTENT_TYPES[fmt], filename=_filename(snapshot, fmt))  # fmt: skip
        if response.status_code in (200, 206):  # a 304 or 416 hands over no data
            access_log_write(actor=request.user, action="snapshot_download", object_type="snapshot",
                             object_id=snapshot.pk, project_id=snapshot.project_id,
                             detail={"version": snapshot.version, "format": fmt,
                                     "range": request.headers.get("Range", "")[:100]})  # fmt: skip
            view = text_view_for(role=self.role, originals=bool(snapshot.spec.get("originals")))
            project_originals_served(view=view, user=request.user, project=snapshot.project,
                                     object_type="snapshot", object_id=snapshot.pk)  # fmt: skip
        return response

    @extend_schema(responses={200: SnapshotDiffSerializer, 409: SnapshotNotBuiltSerializer})
    @action(detail=True, methods=["get"], url_path=r"diff/(?P<other>\d+)")
    def diff(self, request, pk=None, other=None):
        a, b = self._snapshot(pk), self._snapshot(other)
        for snapshot in (a, b):
            if snapshot.status != SnapshotStatus.READY:
                return _not_built(snapshot)
            _require_files(snapshot, "jsonl")
        return Response(snapshot_diff(a, b))


def _raw_csv(snapshot: Snapshot) -> StreamingHttpResponse:
    """The CSV with formulas left as they are, rebuilt from the JSON Lines as it streams
    (the stored CSV is the neutralised one), so it has no ranges."""
    stream = csv_from_jsonl(snapshot_file(snapshot, "jsonl"), csv_formulas=RAW)
    response = StreamingHttpResponse(stream, content_type=CONTENT_TYPES["csv"])
    response["Content-Disposition"] = f'attachment; filename="{_filename(snapshot, "csv")}"'
    response["ETag"] = f'"{snapshot.content_hash}-csv-raw"'
    response["Cache-Control"] = "private, max-age=0, must-revalidate"
    return response


def _require_files(snapshot: Snapshot, fmt: str) -> None:
    if not snapshot_file(snapshot, fmt).exists():
        raise Http404("The snapshot's files are gone from the export folder; cut it again.")


def _not_built(snapshot: Snapshot) -> Response:
    return Response(
        {"detail": f"Snapshot v{snapshot.version} is not built yet ({snapshot.status}).",
         "status": snapshot.status, "job": snapshot.job_id},
        status=status.HTTP_409_CONFLICT,
    )  # fmt: skip


def _filename(snapshot: Snapshot, fmt: str) -> str:
    suffix = FORMAT_FILES[fmt].split(".", 1)[1]
    return f"project-{snapshot.project_id}-v{snapshot.version}.{suffix}"


def file_response(
    request, path: Path, *, etag: str, content_type: str, filename: str
) -> HttpResponseBase:
    """A file with its ETag: 304 when the client has it, 206 for one byte range, else 200."""
    response: HttpResponseBase
    matches = {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}
    if etag in matches or "*" in matches:
        response = HttpResponse(status=status.HTTP_304_NOT_MODIFIED)
    else:
        size = path.stat().st_size
        wanted = request.headers.get("Range")
        if_range = request.headers.get("If-Range")
        span = _byte_range(wanted, size) if wanted and if_range in (None, etag) else None
        if span == "unsatisfiable":
            response = HttpResponse(status=status.HTTP_416_REQUESTED_RANGE_NOT_SATISFIABLE)
            response["Content-Range"] = f"bytes */{size}"
        elif isinstance(span, tuple):
            start, end = span
            response = StreamingHttpResponse(_read(path, start, end), status=206,
                                             content_type=content_type)  # fmt: skip
            response["Content-Range"] = f"bytes {start}-{end}/{size}"
            response["Content-Length"] = str(end - start + 1)
        else:
            response = FileResponse(path.open("rb"), content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["ETag"] = etag
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=0, must-revalidate"
    return response


def _byte_range(header: str, size: int) -> tuple[int, int] | Literal["unsatisfiable"] | None:
    """One ``bytes=a-b`` / ``a-`` / ``-n`` range as inclusive (start, end); None to ignore."""
    match = RANGE.match(header.strip())
    if match is None:
        return None  # several ranges or another unit: the whole file is a valid answer
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last n bytes
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        return "unsatisfiable"
    return start, end


def _read(path: Path, start: int, end: int) -> Iterator[bytes]:
    with path.open("rb") as stream:
        stream.seek(start)
        remaining = end - start + 1
        while remaining > 0:
            chunk = stream.read(min(CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk
