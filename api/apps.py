from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import pre_save


class ApiConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "api"

    def ready(self) -> None:
        from api.tokens import revoke_on_credentials_change

        pre_save.connect(
            revoke_on_credentials_change,
            sender=settings.AUTH_USER_MODEL,
            dispatch_uid="api.tokens.revoke_on_credentials_change",
        )
