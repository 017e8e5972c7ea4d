"""WSGI entry point (granian serves it under `make run`)."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
application = get_wsgi_application()

if settings.EVENTLINE.get("WARM_CACHES", True):
    # Each server process builds the default lineage graph while it waits for its first request.
    from lineage.selectors import lineage_warm_in_background

    lineage_warm_in_background()
