"""Forms of the catalog pages. They only shape input; the services check it (one set of rules for
the pages and the API), and their errors come back onto the form's fields."""

from __future__ import annotations

from typing import Any

from django import forms

from broker.models import Topic
from catalog.choices import FlowEnding, Lifecycle
from catalog.models import Domain, EventType, Team
from core.errors import EventlineError


def _choices(model: type) -> list[tuple[str, str]]:
    return [(name, name) for name in model.objects.order_by("name").values_list("name", flat=True)]


class EventTypeForm(forms.Form):
    name = forms.CharField(max_length=200)
    summary = forms.CharField(max_length=300, help_text="One line: what happened.")
    domain = forms.ChoiceField()
    owner_team = forms.ChoiceField(label="Owner team")
    lifecycle = forms.ChoiceField(choices=Lifecycle.choices)
    business_meaning = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), required=False, help_text="Markdown.")
    deprecation_note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    sunset_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    tags = forms.CharField(required=False, help_text="Comma-separated.")
    topics = forms.MultipleChoiceField(required=False, widget=forms.SelectMultiple(attrs={"size": 5}))
    subject = forms.CharField(required=False, help_text="Registry subject holding its schema, e.g. orders-value.")
    personal_data_fields = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="One JSON pointer per line, e.g. /customer/email.",
    )
    business_key_fields = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Business keys",
        help_text="One JSON pointer per line, e.g. /order_id: trace search, topic browser and search find events by them.",
    )
    correlation_id_location = forms.CharField(
        required=False,
        max_length=300,
        label="Correlation id location",
        help_text="Empty for the CloudEvents correlationid attribute; else $message.header#/<name> or "
        "$message.payload#/<JSON pointer>, as AsyncAPI's correlationId.location.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["domain"].choices = _choices(Domain)
        self.fields["owner_team"].choices = _choices(Team)
        self.fields["topics"].choices = _choices(Topic)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, (forms.Select, forms.SelectMultiple)) else "form-control"
            field.widget.attrs.setdefault("class", css)

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["tags"] = [tag.strip() for tag in data.get("tags", "").split(",") if tag.strip()]
        data["personal_data_fields"] = [
            line.strip() for line in data.get("personal_data_fields", "").splitlines() if line.strip()
        ]
        data["business_key_fields"] = [
            line.strip() for line in data.get("business_key_fields", "").splitlines() if line.strip()
        ]
        data["sunset_date"] = data["sunset_date"].isoformat() if data.get("sunset_date") else None
        return data

    @classmethod
    def initial_for(cls, event_type: Any) -> dict[str, Any]:
        return {
            "name": event_type.name,
            "summary": event_type.summary,
            "domain": event_type.domain.name,
            "owner_team": event_type.owner_team.name,
            "lifecycle": event_type.lifecycle,
            "business_meaning": event_type.business_meaning,
            "deprecation_note": event_type.deprecation_note,
            "sunset_date": event_type.sunset_date,
            "tags": ", ".join(tag.name for tag in event_type.tags.all()),
            "topics": [topic.name for topic in event_type.topics.all()],
            "subject": event_type.subject,
            "personal_data_fields": "\n".join(event_type.personal_data_fields),
            "business_key_fields": "\n".join(event_type.business_key_fields),
            "correlation_id_location": event_type.correlation_id_location,
        }


class BusinessFlowForm(forms.Form):
    """A business flow: one multiple choice of terminal event types per ending, which the service
    receives as {"EventType": "completed", ...}."""

    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    start_event_type = forms.ChoiceField(label="Start event type", help_text="The first event of every such trace.")
    stuck_after_seconds = forms.IntegerField(
        label="Stuck after (seconds)",
        initial=60,
        help_text="A trace with no terminal event and nothing new for this long is stuck.",
    )
    completed = forms.MultipleChoiceField(
        required=False, label="Ends it completed", widget=forms.SelectMultiple(attrs={"size": 6})
    )
    compensated = forms.MultipleChoiceField(
        required=False, label="Ends it compensated", widget=forms.SelectMultiple(attrs={"size": 6})
    )
    failed = forms.MultipleChoiceField(
        required=False, label="Ends it failed", widget=forms.SelectMultiple(attrs={"size": 6})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        event_types = _choices(EventType)
        self.fields["start_event_type"].choices = [("", "—"), *event_types]
        for ending in FlowEnding.values:
            self.fields[ending].choices = event_types
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, (forms.Select, forms.SelectMultiple)) else "form-control"
            field.widget.attrs.setdefault("class", css)

    def service_data(self) -> dict[str, Any]:
        data = {name: self.cleaned_data[name] for name in ("name", "description", "start_event_type")}
        data["stuck_after_seconds"] = self.cleaned_data["stuck_after_seconds"]
        data["terminals"] = {
            event_type: ending for ending in FlowEnding.values for event_type in self.cleaned_data.get(ending, [])
        }
        return data

    @classmethod
    def initial_for(cls, flow: Any) -> dict[str, Any]:
        initial = {
            "name": flow.name,
            "description": flow.description,
            "start_event_type": flow.start_event_type.name,
            "stuck_after_seconds": flow.stuck_after_seconds,
        }
        for ending in FlowEnding.values:
            initial[ending] = [t.event_type.name for t in flow.terminals.all() if t.ending == ending]
        return initial


class ServiceForm(forms.Form):
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    summary = forms.CharField(max_length=300, required=False)
    owner_team = forms.ChoiceField(required=False, label="Owner team")
    domain = forms.ChoiceField(required=False)
    repository_url = forms.CharField(required=False, label="Repository")
    consumer_groups = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Consumer groups",
        help_text="Kafka consumer groups this service runs, one per line; * and ? match any text.",
    )
    client_ids = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Client ids",
        help_text="Kafka client ids of its consumers, one pattern per line (e.g. shipping-*).",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner_team"].choices = [("", "—"), *_choices(Team)]
        self.fields["domain"].choices = [("", "—"), *_choices(Domain)]
        for field in self.fields.values():
            field.widget.attrs.setdefault(
                "class", "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            )


class NamedForm(forms.Form):
    """Domains and teams: a name and a description."""

    name = forms.CharField(max_length=100, widget=forms.TextInput(attrs={"class": "form-control"}))
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}))


def apply_service_errors(form: forms.Form, error: EventlineError, form_field_of: dict[str, str] | None = None) -> None:
    """Put a service's field errors on the form (or on the form as a whole); `form_field_of` maps
    a service field to the form field that shows it."""
    entries = error.details.get("errors") or [{"field": "", "reason": error.message}]
    for entry in entries:
        field = entry.get("field", "")
        field = form_field_of.get(field, field) if form_field_of else field
        field = field.split("/", 1)[0]  # "consumer_groups/2": the form's field holds the whole list
        form.add_error(field if field in form.fields else None, entry.get("reason", error.message))
