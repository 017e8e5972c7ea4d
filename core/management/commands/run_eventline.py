"""`make run`: migrate, seed the demo, print how to get in, then run the web server (granian,
multi-threaded), the periodic work (in-process scheduler, or Celery worker and beat with
REDIS_URL) and the demo traffic, until Ctrl-C.

With BROKER_BACKEND=kafka it also runs the consumer host (the Kafka consumers behind HTTP group
members), and when KAFKA_BOOTSTRAP_SERVERS is unset it first starts the local Kafka of
scripts/kafka.sh (and stops it again on the way out)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.services import api_key_create

DEMO_ADMIN = "admin"


def web_server_env(env: dict[str, str]) -> dict[str, str]:
    """glibc gives every thread its own malloc arena by default; with a pool of threads that lets
    a worker's memory creep up with fragmentation. Two arenas keep it flat."""
    return {"MALLOC_ARENA_MAX": "2", **env}


def web_server_command(host: str, port: int, workers: int, threads: int) -> list[str]:
    """Granian serving the WSGI app: worker processes, each with a pool of threads for Django
    (a long poll parks one), HTTP parsed in Rust. Chosen over gunicorn's gthread worker by
    measurement (see bench/README.md)."""
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--blocking-threads",
        str(threads),
        "--log-level",
        "warning",
        *(["--access-log"] if os.environ.get("EVENTLINE_ACCESS_LOG") else []),
        "config.wsgi:application",
    ]


class Command(BaseCommand):
    help = "Set up the demo and run Eventline with its background work."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("EVENTLINE_BIND", "127.0.0.1:8000"))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("EVENTLINE_WEB_WORKERS", 2)))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("EVENTLINE_WEB_THREADS", 64)))
        parser.add_argument("--no-traffic", action="store_true", help="Do not run the demo traffic simulator.")

    def handle(self, *args: Any, **options: Any) -> None:
        started_kafka = self._local_kafka() if settings.BROKER_BACKEND == "kafka" else False
        try:
            self._run(options)
        finally:
            if started_kafka:
                subprocess.run([str(settings.BASE_DIR / "scripts" / "kafka.sh"), "stop"], check=False)

    def _local_kafka(self) -> bool:
        """BROKER_BACKEND=kafka without KAFKA_BOOTSTRAP_SERVERS: start scripts/kafka.sh's local
        Kafka (idempotent) and use it. Returns whether this run started it (and so stops it)."""
        if settings.KAFKA_BOOTSTRAP_SERVERS:
            return False
        script = str(settings.BASE_DIR / "scripts" / "kafka.sh")
        was_running = subprocess.run([script, "status"], capture_output=True, check=False).returncode == 0
        self.stdout.write("Starting the local Kafka (scripts/kafka.sh start)...")
        result = subprocess.run([script, "start"], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise CommandError(f"scripts/kafka.sh start failed:\n{result.stdout}{result.stderr}")
        found = [
            line.split("=", 1)[1] for line in result.stdout.splitlines() if line.startswith("KAFKA_BOOTSTRAP_SERVERS=")
        ]
        settings.KAFKA_BOOTSTRAP_SERVERS = found[-1] if found else "127.0.0.1:9092"
        os.environ["KAFKA_BOOTSTRAP_SERVERS"] = settings.KAFKA_BOOTSTRAP_SERVERS  # for the processes started below
        return not was_running

    def _run(self, options: dict[str, Any]) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        # Metric files of processes from an earlier run would be summed into this one's.
        metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if metrics_dir:
            for stale in Path(metrics_dir).glob("*.db"):
                stale.unlink()
        call_command("seed_demo", verbosity=1)
        password = self._demo_admin()
        _, demo_key = api_key_create(service_name="demo-cli", scopes=["admin"], label="printed by make run")
        env = {**os.environ, "EVENTLINE_DEMO_KEY": demo_key}
        python = sys.executable
        base = f"http://{options['bind']}"
        host, _, port = options["bind"].rpartition(":")
        processes = [
            subprocess.Popen(
                web_server_command(host, int(port), options["workers"], options["threads"]), env=web_server_env(env)
            )
        ]
        from broker.log.writer import writer_socket_path  # this command starts every app's processes

        if writer_socket_path() is not None:
            # SQLite: one process writes every worker's appends (broker.log.writer).
            processes.append(subprocess.Popen([python, "manage.py", "run_append_writer"], env=env))
        if settings.BROKER_BACKEND == "kafka":
            # The Kafka consumers behind HTTP group members (broker.consumer_host).
            processes.append(subprocess.Popen([python, "manage.py", "run_consumer_host"], env=env))
            # Every topic's records, native clients' included, into the index traces read (broker.indexer).
            processes.append(subprocess.Popen([python, "manage.py", "run_indexer"], env=env))
        if settings.REDIS_URL:
            processes.append(
                subprocess.Popen(
                    [python, "-m", "celery", "-A", "config", "worker", "--loglevel=WARNING", "--concurrency=2"], env=env
                )
            )
            processes.append(
                subprocess.Popen(
                    [
                        python,
                        "-m",
                        "celery",
                        "-A",
                        "config",
                        "beat",
                        "--loglevel=WARNING",
                        "--schedule",
                        str(settings.VAR_DIR / "celerybeat-schedule"),
                    ],
                    env=env,
                )
            )
        else:
            processes.append(subprocess.Popen([python, "manage.py", "run_scheduler"], env=env))
        if not options["no_traffic"]:
            processes.append(
                subprocess.Popen([python, "manage.py", "simulate_traffic", "--url", base, "--wait-for-server"], env=env)
            )

        self.stdout.write(self.style.SUCCESS(f"\nEventline is running at {base}/"))
        self.stdout.write(f"  Log in:        {base}/accounts/login/   user '{DEMO_ADMIN}'  password '{password}'")
        self.stdout.write(f"  API docs:      {base}/api/docs/")
        self.stdout.write(f"  Demo API key:  {demo_key}")
        self.stdout.write(f"  Try:           curl -H 'Authorization: Bearer {demo_key}' {base}/api/v1/topics")
        self.stdout.write(
            f"  Background:    {'Celery worker and beat on Redis' if settings.REDIS_URL else 'in-process scheduler (no Redis needed)'}"
        )
        if settings.BROKER_BACKEND == "kafka":
            self.stdout.write(
                f"  Log:           Apache Kafka at {settings.KAFKA_BOOTSTRAP_SERVERS} (consumer host and indexer started)"
            )
        self.stdout.write("  Stop with Ctrl-C.\n")

        stopping = False

        def stop(*_: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for process in processes:
                    if process.poll() is not None and process.returncode not in (0, None):
                        self.stderr.write(
                            f"{process.args[2] if len(process.args) > 2 else process.args} exited with {process.returncode}"
                        )
                        stopping = True
                time.sleep(0.5)
        finally:
            # The web server first, so the requests it drains still find the append writer.
            for group in (processes[:1], processes[1:]):
                for process in group:
                    if process.poll() is None:
                        process.send_signal(signal.SIGTERM)
                for process in group:
                    try:
                        process.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        process.kill()

    def _demo_admin(self) -> str:
        """A fresh random password for the demo admin on every run; printed, never stored in code."""
        password = secrets.token_urlsafe(12)
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(
            username=DEMO_ADMIN, defaults={"is_staff": True, "is_superuser": True}
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        return password
