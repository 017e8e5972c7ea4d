"""Kill -9 of every server process in the middle of traffic loses, repeats and half-applies
nothing (issue 13): one trial per database, on the processes `make run` starts.

The stack (granian's web workers, the scheduler and, on SQLite, the append writer) runs in a
process group of its own against this test's database. Producers send batches of events whose
ids they chose; two members of a group fetch and commit. Mid-traffic the whole process group
gets SIGKILL. With every server process gone, nothing can change the database, so it is compared
with what the clients were told. Then the stack starts again, every client resends what it got
no answer to (the same ids, the same offsets), the members resume from the group's committed
offsets, traffic goes on for a moment, and the consumers read to the end before everything is
compared once more.

The comparisons are plain functions over rows and client records (`append_problems`,
`commit_problems`, `delivery_problems`); the fast tests at the bottom feed them a lost, a
repeated and a half-applied append or commit and check that each is reported.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
TOPIC = "crash"
GROUP = "crash-readers"
PARTITIONS = 3
PRODUCERS = 4
MEMBERS = 2
BATCH_SIZE = 25
KEYS_PER_PRODUCER = 5
TRAFFIC_BEFORE_KILL_S = 1.5  # at least; and until every producer and member has been answered
TRAFFIC_AFTER_RESTART_S = 1.0
STACK_START_TIMEOUT_S = 30.0
PHASE_TIMEOUT_S = 30.0
# Every PostgreSQL connection of the stack carries this name (libpq reads PGAPPNAME), so the test
# can wait until the server has ended the sessions of the killed processes.
APP_NAME = "eventline-crash-test"
BATCH_TYPE = "application/cloudevents-batch+json"

Key = tuple[str, str]  # (source, id): what the broker deduplicates on


# -- the comparisons ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """One event as the log holds it."""

    partition: int
    offset: int
    source: str
    event_id: str
    key: str | None
    data: Any

    @property
    def identity(self) -> Key:
        return (self.source, self.event_id)


def append_problems(
    rows: Iterable[Stored],
    end_offsets: Mapping[int, int],
    sent: Mapping[Key, Any],
    acked: Mapping[Key, tuple[int, int]],
    unanswered: Iterable[list[Key]],
) -> list[str]:
    """What is wrong with the log, given what producers sent (`sent`: the data of every event),
    what they were told (`acked`: partition and offset per event) and the batches they got no
    answer to. Each partition must hold exactly offsets 0..end-1 (no retention runs here); every
    acknowledged event is where it was acknowledged, with what was sent; no event is there twice
    or unsent; an unanswered batch is there whole or not at all; and the events of one key keep
    the order they were sent in (`data.seq` counts up per producer)."""
    rows = list(rows)
    problems: list[str] = []
    by_identity: dict[Key, list[Stored]] = defaultdict(list)
    by_partition: dict[int, list[int]] = defaultdict(list)
    by_key: dict[tuple[str, str | None], list[Stored]] = defaultdict(list)
    for row in rows:
        by_identity[row.identity].append(row)
        by_partition[row.partition].append(row.offset)
        by_key[(row.source, row.key)].append(row)
    for identity, found in by_identity.items():
        where = ", ".join(f"{row.partition}/{row.offset}" for row in found)
        if len(found) > 1:
            problems.append(f"{identity} is in the log {len(found)} times (at {where})")
        if identity not in sent:
            problems.append(f"{identity} is in the log (at {where}) but no producer sent it")
        elif any(row.data != sent[identity] for row in found):
            problems.append(f"{identity} at {where} does not hold the data that was sent")
    for partition in sorted(set(by_partition) | set(end_offsets)):
        offsets = sorted(by_partition.get(partition, []))
        end = end_offsets.get(partition, 0)
        if offsets != list(range(end)):
            missing = sorted(set(range(end)) - set(offsets))
            beyond = sorted({offset for offset in offsets if offset >= end})
            problems.append(
                f"partition {partition}: offsets are not exactly 0..{end - 1} "
                f"(missing {missing[:10]}, past the end {beyond[:10]}, {len(offsets)} rows)"
            )
    for identity, (partition, offset) in acked.items():
        found = by_identity.get(identity)
        if not found:
            problems.append(f"acknowledged {identity} at {partition}/{offset} is lost")
        elif (found[0].partition, found[0].offset) != (partition, offset):
            problems.append(
                f"acknowledged {identity} at {partition}/{offset} is at {found[0].partition}/{found[0].offset}"
            )
    for batch in unanswered:
        present = sum(1 for identity in batch if identity in by_identity)
        if 0 < present < len(batch):
            problems.append(f"unanswered batch starting {batch[0]} is half-applied: {present} of {len(batch)} events")
    for (source, key), found in by_key.items():
        sequence = [row.data["seq"] for row in sorted(found, key=lambda row: row.offset)]
        if sequence != sorted(sequence):
            problems.append(f"events of key {key!r} from {source} are out of order: {sequence[:20]}")
    return problems


def commit_problems(
    committed: Mapping[int, int | None],
    end_offsets: Mapping[int, int],
    acked: Mapping[int, int],
    unanswered: Iterable[Mapping[int, int]],
) -> list[str]:
    """What is wrong with a group's committed offsets (per partition), given the last commit
    each member was told was stored (`acked`) and the commits it got no answer to. A committed
    offset never points past the log end, is the last acknowledged one or an unanswered later
    one (never older: a lost commit; never another value), and an unanswered commit of several
    partitions applied to all of them or to none."""
    unanswered = list(unanswered)
    problems: list[str] = []
    for partition, offset in sorted(committed.items()):
        if offset is not None and offset > end_offsets.get(partition, 0):
            problems.append(
                f"partition {partition}: committed {offset} is past the log end {end_offsets.get(partition, 0)}"
            )
    for partition in sorted(set(acked) | {p for commit in unanswered for p in commit}):
        now = committed.get(partition)
        last = acked.get(partition)
        allowed = {last} | {commit[partition] for commit in unanswered if partition in commit}
        if last is not None and (now is None or now < last):
            problems.append(f"partition {partition}: acknowledged commit {last} is lost (committed: {now})")
        elif now not in allowed:
            problems.append(
                f"partition {partition}: committed {now} is neither the acknowledged {last} nor an unanswered commit"
            )
    for commit in unanswered:
        applied = [committed.get(partition) == offset for partition, offset in commit.items()]
        untouched = [committed.get(partition) == acked.get(partition) for partition in commit]
        if any(applied) and not all(applied) and not all(untouched):
            problems.append(f"unanswered commit {dict(commit)} is half-applied: committed {dict(committed)}")
    return problems


def delivery_problems(
    rows: Iterable[Stored], deliveries: Iterable[tuple[int, int, Key]], end_offsets: Mapping[int, int] | None = None
) -> list[str]:
    """Every event a member was handed is the one the log holds at that position (a member never
    saw an event that a crash then took back); with `end_offsets`, the group was handed every
    offset of every partition at least once."""
    at = {(row.partition, row.offset): row.identity for row in rows}
    problems: list[str] = []
    seen: dict[int, set[int]] = defaultdict(set)
    for partition, offset, identity in deliveries:
        seen[partition].add(offset)
        if at.get((partition, offset)) != identity:
            problems.append(
                f"{identity} was delivered from {partition}/{offset}, where the log holds {at.get((partition, offset))}"
            )
    for partition, end in sorted((end_offsets or {}).items()):
        missing = sorted(set(range(end)) - seen[partition])
        if missing:
            problems.append(f"partition {partition}: offsets {missing[:10]} were never delivered to the group")
    return problems


# -- the server processes ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _process_group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes in a process group, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


class Stack:
    """The server processes `make run` starts for this database (run_eventline): granian with two
    web workers, the scheduler and, on SQLite, the append writer. They share one process group of
    their own, so one killpg takes every one of them (granian's workers too) at the same instant."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.url = ""
        self.processes: list[subprocess.Popen] = []
        self.starts = 0

    @property
    def log(self) -> Path:
        return self.log_dir / f"stack-{self.starts}.log"

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def start(self) -> bool:
        """Start every process; True once the web server answers and (SQLite) the writer listens."""
        from broker.log.writer import writer_socket_path
        from core.management.commands.run_eventline import web_server_command, web_server_env

        self.starts += 1
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        log = open(self.log, "ab")  # noqa: SIM115 - the processes write to it until they end
        web = subprocess.Popen(
            web_server_command("127.0.0.1", port, workers=2, threads=8),
            cwd=ROOT,
            env=web_server_env(self.env),
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
        self.processes = [web]
        helpers = [["manage.py", "run_scheduler"]]
        writer = writer_socket_path() is not None
        if writer:
            helpers.append(["manage.py", "run_append_writer"])
        for helper in helpers:
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, *helper],
                    cwd=ROOT,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    process_group=web.pid,
                )
            )
        log.close()
        deadline = time.monotonic() + STACK_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if any(process.poll() is not None for process in self.processes):
                return False
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1)  # noqa: S310 - our own server
            except OSError:
                time.sleep(0.1)
                continue
            if not writer or "Append writer listening" in self.log.read_text(errors="replace"):
                return True
            time.sleep(0.1)
        return False

    def kill(self) -> None:
        """SIGKILL to the whole process group; returns once none of its processes runs and, on
        PostgreSQL, the server has ended their sessions (so nothing of theirs can still commit)."""
        pgid = self.processes[0].pid
        os.killpg(pgid, signal.SIGKILL)
        for process in self.processes:
            process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _process_group_members(pgid):
            assert time.monotonic() < deadline, f"processes of group {pgid} outlived SIGKILL"
            time.sleep(0.02)
        if connection.vendor == "postgresql":
            while True:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [APP_NAME])
                    if cursor.fetchone()[0] == 0:
                        break
                assert time.monotonic() < deadline, "the killed processes' sessions did not end"
                time.sleep(0.02)

    def stop(self) -> None:
        """A clean stop (the writer takes its socket away), then SIGKILL for whatever is left."""
        if not self.processes or self.processes[0].poll() is not None:
            return
        pgid = self.processes[0].pid
        os.killpg(pgid, signal.SIGTERM)
        try:
            for process in self.processes:
                process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        if _process_group_members(pgid):
            os.killpg(pgid, signal.SIGKILL)
        for process in self.processes:
            process.wait(timeout=10)


def stack_env(run_dir: Path) -> dict[str, str]:
    """The stack's processes use this test's database (EVENTLINE_TEST_DB_NAME, as other tests'
    helper processes do) and share one run directory, so long polls in one worker wake on appends
    in another; their metrics go to a directory of their own, not into the test run's /metrics."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "EVENTLINE_TEST_DB_NAME": str(connection.settings_dict["NAME"]),
        "EVENTLINE_TEST_DIR": str(run_dir),
        "PROMETHEUS_MULTIPROC_DIR": str(run_dir / "prometheus"),
        "EVENTLINE_WARM_CACHES": "false",
        "EVENTLINE_DB_POOL_SIZE": "8",
        "PGAPPNAME": APP_NAME,
        "PYTHONPATH": str(ROOT),
    }


# -- the clients ----------------------------------------------------------------------------------


class Client:
    """One keep-alive HTTP connection with an API key, to wherever the stack listens now. A
    transport failure comes back as status None, so callers treat it like any unanswered call."""

    def __init__(self, stack: Stack, token: str) -> None:
        self.stack = stack
        self.token = token
        self.conn: http.client.HTTPConnection | None = None

    def call(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> tuple[int | None, Any]:
        try:
            if self.conn is None:
                host, port = self.stack.url.removeprefix("http://").split(":")
                self.conn = http.client.HTTPConnection(host, int(port), timeout=15)
            headers = {"Authorization": f"Bearer {self.token}"}
            payload = None
            if body is not None:
                payload = json.dumps(body).encode()
                headers["Content-Type"] = content_type
            self.conn.request(method, path, body=payload, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return None, repr(exc)
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, raw[:300]

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None


@dataclass
class Producer:
    """Sends batches of events with ids of its own, one batch at a time, and remembers what it
    sent, what it was told, and the batch it got no answer to when the stack went down."""

    number: int
    client: Client
    sent: dict[Key, Any] = field(default_factory=dict)
    acked: dict[Key, tuple[int, int]] = field(default_factory=dict)
    unanswered: list[dict[str, Any]] | None = None
    problems: list[str] = field(default_factory=list)
    batches: int = 0
    retried_present: int = 0
    retried_absent: int = 0

    @property
    def source(self) -> str:
        return f"/crash/producer-{self.number}"

    def _batch(self) -> list[dict[str, Any]]:
        first = self.batches * BATCH_SIZE
        self.batches += 1
        events = [
            {
                "id": f"p{self.number}-{seq}",
                "source": self.source,
                "type": "CrashTested",
                "partitionkey": f"p{self.number}-k{seq % KEYS_PER_PRODUCER}",
                "data": {"producer": self.number, "seq": seq, "pad": "x" * 200},
            }
            for seq in range(first, first + BATCH_SIZE)
        ]
        for event in events:
            self.sent[(event["source"], event["id"])] = event["data"]
        return events

    def _post(self, batch: list[dict[str, Any]]) -> tuple[int | None, Any]:
        return self.client.call("POST", f"/api/v1/topics/{TOPIC}/events", batch, BATCH_TYPE)

    def _record(self, batch: list[dict[str, Any]], answer: Any, stored: Mapping[Key, tuple[int, int]]) -> None:
        """Take the answer to `batch`: an event already in the log (`stored`) must come back as a
        duplicate at the same place, any other as new."""
        items = answer["events"]
        if [item["id"] for item in items] != [event["id"] for event in batch]:
            self.problems.append(f"producer {self.number}: the answer lists other ids than the batch")
            return
        for event, item in zip(batch, items, strict=True):
            identity = (event["source"], event["id"])
            where = (item["partition"], item["offset"])
            before = stored.get(identity)
            if item["duplicate"] != (before is not None):
                self.problems.append(f"{identity}: duplicate={item['duplicate']}, but it was in the log: {before}")
            elif before is not None and before != where:
                self.problems.append(f"{identity}: the retry answered {where}, the log holds it at {before}")
            self.acked[identity] = where

    def run(self, stop: threading.Event, killed: threading.Event) -> None:
        while not stop.is_set():
            batch = self._batch()
            status, answer = self._post(batch)
            if status == 200:
                self._record(batch, answer, {})
                continue
            if killed.is_set():
                self.unanswered = batch
            else:
                self.problems.append(f"producer {self.number}: answered {status} before the kill: {answer}")
            return

    def resend_unanswered(self, stored: Mapping[Key, tuple[int, int]]) -> None:
        """Send the unanswered batch again with the same ids, as a client's retry does."""
        batch, self.unanswered = self.unanswered, None
        if batch is None:
            return
        status, answer = self._post(batch)
        if status != 200:
            self.problems.append(f"producer {self.number}: the retry was answered {status}: {answer}")
            return
        if stored.get((batch[0]["source"], batch[0]["id"])):
            self.retried_present += 1
        else:
            self.retried_absent += 1
        self._record(batch, answer, stored)


@dataclass
class Member:
    """A member of the group: long-polls its partitions and commits, after every fetch that
    returned events, the next offset to read of each partition it got events from."""

    client: Client
    member_id: str = ""
    generation: int = 0
    assignment: list[int] = field(default_factory=list)
    deliveries: list[tuple[int, int, Key]] = field(default_factory=list)
    positions: dict[int, int] = field(default_factory=dict)
    acked: dict[int, int] = field(default_factory=dict)
    unanswered: dict[int, int] | None = None
    problems: list[str] = field(default_factory=list)

    def _path(self, suffix: str = "") -> str:
        return f"/api/v1/groups/{GROUP}/members/{self.member_id}{suffix}"

    def _take(self, view: Mapping[str, Any]) -> None:
        self.member_id = view["member_id"]
        self.generation = view["generation"]
        self.assignment = sorted(item["partition"] for item in view["assignment"])

    def join(self) -> None:
        status, view = self.client.call(
            "POST", f"/api/v1/groups/{GROUP}/members", {"topics": [TOPIC], "auto_offset_reset": "earliest"}
        )
        assert status == 200, view
        self._take(view)

    def heartbeat(self) -> None:
        status, view = self.client.call("POST", self._path("/heartbeat"), {})
        assert status == 200, view
        self._take(view)

    def _commit(self, offsets: dict[int, int]) -> tuple[int | None, Any]:
        body = {
            "member_id": self.member_id,
            "generation": self.generation,
            "offsets": [{"topic": TOPIC, "partition": p, "offset": o} for p, o in sorted(offsets.items())],
        }
        return self.client.call("POST", f"/api/v1/groups/{GROUP}/offsets", body)

    def run(self, stop: threading.Event, killed: threading.Event, until: Callable[[Member], bool]) -> None:
        while not stop.is_set() and not until(self):
            status, answer = self.client.call("GET", self._path("/events?max_wait_ms=250&max_events=200"))
            if status != 200:
                if not killed.is_set():
                    self.problems.append(f"member {self.member_id}: fetch answered {status}: {answer}")
                return
            offsets: dict[int, int] = {}
            for event in answer["events"]:
                self.deliveries.append((event["partition"], event["offset"], (event["source"], event["id"])))
                offsets[event["partition"]] = event["offset"] + 1
            if not offsets:
                continue
            self.positions.update(offsets)
            status, answer = self._commit(offsets)
            if status == 200:
                self.acked.update(offsets)
            elif killed.is_set():
                self.unanswered = offsets
                return
            else:
                self.problems.append(f"member {self.member_id}: commit answered {status}: {answer}")
                return

    def resume(self, committed: Mapping[int, int | None]) -> None:
        """After the restart: send the unanswered commit again, then read each partition on from
        the group's committed offset, as a consumer that lost its place does."""
        if self.unanswered is not None:
            status, answer = self._commit(self.unanswered)
            if status != 200:
                self.problems.append(f"member {self.member_id}: the commit retry was answered {status}: {answer}")
            else:
                self.acked.update(self.unanswered)
            self.unanswered = None
        for partition in self.assignment:
            offset = max(committed.get(partition) or 0, self.acked.get(partition, 0))
            status, answer = self.client.call(
                "POST", self._path("/seek"), {"topic": TOPIC, "partition": partition, "to": {"offset": offset}}
            )
            if status != 200:
                self.problems.append(f"member {self.member_id}: seek answered {status}: {answer}")
            self.positions[partition] = offset


# -- reading the database ----------------------------------------------------------------------------


def stored_rows() -> list[Stored]:
    from broker.models import Event
    from core.jsonutil import loads

    return [
        Stored(partition, offset, source, event_id, key, loads(payload)["data"])
        for partition, offset, source, event_id, key, payload in Event.objects.filter(topic__name=TOPIC).values_list(
            "partition", "offset", "source", "event_id", "key", "payload"
        )
    ]


def end_offsets() -> dict[int, int]:
    from broker.models import Partition

    return dict(Partition.objects.filter(topic__name=TOPIC).values_list("number", "end_offset"))


def committed_offsets() -> dict[int, int | None]:
    from broker.models import GroupPartition

    return dict(
        GroupPartition.objects.filter(group__name=GROUP, topic__name=TOPIC).values_list("partition", "committed_offset")
    )


def run_threads(targets: list[Callable[[], None]], timeout: float) -> None:
    threads = [threading.Thread(target=target, daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), f"clients still running after {timeout} s"


# -- the trial --------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(150)
@pytest.mark.django_db(transaction=True)
def test_kill_9_of_every_server_process_mid_traffic_loses_repeats_and_half_applies_nothing(tmp_path, make_topic):
    from core.services import api_key_create

    make_topic(TOPIC, partitions=PARTITIONS)
    producer_key = api_key_create(service_name="crash-producer", scopes=[f"produce:{TOPIC}"])[1]
    consumer_key = api_key_create(service_name="crash-consumer", scopes=[f"consume:{TOPIC}", f"group:{GROUP}"])[1]
    stack = Stack(stack_env(tmp_path / "run"), tmp_path)
    try:
        started = time.monotonic()
        if not stack.start():
            pytest.skip(f"the server stack did not start:\n{stack.log_tail()}")
        up_s = time.monotonic() - started
        producers = [Producer(n, Client(stack, producer_key)) for n in range(PRODUCERS)]
        members = [Member(Client(stack, consumer_key)) for _ in range(MEMBERS)]
        for member in members:
            member.join()
        for member in members:
            member.heartbeat()  # the first one takes the layout of the last join
        assert len({member.generation for member in members}) == 1
        assert sorted(p for member in members for p in member.assignment) == list(range(PARTITIONS))

        # Traffic, then SIGKILL to every server process while producers and members are mid-call.
        stop, killed = threading.Event(), threading.Event()
        clients = [lambda p=p: p.run(stop, killed) for p in producers]
        clients += [lambda m=m: m.run(stop, killed, lambda _: False) for m in members]
        threads = [threading.Thread(target=client, daemon=True) for client in clients]
        for thread in threads:
            thread.start()
        began = time.monotonic()
        while time.monotonic() - began < TRAFFIC_BEFORE_KILL_S or not (
            all(len(p.acked) >= 2 * BATCH_SIZE for p in producers) and all(m.acked for m in members)
        ):
            assert time.monotonic() - began < PHASE_TIMEOUT_S, "traffic did not get going"
            assert not any(p.problems for p in producers) and not any(m.problems for m in members)
            time.sleep(0.05)
        killed.set()
        stack.kill()
        stop.set()
        for thread in threads:
            thread.join(PHASE_TIMEOUT_S)
        assert not any(thread.is_alive() for thread in threads)

        # Nothing runs now: the log and the commits must match what the clients were told.
        rows, ends, committed = stored_rows(), end_offsets(), committed_offsets()
        sent = {identity: data for p in producers for identity, data in p.sent.items()}
        acked = {identity: where for p in producers for identity, where in p.acked.items()}
        unanswered = [[(e["source"], e["id"]) for e in p.unanswered] for p in producers if p.unanswered]
        assert unanswered, "no batch was in flight at the kill: the trial tested nothing mid-batch"
        problems = append_problems(rows, ends, sent, acked, unanswered)
        commits_acked = {p: o for m in members for p, o in m.acked.items()}
        commits_unanswered = [m.unanswered for m in members if m.unanswered]
        problems += commit_problems(committed, ends, commits_acked, commits_unanswered)
        problems += delivery_problems(rows, [d for m in members for d in m.deliveries])
        assert problems == [], "after the kill:\n" + "\n".join(problems)

        # Restart; every client resends what it got no answer to, then traffic goes on.
        restarting = time.monotonic()
        assert stack.start(), f"the stack did not start again after the kill:\n{stack.log_tail()}"
        restart_s = time.monotonic() - restarting
        where = {row.identity: (row.partition, row.offset) for row in rows}
        for producer in producers:
            producer.resend_unanswered(where)
        for member in members:
            member.resume(committed)
        stop.clear()
        killed.clear()
        timer = threading.Timer(TRAFFIC_AFTER_RESTART_S, stop.set)
        timer.start()
        run_threads([lambda p=p: p.run(stop, killed) for p in producers], PHASE_TIMEOUT_S)
        final_ends = end_offsets()
        stop.clear()

        def read_to_the_end(member: Member) -> bool:
            return all(member.positions.get(p, 0) >= final_ends.get(p, 0) for p in member.assignment)

        run_threads([lambda m=m: m.run(stop, killed, read_to_the_end) for m in members], PHASE_TIMEOUT_S)

        rows, committed = stored_rows(), committed_offsets()
        sent = {identity: data for p in producers for identity, data in p.sent.items()}
        acked = {identity: where for p in producers for identity, where in p.acked.items()}
        problems = [problem for p in producers for problem in p.problems]
        problems += [problem for m in members for problem in m.problems]
        problems += append_problems(rows, final_ends, sent, acked, [])
        assert len(acked) == len(sent), "every batch was acknowledged in the end"
        commits_acked = {p: o for m in members for p, o in m.acked.items()}
        problems += commit_problems(committed, final_ends, commits_acked, [])
        if committed != final_ends:
            problems.append(f"the group read to the end but committed {committed}, the log ends at {final_ends}")
        problems += delivery_problems(rows, [d for m in members for d in m.deliveries], final_ends)
        assert problems == [], "after the restart:\n" + "\n".join(problems)
        print(
            f"\n{connection.vendor}: stack up in {up_s:.1f} s, again in {restart_s:.1f} s after the kill; "
            f"{len(rows)} events; at the kill {len(unanswered)} batches unanswered "
            f"({sum(p.retried_present for p in producers)} appended whole, "
            f"{sum(p.retried_absent for p in producers)} not at all) and {len(commits_unanswered)} commits"
        )
    finally:
        stack.stop()


# -- the comparisons catch what they are for -----------------------------------------------------


def _log(*placed: tuple[int, int, str, int]) -> list[Stored]:
    """Rows of producer 0: (partition, offset, id, seq), all on one key."""
    return [Stored(partition, offset, "/s", event_id, "k", {"seq": seq}) for partition, offset, event_id, seq in placed]


SENT = {("/s", "a"): {"seq": 0}, ("/s", "b"): {"seq": 1}, ("/s", "c"): {"seq": 2}}


def test_a_whole_log_that_matches_every_answer_has_no_problems():
    rows = _log((0, 0, "a", 0), (0, 1, "b", 1), (0, 2, "c", 2))
    acked = {("/s", "a"): (0, 0), ("/s", "b"): (0, 1)}
    assert append_problems(rows, {0: 3}, SENT, acked, [[("/s", "c")]]) == []


def test_a_lost_acknowledged_append_is_reported():
    rows = _log((0, 0, "a", 0))
    problems = append_problems(rows, {0: 1}, SENT, {("/s", "a"): (0, 0), ("/s", "b"): (0, 1)}, [])
    assert problems == ["acknowledged ('/s', 'b') at 0/1 is lost"]


def test_a_gap_in_the_offsets_is_reported():
    rows = _log((0, 0, "a", 0), (0, 2, "c", 2))
    problems = append_problems(rows, {0: 3}, SENT, {}, [])
    assert len(problems) == 1 and "missing [1]" in problems[0]


def test_an_event_appended_twice_is_reported():
    rows = _log((0, 0, "a", 0), (0, 1, "a", 0))
    problems = append_problems(rows, {0: 2}, SENT, {("/s", "a"): (0, 0)}, [])
    assert problems == ["('/s', 'a') is in the log 2 times (at 0/0, 0/1)"]


def test_a_half_applied_batch_is_reported():
    rows = _log((0, 0, "a", 0), (0, 1, "b", 1))
    problems = append_problems(rows, {0: 2}, SENT, {}, [[("/s", "b"), ("/s", "c")]])
    assert problems == ["unanswered batch starting ('/s', 'b') is half-applied: 1 of 2 events"]


def test_an_event_moved_after_its_answer_or_changed_is_reported():
    moved = append_problems(_log((0, 0, "b", 1), (0, 1, "a", 0)), {0: 2}, SENT, {("/s", "a"): (0, 0)}, [])
    assert moved == [
        "acknowledged ('/s', 'a') at 0/0 is at 0/1",
        "events of key 'k' from /s are out of order: [1, 0]",
    ]
    changed = append_problems(_log((0, 0, "a", 9)), {0: 1}, SENT, {("/s", "a"): (0, 0)}, [])
    assert changed == ["('/s', 'a') at 0/0 does not hold the data that was sent"]


def test_a_lost_or_overshooting_commit_is_reported():
    assert commit_problems({0: 5, 1: 3}, {0: 5, 1: 4}, {0: 5, 1: 3}, []) == []
    assert commit_problems({0: 4}, {0: 5}, {0: 5}, []) == ["partition 0: acknowledged commit 5 is lost (committed: 4)"]
    assert commit_problems({0: 6}, {0: 5}, {0: 5}, [])[0] == "partition 0: committed 6 is past the log end 5"


def test_an_unanswered_commit_applies_to_all_its_partitions_or_none():
    acked = {0: 2, 1: 2}
    assert commit_problems({0: 2, 1: 2}, {0: 9, 1: 9}, acked, [{0: 4, 1: 5}]) == []
    assert commit_problems({0: 4, 1: 5}, {0: 9, 1: 9}, acked, [{0: 4, 1: 5}]) == []
    problems = commit_problems({0: 4, 1: 2}, {0: 9, 1: 9}, acked, [{0: 4, 1: 5}])
    assert problems == ["unanswered commit {0: 4, 1: 5} is half-applied: committed {0: 4, 1: 2}"]


def test_a_delivery_the_log_took_back_or_a_never_delivered_offset_is_reported():
    rows = _log((0, 0, "a", 0), (0, 1, "b", 1))
    assert delivery_problems(rows, [(0, 0, ("/s", "a")), (0, 1, ("/s", "b"))], {0: 2}) == []
    problems = delivery_problems(rows, [(0, 0, ("/s", "a")), (0, 1, ("/s", "x"))], {0: 3})
    assert problems == [
        "('/s', 'x') was delivered from 0/1, where the log holds ('/s', 'b')",
        "partition 0: offsets [2] were never delivered to the group",
    ]
