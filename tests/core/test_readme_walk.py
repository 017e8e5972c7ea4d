"""The README's API walk runs as written (issue 14): its shell blocks are taken from README.md and
run with curl against a live server, step by step, and every answer is checked: no step fails
unless its comment says it is refused, the promised coordinates are the real ones, reads find
what was produced, and the commit lands where the walk says. The `apikey create` example is run
too, and its key must allow what the walk does with its topic and group."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from core.auth import authenticate_key, split_key
from core.services import api_key_create

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

README = Path(__file__).resolve().parents[2] / "README.md"


def _walk_blocks() -> tuple[str, str]:
    section = README.read_text().split("## A walk through the API", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 2, "the walk has an apikey block and a curl block"
    return blocks[0], blocks[1]


def _steps(script: str) -> list[tuple[str, str]]:
    """(comment, commands) per paragraph of the script."""
    steps = []
    for paragraph in re.split(r"\n\s*\n", script.strip()):
        lines = paragraph.splitlines()
        comment = " ".join(line.lstrip("# ") for line in lines if line.startswith("#"))
        commands = "\n".join(line for line in lines if not line.startswith("#"))
        steps.append((comment, commands))
    return steps


def _json_values(text: str) -> list[object]:
    decoder, values, index = json.JSONDecoder(), [], 0
    text = text.strip()
    while index < len(text):
        value, end = decoder.raw_decode(text, index)
        values.append(value)
        index = end
        while index < len(text) and text[index].isspace():
            index += 1
    return values


def test_the_apikey_example_grants_what_the_walk_uses():
    apikey_block, walk = _walk_blocks()
    line = next(line for line in apikey_block.splitlines() if "apikey create" in line)
    args = shlex.split(line.split("manage.py", 1)[1])
    out = StringIO()

    call_command(*args, stdout=out)

    principal = authenticate_key(*split_key(out.getvalue().strip().splitlines()[-1]))
    topic = re.search(r"\$B/topics/([A-Za-z0-9._-]+)/events", walk).group(1)
    group = re.search(r"\$B/groups/([A-Za-z0-9._-]+)/members", walk).group(1)
    assert principal.allows("produce", topic) and principal.allows("consume", topic)
    assert principal.allows("group", group)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_curl_walk_runs_as_written_against_a_live_server(live_server):
    _, walk = _walk_blocks()
    _, key = api_key_create(service_name="readme-walk", scopes=["admin"])
    prelude = f'KEY={key}\nH="Authorization: Bearer $KEY"\nB={live_server.url}/api/v1\n'
    steps = _steps(walk)
    assert steps[0][1].splitlines()[0].startswith("KEY="), "the walk starts by naming the key"
    produced_at = None
    for comment, commands in steps[1:]:
        completed = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + prelude + commands],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "LC_ALL": "C"},
        )
        assert completed.returncode == 0, f"{comment}: {completed.stderr}"
        answers = _json_values(completed.stdout)
        assert answers, f"{comment}: no answer"
        refused = "refused" in comment
        for answer in answers:
            assert ("error" in answer) == refused, f"{comment}: {answer}"
        promised = re.search(r'-> (\{.*\})', comment)
        if promised:
            expected = dict(re.findall(r'"(partition|offset)":(\d+)', promised.group(1)))
            actual = answers[0]["events"][0]
            assert {k: int(v) for k, v in expected.items()} == {"partition": actual["partition"], "offset": actual["offset"]}
            produced_at = actual
        if comment.startswith("read a partition"):
            assert [event["id"] for event in answers[0]["events"]][:1] == [produced_at["id"]]
        if comment.startswith("consume in a group"):
            fetched, committed, group = answers[0], answers[1], answers[2]
            assert produced_at["id"] in [event["id"] for event in fetched["events"]]
            assert "error" not in committed
            offsets = {(o["topic"], o["partition"]): o["offset"] for o in group["offsets"]}
            assert offsets == {("orders.v1", produced_at["partition"]): produced_at["offset"] + 1}, group
