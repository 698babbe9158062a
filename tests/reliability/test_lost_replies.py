"""Writes whose reply was lost: checked by a read, never sent twice.

The connection breaks after the server acted (a reset, or a reply later than the timeout), so
the write happened though apply never heard so. The request log must show one request of that
kind and the server exactly one result: one project, one new version, one schedule with its
SLA. A write the reads do not show done is not sent again within the apply (its outcome is
unknown: tests/reliability/test_unknown_outcomes.py); the next apply decides.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from azstate.archive import build_zip, content_digest_from_dir, content_digest_from_zip
from azstate.sandbox.server import LateReply, SandboxServer
from azstate.wire.client import AzkabanClient
from tests.reliability.matrix import TIMEOUT, StepServer, settle

ETL = """
[projects.etl]
description = "ETL"
source = "{source}"

[projects.etl.schedules.daily]
cron = "{cron}"
sla.emails = ["sla@example.com"]
sla.rules = [{{ rule = "SUCCESS", duration = "2h", email = true }}]
"""
HOURLY = """
[projects.etl.schedules.hourly]
cron = "0 0 * ? * *"
"""
OLD = """
[projects.oldproj]
description = "to be pruned"
"""
DAILY_2AM, DAILY_3AM = "0 0 2 ? * *", "0 0 3 ? * *"


SOURCES = {
    "v1": {"daily": ["extract", "load"], "hourly": ["ping"]},
    "v2": {"daily": ["extract", "load", "report"], "hourly": ["ping"]},
    "v3": {"daily": ["other"], "hourly": ["ping"]},
}


class Server(StepServer):
    """StepServer, whose next call of one kind can be made to lose its reply."""

    late: LateReply | None = None

    def lose(self, kind: str, path: str, action: str) -> None:
        """The next ``action`` acts on the server, but its reply is reset or comes after the
        client gave up. A slow one acts a fifth of apply's grace period (twice the timeout)
        after that, so apply's first look usually finds nothing and it has to look again."""
        self.late = LateReply(after=2 * TIMEOUT / 5) if kind == "slow" else None
        self.sandbox.faults.add(kind, path=path, action=action, on_fire=self.late)

    def apply(self, body: str, *args: str, timeout: float = 30) -> int:
        code = super().apply(body, *args, timeout=timeout)
        if self.late is not None:
            assert settle(self.sandbox, self.late) == []
            self.late = None
        return code

    def etl_schedules(self) -> list[int]:
        return [s.schedule_id for s in self.client.fetch_schedules() if s.project_name == "etl"]


@pytest.fixture
def server(azkaban_env: SandboxServer, tmp_path: Path) -> Server:
    return Server(azkaban_env, tmp_path, SOURCES)


def etl(source: str = "v1", cron: str = DAILY_2AM) -> str:
    return ETL.format(source=source, cron=cron)


@pytest.fixture(params=["reset_after", "slow"])
def lost(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_create(server: Server, lost: str) -> None:
    server.lose(lost, "/manager", "create")
    assert server.apply(etl(), timeout=TIMEOUT) == 0
    assert server.sent("create") == 1
    assert [p.name for p in server.client.fetch_all_projects()] == ["etl"]
    assert server.client.project_version("etl")[1] == 1
    assert server.plan_is_empty()


def test_upload(server: Server, lost: str) -> None:
    assert server.apply(etl("v1")) == 0
    server.sandbox.log.clear()
    server.lose(lost, "/manager", "upload")
    assert server.apply(etl("v2"), timeout=TIMEOUT) == 0
    assert server.sent("upload") == 1
    assert server.client.project_version("etl")[1] == 2
    live = content_digest_from_zip(server.client.download("etl"))
    assert live == content_digest_from_dir(server.root / "v2")
    assert server.plan_is_empty()


def test_schedule(server: Server, lost: str) -> None:
    """scheduleCronFlow replaces the flow's schedule in place, so sending it again is safe;
    what matters is one schedule, the same id, and its SLA (which rides in the same call)."""
    assert server.apply(etl(cron=DAILY_2AM)) == 0
    before = server.etl_schedules()
    server.lose(lost, "/schedule", "scheduleCronFlow")
    assert server.apply(etl(cron=DAILY_3AM), timeout=TIMEOUT) == 0
    assert server.etl_schedules() == before
    project_id = server.client.get_project_id("etl")
    assert project_id is not None
    daily = server.client.fetch_schedule(project_id, "daily")
    assert daily is not None and daily.value.cron.split()[2] == "3"
    assert server.client.sla_info(daily.schedule_id) is not None
    assert server.plan_is_empty()


def test_remove_schedule(server: Server, lost: str) -> None:
    assert server.apply(etl() + HOURLY) == 0
    server.sandbox.log.clear()
    server.lose(lost, "/schedule", "removeSched")
    assert server.apply(etl(), timeout=TIMEOUT) == 0
    assert server.sent("removeSched") == 1
    schedules = [s.flow for s in server.client.fetch_schedules() if s.project_name == "etl"]
    assert schedules == ["daily"]
    assert server.plan_is_empty()


def test_delete(server: Server, lost: str) -> None:
    assert server.apply(etl() + OLD) == 0
    server.sandbox.log.clear()
    server.lose(lost, "/manager", "delete")
    assert server.apply(etl(), timeout=TIMEOUT) == 0
    assert server.sent("delete") == 1
    assert [p.name for p in server.client.fetch_all_projects()] == ["etl"]
    assert server.plan_is_empty()


def test_upload_dropped_before_the_server_acted_is_left_to_the_next_apply(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """The version did not move, but a server still working on the upload looks the same:
    it is not sent again (its outcome is unknown); the next apply sees it missing, sends it."""
    assert server.apply(etl("v1")) == 0
    server.sandbox.log.clear()
    capsys.readouterr()
    server.sandbox.faults.add("reset_before", path="/manager", action="upload")
    assert server.apply(etl("v2"), timeout=TIMEOUT) == 1
    out, _ = capsys.readouterr()
    assert "outcome unknown    project.etl.files" in out, out
    assert server.sent("upload") == 1  # the dropped one only
    assert server.client.project_version("etl")[1] == 1
    assert server.apply(etl("v2")) == 0
    assert server.sent("upload") == 2
    assert server.client.project_version("etl")[1] == 2
    assert server.plan_is_empty()


def test_upload_not_repeated_when_the_version_moved_meanwhile(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """Someone else uploads between our request and its lost reply: ours is not sent again
    over theirs; apply stops naming the files, and a plan shows the server as it is now."""
    assert server.apply(etl("v1")) == 0
    capsys.readouterr()
    other = AzkabanClient(server.sandbox.url, "azkaban", SecretStr("azkaban"))
    theirs = build_zip(server.root / "v3")
    server.sandbox.log.clear()
    server.sandbox.faults.add(
        "reset_before",
        path="/manager",
        action="upload",
        on_fire=lambda: other.upload("etl", theirs, filename="theirs.zip"),
    )
    assert server.apply(etl("v2"), timeout=TIMEOUT) == 1
    out, err = capsys.readouterr()
    assert "project.etl.files" in out + err and "moved to version 2" in out + err, out + err
    assert "Traceback" not in out + err
    assert err.splitlines()[-1].startswith("Error: apply did not complete")
    assert server.sent("upload") == 2  # ours, dropped, and theirs; ours never again
    assert server.client.project_version("etl")[1] == 2
    live = content_digest_from_zip(server.client.download("etl"))
    assert live == content_digest_from_dir(server.root / "v3")
    assert server.apply(etl("v2")) == 0
    assert server.plan_is_empty()
