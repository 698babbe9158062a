"""One apply that makes every kind of call, run under one injected fault, then again without.

The server starts in state BEFORE; the configuration AFTER creates a project, uploads new files,
changes a description, re-posts a schedule with its SLA, changes an SLA alone (setSla), adds and
removes schedules, adds and changes permissions and prunes a project: every call apply makes,
after every read plan makes. Each case starts with an empty digest cache, so plan downloads.
A case passes when the faulted apply completes or stops with a clear report, the server still
holds everything the plan did not mean to remove, no write that reached the server was sent
again, and a second apply without faults leaves a plan with no changes.

No case sleeps for a fixed time: a slow reply waits until the client gave up on it (LateReply),
and the client's retry pauses run on a quick clock that records them (quick_retries), so a case
takes as long as its requests and the client's timeout.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from azstate.cli import main
from azstate.sandbox.faults import Fault as SandboxFault
from azstate.sandbox.faults import LoggedRequest
from azstate.sandbox.server import LateReply, SandboxServer
from azstate.wire import client as wire_client
from azstate.wire.client import AzkabanClient
from tests.e2e.workspace import flow20

Call = tuple[str, str, str, str | None]
Fault = tuple[str, str, int | None]

# (label, path, action, method): action "" is a request with no action (the /index?all page
# of descriptions); method None is any method.
READS: list[Call] = [
    ("login", "/", "login", None),
    ("fetchallprojects", "/index", "fetchallprojects", None),
    ("fetchSchedules", "/schedule", "fetchSchedules", None),
    ("fetchSchedule", "/schedule", "fetchSchedule", None),
    ("slaInfo", "/schedule", "slaInfo", None),
    ("download HEAD", "/manager", "download", "HEAD"),
    ("download GET", "/manager", "download", "GET"),
    ("fetchprojectflows", "/manager", "fetchprojectflows", None),
    ("index page", "/index", "", None),
    ("fetchProjectLogs", "/manager", "fetchProjectLogs", None),
]
WRITES: list[Call] = [
    ("create", "/manager", "create", None),
    ("upload", "/manager", "upload", None),
    ("changeDescription", "/manager", "changeDescription", None),
    ("scheduleCronFlow", "/schedule", "scheduleCronFlow", None),
    ("setSla", "/schedule", "setSla", None),
    ("addPermission", "/manager", "addPermission", None),
    ("changePermission", "/manager", "changePermission", None),
    ("removeSched", "/schedule", "removeSched", None),
    ("delete project", "/manager", "delete", None),
]
CALLS = READS + WRITES
# (label, sandbox fault kind, times: None = every matching request)
FAULTS: list[Fault] = [
    ("500 once", "http500", 1),
    ("500 always", "http500", None),
    ("reset before", "reset_before", 1),
    ("reset after", "reset_after", 1),
    ("slow", "slow", 1),
    ("session expired", "expire_session", 1),
    ("error in 200", "error200", 1),
]
# The client's timeout the other reliability tests use (they import it): 0.5 s.
TIMEOUT = 0.5
# The client's timeout in every matrix case: what a slow reply costs a case, and half the
# window in which apply looks for a non-idempotent write whose reply was lost (a "reset
# before" write waits all of it). A request to the sandbox takes a few ms here (36 requests
# of a case in 0.13 s), so 0.25 s is still 5x the 50 ms one can take on a loaded machine; and
# a request that does run late only costs a retried read or a write checked by a read.
CASE_TIMEOUT = 0.25
NO_CHANGES = "No changes. The server matches the configuration."
SETTLE = 30.0  # at most this long for a late write to finish on the server (it takes ms)

HEADER = """\
[server]
url = "{url}"
timezone = "UTC"
timeout = {timeout}

[azstate]
prune = ["old*"]
"""
BEFORE = """
[projects.etl]
description = "version one"
source = "src/v1"

[projects.etl.permissions]
users = { reader = ["read"] }

[projects.etl.schedules.daily]
cron = "0 0 2 ? * *"

[projects.etl.schedules.daily.sla]
emails = ["sla@example.com"]
rules = [{ rule = "SUCCESS", duration = "2h", email = true }]

[projects.etl.schedules.hourly]
cron = "0 0 * ? * *"

[projects.keep]
description = "only its SLA changes"
source = "src/v1"

[projects.keep.schedules.daily]
cron = "0 0 6 ? * *"

[projects.keep.schedules.daily.sla]
emails = ["sla@example.com"]
rules = [{ rule = "SUCCESS", duration = "2h", email = true }]

[projects.oldproj]
description = "pruned by the change"
source = "src/v1"

[projects.oldproj.schedules.daily]
cron = "0 0 4 ? * *"
"""
AFTER = """
[projects.etl]
description = "version two"
source = "src/v2"

[projects.etl.permissions]
users = { reader = ["read", "execute"] }
groups = { analysts = ["read"] }

[projects.etl.schedules.daily]
cron = "0 0 3 ? * *"

[projects.etl.schedules.daily.sla]
emails = ["sla@example.com"]
rules = [{ rule = "SUCCESS", duration = "3h", email = true }]

[projects.etl.schedules.weekly]
cron = "0 0 5 ? * MON"

[projects.keep]
description = "only its SLA changes"
source = "src/v1"

[projects.keep.schedules.daily]
cron = "0 0 6 ? * *"

[projects.keep.schedules.daily.sla]
emails = ["sla@example.com"]
rules = [{ rule = "SUCCESS", duration = "4h", email = true }]

[projects.new]
description = "made by the change"
source = "src/v2"

[projects.new.permissions]
users = { reader = ["read"] }

[projects.new.schedules.daily]
cron = "0 0 1 ? * *"
"""


@dataclass
class Outcome:
    code: int  # of the apply under the fault
    err: str
    second_code: int  # of the apply after it, without faults
    converged: bool  # the plan after that is empty
    problems: list[str]  # broken guarantees; empty when the case passes

    @property
    def cell(self) -> str:
        word = "applied" if self.code == 0 else "stopped" if self.code == 1 else f"exit {self.code}"
        return word if not self.problems else "FAIL: " + "; ".join(self.problems)


def write_sources(root: Path) -> None:
    flow20(root / "src" / "v1", {"daily": ["extract", "load"], "hourly": ["ping"]})
    flow20(root / "src" / "v2", {"daily": ["extract", "load"], "hourly": ["ping"], "weekly": ["w"]})


def _cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@contextlib.contextmanager
def environment(url: str, cache: Path) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(
        AZKABAN_URL=url,
        AZKABAN_USERNAME="azkaban",
        AZKABAN_PASSWORD="azkaban",
        AZSTATE_CACHE_DIR=str(cache),
    )
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def prepare_template(root: Path) -> Path:
    """A sandbox data directory holding BEFORE, made once and copied for every case."""
    write_sources(root)
    data = root / "template"
    with SandboxServer(data_dir=data) as server, environment(server.url, root / "cache"):
        config = root / "before.toml"
        config.write_text(HEADER.format(url=server.url, timeout=30) + BEFORE)
        code, out, err = _cli("apply", "--auto-approve", "-c", str(config))
        assert code == 0, out + err
    return data


class QuickClock:
    """The client's clock during a case: a retry pause is recorded and lasts 1/100 as long."""

    def __init__(self) -> None:
        self.pauses: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        time.sleep(seconds / 100)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@contextlib.contextmanager
def quick_retries() -> Iterator[QuickClock]:
    """The wire client's retry pauses on a QuickClock: same retries, same order, no waiting.
    A case that expects pauses checks that some were recorded, so this cannot go stale."""
    clock = QuickClock()
    saved = wire_client.time
    wire_client.time = clock  # type: ignore[assignment]
    try:
        yield clock
    finally:
        wire_client.time = saved


def run_case(template: Path, root: Path, call: Call, fault: Fault) -> Outcome:
    _, path, action, method = call
    _, kind, times = fault
    write_sources(root)
    data = root / "data"
    shutil.copytree(template, data)
    problems: list[str] = []
    late = LateReply(limit=SETTLE) if kind == "slow" else None
    with (
        SandboxServer(data_dir=data) as server,
        environment(server.url, root / "cache"),
        quick_retries() as clock,
    ):
        config = root / "azstate.toml"
        config.write_text(HEADER.format(url=server.url, timeout=CASE_TIMEOUT) + AFTER)
        injected = server.faults.add(
            kind, path=path, action=action, method=method, times=times, on_fire=late
        )
        code, out, err = _cli("apply", "--auto-approve", "-c", str(config))
        if late is not None:
            problems += settle(server, late)
        fired = injected not in server.faults.pending() or any(
            e.fault is not None for e in server.log.snapshot()
        )
        server.faults.clear()
        if not fired:
            problems.append("the fault never fired")
        if code not in (0, 1):
            problems.append(f"exit {code}")
        if "Traceback" in out + err:
            problems.append("a traceback")
        if code == 1 and not err.strip().startswith("Error") and "Error:" not in err:
            problems.append("no error report on stderr")
        if code == 1:
            problems += _unclear(call, out, err)
            problems += _not_really_applied(config, out)
        problems += _lost(server)
        problems += _duplicated(server, kind, action)
        problems += _not_backed_off(call, kind, clock)
        second, second_out, second_err = _cli("apply", "--auto-approve", "-c", str(config))
        # An apply that planned nothing has just made the plan this check would make again.
        nothing = second == 0 and f"\n\n{NO_CHANGES}\n" in second_out
        plan = 0 if nothing else _cli("plan", "--detailed-exitcode", "-c", str(config))[0]
        if second != 0:
            problems.append(f"the second apply exited {second}: {second_err.strip()[-200:]}")
        if plan != 0:
            problems.append("the plan after the second apply is not empty")
    return Outcome(code, err, second, plan == 0, problems)


def clean_run(template: Path, root: Path) -> list[LoggedRequest]:
    """The requests of a case's apply and plan when nothing goes wrong."""
    write_sources(root)
    data = root / "data"
    shutil.copytree(template, data)
    with SandboxServer(data_dir=data) as server, environment(server.url, root / "cache"):
        config = root / "azstate.toml"
        config.write_text(HEADER.format(url=server.url, timeout=30) + AFTER)
        code, out, err = _cli("apply", "--auto-approve", "-c", str(config))
        assert code == 0, out + err
        code, out, err = _cli("plan", "--detailed-exitcode", "-c", str(config))
        assert code == 0, out + err
        return server.log.snapshot()


def matching(call: Call, request: LoggedRequest) -> bool:
    """Whether the matrix's fault for ``call`` would fire on ``request``."""
    _, path, action, method = call
    return SandboxFault("http500", path, action, method=method).matches(
        request.path, request.action, request.method
    )


def settle(server: SandboxServer, late: LateReply) -> list[str]:
    """Wait until the slow request, whose client gave up, has finished on the server."""
    if not server.log.wait_for(lambda e: e.fault == "slow", SETTLE):
        return ["the slow request never finished on the server"]
    if not late.client_gave_up(0):
        return ["the client waited for the slow reply instead of timing out"]
    return []


def _not_backed_off(call: Call, kind: str, clock: QuickClock) -> list[str]:
    """A read answered 500 is retried after a pause, not at once (the quick clock records it;
    none recorded would also mean quick_retries no longer reaches the client's pauses)."""
    if kind != "http500" or call not in READS or call[2] == "login":
        return []
    if not clock.pauses:
        return ["a read failing with 500 was retried without a pause"]
    return []


# The reads that are about one project: their failure must say which.
_PER_PROJECT = ("fetchSchedule", "slaInfo", "download", "fetchprojectflows", "fetchProjectLogs")


def _unclear(call: Call, out: str, err: str) -> list[str]:
    """A stopped apply names the call that failed and the resource it was for: a write on the
    report line of its change (failed, or outcome unknown), a read in the error."""
    label, path, action, _ = call
    shown = f"{path} {action}".strip()
    if call in WRITES:
        failed = ("failed", "transient failure", "outcome unknown")
        lines = [line for line in out.splitlines() if line.strip().startswith(failed)]
        if not any(shown in line and "project." in line for line in lines):
            return [f"no report line names the failed {label} and its resource"]
        return []
    if shown not in err:
        return [f"the error does not name {shown}"]
    if action in _PER_PROJECT and "reading project." not in err:
        return ["the error does not name the project being read"]
    return []


def _not_really_applied(config: Path, out: str) -> list[str]:
    """Every change reported applied is done: a fresh plan has nothing left for it."""
    applied = {line.split()[1] for line in out.splitlines() if line.strip().startswith("applied ")}
    if not applied:
        return []
    _, plan_json, _ = _cli("plan", "--format", "json", "-c", str(config))
    left = {c["address"] for c in json.loads(plan_json)["changes"] if c["action"] != "no-op"}
    wrong = sorted(applied & left)
    return [f"reported applied but not done: {', '.join(wrong)}"] if wrong else []


def _lost(server: SandboxServer) -> list[str]:
    """What the plan never meant to remove: projects etl and keep, their daily schedules with
    their SLAs, the reader's permission on etl; and no project holds an upload too many (etl
    and keep start at version 1, and one upload at most is planned for etl and for new)."""
    client = AzkabanClient(server.url, "azkaban", SecretStr("azkaban"))
    client.login()
    projects = {p.name: p for p in client.fetch_all_projects()}
    lost = [f"project {name} lost" for name in ("etl", "keep") if name not in projects]
    if lost:
        return lost
    if "reader" not in projects["etl"].user_permissions:
        lost.append("etl's reader permission lost")
    for name in ("etl", "keep"):
        daily = client.fetch_schedule(projects[name].project_id, "daily")
        if daily is None:
            lost.append(f"{name}'s daily schedule lost")
        elif client.sla_info(daily.schedule_id) is None:
            lost.append(f"{name}'s daily SLA lost")
    most = {"etl": 2, "keep": 1, "new": 1}
    for name, limit in most.items():
        if name in projects:
            _, version = client.project_version(name)
            if (version or 0) > limit:
                lost.append(f"{name} at version {version}: uploaded more often than planned")
    return lost


def _duplicated(server: SandboxServer, kind: str, action: str) -> list[str]:
    """A write whose reply was lost or late, whether or not the server acted, must not be sent
    again: a reset before the server acted looks to the client like one after."""
    if kind not in ("reset_before", "reset_after", "slow") or action not in _NOT_TWICE:
        return []
    sent = [
        (e.params.get("project") or e.params.get("name"), e.params.get("name"))
        for e in server.log.snapshot()
        if e.action == action
    ]
    again = sorted({str(t) for t in sent if sent.count(t) > 1})
    return [f"{action} sent twice for {', '.join(again)}"] if again else []


_NOT_TWICE = ("create", "upload", "addPermission", "delete", "removeSched")


def cases() -> list[tuple[Call, Fault]]:
    return [(call, fault) for call in CALLS for fault in FAULTS]


def print_matrix() -> int:
    """Run every case and print calls x faults: what apply did, or what broke."""
    failures = 0
    with tempfile.TemporaryDirectory(prefix="azstate-faults-") as tmp:
        base = Path(tmp)
        template = prepare_template(base / "t")
        rows = []
        for i, (call, fault) in enumerate(cases()):
            outcome = run_case(template, base / f"case{i}", call, fault)
            failures += bool(outcome.problems)
            rows.append((call[0], fault[0], outcome.cell))
    width = max(len(c[0]) for c in CALLS)
    cols = [f[0] for f in FAULTS]
    colw = max(12, *(len(c) for c in cols))
    print("call".ljust(width), *(c.ljust(colw) for c in cols), sep="  ")
    for call in CALLS:
        cells = [cell for c, _, cell in rows if c == call[0]]
        print(call[0].ljust(width), *(c.ljust(colw) for c in cells), sep="  ")
    print(
        f"\n{len(rows)} cases; {failures} broke a guarantee. Every case then applied again "
        "without faults and planned empty, or is marked FAIL."
    )
    return 1 if failures else 0


class StepServer:
    """The sandbox, a configuration written in steps, and reads of the result: what the
    lost-reply and unknown-outcome tests share. ``sources`` are the flows of each source."""

    def __init__(
        self, sandbox: SandboxServer, root: Path, sources: dict[str, dict[str, list[str]]]
    ) -> None:
        self.sandbox = sandbox
        self.root = root
        for name, flows in sources.items():
            flow20(root / name, flows)
        self.client = AzkabanClient(sandbox.url, "azkaban", SecretStr("azkaban"))

    def apply(self, body: str, *args: str, timeout: float = 30) -> int:
        config = self.root / "azstate.toml"
        config.write_text(HEADER.format(url=self.sandbox.url, timeout=timeout) + body)
        return main(["apply", "--auto-approve", "-c", str(config), *args])

    def plan_is_empty(self) -> bool:
        return main(["plan", "--detailed-exitcode", "-c", str(self.root / "azstate.toml")]) == 0

    def sent(self, action: str) -> int:
        return sum(1 for e in self.sandbox.log.snapshot() if e.action == action and e.mutating)
