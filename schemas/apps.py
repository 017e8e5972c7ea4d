from django.apps import AppConfig
from django.conf import settings


class SchemasConfig(AppConfig):
    name = "schemas"
    verbose_name = "Schemas"

    def ready(self) -> None:
        from schemas.cache import registry_cache
        from schemas.compatibility.checker import configure_side_cache

        budget = settings.EVENTLINE["SCHEMA_CACHE_BYTES"]
        registry_cache.configure(max_bytes=budget)
        configure_side_cache(budget)
