"""Per-topic access policy: which services may produce to a topic and which may consume from it,
on top of the key's own produce:/consume: scopes (which are checked first).

The policy travels with the topic's cached produce settings (broker.services.produce.ProduceTarget):
an `open` topic costs nothing beyond the read that already happens, and a `declared` topic asks the
catalog once per TOPIC_METADATA_CACHE_S per process. The broker sits below the catalog, so it asks
the provider named by settings.EVENTLINE["DECLARED_FLOWS_PROVIDER"] (a dotted path resolved at run
time) instead of importing it, as the registry does with IMPACT_PROVIDER.

Admin keys and people signed in to the web UI (sessions, with roles) are not restricted: the
policy is about which services talk on a topic, and an operator or a person is not one."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from broker.constants import ACCESS_DECLARED, ACCESS_EXPLICIT, ACCESS_OPEN
from core.auth import Principal
from core.errors import Forbidden, NotFound, Unavailable

logger = logging.getLogger(__name__)

PRODUCE = "produce"
CONSUME = "consume"

# How a refusal names the rule, per policy: "... accepts producers <rule>: checkout; ...".
_RULE_WORDS = {
    ACCESS_DECLARED: "declared in the catalog",
    ACCESS_EXPLICIT: "listed in its access.{role}s",
}
_ROLE = {PRODUCE: "producer", CONSUME: "consumer"}


@dataclass(frozen=True, slots=True)
class TopicAccess:
    """A topic's policy and, unless it is open, the service names allowed per action."""

    policy: str = ACCESS_OPEN
    producers: frozenset[str] = frozenset()
    consumers: frozenset[str] = frozenset()

    def allowed(self, action: str) -> frozenset[str]:
        return self.producers if action == PRODUCE else self.consumers

    def allows(self, principal: Principal, action: str) -> bool:
        if self.policy == ACCESS_OPEN or unrestricted(principal):
            return True
        return principal.service_name in self.allowed(action)

    def refusal(self, topic_name: str, principal: Principal, action: str) -> Forbidden:
        role = _ROLE[action]
        names = sorted(self.allowed(action))
        rule = _RULE_WORDS[self.policy].format(role=role)
        message = (
            f"topic {topic_name} accepts {role}s {rule}: {', '.join(names) or 'none'}; "
            f"service '{principal.service_name}' is not one"
        )
        return Forbidden(
            message,
            code="topic_policy",
            details={
                "topic": topic_name,
                "policy": self.policy,
                "action": action,
                "service": principal.service_name,
                f"{role}s": names,
            },
        )


OPEN = TopicAccess()


def unrestricted(principal: Principal) -> bool:
    """Admin keys and web sessions (no API key) pass every topic policy."""
    return principal.is_admin or principal.key_id is None


def topic_access_load(*, topic_name: str, policy: str, producers: list[str], consumers: list[str]) -> TopicAccess:
    """The policy as stored on the topic, with a `declared` topic's services read from the catalog
    (through the provider). Raises Unavailable when the provider is missing or fails: a topic
    that admits only declared services is closed rather than opened when the catalog cannot say."""
    if policy == ACCESS_EXPLICIT:
        return TopicAccess(ACCESS_EXPLICIT, frozenset(producers), frozenset(consumers))
    if policy != ACCESS_DECLARED:
        return OPEN
    path = settings.EVENTLINE.get("DECLARED_FLOWS_PROVIDER") or ""
    try:
        provider = import_string(path)
        with transaction.atomic():  # a savepoint: a failed query in the provider must not poison ours
            declared = provider(topic_name)
    except Exception as exc:  # noqa: BLE001 - whatever goes wrong, the topic stays closed
        logger.warning("declared flows provider %r failed for topic %r", path, topic_name, exc_info=True)
        raise Unavailable(
            f"topic {topic_name} accepts only services declared in the catalog, and the catalog could not "
            "be read (EVENTLINE_DECLARED_FLOWS_PROVIDER).",
            code="topic_policy_unavailable",
        ) from exc
    return TopicAccess(ACCESS_DECLARED, frozenset(declared.get(PRODUCE, ())), frozenset(declared.get(CONSUME, ())))


def topic_access_allows(principal: Principal, topic_name: str, action: str) -> bool:
    """Whether the topic's policy lets `principal` do `action` (produce or consume). A topic that
    does not exist is not this check's business: the caller's own lookup reports it."""
    if unrestricted(principal):
        return True
    from broker.services.produce import topic_for_produce  # produce imports this module

    try:
        return topic_for_produce(topic_name).access.allows(principal, action)
    except NotFound:
        return True


def topic_access_require(principal: Principal, topic_name: str, action: str) -> None:
    """Raise 403 `topic_policy`, naming the rule, unless the topic's policy admits `principal`."""
    if unrestricted(principal):
        return
    from broker.services.produce import topic_for_produce  # produce imports this module

    try:
        access = topic_for_produce(topic_name).access
    except NotFound:
        return
    if not access.allows(principal, action):
        raise access.refusal(topic_name, principal, action)


def require_consume(principal: Principal, topic_name: str) -> None:
    """The key's consume:<topic> scope, then the topic's policy."""
    principal.require(CONSUME, topic_name)
    topic_access_require(principal, topic_name, CONSUME)
