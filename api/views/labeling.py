"""The labeling API: the annotator's queue, labels, edits, skips, history and progress.

Item and annotation routes carry no project in the URL: the project comes from
the object, and the usual rule applies (non-member 404, wrong role 403).
"""

from django.db.models import Model
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import Annotation, Item
from annotation.queue_selectors import my_history, my_progress
from annotation.selectors import CAN_LABEL
from annotation.services.label_rules import LabelRefused
from annotation.services.labeling import (
    annotation_submit,
    annotation_update,
    item_skip,
    queue_next,
)
from api.permissions import ProjectScopedMixin, object_for
from api.serializers.labeling import (
    AnnotationInputSerializer,
    AnnotationSerializer,
    ConflictSerializer,
    HistoryEntrySerializer,
    HistoryQuerySerializer,
    LabelsInputSerializer,
    NextQuerySerializer,
    ProgressSerializer,
    QueueItemSerializer,
    SkipInputSerializer,
    SkipSerializer,
    annotation_data,
    queue_item_data,
)

LABELING = {"get": CAN_LABEL, "post": CAN_LABEL, "patch": CAN_LABEL}
# Which HTTP answer each refusal of the labeling rule gets (annotation.services.label_rules).
REFUSAL_STATUS = {"not_leased": status.HTTP_403_FORBIDDEN}


class ObjectScopedMixin(ProjectScopedMixin):
    """Like ``ProjectScopedMixin``, for routes that name an object of a project."""

    model: type[Model]  # set by each view
    deferred: tuple[str, ...] = ()  # large columns the view never reads
    roles = LABELING

    def initial(self, request, *args, **kwargs):
        self.perform_authentication(request)
        if request.user and request.user.is_authenticated:
            self.object, self.project, self.role = object_for(
                request, self.model, kwargs["pk"], deferred=self.deferred
            )
        APIView.initial(self, request, *args, **kwargs)


class NextView(ProjectScopedMixin, APIView):
    """``GET /api/projects/{id}/next``: lease and return my next item; 204 when none is left.

    ``?exclude=<id>,<id>`` skips items the page already holds (for prefetching).
    """

    roles = LABELING

    @extend_schema(parameters=[NextQuerySerializer],
                   responses={200: QueueItemSerializer, 204: OpenApiResponse(description="Done.")})  # fmt: skip
    def get(self, request, project_pk=None):
        query = NextQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        lease = queue_next(project=self.project, annotator=request.user,
                           exclude_ids=query.validated_data.get("exclude", ()))  # fmt: skip
        if lease is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(queue_item_data(lease, project=self.project, role=self.role))


class ItemAnnotationView(ObjectScopedMixin, APIView):
    """``POST /api/items/{id}/annotations/``: my label for an item the queue gave me (201).

    Refusals carry a ``code``: 409 ``already_annotated`` (with my ``annotation_id``),
    409 ``item_complete``, 409 ``lease_lost`` (a late label for an item that went to
    someone else), 403 ``not_leased`` (the queue never gave it to me).
    """

    model = Item
    deferred = ("vector",)

    @extend_schema(request=AnnotationInputSerializer,
                   responses={201: AnnotationSerializer, 403: ConflictSerializer,
                              409: ConflictSerializer})  # fmt: skip
    def post(self, request, pk=None):
        body = AnnotationInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            annotation = annotation_submit(
                item=self.object, annotator=request.user, labels=data["labels"],
                time_spent_ms=data.get("time_spent_ms"),
                suggestion_accepted=data.get("suggestion_accepted"),
            )  # fmt: skip
        except LabelRefused as exc:
            code = REFUSAL_STATUS.get(exc.code, status.HTTP_409_CONFLICT)
            return Response(exc.as_data(), status=code)
        return Response(annotation_data(annotation), status=status.HTTP_201_CREATED)


class AnnotationView(ObjectScopedMixin, APIView):
    """``GET/PATCH /api/annotations/{id}/``: my own annotations only (others' are 404)."""

    model = Annotation

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.object.annotator_id != request.user.pk:
            raise Http404("No such annotation.")

    @extend_schema(responses={200: AnnotationSerializer})
    def get(self, request, pk=None):
        return Response(AnnotationSerializer(self.object).data)

    @extend_schema(request=LabelsInputSerializer, responses={200: AnnotationSerializer})
    def patch(self, request, pk=None):
        body = LabelsInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        annotation = annotation_update(
            annotation=self.object, annotator=request.user, labels=body.validated_data["labels"],
            time_spent_ms=body.validated_data.get("time_spent_ms"),
        )  # fmt: skip
        return Response(AnnotationSerializer(annotation).data)


class ItemSkipView(ObjectScopedMixin, APIView):
    """``POST /api/items/{id}/skip`` ``{"reason"?}``: 201 (200 when already skipped)."""

    model = Item

    @extend_schema(
        request=SkipInputSerializer, responses={201: SkipSerializer, 200: SkipSerializer}
    )
    def post(self, request, pk=None):
        body = SkipInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        skip, created = item_skip(item=self.object, annotator=request.user,
                                  reason=body.validated_data["reason"])  # fmt: skip
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(SkipSerializer(skip).data, status=code)


class HistoryView(ProjectScopedMixin, APIView):
    """``GET /api/projects/{id}/history?limit=&before=``: my annotations, newest first."""

    roles = LABELING

    @extend_schema(parameters=[HistoryQuerySerializer],
                   responses={200: HistoryEntrySerializer(many=True)})  # fmt: skip
    def get(self, request, project_pk=None):
        query = HistoryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        entries = my_history(project=self.project, annotator=request.user,
                             limit=query.validated_data["limit"],
                             before_id=query.validated_data.get("before"))  # fmt: skip
        return Response(
            HistoryEntrySerializer(entries, many=True, context={"role": self.role}).data
        )


class ProgressView(ProjectScopedMixin, APIView):
    """``GET /api/projects/{id}/progress``: ``{"mine", "done", "total"}``."""

    roles = LABELING

    @extend_schema(responses={200: ProgressSerializer})
    def get(self, request, project_pk=None):
        progress = my_progress(project=self.project, annotator=request.user)
        return Response(ProgressSerializer(progress).data)
