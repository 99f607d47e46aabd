"""Everything in the domain is editable in the Django admin (staff users)."""

from django.contrib import admin

from annotation import models


class LabelInline(admin.TabularInline):
    model = models.Label
    extra = 0


class MembershipInline(admin.TabularInline):
    model = models.Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(models.Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "data_type",
        "multi_label",
        "overlap",
        "max_overlap",
        "strategy",
        "created_at",
    ]
    search_fields = ["name"]
    inlines = [LabelInline, MembershipInline]


@admin.register(models.Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = [
        "external_id",
        "project",
        "status",
        "annotation_count",
        "required_overlap",
        "priority",
    ]
    list_filter = ["status", "project"]
    search_fields = ["external_id", "text"]
    raw_id_fields = ["import_batch", "scored_by"]


@admin.register(models.Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ["item", "annotator", "labels", "source", "created_at"]
    list_filter = ["source", "project"]
    raw_id_fields = ["item", "model_version"]


@admin.register(models.Job)
class JobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "project",
        "kind",
        "status",
        "progress",
        "attempts",
        "created_at",
        "finished_at",
    ]
    list_filter = ["kind", "status"]


@admin.register(models.LabelIssue)
class LabelIssueAdmin(admin.ModelAdmin):
    list_display = ["item", "given_label", "suggested_label", "quality", "status", "created_at"]
    list_filter = ["status", "project"]
    raw_id_fields = ["item", "job"]


@admin.register(models.ReviewAction)
class ReviewActionAdmin(admin.ModelAdmin):
    list_display = ["item", "reviewer", "action", "created_at"]
    list_filter = ["action"]
    raw_id_fields = ["item", "issue", "job"]


@admin.register(models.AgreementRecord)
class AgreementRecordAdmin(admin.ModelAdmin):
    list_display = ["project", "metric", "scope", "scope_key", "value", "n_items", "created_at"]
    list_filter = ["metric", "scope", "project"]


@admin.register(models.Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    list_display = ["project", "version", "status", "row_count", "content_hash", "created_at"]


@admin.register(models.AuditFinding)
class AuditFindingAdmin(admin.ModelAdmin):
    list_display = ["project", "kind", "status", "score", "job", "created_at"]
    list_filter = ["kind", "status", "project"]
    raw_id_fields = ["items"]


@admin.register(models.AccessLog)
class AccessLogAdmin(admin.ModelAdmin):
    """Read-only: the access log is written by services and changed by nobody."""

    list_display = ["created_at", "actor", "action", "object_type", "object_id",
                    "project_id_logged"]  # fmt: skip
    list_filter = ["action", "object_type"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.CompressionProfile)
class CompressionProfileAdmin(admin.ModelAdmin):
    list_display = ["project", "name", "version", "updated_at"]
    list_filter = ["project"]


@admin.register(models.CompressedText)
class CompressedTextAdmin(admin.ModelAdmin):
    """Read-only: a derived cache the compression job writes (originals stay on the item)."""

    list_display = ["profile", "version", "level", "item", "tokens", "tokens_original"]
    list_filter = ["profile", "level"]
    raw_id_fields = ["item"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.Webhook)
class WebhookAdmin(admin.ModelAdmin):
    """The secret is write-only here too: never shown, changed through the app or the API."""

    list_display = ["url", "project", "active", "created_at"]
    exclude = ["secret"]
    readonly_fields = ["url"]  # the services check it (SSRF); the admin does not
    list_filter = ["active"]

    def has_add_permission(self, request):
        return False  # the services check the URL (SSRF) and the secret


@admin.register(models.WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "event", "webhook", "status", "attempts", "response_code"]
    list_filter = ["status", "event"]
    raw_id_fields = ["webhook"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.DriftCheck)
class DriftCheckAdmin(admin.ModelAdmin):
    list_display = ["project", "kind", "reference", "window", "score", "p_value", "drift",
                    "created_at"]  # fmt: skip
    list_filter = ["kind", "drift", "project"]


@admin.register(models.Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["opened_at", "project", "kind", "key", "message", "resolved_at"]
    list_filter = ["kind"]


for model in (
    models.AlertRule,
    models.Label, models.Membership, models.ImportBatch, models.Lease, models.Skip,
    models.AnnotatorQuality, models.AnnotatorQualityRecord,
):  # fmt: skip
    admin.site.register(model)
