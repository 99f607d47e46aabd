"""The review queue over the API: flagged items, review actions, the audit log, annotator quality.

Only managers and reviewers see any of it: these answers show other people's labels. Non-members
get 404, other members 403, as on every project-scoped route.
"""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation.models import Item
from annotation.quality_selectors import quality_history
from annotation.review_selectors import (
    annotator_quality_for_project,
    audit_log_for_item,
    label_issues_for_project,
)
from annotation.selectors import CAN_REVIEW
from annotation.services.review import review_item
from api.permissions import ProjectScopedMixin, project_for, url_id
from api.serializers.review import (
    AnnotatorQualityHistorySerializer,
    AnnotatorQualitySerializer,
    LabelIssueQuerySerializer,
    LabelIssueSerializer,
    ReviewActionSerializer,
    ReviewSerializer,
)


class LabelIssueViewSet(ProjectScopedMixin, viewsets.GenericViewSet):
    """``GET /api/projects/{id}/label-issues?label=&status=``: most severe first."""

    serializer_class = LabelIssueSerializer
    roles = {"list": CAN_REVIEW}

    @extend_schema(parameters=[LabelIssueQuerySerializer])
    def list(self, request, project_pk=None):
        query = LabelIssueQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        issues = label_issues_for_project(project=self.project, **query.validated_data)
        page = self.paginate_queryset(issues)
        return self.get_paginated_response(LabelIssueSerializer(page, many=True).data)


class AnnotatorQualityView(ProjectScopedMixin, APIView):
    """``GET /api/projects/{id}/annotator-quality``: managers and reviewers only."""

    roles = {"get": CAN_REVIEW}

    @extend_schema(responses={200: AnnotatorQualitySerializer(many=True)})
    def get(self, request, project_pk=None):
        rows = annotator_quality_for_project(project=self.project)
        return Response(AnnotatorQualitySerializer(rows, many=True).data)


class AnnotatorQualityHistoryView(ProjectScopedMixin, APIView):
    """``GET /api/projects/{id}/annotator-quality/history``: each annotator's quality per
    label-quality run, oldest first. Managers and reviewers only, like the latest values."""

    roles = {"get": CAN_REVIEW}

    @extend_schema(responses={200: AnnotatorQualityHistorySerializer})
    def get(self, request, project_pk=None):
        return Response(quality_history(project=self.project))


class ItemScopedView(APIView):
    """An item route (``/api/items/{item_pk}/...``) checked against the item's project."""

    roles: frozenset[str] = CAN_REVIEW

    def item_for(self, request, item_pk) -> Item:
        item = get_object_or_404(Item.objects.select_related("project"), pk=url_id(item_pk))
        _, role = project_for(request, item.project_id)  # 404 for non-members
        if role not in self.roles:
            raise PermissionDenied("Reviewers and managers only.")
        return item


class ItemReviewView(ItemScopedView):
    """``POST /api/items/{id}/review`` ``{"action", "label"|"labels"?, "note"?}``."""

    @extend_schema(request=ReviewSerializer, responses={201: ReviewActionSerializer})
    def post(self, request, item_pk=None):
        item = self.item_for(request, item_pk)
        body = ReviewSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        logged = review_item(item=item, reviewer=request.user, **body.validated_data)
        return Response(ReviewActionSerializer(logged).data, status=status.HTTP_201_CREATED)


class ItemAuditView(ItemScopedView):
    """``GET /api/items/{id}/audit``: the item's review actions, newest first."""

    @extend_schema(responses={200: ReviewActionSerializer(many=True)})
    def get(self, request, item_pk=None):
        item = self.item_for(request, item_pk)
        return Response(ReviewActionSerializer(audit_log_for_item(item=item), many=True).data)
