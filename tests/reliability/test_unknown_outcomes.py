"""Writes whose outcome stays unknown: never sent twice within one apply.

A create, upload or delete whose reply is lost is checked by reads for a while (twice the
timeout, at most 10 s). Here the server acts only after that window: no read settles it, the
write is not sent again, apply stops that project and reports the change as "outcome unknown",
exits 1, and the next plan decides from what the server then holds. A write that replaces a
whole value (scheduleCronFlow and the other idempotent ones) is still simply sent again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from azstate.archive import content_digest_from_dir, content_digest_from_zip
from azstate.cli import main
from azstate.sandbox.server import LateReply, SandboxServer
from tests.reliability.matrix import CASE_TIMEOUT as TIMEOUT
from tests.reliability.matrix import StepServer, settle

ETL = """
[projects.etl]
description = "ETL"
source = "{source}"
permissions.users = {{ reader = ["read"] }}
schedules.daily.cron = "0 0 2 ? * *"
"""
OLD = """
[projects.oldproj]
description = "to be pruned"
"""
# The server acts this long after the client gave up: after the whole check window (2 x
# TIMEOUT), so no read in it can see the write done.
BEYOND_WINDOW = 3 * TIMEOUT


SOURCES = {
    "v1": {"daily": ["extract", "load"], "weekly": ["w"]},
    "v2": {"daily": ["extract", "load", "report"], "weekly": ["w"]},
}


class Server(StepServer):
    def late(self, action: str) -> LateReply:
        """The next ``action`` is done by the server only well after its client gave up."""
        late = LateReply(after=BEYOND_WINDOW)
        self.sandbox.faults.add("slow", path="/manager", action=action, on_fire=late)
        return late


@pytest.fixture
def server(azkaban_env: SandboxServer, tmp_path: Path) -> Server:
    return Server(azkaban_env, tmp_path, SOURCES)


def etl(source: str = "v1") -> str:
    return ETL.format(source=source)


def unknown_line(out: str, address: str) -> str:
    """The apply report's line for ``address`` (the plan printed before it names it too)."""
    report = out.split("Apply results:")[-1]
    lines = [line for line in report.splitlines() if address in line]
    assert lines, out
    return lines[0]


def test_upload_later_than_the_window_is_not_sent_again(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bug this guards: the upload was sent again, the late one landed after it, and
    apply exited 0 with one project version too many."""
    assert server.apply(etl("v1")) == 0
    server.sandbox.log.clear()
    capsys.readouterr()
    late = server.late("upload")
    assert server.apply(etl("v2"), timeout=TIMEOUT) == 1
    out, err = capsys.readouterr()
    assert settle(server.sandbox, late) == []  # the log holds a request once it is done
    assert server.sent("upload") == 1, "an upload of unknown outcome was sent again"
    line = unknown_line(out, "project.etl.files")
    assert line.strip().startswith("outcome unknown"), out
    assert "not sent again" in line and "/manager upload" in line, line
    assert "Traceback" not in out + err and "\nError: apply did not complete" in err, err
    assert "1 outcome unknown" in out, out
    # The late upload landed: one new version, the planned files, and nothing left to do.
    assert server.client.project_version("etl")[1] == 2
    live = content_digest_from_zip(server.client.download("etl"))
    assert live == content_digest_from_dir(server.root / "v2")
    assert server.plan_is_empty()


def test_unknown_outcome_stops_the_project_only(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """The create of etl stays unknown: nothing else of etl is sent (its upload, schedule and
    permission would fail or act on a project that may not exist), another project goes on.
    The next apply, once the late create landed, finishes etl from what the server holds."""
    other = '\n[projects.other]\ndescription = "independent"\n'
    late = server.late("create")
    # One project at a time, etl first: the slow create is etl's.
    assert server.apply(etl() + other, "--parallelism", "1", timeout=TIMEOUT) == 1
    out, _ = capsys.readouterr()
    assert unknown_line(out, "project.etl ").strip().startswith("outcome unknown"), out
    for address in ("project.etl.files", "project.etl.schedule.daily"):
        assert unknown_line(out, address).strip().startswith("not attempted"), out
    assert unknown_line(out, "project.other ").strip().startswith("applied"), out
    assert settle(server.sandbox, late) == []
    created = [e.params.get("name") for e in server.sandbox.log.snapshot() if e.action == "create"]
    assert sorted(created) == ["etl", "other"], created
    assert server.sent("upload") == 0
    assert server.apply(etl(), timeout=TIMEOUT) == 0
    assert server.sent("create") == 2  # etl's once, other's once: never etl's again
    assert server.plan_is_empty()


def test_delete_later_than_the_window_is_not_sent_again(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    assert server.apply(etl() + OLD) == 0
    server.sandbox.log.clear()
    capsys.readouterr()
    late = server.late("delete")
    assert server.apply(etl(), timeout=TIMEOUT) == 1
    out, _ = capsys.readouterr()
    assert unknown_line(out, "project.oldproj ").strip().startswith("outcome unknown"), out
    assert settle(server.sandbox, late) == []
    assert server.sent("delete") == 1
    assert [p.name for p in server.client.fetch_all_projects()] == ["etl"]
    assert server.plan_is_empty()


def test_an_idempotent_write_is_sent_again(server: Server) -> None:
    """changeDescription replaces the description: sent again after a lost reply, whatever
    became of the first, and the apply completes."""
    assert server.apply(etl()) == 0
    server.sandbox.log.clear()
    late = LateReply(after=BEYOND_WINDOW)
    server.sandbox.faults.add("slow", path="/manager", action="changeDescription", on_fire=late)
    assert server.apply(etl().replace('"ETL"', '"ETL two"'), timeout=TIMEOUT) == 0
    assert settle(server.sandbox, late) == []
    assert server.sent("changeDescription") == 2
    assert server.client.project_description("etl") == "ETL two"
    assert server.plan_is_empty()


def test_the_report_of_a_stopped_project_is_true(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """A permission grant stays unknown in a project whose new schedule carries an SLA (a
    change with no call of its own, done by the schedule's): every change the report calls
    applied is done, every one it calls not attempted is still to do."""
    assert server.apply(etl().replace("reader", "metrics")) == 0
    sla = """
[projects.etl.schedules.weekly]
cron = "0 0 5 ? * MON"

[projects.etl.schedules.weekly.sla]
emails = ["sla@example.com"]
rules = [{ rule = "SUCCESS", duration = "2h", email = true }]
"""
    capsys.readouterr()
    late = server.late("addPermission")
    assert server.apply(etl() + sla, timeout=TIMEOUT) == 1
    out, _ = capsys.readouterr()
    report = out.split("Apply results:")[-1]
    applied = set(_addresses(report, "applied"))
    not_attempted = set(_addresses(report, "not attempted"))
    assert _addresses(report, "outcome unknown") == ["project.etl.permission.user.reader"], out
    assert "project.etl.sla.weekly" in applied, out  # sent with its schedule, before
    config = server.root / "azstate.toml"
    code = main(["plan", "--format", "json", "-c", str(config)])
    plan_out, _ = capsys.readouterr()
    assert code == 0
    left = {c["address"] for c in json.loads(plan_out)["changes"] if c["action"] != "no-op"}
    assert not applied & left, (applied, left)
    assert not_attempted <= left, (not_attempted, left)
    assert settle(server.sandbox, late) == []
    assert server.apply(etl() + sla) == 0
    log = server.sandbox.log.snapshot()
    grants = [e.params.get("name") for e in log if e.action == "addPermission"]
    assert sorted(grants) == ["metrics", "reader"], grants  # reader's never again
    assert server.plan_is_empty()


def _addresses(report: str, status: str) -> list[str]:
    return [
        line.strip()[len(status) :].split()[0]
        for line in report.splitlines()
        if line.strip().startswith(status)
    ]
