"""Production: refuses to start without a secret key; secure cookies and headers."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env_bool

if not SECRET_KEY:  # noqa: F405
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production.")

DEBUG = False
STATIC_ROOT = BASE_DIR / "staticfiles"  # noqa: F405 - `manage.py collectstatic` fills it
WHITENOISE_USE_FINDERS = False
SESSION_COOKIE_SECURE = env_bool("EVENTLINE_SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
