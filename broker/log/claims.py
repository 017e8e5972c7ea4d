"""Repeats across processes on the Kafka backend (issue 17): a repeated (source, id) within the
repeat window returns the original coordinates, as on the SQL backend, from whichever process the
retry reaches, and also when two retries race.

Kafka has no such check (its idempotent producer drops a producer's own resends, not a client's
second request), so the database keeps one row per (topic, source, id) appended with a client's
id (broker.models.ProducedId):
1. Before producing, a request claims its identities: an insert that a unique constraint lets
   through for one request only. Identities already there are repeats: answered with the row's
   coordinates, or, while another request is still appending them (no coordinates yet), after
   waiting for it.
2. After the Kafka transaction commits, the request writes the coordinates into its rows; if it
   aborts, it deletes them, so a retry appends.
3. A claim left without coordinates for STALE_MS (its request died between Kafka's commit and
   step 2, or before aborting) is taken over by the next retry, which appends again: the one case
   that can duplicate, and it needs a crash.
Rows older than the window (EVENTLINE_KAFKA_REPEAT_WINDOW_S, an hour by default) are deleted by
the retention pass. Events whose id the broker generated cannot be repeated and take no row.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import connection, transaction

from broker.models import ProducedId
from core.errors import Unavailable
from core.timeutil import now_ms

Identity = tuple[str, str]  # (source, id)

# A claim this old without coordinates belongs to a request that died (Kafka transactions time
# out well before: broker.log.kafka sets transaction.timeout.ms to 30 s at most).
STALE_MS = 60_000
_WAIT_S = 0.02


@dataclass
class Claims:
    """What a request learnt: the identities it now appends (with their rows' ids), and the
    repeats' coordinates."""

    token: str
    mine: dict[Identity, int] = field(default_factory=dict)
    originals: dict[Identity, tuple[int, int, int]] = field(default_factory=dict)


# Raw statements: the ORM's bulk paths cost about as much Python per row as the whole append.
def _table() -> str:
    return connection.ops.quote_name(ProducedId._meta.db_table)


_OFFSET = '"offset"'  # a reserved word in SQL


def claim(topic: str, identities: Sequence[Identity], *, timeout_s: float) -> Claims:
    """Claim `identities` on `topic`; waits (at most `timeout_s`) for those another request is
    appending right now. Raises Unavailable (nothing claimed) if that request does not finish."""
    claims = Claims(uuid.uuid4().hex)
    wanted = set(identities)
    deadline = time.monotonic() + timeout_s
    while wanted:
        at = now_ms()
        keys = sorted(wanted)
        with transaction.atomic(), connection.cursor() as cursor:
            for chunk in range(0, len(keys), 200):
                part = keys[chunk : chunk + 200]
                cursor.execute(
                    f"INSERT INTO {_table()} (topic, source, event_id, claim, claimed_ms) VALUES "
                    + ", ".join(["(%s, %s, %s, %s, %s)"] * len(part))
                    + " ON CONFLICT DO NOTHING",
                    [value for source, event_id in part for value in (topic, source, event_id, claims.token, at)],
                )
            ids = sorted({event_id for _, event_id in keys})
            cursor.execute(
                f"SELECT id, source, event_id, claim, claimed_ms, partition, {_OFFSET}, timestamp_ms FROM {_table()} "
                f"WHERE topic = %s AND event_id IN ({', '.join(['%s'] * len(ids))})",
                [topic, *ids],
            )
            rows = [row for row in cursor.fetchall() if (row[1], row[2]) in wanted]
        waiting: set[Identity] = set()
        for pk, source, event_id, token, claimed_ms, partition, offset, timestamp_ms in rows:
            key = (source, event_id)
            if token == claims.token:
                claims.mine[key] = pk
            elif offset is not None:
                claims.originals[key] = (partition, offset, timestamp_ms)
            elif claimed_ms < at - STALE_MS and _take_over(pk, token, claims.token, at):
                claims.mine[key] = pk
            else:
                waiting.add(key)
        # An identity with no row now was released by a request that aborted: claim it again.
        wanted = {key for key in wanted if key not in claims.mine and key not in claims.originals}
        if wanted:
            if time.monotonic() >= deadline:
                release(claims)
                raise Unavailable(
                    f"Another request is still appending {len(wanted)} event(s) with the same source and id; "
                    "nothing was appended. Send them again.",
                    code="repeat_in_flight",
                )
            time.sleep(_WAIT_S)
    return claims


def _take_over(pk: int, old_token: str, token: str, at: int) -> bool:
    taken = ProducedId.objects.filter(pk=pk, claim=old_token, offset__isnull=True).update(claim=token, claimed_ms=at)
    return bool(taken)


def record(claims: Claims, coordinates: dict[Identity, tuple[int, int, int]]) -> None:
    """Write where the claimed events landed (after their Kafka transaction committed)."""
    rows = [
        (partition, offset, timestamp_ms, claims.mine[key])
        for key, (partition, offset, timestamp_ms) in coordinates.items()
        if key in claims.mine
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {_table()} SET partition = %s, {_OFFSET} = %s, timestamp_ms = %s WHERE id = %s", rows
        )


def release(claims: Claims) -> None:
    """Give the claims up (the append failed): a retry appends the events."""
    if claims.mine:
        ProducedId.objects.filter(claim=claims.token, offset__isnull=True).delete()


def forget_older_than(topic: str, before_ms: int) -> int:
    """Delete the topic's rows claimed before `before_ms` (out of the repeat window)."""
    deleted, _ = ProducedId.objects.filter(topic=topic, claimed_ms__lt=before_ms).delete()
    return deleted
