"""Catalog pages: list and search, event types, services, domains, teams, the governance inbox,
history. Views parse input, call selectors or services, and render."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from broker.business_keys import business_key_find
from broker.masking import mask_data
from broker.models import Topic
from broker.selectors import contract_violations_recent
from catalog import schema_view, selectors, services
from catalog.attention import attention_items
from catalog.choices import FlowRole, Lifecycle
from catalog.filtersets import EventTypeFilterSet
from catalog.forms import BusinessFlowForm, EventTypeForm, NamedForm, ServiceForm, apply_service_errors
from catalog.models import Domain, Tag, Team
from core.auth import principal_for_user
from core.errors import EventlineError
from core.jsonutil import dumps
from core.ui import has_role, paginate, role_required


def _principal(request: HttpRequest) -> Any:
    return principal_for_user(request.user)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """What exists, what changed, what needs attention."""
    summary = selectors.estate_summary()
    rates = selectors.topic_rates(list(Topic.objects.values_list("id", flat=True)))
    names = dict(Topic.objects.values_list("id", "name"))
    busiest = sorted(
        ({"name": names[tid], "rate": rate} for tid, rate in rates.items() if tid in names), key=lambda t: -t["rate"]
    )
    inbox_items = selectors.governance_inbox(principal=principal_for_user(request.user))
    attention = attention_items(principal=principal_for_user(request.user))
    context = {
        "attention": attention,
        "stats": [
            ("Event types", summary["event_types"], reverse("catalog:event-type-list")),
            ("Services", summary["services"], reverse("catalog:service-list")),
            ("Domains", summary["domains"], reverse("catalog:domain-list")),
            ("Topics", summary["topics"], reverse("topics:topic-list")),
            ("Consumer groups", summary["groups"], reverse("topics:topic-list")),
            ("Events retained", summary["retained_events"], reverse("topics:topic-list")),
        ],
        "events_per_second": sum(rates.values()),
        "busiest": busiest[:6],
        "recent_schemas": schema_view.recent_schema_changes(limit=6),
        "inbox": inbox_items[:6],
        "inbox_count": len(inbox_items),
    }
    return render(request, "home.html", context)


@login_required
def event_type_list(request: HttpRequest) -> HttpResponse:
    filters = EventTypeFilterSet(request.GET, queryset=selectors.event_type_list())
    rows = filters.qs if filters.is_valid() else selectors.event_type_list().none()
    context = {
        "filters": filters,
        "page": paginate(request, rows, per_page=25),
        "domains": Domain.objects.order_by("name").values_list("name", flat=True),
        "teams": Team.objects.order_by("name").values_list("name", flat=True),
        "tags": Tag.objects.order_by("name").values_list("name", flat=True),
        "lifecycles": Lifecycle.choices,
        "can_edit": has_role(request, "editor"),
        "business_key_hits": _business_key_hits(request),
    }
    if request.headers.get("HX-Request"):
        return render(request, "htmx/catalog_results.html", context)
    return render(request, "catalog/event_type_list.html", context)


def _business_key_hits(request: HttpRequest, limit: int = 10) -> list[dict[str, Any]]:
    """The search box's text as a business key (order_id=42, or 42): the events carrying it on
    topics the person may read, one per transaction, newest first."""
    query = request.GET.get("q", "").strip()
    if not query:
        return []
    principal = _principal(request)
    hits: dict[str, dict[str, Any]] = {}
    for match in business_key_find(query):
        if not principal.allows("consume", match.topic.name):
            continue
        transaction_key = match.correlation_id or f"{match.topic_id}/{match.partition}/{match.offset}"
        hits.setdefault(
            transaction_key,
            {
                "event_type": match.event_type,
                "name": match.name,
                "value": match.value,
                "topic": match.topic.name,
                "partition": match.partition,
                "offset": match.offset,
                "correlation_id": match.correlation_id,
            },
        )
    return list(hits.values())[:limit]


@login_required
def event_type_detail(request: HttpRequest, name: str) -> HttpResponse:
    event_type = selectors.event_type_get(name=name)
    topics = list(event_type.topics.all())
    topic_ids = [topic.id for topic in topics]
    rates = selectors.topic_rates(topic_ids)
    last_append = selectors.topic_last_append(topic_ids)
    declared = {
        role: [flow for flow in event_type.declared_flows.all() if flow.role == role] for role in FlowRole.values
    }
    observed = selectors.observed_flows_for_topics(topic_ids, event_type=event_type.name)
    example_event = selectors.latest_event_of_type(event_type)
    example = example_event.get("data") if example_event is not None else event_type.example
    example_masked = (
        bool(event_type.personal_data_fields) and not principal_for_user(request.user).may_see_personal_data
    )
    if example is not None and example_masked:
        example = mask_data(example, event_type.personal_data_fields)
    schema = schema_view.subject_schema(event_type.subject, personal_data=event_type.personal_data_fields)
    context = {
        "event_type": event_type,
        "topics": [
            {"topic": topic, "rate": rates.get(topic.id, 0.0), "last_append_ms": last_append.get(topic.id)}
            for topic in topics
        ],
        "producers": declared[FlowRole.PRODUCER],
        "consumers": declared[FlowRole.CONSUMER],
        "observed_producers": [flow for flow in observed if flow.role == FlowRole.PRODUCER],
        "observed_consumers": [flow for flow in observed if flow.role == FlowRole.CONSUMER],
        "example": example,
        "example_is_real": example_event is not None,
        "example_masked": example_masked,
        "schema": schema,
        "business_flows": selectors.business_flows_of_event_type(event_type),
        "contract_violations": contract_violations_recent(
            principal=principal_for_user(request.user), event_type=event_type.name
        ),
        "changes": services.recent_changes(object_type="event_type", object_id=event_type.pk, limit=20),
        "can_edit": has_role(request, "editor"),
    }
    return render(request, "catalog/event_type_detail.html", context)


def _event_type_form_page(request: HttpRequest, event_type: Any | None) -> HttpResponse:
    initial = (
        EventTypeForm.initial_for(event_type)
        if event_type
        else {
            "lifecycle": Lifecycle.DRAFT,
            "name": request.GET.get("name", ""),
            "topics": [request.GET["topic"]] if request.GET.get("topic") else [],
            "subject": request.GET.get("subject", ""),
        }
    )
    form = EventTypeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if event_type is None:
                event_type = services.event_type_create(principal=_principal(request), data=form.service_data())
                messages.success(request, f"{event_type.name} is in the catalog.")
            else:
                event_type = services.event_type_update(
                    principal=_principal(request), event_type=event_type, data=form.service_data()
                )
                messages.success(request, "Saved.")
            return redirect("catalog:event-type-detail", name=event_type.name)
        except EventlineError as error:
            apply_service_errors(form, error)
    return render(request, "catalog/event_type_form.html", {"form": form, "event_type": event_type})


@role_required("editor")
def event_type_create(request: HttpRequest) -> HttpResponse:
    return _event_type_form_page(request, None)


@role_required("editor")
def event_type_edit(request: HttpRequest, name: str) -> HttpResponse:
    return _event_type_form_page(request, selectors.event_type_get(name=name))


@login_required
def service_list(request: HttpRequest) -> HttpResponse:
    return render(request, "catalog/service_list.html", {"page": paginate(request, selectors.service_list(), 50)})


@login_required
def service_detail(request: HttpRequest, name: str) -> HttpResponse:
    service = selectors.service_get(name=name)
    flows = list(service.declared_flows.all())
    context = {
        "service": service,
        "profile": getattr(service, "profile", None) if hasattr(service, "profile") else None,
        "produces": [flow for flow in flows if flow.role == FlowRole.PRODUCER],
        "consumes": [flow for flow in flows if flow.role == FlowRole.CONSUMER],
        "observed": selectors.observed_flows_for_service(service.id),
        "changes": services.recent_changes(object_type="service", object_id=service.pk, limit=20),
        "can_edit": has_role(request, "editor"),
    }
    return render(request, "catalog/service_detail.html", context)


@login_required
def service_asyncapi(request: HttpRequest, name: str) -> HttpResponse:
    """The service's AsyncAPI 3.0 document, as a download."""
    from catalog.asyncapi.export import public_url, service_asyncapi_document

    document = service_asyncapi_document(service=selectors.service_get(name=name), public_url=public_url(request))
    response = HttpResponse(dumps(document, indent=True), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{name}.asyncapi.json"'
    return response


@role_required("editor")
def service_edit(request: HttpRequest, name: str) -> HttpResponse:
    service = selectors.service_get(name=name)
    profile = getattr(service, "profile", None) if hasattr(service, "profile") else None
    initial = {"description": service.description}
    if profile:
        initial.update(
            summary=profile.summary,
            repository_url=profile.repository_url,
            owner_team=profile.owner_team.name if profile.owner_team else "",
            domain=profile.domain.name if profile.domain else "",
            consumer_groups="\n".join(profile.consumer_groups),
            client_ids="\n".join(profile.client_ids),
        )
    form = ServiceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.service_document(
                principal=_principal(request), name=name, create=profile is None, **form.cleaned_data
            )
            messages.success(request, "Saved.")
            return redirect("catalog:service-detail", name=name)
        except EventlineError as error:
            apply_service_errors(form, error)
    return render(request, "catalog/service_form.html", {"form": form, "service": service})


@login_required
def domain_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "catalog/domain_list.html",
        {"domains": selectors.domain_list(), "can_edit": has_role(request, "editor")},
    )


@login_required
def domain_detail(request: HttpRequest, name: str) -> HttpResponse:
    domain = get_object_or_404(Domain, name=name)
    event_types = selectors.event_type_list().filter(domain=domain)
    return render(
        request,
        "catalog/domain_detail.html",
        {
            "domain": domain,
            "event_types": event_types,
            "services": selectors.service_list().filter(profile__domain=domain),
        },
    )


@login_required
def team_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "catalog/team_list.html", {"teams": selectors.team_list(), "can_edit": has_role(request, "editor")}
    )


@login_required
def team_detail(request: HttpRequest, name: str) -> HttpResponse:
    team = get_object_or_404(Team.objects.prefetch_related("members"), name=name)
    event_types = selectors.event_type_list().filter(owner_team=team)
    return render(
        request,
        "catalog/team_detail.html",
        {
            "team": team,
            "event_types": event_types,
            "services": selectors.service_list().filter(profile__owner_team=team),
        },
    )


def _named_create(request: HttpRequest, kind: str) -> HttpResponse:
    form = NamedForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        create = services.domain_create if kind == "domain" else services.team_create
        try:
            created = create(principal=_principal(request), **form.cleaned_data)
            messages.success(request, f"{created.name} created.")
            return redirect(f"catalog:{kind}-detail", name=created.name)
        except EventlineError as error:
            apply_service_errors(form, error)
    return render(request, "catalog/named_form.html", {"form": form, "kind": kind})


@role_required("editor")
def domain_create(request: HttpRequest) -> HttpResponse:
    return _named_create(request, "domain")


@role_required("editor")
def team_create(request: HttpRequest) -> HttpResponse:
    return _named_create(request, "team")


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "catalog/inbox.html",
        {"items": selectors.governance_inbox(principal=_principal(request)), "can_edit": has_role(request, "editor")},
    )


@role_required("editor")
@require_POST
def inbox_dismiss(request: HttpRequest) -> HttpResponse:
    try:
        services.inbox_dismiss(
            principal=_principal(request),
            kind=request.POST.get("kind", ""),
            name=request.POST.get("name", ""),
            reason=request.POST.get("reason", ""),
        )
    except EventlineError as error:
        messages.error(request, error.message)
    if request.headers.get("HX-Request"):
        return HttpResponse("")
    return redirect(reverse("catalog:inbox"))


@role_required("editor")
def asyncapi_import_page(request: HttpRequest) -> HttpResponse:
    """Paste an AsyncAPI 3.0 or 2.x document, or upload one, several files or a zip with relative
    references between them; see what it would change, point channels at existing topics, then
    apply. Uploaded files travel with the preview (a hidden field), so Apply needs no re-upload."""
    from catalog.asyncapi.importer import asyncapi_import

    document = request.POST.get("document", "")
    plan, files, problem = None, None, ""
    try:
        files = _uploaded_bundle(request)
    except (ValueError, EventlineError) as error:
        problem = getattr(error, "message", None) or str(error)
    topics = {
        key.removeprefix("topic:"): value
        for key, value in request.POST.items()
        if key.startswith("topic:") and value.strip()
    }
    if problem:
        messages.error(request, problem)
    elif request.method == "POST" and (files or document.strip()):
        apply = request.POST.get("action") == "apply"
        try:
            plan = asyncapi_import(
                principal=_principal(request),
                raw=None if files else document,
                files=files,
                topics=topics or None,
                dry_run=not apply,
            )
        except EventlineError as error:
            messages.error(request, error.message)
        else:
            if plan.applied:
                messages.success(request, f"Imported {plan.service['name']}.")
                return redirect("catalog:service-detail", name=plan.service["name"])
    context = {
        "document": "" if files else document,
        "plan": plan,
        "bundle": json.dumps(files) if files else "",
        "bundle_names": sorted(files) if files else [],
        "chosen_topics": topics,
        "existing_topics": list(Topic.objects.order_by("name").values_list("name", flat=True)),
    }
    return render(request, "catalog/asyncapi_import.html", context)


def _uploaded_bundle(request: HttpRequest) -> dict[str, str] | None:
    """The files of an upload (several files, or one zip unpacked), or of the preview before
    (the hidden `bundle` field), as {path: text}; None when the document is pasted."""
    from catalog.asyncapi.bundle import upload_files

    uploads = request.FILES.getlist("files") if request.method == "POST" else []
    if uploads:
        raw = upload_files({upload.name: upload.read() for upload in uploads})
        try:
            return {name: body.decode("utf-8") for name, body in raw.items()}
        except UnicodeDecodeError:
            raise ValueError("Every file of a bundle must be UTF-8 text (JSON or YAML).") from None
    carried = request.POST.get("bundle", "")
    if not carried:
        return None
    try:
        files = json.loads(carried)
    except ValueError:
        raise ValueError("The previewed files could not be read back: upload them again.") from None
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise ValueError("The previewed files could not be read back: upload them again.")
    return files


@login_required
def history(request: HttpRequest) -> HttpResponse:
    changes = services.recent_changes(limit=10_000)
    return render(request, "catalog/history.html", {"page": paginate(request, changes, 50)})


# -- business flows ----------------------------------------------------------------------------

# The service names the terminals as one field; the form shows them by ending.
_FLOW_FORM_FIELDS = {"terminals": "completed"}


@login_required
def business_flow_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "catalog/business_flow_list.html",
        {"flows": selectors.business_flow_list(), "can_edit": has_role(request, "editor")},
    )


def _business_flow_form_page(request: HttpRequest, flow: Any | None) -> HttpResponse:
    initial = BusinessFlowForm.initial_for(flow) if flow else {"start_event_type": request.GET.get("start", "")}
    form = BusinessFlowForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if flow is None:
                flow = services.business_flow_create(principal=_principal(request), data=form.service_data())
                messages.success(
                    request, f"{flow.name} now judges the traces that start with a {flow.start_event_type}."
                )
            else:
                flow = services.business_flow_update(principal=_principal(request), flow=flow, data=form.service_data())
                messages.success(request, "Saved.")
            return redirect(f"{reverse('catalog:business-flow-list')}#flow-{slugify(flow.name)}")
        except EventlineError as error:
            apply_service_errors(form, error, _FLOW_FORM_FIELDS)
    return render(request, "catalog/business_flow_form.html", {"form": form, "flow": flow})


@role_required("editor")
def business_flow_create(request: HttpRequest) -> HttpResponse:
    return _business_flow_form_page(request, None)


@role_required("editor")
def business_flow_edit(request: HttpRequest, name: str) -> HttpResponse:
    return _business_flow_form_page(request, selectors.business_flow_get(name=name))


@role_required("editor")
@require_POST
def business_flow_delete(request: HttpRequest, name: str) -> HttpResponse:
    flow = selectors.business_flow_get(name=name)
    services.business_flow_delete(principal=_principal(request), flow=flow)
    messages.success(request, f"{name} deleted: the traces it judged have no outcome defined now.")
    return redirect("catalog:business-flow-list")
