"""Server time of a page or API call, measured in-process with Django's test client (no network,
no load generator): what a request costs the server."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def server_time_ms(get: Callable[[], Any], *, repeat: int = 15, warmup: int = 2) -> tuple[float, float]:
    """(median, max) milliseconds of `get()` over `repeat` calls after `warmup` calls."""
    for _ in range(warmup):
        get()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = get()
        times.append((time.perf_counter() - started) * 1000)
        status = getattr(response, "status_code", 200)
        if status != 200:
            raise RuntimeError(f"request failed with {status}")
    return statistics.median(times), max(times)


def logged_in_client() -> Any:
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client
