"""A scratch azstate workspace for end-to-end tests: TOML, flow sources, and the CLI in-process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from azstate.cli import main
from azstate.plan import Call
from azstate.sandbox.server import SandboxServer
from azstate.wire.client import AzkabanClient
from tests.conftest import ROOT

# Configuration fragments the end-to-end tests build their files from.
ETL = """
[projects.etl]
description = "Nightly ETL"
source = "src/etl"
"""
DAILY = """
[projects.etl.schedules.daily]
cron = "0 0 2 ? * *"
"""
SLA = """
[projects.etl.schedules.daily.sla]
emails = ["ops@example.com"]
rules = [{ rule = "SUCCESS", duration = "2h", email = true }]
"""
HOURLY = """
[projects.etl.schedules.hourly]
cron = "0 0 * ? * *"
"""


def flow20(root: Path, flows: dict[str, list[str]]) -> Path:
    """A Flow 2.0 source: each flow a chain of command jobs."""
    root.mkdir(parents=True, exist_ok=True)
    for old in root.glob("*.flow"):
        old.unlink()
    (root / "flow.project").write_text("azkaban-flow-version: 2.0\n")
    for flow, jobs in flows.items():
        nodes = []
        for i, job in enumerate(jobs):
            node = f"  - name: {job}\n    type: command\n    config:\n      command: echo {job}\n"
            if i:
                node += f"    dependsOn:\n      - {jobs[i - 1]}\n"
            nodes.append(node)
        (root / f"{flow}.flow").write_text("nodes:\n" + "".join(nodes))
    return root


def flow10(root: Path, jobs: dict[str, list[str]]) -> Path:
    """A Flow 1.0 source: job name -> dependencies; flows are the jobs nobody depends on."""
    root.mkdir(parents=True, exist_ok=True)
    for old in root.glob("*.job"):
        old.unlink()
    (root / "common.properties").write_text("retries=1\n")
    for job, deps in jobs.items():
        text = f"type=command\ncommand=echo {job}\n"
        if deps:
            text += "dependencies=" + ",".join(deps) + "\n"
        (root / f"{job}.job").write_text(text)
    return root


@dataclass
class Result:
    code: int
    out: str
    err: str


class Workspace:
    def __init__(self, root: Path, sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]):
        self.root = root
        self.sandbox = sandbox
        self.capsys = capsys
        self.config = root / "azstate.toml"

    def write(self, body: str) -> Path:
        header = f'[server]\nurl = "{self.sandbox.url}"\ntimezone = "America/Los_Angeles"\n\n'
        self.config.write_text(header + textwrap.dedent(body))
        return self.config

    def run(self, *args: str) -> Result:
        self.capsys.readouterr()
        code = main(list(args))
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def apply(self, *extra: str) -> Result:
        result = self.run("apply", "--auto-approve", "-c", str(self.config), *extra)
        assert result.code == 0, f"apply failed:\n{result.out}\n{result.err}"
        return result

    def assert_converged(self) -> None:
        result = self.run("plan", "--detailed-exitcode", "-c", str(self.config))
        assert result.code == 0, f"plan after apply is not empty:\n{result.out}\n{result.err}"

    def client(self) -> AzkabanClient:
        client = AzkabanClient(self.sandbox.url, "azkaban", SecretStr("azkaban"))
        client.login()
        return client


def plan(ws: Workspace, *args: str) -> Result:
    return ws.run("plan", "-c", str(ws.config), *args)


def plan_json(ws: Workspace, *args: str) -> dict[str, Any]:
    result = plan(ws, "--format", "json", *args)
    assert result.code in (0, 2), result.err
    data: dict[str, Any] = json.loads(result.out)
    return data


def azstate_process(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """One CLI run in its own process, with the worktree's azstate and no AZKABAN_* leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZKABAN_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["NO_COLOR"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "azstate", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


# Calls another tool would send (the web UI, a script), built by hand: options and spellings
# azstate itself never sends.


def raw_schedule_call(
    project: str, flow: str, *params: tuple[str, str], cron: str = "0 0 2 ? * *"
) -> Call:
    """A scheduleCronFlow as the web UI or a script might send it."""
    return Call(
        method="POST",
        path="/schedule",
        params=(
            ("ajax", "scheduleCronFlow"),
            ("projectName", project),
            ("flow", flow),
            ("cronExpression", cron),
            *params,
        ),
    )


def raw_schedule(
    client: AzkabanClient,
    project: str,
    flow: str,
    *params: tuple[str, str],
    cron: str = "0 0 2 ? * *",
) -> int:
    """raw_schedule_call sent; the server must accept it."""
    reply = client.send(raw_schedule_call(project, flow, *params, cron=cron))
    assert reply.json["status"] == "success" and "error" not in reply.json, reply.json
    return int(reply.json["scheduleId"])


def raw_fetch_schedule(client: AzkabanClient, project_id: int, flow: str) -> dict[str, Any]:
    """fetchSchedule's `schedule` as the server sends it, Azkaban's spellings unchanged."""
    reply = client.send(
        Call(
            method="GET",
            path="/schedule",
            params=(("ajax", "fetchSchedule"), ("projectId", str(project_id)), ("flowId", flow)),
            mutating=False,
        )
    )
    return dict(reply.json["schedule"])


def spawn_azstate(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """`python -m azstate ARGS` as its own process (for signals, or two at once), with its
    stdout and stderr piped as text; ``env`` defaults to this process's."""
    root = str(Path(__file__).resolve().parents[2])
    return subprocess.Popen(
        [sys.executable, "-m", "azstate", *args],
        cwd=cwd,
        env={**(os.environ if env is None else env), "PYTHONPATH": root},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as on a terminal, even when the suite was started in the background
        # (where the shell makes SIGINT ignored, and the child would inherit that).
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
