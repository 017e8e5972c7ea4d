"""Helpers for server-rendered pages: roles, markdown, pagination."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

import markdown as markdown_lib
import nh3
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse

from core.auth import ROLE_EDITOR, principal_for_user

_ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "strong",
    "em",
    "b",
    "i",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "del",
}


def render_markdown(text: str) -> str:
    """Markdown to HTML, sanitised: no scripts, no event handlers, only safe links."""
    html = markdown_lib.markdown(text or "", extensions=["tables", "fenced_code", "sane_lists"])
    return nh3.clean(html, tags=_ALLOWED_TAGS, url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")


def has_role(request: HttpRequest, role: str) -> bool:
    user = request.user
    if not getattr(user, "is_authenticated", False):
        return False
    cached = getattr(request, "_eventline_roles", None)
    if cached is None:
        cached = principal_for_user(user).roles
        request._eventline_roles = cached  # type: ignore[attr-defined]
    return role in cached


def role_required(role: str = ROLE_EDITOR) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Pages that change things: logged in and holding `role` (403 otherwise)."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not has_role(request, role):
                raise PermissionDenied(f"This needs the {role} role.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def paginate(request: HttpRequest, items: Any, per_page: int = 25) -> Page:
    return Paginator(items, per_page).get_page(request.GET.get("page"))


def query_without(request: HttpRequest, *names: str) -> str:
    """The current query string minus `names` (for pagination and sort links)."""
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()
