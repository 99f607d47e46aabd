"""The one API router. Project-scoped resources live under /api/projects/{project_pk}/."""

from django.http import JsonResponse
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from api.views.audit import (
    ContentDeleteView,
    FindingResolveView,
    ProjectAccessLogView,
    ProjectAuditView,
)
from api.views.auth import TokenRotateView, TokenView
from api.views.compression import CompressionProfileViewSet
from api.views.docs import SwaggerView
from api.views.drift import ProjectDriftView
from api.views.items import ImportView, ItemViewSet
from api.views.jobs import ExportView, JobViewSet, ProjectJobViewSet
from api.views.labeling import (
    AnnotationView,
    HistoryView,
    ItemAnnotationView,
    ItemSkipView,
    NextView,
    ProgressView,
)
from api.views.learning import ProjectModelsView
from api.views.monitoring import (
    AlertListView,
    AlertRulesView,
    WebhookDeliveriesView,
    WebhookViewSet,
)
from api.views.projects import MemberViewSet, ProjectViewSet, UserViewSet
from api.views.review import (
    AnnotatorQualityHistoryView,
    AnnotatorQualityView,
    ItemAuditView,
    ItemReviewView,
    LabelIssueViewSet,
)
from api.views.snapshots import ProjectSnapshotViewSet, SnapshotViewSet
from api.views.stats import ProjectAgreementView, ProjectStatsView


class OptionalSlashRouter(DefaultRouter):
    """``/api/projects/1`` and ``/api/projects/1/`` both work: scripts write either."""

    include_format_suffixes = False

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("projects", ProjectViewSet, basename="project")
router.register("users", UserViewSet, basename="user")
router.register("jobs", JobViewSet, basename="job")
router.register("snapshots", SnapshotViewSet, basename="snapshot")


@csrf_exempt
def api_not_found(request, *args, **kwargs):
    """Any other /api/ URL (a malformed id such as ``/api/jobs/abc`` included): a JSON 404,
    like every API answer, instead of Django's HTML page."""
    return JsonResponse({"detail": "Not found."}, status=404)


def project_route(suffix: str, view, name: str):
    """``projects/{project_pk}/<suffix>`` with an optional trailing slash."""
    return re_path(rf"^projects/(?P<project_pk>\d+)/{suffix}/?$", view, name=name)


urlpatterns = [
    re_path(r"^auth/token/?$", TokenView.as_view(), name="auth-token"),
    re_path(r"^auth/token/rotate/?$", TokenRotateView.as_view(), name="auth-token-rotate"),
    re_path(r"^schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^docs/?$", SwaggerView.as_view(url_name="schema"), name="docs"),
    project_route("members", MemberViewSet.as_view({"get": "list", "post": "create"}),
                  "project-members"),
    project_route(r"members/(?P<username>[\w.@+-]+)",
                  MemberViewSet.as_view({"patch": "partial_update", "put": "update",
                                         "delete": "destroy"}), "project-member"),
    project_route("items", ItemViewSet.as_view({"get": "list"}), "project-items"),
    project_route(r"items/(?P<pk>\d+)", ItemViewSet.as_view({"get": "retrieve"}), "project-item"),
    project_route("import", ImportView.as_view(), "project-import"),
    project_route("export", ExportView.as_view(), "project-export"),
    project_route("jobs", ProjectJobViewSet.as_view({"get": "list", "post": "create"}),
                  "project-jobs"),
    project_route("models", ProjectModelsView.as_view(), "project-models"),
    project_route("compression-profiles",
                  CompressionProfileViewSet.as_view({"get": "list", "post": "create"}),
                  "project-compression-profiles"),
    project_route(r"compression-profiles/(?P<pk>\d+)",
                  CompressionProfileViewSet.as_view({"get": "retrieve",
                                                     "patch": "partial_update"}),
                  "project-compression-profile"),
    # webhooks and alerts (api/views/monitoring.py)
    project_route("webhooks", WebhookViewSet.as_view({"get": "list", "post": "create"}),
                  "project-webhooks"),
    project_route(r"webhooks/(?P<pk>\d+)",
                  WebhookViewSet.as_view({"get": "retrieve", "patch": "partial_update",
                                          "delete": "destroy"}), "project-webhook"),
    project_route(r"webhooks/(?P<pk>\d+)/deliveries", WebhookDeliveriesView.as_view(),
                  "project-webhook-deliveries"),
    project_route(r"webhooks/(?P<pk>\d+)/test", WebhookViewSet.as_view({"post": "test"}),
                  "project-webhook-test"),
    project_route("alerts", AlertListView.as_view(), "project-alerts"),
    project_route("alert-rules", AlertRulesView.as_view(), "project-alert-rules"),
    project_route("next", NextView.as_view(), "project-next"),
    project_route("history", HistoryView.as_view(), "project-history"),
    project_route("progress", ProgressView.as_view(), "project-progress"),
    re_path(r"^items/(?P<pk>\d+)/annotations/?$", ItemAnnotationView.as_view(),
            name="item-annotations"),
    re_path(r"^items/(?P<pk>\d+)/skip/?$", ItemSkipView.as_view(), name="item-skip"),
    re_path(r"^annotations/(?P<pk>\d+)/?$", AnnotationView.as_view(), name="annotation-detail"),
    project_route("stats", ProjectStatsView.as_view(), "project-stats"),
    project_route("drift", ProjectDriftView.as_view(), "project-drift"),
    project_route("agreement", ProjectAgreementView.as_view(), "project-agreement"),
    # review queue (api/views/review.py)
    project_route("label-issues", LabelIssueViewSet.as_view({"get": "list"}), "project-label-issues"),
    project_route("annotator-quality", AnnotatorQualityView.as_view(), "project-annotator-quality"),
    project_route("annotator-quality/history", AnnotatorQualityHistoryView.as_view(),
                  "project-annotator-quality-history"),
    re_path(r"^items/(?P<item_pk>\d+)/review/?$", ItemReviewView.as_view(), name="item-review"),
    re_path(r"^items/(?P<item_pk>\d+)/audit/?$", ItemAuditView.as_view(), name="item-audit"),
    project_route("snapshots", ProjectSnapshotViewSet.as_view({"get": "list", "post": "create"}),
                  "project-snapshots"),
    # data audit (api/views/audit.py)
    project_route("audit", ProjectAuditView.as_view(), "project-audit"),
    project_route("access-log", ProjectAccessLogView.as_view(), "project-access-log"),
    project_route("delete-content", ContentDeleteView.as_view(), "project-delete-content"),
    re_path(r"^findings/(?P<pk>\d+)/resolve/?$", FindingResolveView.as_view(),
            name="finding-resolve"),
    *router.urls,
    re_path(r"^", api_not_found, name="api-not-found"),  # last: only what nothing else matched
]  # fmt: skip
