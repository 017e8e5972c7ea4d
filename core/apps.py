from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        # drf-spectacular finds its extensions by their import: API keys in the OpenAPI document.
        from core import openapi  # noqa: F401
