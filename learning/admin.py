from django.apps import apps
from django.contrib import admin

from learning.models import ModelVersion


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = [
        "project",
        "version",
        "strategy",
        "n_labels",
        "cv_accuracy",
        "cv_macro_f1",
        "created_at",
    ]
    list_filter = ["project"]


# Bookkeeping of the learning seam (e.g. scoring chunks): visible for debugging.
for _model in apps.get_app_config("learning").get_models():
    if _model not in admin.site._registry:
        admin.site.register(_model)
