from django.apps import AppConfig


class LearningConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "learning"

    def ready(self) -> None:
        """Register the learning job handlers with the job core (by path: they are imported
        when a job of their kind first runs, so the web process never loads the ML stack)."""
        from annotation.compression_rules import register_profile_rules
        from annotation.jobs.registry import register_handler
        from annotation.models import JobKind
        from annotation.stats_registry import register_section

        handlers = {
            JobKind.ACTIVE_LEARNING: "learning.services.active_learning.active_learning_job_handler",
            JobKind.LABEL_ISSUES: "learning.services.label_issues.label_issues_job_handler",
            JobKind.AGREEMENT: "learning.agreement.service.agreement_job_handler",
            JobKind.AUDIT: "learning.services.audit.audit_job_handler",
            JobKind.COMPRESSION: "learning.services.compression.compression_job_handler",
            JobKind.DRIFT: "learning.services.drift.drift_job_handler",
        }
        for kind, path in handlers.items():
            register_handler(kind, path)
        register_profile_rules(
            validate="learning.services.compression.profile_problems",
            default_filters="learning.services.compression.default_filters",
        )
        register_section("stopping", "learning.services.monitoring.stopping_section")
        register_section("forecast", "learning.services.monitoring.forecast_section")
