"""The data audit over the API: the latest run's summary and findings, and acting on them.

Managers and reviewers only, like the review queue: findings show items' contents and where
personal data sits. Non-members get 404, other members 403.
"""

from django.core.exceptions import PermissionDenied
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.audit_selectors import access_log_entries, audit_findings, latest_audit_run
from annotation.models import AuditFinding, Item
from annotation.selectors import CAN_MANAGE, CAN_REVIEW
from annotation.services.audit import finding_resolve
from annotation.services.retention import items_content_delete
from api.permissions import ProjectScopedMixin, object_for
from api.serializers.audit import (
    AccessLogQuerySerializer,
    AccessLogSerializer,
    AuditFindingSerializer,
    AuditPageSerializer,
    AuditQuerySerializer,
    ContentDeletedSerializer,
    ContentDeleteSerializer,
    FindingActionSerializer,
)


class ProjectAuditView(ProjectScopedMixin, APIView):
    """``GET /api/projects/{id}/audit?kind=&status=&page=``: the summary, and the findings
    strongest first, a page at a time (``count``, ``next``, ``previous``, ``findings``)."""

    roles = {"get": CAN_REVIEW}

    @extend_schema(parameters=[AuditQuerySerializer], responses={200: AuditPageSerializer})
    def get(self, request, project_pk=None):
        query = AuditQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = {k: v for k, v in query.validated_data.items() if k != "page"}
        run = latest_audit_run(project=self.project)
        result = (run.result or {}) if run else {}
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(audit_findings(project=self.project, **filters),
                                           request, view=self)  # fmt: skip
        paged = paginator.get_paginated_response(AuditFindingSerializer(page, many=True).data).data
        return Response({
            "run": {"id": run.pk, "status": run.status, "created_at": run.created_at,
                    "finished_at": run.finished_at} if run else None,
            "summary": result.get("summary", {}),
            "duplicate_rate": result.get("duplicate_rate"),
            "pii_by_type": result.get("pii_by_type", {}),
            "imbalance": result.get("imbalance"),
            "count": paged["count"], "next": paged["next"], "previous": paged["previous"],
            "findings": paged["results"],
        })  # fmt: skip


class FindingResolveView(APIView):
    """``POST /api/findings/{id}/resolve`` ``{"action": "keep"|"exclude"|"merge"|"redact",
    "keep_item"?}``: managers and reviewers."""

    @extend_schema(request=FindingActionSerializer, responses={200: AuditFindingSerializer})
    def post(self, request, pk=None):
        finding, _, role = object_for(request, AuditFinding, pk)
        if role not in CAN_REVIEW:
            raise PermissionDenied("Reviewers and managers only.")
        body = FindingActionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        finding_resolve(finding=finding, user=request.user, **body.validated_data)
        return Response(AuditFindingSerializer(finding).data)


class AccessLogPagination(PageNumberPagination):
    page_size = 50


class ProjectAccessLogView(ProjectScopedMixin, ListAPIView):
    """``GET /api/projects/{id}/access-log?action=&page=``: who downloaded, changed roles or
    settings, viewed personal data or acted on findings, newest first. Managers only, and
    read only: the log has no write endpoint (other methods answer 405)."""

    roles = {"get": CAN_MANAGE}
    serializer_class = AccessLogSerializer
    pagination_class = AccessLogPagination

    @extend_schema(parameters=[AccessLogQuerySerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        query = AccessLogQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        return access_log_entries(project=self.project, action=query.validated_data.get("action"))


class ContentDeleteView(ProjectScopedMixin, APIView):
    """``POST /api/projects/{id}/delete-content {"items": [ids], "reason"}``: delete these
    items' content and keep their labels (a data subject's request). Managers only; every id
    must be an item of the project (else 400 naming the others, and nothing is deleted)."""

    roles = {"post": CAN_MANAGE}

    @extend_schema(request=ContentDeleteSerializer, responses={200: ContentDeletedSerializer})
    def post(self, request, project_pk=None):
        body = ContentDeleteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        wanted = list(dict.fromkeys(body.validated_data["items"]))
        found = dict(Item.objects.filter(project=self.project, pk__in=wanted)
                     .values_list("pk", "content_deleted_at"))  # fmt: skip
        unknown = [pk for pk in wanted if pk not in found]
        if unknown:
            raise ValidationError({"items": [f"Not items of this project: {unknown[:20]}"]})
        deleted = items_content_delete(project=self.project, item_ids=wanted, actor=request.user,
                                       reason=body.validated_data["reason"])  # fmt: skip
        gone = [pk for pk in wanted if found[pk] is not None]
        return Response({"deleted": deleted, "already_deleted": gone})
