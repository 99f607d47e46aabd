from django.apps import AppConfig


class AnnotationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "annotation"

    def ready(self) -> None:
        from annotation import tasks as _tasks  # noqa: F401  deliver_webhook, by name
        from annotation.jobs import tasks  # noqa: F401  every process knows run_job (eager)
        from annotation.jobs.registry import register_finish_listener, register_handler
        from annotation.models import JobKind

        register_handler(JobKind.IMPORT, "annotation.services.importing.job.import_job_handler")
        register_handler(JobKind.SNAPSHOT, "annotation.services.snapshots.snapshot_job_handler")
        register_finish_listener("annotation.services.alert_rules.job_finished")
