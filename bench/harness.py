"""What every benchmark needs: a fresh database, the real server under gunicorn, API keys, a load
generator, and a table of figures with their baselines."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    baseline_name: str = ""
    baseline: float | None = None
    target: str = ""
    passed: bool | None = None

    def line(self) -> str:
        value = f"{self.value:,.1f} {self.unit}" if self.value < 100 else f"{self.value:,.0f} {self.unit}"
        parts = [f"{self.name:<58} {value:>18}"]
        if self.baseline is not None:
            base = f"{self.baseline:,.1f}" if self.baseline < 100 else f"{self.baseline:,.0f}"
            parts.append(f"| baseline {self.baseline_name}: {base} {self.unit}")
            if self.baseline:
                parts.append(f"(x{self.value / self.baseline:.2f})")
        if self.target:
            verdict = "" if self.passed is None else (" PASS" if self.passed else " MISS")
            parts.append(f"| target {self.target}{verdict}")
        return " ".join(parts)


@dataclass
class Report:
    title: str
    figures: list[Figure] = field(default_factory=list)

    def add(self, figure: Figure) -> Figure:
        self.figures.append(figure)
        print("  " + figure.line(), flush=True)
        return figure


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Database:
    """A throwaway database for one benchmark: a SQLite file, or a fresh PostgreSQL database."""

    url: str
    label: str
    _cleanup: list = field(default_factory=list)

    @classmethod
    @contextlib.contextmanager
    def fresh(cls, kind: str) -> Iterator[Database]:
        workdir = Path(tempfile.mkdtemp(prefix="eventline-bench-"))
        try:
            if kind == "sqlite":
                yield cls(f"sqlite:///{workdir / 'bench.sqlite3'}", "SQLite")
            else:
                admin_url = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("TEST_POSTGRES_URL")
                if not admin_url:
                    raise SystemExit("PostgreSQL benchmarks need BENCH_POSTGRES_URL (a role that may CREATE DATABASE).")
                import psycopg

                name = f"eventline_bench_{os.getpid()}"
                with psycopg.connect(admin_url, autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {name}")
                    conn.execute(f"CREATE DATABASE {name}")
                base = admin_url.rsplit("/", 1)[0]
                try:
                    yield cls(f"{base}/{name}", "PostgreSQL")
                finally:
                    _drop_database(admin_url, name)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def _drop_database(admin_url: str, name: str) -> None:
    """Drop a benchmark database. After heavy writes an autovacuum worker may still be in it, and
    a role that is not a superuser may not end that worker's session: wait for it (up to a minute)."""
    import psycopg

    for attempt in range(60):
        try:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            return
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectInUse):
            if attempt == 59:
                raise
            time.sleep(1)


def django_setup(database: Database, var_dir: Path) -> None:
    """Point this process's Django at the benchmark database (once per process)."""
    os.environ["DATABASE_URL"] = database.url
    os.environ["EVENTLINE_VAR_DIR"] = str(var_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


class Server:
    """The app under gunicorn, as `make run` starts it."""

    def __init__(self, database: Database, var_dir: Path, workers: int = 2, threads: int = 32) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": database.url,
            "EVENTLINE_VAR_DIR": str(var_dir),
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "EVENTLINE_API_KEY_CACHE_S": "30",
        }
        from core.management.commands.run_eventline import web_server_command, web_server_env

        command = web_server_command("127.0.0.1", self.port, workers, threads)
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=web_server_env(env), stderr=open(var_dir / "server.log", "w")
        )
        # The periodic work runs beside the server, and on SQLite the append writer, as under `make run`.
        self.scheduler = subprocess.Popen([sys.executable, "manage.py", "run_scheduler"], cwd=ROOT, env=env)
        from broker.log.writer import writer_socket_path  # Django is set up on this database (django_setup)

        self.writer = (
            subprocess.Popen([sys.executable, "manage.py", "run_append_writer"], cwd=ROOT, env=env)
            if writer_socket_path() is not None
            else None
        )
        # On Kafka, the consumer host holds the HTTP group members, as under `make run`.
        self.consumer_host = (
            subprocess.Popen([sys.executable, "manage.py", "run_consumer_host"], cwd=ROOT, env=env)
            if os.environ.get("BROKER_BACKEND") == "kafka"
            else None
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/healthz", timeout=1)  # noqa: S310 - our own server
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the server did not start")

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def stop(self) -> None:
        for helper in (self.scheduler, self.writer, self.consumer_host):
            if helper is not None and helper.poll() is None:
                helper.terminate()
                helper.wait(timeout=15)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def rss_mb(pid: int, field_name: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


class Http:
    """A keep-alive JSON client for load generation from Python."""

    def __init__(self, url: str, token: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=120)
        self.auth = f"Bearer {token}"

    def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str = "application/json"
    ) -> tuple[int, bytes]:
        headers = {"Authorization": self.auth}
        if body is not None:
            headers["Content-Type"] = content_type
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        return response.status, response.read()

    def json(self, method: str, path: str, payload: object = None) -> object:
        status, raw = self.request(method, path, None if payload is None else json.dumps(payload).encode())
        if status >= 400:
            raise RuntimeError(f"{method} {path} -> {status}: {raw[:300]!r}")
        return json.loads(raw) if raw else None


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


# wrk prints one JSON line when a run ends: requests, seconds, errors, non-2xx, p50 and p99.
_WRK_DONE = """
done = function(summary, latency, requests)
  io.write(string.format("JSON {\\"requests\\": %d, \\"seconds\\": %f, \\"errors\\": %d, \\"non2xx\\": %d, \\"p50_ms\\": %f, \\"p99_ms\\": %f}\\n",
    summary.requests, summary.duration / 1e6, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def _wrk(url: str, script: str, *, threads: int, connections: int, seconds: int, body: bytes = b"") -> dict[str, float]:
    """Run wrk with the Lua `script` and return its figures, with `rps` added. `body` is written
    to a file the script finds in the Lua variable `body_file`."""
    with tempfile.TemporaryDirectory() as tmp:
        body_file = Path(tmp) / "body"
        body_file.write_bytes(body)
        script_file = Path(tmp) / "script.lua"
        script_file.write_text(f"local body_file = {json.dumps(str(body_file))}\n" + script + _WRK_DONE)
        output = subprocess.run(
            ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "-s", str(script_file), url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    line = next(line for line in output.splitlines() if line.startswith("JSON "))
    result = json.loads(line[5:])
    result["rps"] = result["requests"] / result["seconds"]
    return result


def wrk_post(
    url: str,
    path: str,
    body: bytes,
    token: str,
    content_type: str,
    connections: int,
    seconds: int,
    threads: int = 1,
    unique_placeholder: str = "@@CORRELATION@@",
) -> dict[str, float]:
    """Requests/s and latency percentiles from wrk POSTing a body over and over, with
    `unique_placeholder` replaced by a value unique to each request."""
    script = f"""
wrk.method = "POST"
local f = io.open(body_file, "rb"); local template = f:read("*a"); f:close()
wrk.headers["Content-Type"] = "{content_type}"
wrk.headers["Authorization"] = "Bearer {token}"
local threads = 0
setup = function(thread) threads = threads + 1; thread:set("tid", threads) end
-- The template cut at each placeholder once: a request joins the pieces around its own value
-- (a gsub over the whole body per request cost wrk about 0.5 ms of CPU on this machine).
local pieces, at = {{}}, 1
while true do
  local first, last = template:find("{unique_placeholder}", at, true)
  if not first then break end
  pieces[#pieces + 1] = template:sub(at, first - 1); at = last + 1
end
pieces[#pieces + 1] = template:sub(at)
local counter = 0
request = function()
  -- A fresh correlation id per request, so every request writes new index entries.
  counter = counter + 1
  local body = table.concat(pieces, string.format("%x-%x-%x", os.time(), tid or 0, counter))
  return wrk.format(nil, nil, nil, body)
end
"""
    return _wrk(url + path, script, threads=threads, connections=connections, seconds=seconds, body=body)


def wrk_get(
    url: str, paths: list[str], authorization: str, connections: int, seconds: int, accept: str = "application/json"
) -> dict[str, float]:
    """Requests/s and latency percentiles from wrk GETting `paths` round-robin over keep-alive
    connections (one wrk thread)."""
    lua_paths = ",".join(json.dumps(path) for path in paths)
    script = f"""
local paths = {{{lua_paths}}}
wrk.headers["Authorization"] = "{authorization}"
wrk.headers["Accept"] = "{accept}"
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
"""
    return _wrk(url + paths[0], script, threads=1, connections=connections, seconds=seconds)


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")
