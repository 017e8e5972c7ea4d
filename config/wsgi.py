"""WSGI entry point (granian serves it under `make run`)."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from core.handlers import with_api_key_chain
from core.process import settle_garbage_collector

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
# Requests with an API key skip the browser's middleware (core.handlers).
application = with_api_key_chain(get_wsgi_application())
settle_garbage_collector()

if settings.EVENTLINE.get("WARM_CACHES", True):
    # Each server process builds the default lineage graph while it waits for its first request.
    from lineage.selectors import lineage_warm_in_background

    lineage_warm_in_background()
