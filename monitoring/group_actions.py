"""What editors do to a consumer group from its page besides resetting offsets: remove its members
(confirmed, since they rejoin and rebalance) and delete an empty group. Each calls one broker
service with the person's principal (the service audits); viewers get 403."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from broker.models import GroupMember
from broker.selectors import group_get
from broker.services.groups import group_delete, group_members_remove
from core.auth import principal_for_user
from core.errors import EventlineError
from core.ui import role_required


@role_required("editor")
@require_POST
def group_members_clear(request: HttpRequest, name: str) -> HttpResponse:
    """First POST: say who will be removed and what follows. With confirm=1: remove them."""
    group = group_get(name=name)
    if request.POST.get("confirm") != "1":
        members = list(GroupMember.objects.filter(group=group).order_by("member_id"))
        return render(request, "htmx/group_members_confirm.html", {"group": group, "members": members})
    try:
        removed = group_members_remove(group_name=group.name, principal=principal_for_user(request.user))
    except EventlineError as exc:
        context = {"group": group, "members": [], "error": exc.message}
        return render(request, "htmx/group_members_confirm.html", context, status=409)
    return render(request, "htmx/group_members_confirm.html", {"group": group, "removed": removed})


@role_required("editor")
@require_POST
def group_remove(request: HttpRequest, name: str) -> HttpResponse:
    """Delete an empty group's offsets (Kafka's deleteConsumerGroups); refused while it has members."""
    group = group_get(name=name)
    try:
        group_delete(group_name=group.name, principal=principal_for_user(request.user))
    except EventlineError as exc:
        return render(request, "htmx/group_delete.html", {"group": group, "error": exc.message}, status=409)
    messages.success(request, f"Group {group.name} deleted: its committed offsets are gone.")
    return HttpResponse(status=204, headers={"HX-Redirect": reverse("monitoring:groups")})
