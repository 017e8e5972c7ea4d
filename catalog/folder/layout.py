"""The catalog as a folder a team keeps in Git, and back. Pure: paths and text in, entity states
out (and the reverse); nothing here reads the database.

    teams/<team>.md                       contact, members; body: description
    domains/<domain>/index.md             body: description
    services/<service>/index.md           owner_team, domain, summary, repository_url; body: description
    services/<service>/asyncapi.yaml      the service's AsyncAPI document: one Eventline built from the
                                          rest (marked x-eventline-generated) is not read back; one
                                          the team published and imported is (sync.py keeps it)
    event-types/<type>/index.md           domain, owner_team, summary, lifecycle, tags, topics, subject,
                                          producers, consumers, ...; body: business meaning
    event-types/<type>/schema.json|.avsc|.proto   the subject's latest schema, in its own format
                                          (its registry references, {name, subject, version}, are
                                          the index.md's schema_references)
    flows/<flow>.md                       start_event_type, terminals, stuck_after_seconds; body: description

Names are the folder or file names (a `name` in the front matter must agree), so a folder cannot
hold two entries of one kind with one name. Markdown files are YAML front matter between `---`
lines, a blank line, then the prose. A key left out means its empty value."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import yaml

from schemas.change_check import SUFFIX_BY_SCHEMA_TYPE, schema_type_of

TEAMS, DOMAINS, SERVICES, EVENT_TYPES, FLOWS = "teams", "domains", "services", "event-types", "flows"
KINDS = ("team", "domain", "service", "event_type", "business_flow")
MANAGED_FOLDERS = (TEAMS, DOMAINS, SERVICES, EVENT_TYPES, FLOWS)
INDEX = "index.md"
ASYNCAPI_FILE = "asyncapi.yaml"
SCHEMA_STEM = "schema"

# Per kind: the front-matter keys in the order files show them, and each key's empty value.
FIELDS: dict[str, dict[str, Any]] = {
    "team": {"contact": "", "members": []},
    "domain": {},
    "service": {"owner_team": None, "domain": None, "summary": "", "repository_url": ""},
    "event_type": {
        "domain": None,
        "owner_team": None,
        "summary": "",
        "lifecycle": "draft",
        "deprecation_note": "",
        "sunset_date": None,
        "tags": [],
        "topics": [],
        "subject": "",
        "schema_references": [],
        "producers": [],
        "consumers": [],
        "personal_data_fields": [],
        "business_key_fields": [],
        "correlation_id_location": "",
        "example": None,
    },
    "business_flow": {"start_event_type": None, "terminals": {}, "stuck_after_seconds": 60},
}
#: The Markdown body of each kind: which field it holds.
BODY = {
    "team": "description",
    "domain": "description",
    "service": "description",
    "event_type": "business_meaning",
    "business_flow": "description",
}


@dataclass(frozen=True)
class SchemaFile:
    path: str
    schema_type: str
    text: str


@dataclass
class CatalogFolder:
    """Entity states by kind and name (each a dict of FIELDS plus its body field), the schema
    file of each event type that has one, and what could not be read."""

    entities: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {kind: {} for kind in KINDS})
    schemas: dict[str, SchemaFile] = field(default_factory=dict)
    # Per service: the text of its asyncapi.yaml (a folder), or the AsyncAPI fragment it was
    # imported from (the server's side).
    asyncapi: dict[str, Any] = field(default_factory=dict)
    paths: dict[tuple[str, str], str] = field(default_factory=dict)
    problems: list[dict[str, str]] = field(default_factory=list)

    def problem(self, path: str, reason: str) -> None:
        self.problems.append({"file": path, "reason": reason})


def normalized(kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """A state with every key of its kind, lists sorted, so two states compare equal exactly when
    the catalog would not change."""
    state = {key: values.get(key, empty) for key, empty in FIELDS[kind].items()}
    state[BODY[kind]] = values.get(BODY[kind]) or ""
    for key, empty in FIELDS[kind].items():
        if state[key] is None and empty is not None:
            state[key] = empty
        if isinstance(empty, str) and state[key] is None:
            state[key] = ""
    if isinstance(state.get("tags"), list):
        # The catalog keeps tags lower-cased (catalog.services._tags).
        state["tags"] = [tag.strip().lower() if isinstance(tag, str) else tag for tag in state["tags"]]
    for key in ("members", "tags", "topics", "personal_data_fields", "business_key_fields"):
        if key in state and isinstance(state[key], list):
            state[key] = sorted(state[key])
    for key in ("producers", "consumers"):
        if key in state and isinstance(state[key], list):
            state[key] = sorted(
                (
                    {"service": row.get("service"), "note": row.get("note") or ""} if isinstance(row, dict) else row
                    for row in state[key]
                ),
                key=lambda row: str(row.get("service") if isinstance(row, dict) else row),
            )
    if isinstance(state.get("sunset_date"), datetime.date):
        state["sunset_date"] = state["sunset_date"].isoformat()
    return state


# -- writing -----------------------------------------------------------------------------------


def entity_path(kind: str, name: str) -> str:
    return {
        "team": f"{TEAMS}/{name}.md",
        "domain": f"{DOMAINS}/{name}/{INDEX}",
        "service": f"{SERVICES}/{name}/{INDEX}",
        "event_type": f"{EVENT_TYPES}/{name}/{INDEX}",
        "business_flow": f"{FLOWS}/{name}.md",
    }[kind]


def schema_path(event_type: str, schema_type: str) -> str:
    return f"{EVENT_TYPES}/{event_type}/{SCHEMA_STEM}{SUFFIX_BY_SCHEMA_TYPE[schema_type]}"


def asyncapi_path(service: str) -> str:
    return f"{SERVICES}/{service}/{ASYNCAPI_FILE}"


def markdown(kind: str, name: str, state: Mapping[str, Any]) -> str:
    """One entity's file: front matter with its non-empty keys (name first), then the prose."""
    front: dict[str, Any] = {"name": name}
    for key, empty in FIELDS[kind].items():
        value = state.get(key, empty)
        if value != empty and value not in (None, "", [], {}):
            front[key] = value
        elif kind == "event_type" and key == "lifecycle":
            front[key] = value
    text = "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=100) + "---\n"
    body = state.get(BODY[kind]) or ""
    return text + (f"\n{body}\n" if body else "")


def yaml_text(document: Any) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


# -- reading -----------------------------------------------------------------------------------


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(front matter, body) of a Markdown file; ValueError saying what is wrong."""
    if not text.startswith("---\n"):
        return {}, _body(text)
    end = text.find("\n---\n", 3)
    if end < 0:
        if text.endswith("\n---"):
            end = len(text) - 4
        else:
            raise ValueError("the front matter has no closing '---' line")
    try:
        front = yaml.safe_load(text[4 : end + 1]) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"the front matter is not YAML: {exc}") from exc
    if not isinstance(front, dict):
        raise ValueError("the front matter must be a mapping of keys to values")
    return front, _body(text[end + 5 :])


def _body(rest: str) -> str:
    # What `markdown` adds around the prose (one blank line before, one newline after) is not prose.
    if rest.startswith("\n"):
        rest = rest[1:]
    if rest.endswith("\n"):
        rest = rest[:-1]
    return rest


def _locate(path: str) -> tuple[str, str, str] | None:
    """(kind or 'schema' or 'asyncapi', name, file) for a managed path; None for any other file."""
    parts = PurePosixPath(path).parts
    if len(parts) == 2 and parts[0] in (TEAMS, FLOWS) and parts[1].endswith(".md"):
        return ("team" if parts[0] == TEAMS else "business_flow"), parts[1][:-3], path
    if len(parts) == 3 and parts[0] in (DOMAINS, SERVICES, EVENT_TYPES):
        kind = {DOMAINS: "domain", SERVICES: "service", EVENT_TYPES: "event_type"}[parts[0]]
        if parts[2] == INDEX:
            return kind, parts[1], path
        if kind == "service" and parts[2] == ASYNCAPI_FILE:
            return "asyncapi", parts[1], path
        if kind == "event_type" and PurePosixPath(parts[2]).stem == SCHEMA_STEM and schema_type_of(parts[2]):
            return "schema", parts[1], path
    return None


def read_folder(files: Mapping[str, str]) -> CatalogFolder:
    """The catalog a folder describes (paths relative, '/'-separated). Files outside the layout
    are ignored, so the folder may hold a README or CI config."""
    folder = CatalogFolder()
    for path in sorted(files):
        located = _locate(path)
        if located is None:
            continue
        kind, name, _ = located
        text = files[path]
        if kind == "asyncapi":
            folder.asyncapi[name] = text
            continue
        if kind == "schema":
            if name in folder.schemas:
                folder.problem(path, f"{name} already has a schema file ({folder.schemas[name].path})")
                continue
            folder.schemas[name] = SchemaFile(path=path, schema_type=schema_type_of(path) or "", text=text)
            continue
        try:
            front, body = split_front_matter(text)
        except ValueError as exc:
            folder.problem(path, str(exc))
            continue
        declared = front.pop("name", name)
        if str(declared) != name:
            folder.problem(path, f"its name is {declared!r} but its file says {name!r}: rename both together")
            continue
        unknown = sorted(set(front) - set(FIELDS[kind]))
        if unknown:
            folder.problem(path, f"unknown key(s): {', '.join(unknown)}")
            continue
        folder.entities[kind][name] = normalized(kind, {**front, BODY[kind]: body})
        folder.paths[(kind, name)] = path
    for name, schema in folder.schemas.items():
        if name not in folder.entities["event_type"]:
            folder.problem(schema.path, f"no event-types/{name}/{INDEX} beside it")
    return folder
