"""azstate import against the sandbox: whatever state the server is in, the plan right after an
import is empty, and the written directory validates on its own."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from azstate.archive import build_zip
from azstate.sandbox.server import SandboxServer
from azstate.state import Perm, ScheduleValue, SlaRuleValue, SlaValue
from tests.e2e.workspace import Workspace, flow10, flow20

FULL = """
[projects.etl]
description = "Nightly <ETL> & \\"friends\\" é\\ttab"
source = "src/etl"

[projects.etl.permissions]
users = { reader = ["read", "execute"] }
groups = { analysts = ["read"], ops = ["admin"] }

[projects.etl.schedules.daily]
cron = "0 15 2 ? * MON-FRI"
concurrent = "pipeline"
pipeline_level = 2
failure_action = "cancel_all"
failure_emails = ["b@example.com", "a@example.com"]
success_emails = ["done@example.com"]
notify_on_first_failure = false
notify_on_last_failure = true
disabled_jobs = ["extract"]
parameters = { env = "prod", "with space" = "x=1" }

[projects.etl.schedules.daily.sla]
emails = ["sla@example.com"]
rules = [
  { rule = "SUCCESS", duration = "2h", email = true },
  { job = "load", rule = "FINISH", duration = "1h30m", kill = true },
]

[projects.etl.schedules.hourly]
cron = "0 0 * ? * *"
concurrent = "ignore"

[projects.legacy]
description = "Flow 1.0"
source = "src/legacy"

[projects.legacy.schedules.b]
cron = "0 0 5 L * ?"
failure_action = "finish_possible"
"""


@pytest.fixture
def ws(tmp_path: Path, azkaban_env: SandboxServer, capsys: pytest.CaptureFixture[str]) -> Workspace:
    flow20(tmp_path / "src" / "etl", {"daily": ["extract", "load"], "hourly": ["ping"]})
    flow10(tmp_path / "src" / "legacy", {"a": [], "b": ["a"]})
    return Workspace(tmp_path, azkaban_env, capsys)


def import_(ws: Workspace, *args: str) -> tuple[Path, str]:
    out = ws.root / "imported"
    result = ws.run("import", "--out", str(out), *args)
    assert result.code == 0, result.out + result.err
    return out, result.err


def assert_plans_empty(ws: Workspace, out: Path) -> None:
    valid = ws.run("validate", "-c", str(out))
    assert valid.code == 0, valid.err
    plan = ws.run("plan", "--detailed-exitcode", "-c", str(out))
    assert plan.code == 0, f"plan after import is not empty:\n{plan.out}\n{plan.err}"


def test_import_all_round_trips_every_option_sla_permission_and_description(
    ws: Workspace,
) -> None:
    ws.write(FULL)
    ws.apply()
    out, err = import_(ws, "--all")
    assert "Note" not in err  # everything here can be written down exactly
    assert_plans_empty(ws, out)

    text = (out / "azstate.toml").read_text()
    assert text.startswith("#:schema azstate.schema.json\n")
    assert (out / "azstate.schema.json").is_file()
    doc = tomllib.loads(text)
    assert list(doc["projects"]) == ["etl", "legacy"]  # name order
    etl = doc["projects"]["etl"]
    assert etl["description"] == 'Nightly <ETL> & "friends" é\ttab'
    assert etl["source"] == "projects/etl"
    assert etl["permissions"]["groups"] == {"analysts": ["read"], "ops": ["admin"]}
    daily = etl["schedules"]["daily"]
    assert daily["failure_emails"] == ["a@example.com", "b@example.com"]
    assert daily["parameters"] == {"env": "prod", "with space": "x=1"}
    assert {r["duration"] for r in daily["sla"]["rules"]} == {"2h", "1h30m"}
    assert (out / "projects" / "etl" / "daily.flow").is_file()
    assert (out / "projects" / "legacy" / "b.job").is_file()


def test_import_some_projects_by_name_ignoring_case(ws: Workspace) -> None:
    ws.write(FULL)
    ws.apply()
    out, _ = import_(ws, "--project", "LEGACY")
    doc = tomllib.loads((out / "azstate.toml").read_text())
    assert list(doc["projects"]) == ["legacy"]
    assert not (out / "projects" / "etl").exists()
    assert_plans_empty(ws, out)


def test_unknown_project_is_a_clear_error_and_writes_nothing(ws: Workspace) -> None:
    out = ws.root / "imported"
    result = ws.run("import", "--out", str(out), "--project", "nope")
    assert result.code == 1
    assert "no such project on the server: nope" in result.err
    assert "Traceback" not in result.err
    assert not (out / "azstate.toml").exists()


def test_state_made_by_hand_through_the_api_round_trips(ws: Workspace) -> None:
    """Projects as a team makes them in the UI: one with no upload yet, one whose schedule and
    SLA were set with separate calls, permissions for a user and a group."""
    client = ws.client()
    client.create_project("bare", "created in the UI, nothing uploaded")
    client.create_project("handmade", "uploaded by hand")
    data = build_zip(ws.root / "src" / "etl")
    client.upload("handmade", data)
    sid = client.schedule_cron_flow(
        "handmade",
        "hourly",
        ScheduleValue(cron="0 */15 * ? * *", success_emails=frozenset({"x@example.com"})),
    )
    client.set_sla(
        sid,
        SlaValue(
            emails=frozenset({"sla@example.com"}),
            rules=frozenset(
                {SlaRuleValue(job="ping", rule="FINISH", minutes=45, email=True, kill=True)}
            ),
        ),
    )
    client.add_permission("handmade", "user", "reader", frozenset({Perm.READ, Perm.SCHEDULE}))
    client.add_permission("handmade", "group", "night-shift", frozenset({Perm.EXECUTE}))
    out, err = import_(ws, "--all")
    assert "Note" not in err
    doc = tomllib.loads((out / "azstate.toml").read_text())
    assert "source" not in doc["projects"]["bare"]
    assert not (out / "projects" / "bare").exists()
    rules = doc["projects"]["handmade"]["schedules"]["hourly"]["sla"]["rules"]
    assert rules == [
        {"job": "ping", "rule": "FINISH", "duration": "45m", "email": True, "kill": True}
    ]
    assert_plans_empty(ws, out)


def test_what_the_toml_cannot_hold_is_said_on_stderr_and_in_a_comment(ws: Workspace) -> None:
    client = ws.client()
    client.create_project("odd", "placeholder")
    client.change_description("odd", "")  # changeDescription takes what create refuses
    out, err = import_(ws, "--all")
    assert "Note:" in err and "the server has no description" in err
    text = (out / "azstate.toml").read_text()
    assert "# project odd: the server has no description" in text
    assert ws.run("validate", "-c", str(out)).code == 0  # a placeholder keeps the file valid


def test_import_is_rerunnable_over_its_own_output(ws: Workspace) -> None:
    ws.write(FULL)
    ws.apply()
    out, _ = import_(ws, "--all")
    stale = out / "projects" / "etl" / "removed.flow"
    stale.write_text("nodes: []\n")
    out, _ = import_(ws, "--all")
    assert not stale.exists()  # a project's directory is written afresh
    assert_plans_empty(ws, out)
