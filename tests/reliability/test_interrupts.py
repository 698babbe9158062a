"""Ctrl-C and SIGTERM during apply and plan, sent to a real `python -m azstate` process.

Calls are in flight when the signal comes: the sandbox holds every project's upload until the
test lets it go (a Gate), or answers every request after a latency (set through its control
API). The first signal: no new call starts, the calls in flight finish, the report says what
was applied and what was not, exit 130. A second: exit at once, the calls in flight reported
as of unknown outcome. Either way the report tells the truth (a fresh plan agrees with it) and
one more apply converges. Plan stops at the first signal without sending its queued reads.
"""

from __future__ import annotations

import json
import queue
import signal
import threading
import time
from pathlib import Path

import pytest
import requests

from azstate.cli import main
from azstate.sandbox.server import SandboxServer
from tests.e2e.workspace import flow20, spawn_azstate

PROJECTS = ("alpha", "beta", "gamma", "delta")
HEADER = """
[server]
url = "{url}"
timezone = "UTC"
timeout = 30
"""
PROJECT = """
[projects.{name}]
description = "{name}"
source = "src"

[projects.{name}.permissions]
users = {{ reader = ["read"] }}

[projects.{name}.schedules.daily]
cron = "0 0 2 ? * *"

[projects.{name}.schedules.hourly]
cron = "0 0 * ? * *"
"""
CALLS_PER_PROJECT = 5  # create, upload, addPermission, scheduleCronFlow x 2
WAITING = "no new call starts"  # what the first signal prints


class Run:
    """A `python -m azstate` process whose stderr is read as it comes."""

    def __init__(self, root: Path, *args: str) -> None:
        self.proc = spawn_azstate(root, *args)
        self.err_lines: queue.Queue[str] = queue.Queue()
        self._err: list[str] = []
        self._reader = threading.Thread(target=self._read_err, daemon=True)
        self._reader.start()

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._err.append(line)
            self.err_lines.put(line)

    def wait_for_err(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                if text in self.err_lines.get(timeout=left):
                    return
            except queue.Empty:
                break
        raise AssertionError(f"stderr never said {text!r}: {''.join(self._err)}")

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        assert self.proc.stdout is not None
        out = self.proc.stdout.read()
        self.proc.wait(timeout)
        self._reader.join(timeout)
        return self.proc.returncode, out, "".join(self._err)


def set_latency(server: SandboxServer, seconds: float) -> None:
    reply = requests.post(f"{server.url}/__sandbox__/faults", json={"latency": seconds}, timeout=5)
    assert reply.ok, reply.text


def writes(server: SandboxServer) -> int:
    return sum(1 for e in server.log.snapshot() if e.mutating)


def report(out: str) -> dict[str, str]:
    """The apply report's lines: address -> status."""
    assert "Apply results:" in out, out
    lines = out.split("Apply results:")[1].strip().splitlines()
    statuses = {}
    for line in lines[:-1]:
        for status in ("applied", "interrupted", "not attempted", "outcome unknown", "failed"):
            if line.strip().startswith(status):
                statuses[line.strip()[len(status) :].split()[0]] = status
    return statuses


def left_to_do(config: Path) -> set[str]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["plan", "--format", "json", "-c", str(config)]) == 0
    changes = json.loads(out.getvalue())["changes"]
    return {c["address"] for c in changes if c["action"] != "no-op"}


@pytest.fixture
def config(azkaban_env: SandboxServer, tmp_path: Path) -> Path:
    flow20(tmp_path / "src", {"daily": ["extract", "load"], "hourly": ["ping"]})
    path = tmp_path / "azstate.toml"
    body = "".join(PROJECT.format(name=n) for n in PROJECTS)
    path.write_text(HEADER.format(url=azkaban_env.url) + body)
    return path


def assert_converges(server: SandboxServer, config: Path) -> None:
    set_latency(server, 0)
    assert main(["apply", "--auto-approve", "-c", str(config)]) == 0
    assert left_to_do(config) == set()


def assert_report_is_true(statuses: dict[str, str], config: Path) -> None:
    """What the report calls applied is done; what it calls not attempted is still to do."""
    left = left_to_do(config)
    applied = {a for a, s in statuses.items() if s == "applied"}
    not_attempted = {a for a, s in statuses.items() if s == "not attempted"}
    assert not applied & left, f"reported applied but not done: {applied & left}"
    assert not_attempted <= left, f"reported not attempted but done: {not_attempted - left}"


class Gate:
    """A fault's ``on_fire``: the request waits on the server until the test opens the gate,
    so the test knows exactly which calls are in flight when it sends a signal."""

    def __init__(self) -> None:
        self.arrived = 0
        self._cond = threading.Condition()
        self._open = threading.Event()

    def __call__(self) -> None:
        with self._cond:
            self.arrived += 1
            self._cond.notify_all()
        self._open.wait(60)

    def wait_for(self, n: int, timeout: float = 60) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: self.arrived >= n, timeout), self.arrived

    def open(self) -> None:
        self._open.set()


def hold_uploads(server: SandboxServer) -> Gate:
    """Every project's upload (its second call) waits at the gate."""
    gate = Gate()
    server.faults.add("slow", path="/manager", action="upload", times=len(PROJECTS), on_fire=gate)
    return gate


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_apply_stops_starting_calls_and_reports(
    azkaban_env: SandboxServer, config: Path, signum: int
) -> None:
    """Each project's upload is in flight when the signal comes: they finish, nothing more
    is sent, and the report says so."""
    server = azkaban_env
    gate = hold_uploads(server)
    run = Run(config.parent, "apply", "--auto-approve", "-c", str(config))
    try:
        gate.wait_for(len(PROJECTS))
        run.signal(signum)
        run.wait_for_err(WAITING)
    finally:
        gate.open()
    code, out, err = run.finish()
    assert code == 130, out + err
    assert "Traceback" not in out + err
    assert "Interrupted: apply stopped before it was done" in err, err
    # The calls in flight finished; nothing started after the signal.
    sent = sorted((e.action or "", e.params.get("project") or e.params.get("name") or "")
                  for e in server.log.snapshot() if e.mutating)  # fmt: skip
    assert sent == sorted([("create", p) for p in PROJECTS] + [("upload", p) for p in PROJECTS])
    statuses = report(out)
    assert len(statuses) == len(PROJECTS) * CALLS_PER_PROJECT, out  # one call per change
    for name in PROJECTS:
        assert statuses[f"project.{name}"] == statuses[f"project.{name}.files"] == "applied"
        for rest in ("schedule.daily", "schedule.hourly", "permission.user.reader"):
            assert statuses[f"project.{name}.{rest}"] == "not attempted", out
    assert "apply was interrupted before this change" in out
    assert_report_is_true(statuses, config)
    assert_converges(server, config)


def test_interrupted_apply_against_a_slow_server(azkaban_env: SandboxServer, config: Path) -> None:
    """The same with every reply slow (the sandbox's latency), the report as JSON: it stops
    after at most the call each project had in flight, and says the server was not checked."""
    server = azkaban_env
    set_latency(server, 0.2)
    run = Run(config.parent, "apply", "--auto-approve", "--format", "json", "-c", str(config))
    assert server.log.wait_for(lambda e: e.mutating, 60), "apply never wrote"
    run.signal(signal.SIGINT)
    code, out, err = run.finish()
    assert code == 130, out + err
    assert "Traceback" not in out + err and WAITING in err, err
    after_exit = writes(server)
    assert after_exit < len(PROJECTS) * CALLS_PER_PROJECT
    time.sleep(0.5)  # more than a reply takes: a call still in flight would be logged by now
    assert writes(server) == after_exit, "a call was still in flight when apply exited"
    document = json.loads(out)
    assert document["server_matches_configuration"] is None
    statuses = {c["address"]: c["status"] for c in document["changes"]}
    assert "not attempted" in statuses.values() and "applied" in statuses.values(), statuses
    assert document["summary"]["not_attempted"] >= 1
    calls_sent = sum(c["calls_sent"] for c in document["changes"])
    assert calls_sent == after_exit, (calls_sent, after_exit)
    assert_report_is_true(statuses, config)
    assert_converges(server, config)


def test_second_interrupt_exits_at_once(azkaban_env: SandboxServer, config: Path) -> None:
    """The uploads are held on the server: the first Ctrl-C waits for them, the second does
    not, and the report lists them as of unknown outcome."""
    server = azkaban_env
    gate = hold_uploads(server)
    run = Run(config.parent, "apply", "--auto-approve", "-c", str(config))
    try:
        gate.wait_for(len(PROJECTS))
        run.signal(signal.SIGINT)
        run.wait_for_err(WAITING)
        run.signal(signal.SIGINT)
        code, out, err = run.finish(timeout=20)  # with the uploads still held
    finally:
        gate.open()
    assert code == 130, out + err
    assert "Traceback" not in out + err
    statuses = report(out)
    for name in PROJECTS:
        assert statuses[f"project.{name}"] == "applied", out
        assert statuses[f"project.{name}.files"] == "outcome unknown", out
    assert out.count("POST /manager upload was in flight when apply was stopped at once") == 4
    # The held uploads finish on the server; then the report is still true, and one more
    # apply converges.
    deadline = time.monotonic() + 30
    while sum(e.action == "upload" for e in server.log.snapshot()) < len(PROJECTS):
        assert time.monotonic() < deadline, "the held uploads never finished"
        time.sleep(0.02)
    assert_report_is_true(statuses, config)
    assert_converges(server, config)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_plan_stops_promptly(azkaban_env: SandboxServer, config: Path, signum: int) -> None:
    """Many reads queued behind a server that sits on them: the first Ctrl-C ends plan at once
    (the reads in flight are not waited for: they would never end), and the reads still
    queued are never sent."""
    server = azkaban_env
    assert main(["apply", "--auto-approve", "-c", str(config)]) == 0
    server.log.clear()
    gate = Gate()
    server.faults.add("slow", path="/manager", times=None, on_fire=gate)  # per-project reads
    run = Run(config.parent, "plan", "--parallelism", "2", "-c", str(config))
    try:
        gate.wait_for(2)  # both workers hold a read; the others are queued
        signalled = time.monotonic()
        run.signal(signum)
        code, out, err = run.finish()
        took = time.monotonic() - signalled
    finally:
        gate.open()
    assert code == 130, out + err
    assert "Traceback" not in out + err and "Interrupted." in err, err
    assert took < 5.0, f"plan took {took:.1f} s to stop"
    assert out == ""
    # The two held reads finish on the server once let go; nothing else was ever sent.
    assert server.log.wait_for(lambda e: e.path == "/manager", 30)
    held = [e for e in server.log.snapshot() if e.path == "/manager"]
    assert gate.arrived == 2 and len(held) <= 2, [(e.method, e.action) for e in held]


def test_interrupt_while_checking_a_lost_reply(azkaban_env: SandboxServer, config: Path) -> None:
    """An upload's reply is late; while apply reads whether it took effect, Ctrl-C: the
    looking ends at once, the upload is not sent again and is reported of unknown outcome.
    The server finishes it later, and the plan then has nothing left to do."""
    server = azkaban_env
    assert main(["apply", "--auto-approve", "-c", str(config)]) == 0
    flow20(config.parent / "src", {"daily": ["extract", "load", "report"], "hourly": ["ping"]})
    config.write_text(config.read_text().replace("timeout = 30", "timeout = 2"))
    server.log.clear()
    gate = Gate()  # the upload is held on the server until apply has exited
    server.faults.add("slow", path="/manager", action="upload", on_fire=gate)
    run = Run(config.parent, "apply", "--auto-approve", "-c", str(config))

    def checking() -> bool:  # a HEAD of the download after the plan's own
        heads = [e for e in server.log.snapshot() if e.method == "HEAD"]
        return len(heads) > len(PROJECTS)

    deadline = time.monotonic() + 60
    while not checking():
        assert time.monotonic() < deadline, "apply never checked the lost upload"
        time.sleep(0.02)
    signalled = time.monotonic()
    run.signal(signal.SIGINT)
    try:
        code, out, err = run.finish()
    finally:
        gate.open()
    took = time.monotonic() - signalled
    assert code == 130, out + err
    assert took < 2.0, f"took {took:.1f} s to stop"
    statuses = report(out)
    assert "outcome unknown" in statuses.values(), out
    assert "interrupted while checking whether it took effect" in out, out
    assert server.log.wait_for(lambda e: e.fault == "slow", 30)
    uploads = [e for e in server.log.snapshot() if e.action == "upload"]
    assert 1 <= len(uploads) <= len(PROJECTS), uploads  # the slow one, and none again
    assert_report_is_true(statuses, config)
    assert_converges(server, config)


def test_apply_interrupted_while_reading_sends_no_write(
    azkaban_env: SandboxServer, config: Path
) -> None:
    server = azkaban_env
    gate = Gate()  # a listing is held: apply is reading when the signal comes
    server.faults.add("slow", path="/schedule", action="fetchSchedules", on_fire=gate)
    run = Run(config.parent, "apply", "--auto-approve", "-c", str(config))
    try:
        gate.wait_for(1)
        run.signal(signal.SIGTERM)
        code, out, err = run.finish()
    finally:
        gate.open()
    assert code == 130, out + err
    assert "Traceback" not in out + err and "Interrupted." in err, err
    assert server.log.wait_for(lambda e: e.action == "fetchSchedules", 30)  # the held read ends
    assert writes(server) == 0
