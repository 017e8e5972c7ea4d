"""Project-level pages: home and health."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.db.models import F, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


@login_required
def home(request: HttpRequest) -> HttpResponse:
    from broker.models import ConsumerGroup, Topic
    from core.models import Service

    topics = list(
        Topic.objects.annotate(
            events=Sum(F("partitions__end_offset") - F("partitions__log_start_offset")),
            size_bytes=Sum("partitions__size_bytes"),
        ).order_by("name")[:50]
    )
    context = {
        "topics": topics,
        "topic_count": Topic.objects.count(),
        "event_count": sum(topic.events or 0 for topic in topics),
        "group_count": ConsumerGroup.objects.count(),
        "service_count": Service.objects.count(),
    }
    return render(request, "home.html", context)


def health(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
