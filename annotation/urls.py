from django.contrib.auth import views as auth_views
from django.urls import path

from annotation.views import audit, compression, dashboard, label, manage, monitoring, pages
from annotation.views import snapshots as snapshot_pages
from annotation.views.auth import login_page
from annotation.views.review import review_page, review_undo_view

urlpatterns = [
    path("login/", login_page, name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", pages.home, name="home"),
    path("projects/<int:project_id>/", pages.project_detail, name="project-detail"),
    path("media/items/<int:item_id>", pages.item_media, name="item-media"),
    path(
        "projects/<int:project_id>/snapshots/new", snapshot_pages.snapshot_new, name="snapshot-new"
    ),
    path("projects/<int:project_id>/dashboard", dashboard.dashboard, name="project-dashboard"),
    path("projects/<int:project_id>/label", label.label_page, name="label"),
    path("projects/<int:project_id>/review", review_page, name="review"),
    path("projects/<int:project_id>/review/undo", review_undo_view, name="review-undo"),
    path("projects/<int:project_id>/audit", audit.audit_page, name="audit"),
    path("projects/<int:project_id>/access-log", audit.access_log_page, name="access-log"),
    path(
        "projects/<int:project_id>/audit/findings/<int:finding_id>/resolve",
        audit.audit_resolve,
        name="audit-resolve",
    ),
    path("projects/<int:project_id>/compression", compression.compression_page, name="compression"),
    path(
        "projects/<int:project_id>/compression/run",
        compression.compression_run,
        name="compression-run",
    ),
    path("projects/<int:project_id>/webhooks", monitoring.webhooks_page, name="webhooks"),
    path("projects/<int:project_id>/webhooks/add", monitoring.webhook_add, name="webhook-add"),
    path(
        "projects/<int:project_id>/webhooks/<int:webhook_id>/change",
        monitoring.webhook_change,
        name="webhook-change",
    ),
    path(
        "projects/<int:project_id>/webhooks/<int:webhook_id>/test",
        monitoring.webhook_test,
        name="webhook-test",
    ),
    path(
        "projects/<int:project_id>/alert-rules",
        monitoring.alert_rules_save,
        name="alert-rules-save",
    ),
    # manager pages (annotation/views/manage.py)
    path("projects/new", manage.project_new, name="manage-new"),
    path("projects/guidelines-preview", manage.guidelines_preview, name="guidelines-preview"),
    path("projects/<int:project_id>/settings", manage.project_settings, name="manage-settings"),
    path("projects/<int:project_id>/import", manage.project_import, name="manage-import"),
    path("projects/<int:project_id>/members", manage.project_members, name="manage-members"),
]
