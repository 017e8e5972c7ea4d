"""From a channel address to a topic: the rule the dry run shows and the user may override.

1. A channel that says `x-eventline-topic` (Eventline's own export does) keeps that topic.
2. Otherwise the address (AsyncAPI 3.0 `address`; 2.x: the channel's key) is split at `/`; every
   segment holding a parameter (`{streetlightId}`) is left out, the others are joined with dots,
   and a character a topic name cannot hold ([a-zA-Z0-9._-]) becomes `_`:
   `smartylighting/streetlights/1/0/event/{streetlightId}/lighting/measured` becomes
   `smartylighting.streetlights.1.0.event.lighting.measured`, `user/signedup` `user.signedup`,
   `payments.v1` stays `payments.v1`.
3. An address that leaves nothing (`/`, `{tenant}`, or none at all) takes the channel's key in
   3.0, else the service's name.
4. The first parameter becomes the event's key (so one streetlight's events stay in order on one
   partition), every further one a header of the same name.
The address and its parameters are kept as published on the service (and given back by export).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from broker.constants import TOPIC_NAME_MAX_LENGTH

_PARAMETER = re.compile(r"\{([^{}]+)\}")
_NOT_TOPIC = re.compile(r"[^a-zA-Z0-9._-]")


@dataclass(frozen=True)
class TopicMapping:
    """Where a channel's events go: the topic and what each address parameter becomes
    (`key` or `header:<name>`)."""

    topic: str
    parameters: dict[str, str] = field(default_factory=dict)
    rule: str = "address"


def address_parameters(address: str) -> list[str]:
    return list(dict.fromkeys(_PARAMETER.findall(address)))


def topic_for_address(
    address: str | None, *, channel_key: str, fallback: str, explicit: str | None = None
) -> TopicMapping:
    """The topic rule above, for one channel."""
    parameters = {
        name: "key" if index == 0 else f"header:{name}" for index, name in enumerate(address_parameters(address or ""))
    }
    topic = _dotted(address or "")
    rule = "address"
    if not topic and channel_key != address:
        topic, rule = _dotted(channel_key), "channel key"
    if not topic:
        topic, rule = _dotted(fallback) or "imported", "service name"
    derived = TopicMapping(topic[:TOPIC_NAME_MAX_LENGTH].rstrip("."), parameters, rule)
    if explicit and explicit != derived.topic:
        return TopicMapping(explicit, parameters, "x-eventline-topic")
    return derived


def _dotted(address: str) -> str:
    segments = [_NOT_TOPIC.sub("_", part) for part in address.split("/") if part and not _PARAMETER.search(part)]
    name = re.sub(r"\.{2,}", ".", ".".join(segments)).strip(".")
    return "" if name in ("", "_") else name
