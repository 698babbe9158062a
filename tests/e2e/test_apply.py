"""`azstate apply` end to end against the sandbox: what it sends, in which order, and when not.

The sandbox's request log is the witness: a dry run, a refused apply or a second apply must
leave no state-changing request in it, and the calls a dry run prints must be the very calls
apply then sends.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from azstate.sandbox.server import SandboxServer
from azstate.state import Perm, ScheduleValue
from azstate.wire import calls
from tests.e2e.workspace import DAILY, ETL, SLA, Result, Workspace, flow10, flow20

READER = """
[projects.etl.permissions]
users = { reader = ["read"] }
groups = { analysts = ["read", "execute"] }
"""
FULL = ETL + DAILY + SLA + READER


def apply(ws: Workspace, *args: str) -> Result:
    return ws.run("apply", "-c", str(ws.config), *args)


def writes(ws: Workspace) -> list[tuple[str, str | None, dict[str, str]]]:
    """The state-changing requests the sandbox answered, oldest first."""
    return [(e.path, e.action, e.params) for e in ws.sandbox.log.snapshot() if e.mutating]


def write_actions(ws: Workspace) -> list[str | None]:
    return [action for _, action, _ in writes(ws)]


def save_plan(ws: Workspace, *args: str) -> Path:
    path = ws.root / "tfplan.json"
    result = ws.run("plan", "-c", str(ws.config), "--out", str(path), *args)
    assert result.code == 0, result.err
    return path


def _pid(ws: Workspace, name: str) -> int:
    return next(p.project_id for p in ws.client().fetch_all_projects() if p.name == name)


# --- dry run ------------------------------------------------------------------------------------


def test_dry_run_prints_the_calls_apply_then_sends(ws: Workspace) -> None:
    ws.write(FULL)
    ws.sandbox.log.clear()
    text = apply(ws, "--dry-run")
    as_json = apply(ws, "--dry-run", "--format", "json")
    assert text.code == 0 and as_json.code == 0, text.err + as_json.err
    assert writes(ws) == []
    assert ws.client().fetch_all_projects() == []

    planned: list[dict[str, Any]] = json.loads(as_json.out)
    lines = text.out.splitlines()
    assert len(lines) == len(planned) == 5
    assert lines[0] == "POST /manager action=create name=etl description='Nightly ETL'"
    upload = planned[1]["upload"]
    assert lines[1] == (
        f"POST /manager ajax=upload project=etl file=etl.zip size={upload['size']} "
        f"zip_sha256={upload['sha256']}"
    )

    ws.sandbox.log.clear()
    ws.apply()
    sent = writes(ws)
    assert len(sent) == len(planned)
    for call, (path, _, params) in zip(planned, sent, strict=True):
        assert call["path"] == path
        assert {k: v for k, v in params.items() if k != "file"} == call["params"]
    # The upload line names the exact bytes the server now holds.
    client = ws.client()
    _, version = client.project_version("etl")
    stored = client.download("etl", version)
    assert (len(stored), hashlib.sha256(stored).hexdigest()) == (upload["size"], upload["sha256"])
    assert sent[1][2]["file"] == upload["name"] == "etl.zip"


def test_dry_run_of_a_saved_plan_sends_nothing(ws: Workspace) -> None:
    ws.write(ETL + DAILY)
    ws.apply()
    ws.write(ETL.replace("Nightly", "Daily") + DAILY.replace("0 0 2", "0 0 3"))
    path = save_plan(ws)
    ws.sandbox.log.clear()
    result = ws.run("apply", str(path), "--dry-run")
    assert result.code == 0, result.err
    assert [line.split()[2] for line in result.out.splitlines()] == [
        "ajax=changeDescription",
        "ajax=scheduleCronFlow",
    ]
    assert writes(ws) == []


# --- approval -----------------------------------------------------------------------------------


def test_without_a_terminal_apply_needs_auto_approve(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.write(FULL)
    monkeypatch.setattr(sys, "stdin", io.StringIO("yes\n"))  # piped, even saying yes
    ws.sandbox.log.clear()
    result = apply(ws)
    assert result.code == 1
    assert "--auto-approve" in result.err and "terminal" in result.err
    assert "Traceback" not in result.err
    assert writes(ws) == []
    assert ws.client().fetch_all_projects() == []


def test_apply_of_a_saved_plan_needs_no_approval(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.write(FULL)
    path = save_plan(ws)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    result = ws.run("apply", str(path))
    assert result.code == 0, result.err
    assert "Apply complete" in result.out
    ws.assert_converged()
    live = ws.client().fetch_schedule(_pid(ws, "etl"), "daily")
    assert live is not None and ws.client().sla_info(live.schedule_id) is not None


# --- stale saved plans --------------------------------------------------------------------------


def _stale(ws: Workspace, path: Path) -> Result:
    ws.sandbox.log.clear()
    result = ws.run("apply", str(path))
    assert result.code == 1, result.out
    assert "stale" in result.err and "Traceback" not in result.err
    assert writes(ws) == []
    return result


def test_saved_plan_refused_when_the_server_changed(ws: Workspace) -> None:
    ws.write(ETL + DAILY + SLA)
    ws.apply()
    ws.write(ETL + DAILY.replace("0 0 2", "0 0 3") + SLA + READER)
    path = save_plan(ws)
    client = ws.client()
    client.send(calls.schedule_cron_flow("etl", "daily", ScheduleValue(cron="0 0 9 ? * *"), None))
    client.send(calls.add_permission("etl", "group", "intruders", frozenset({Perm.READ})))
    err = _stale(ws, path).err
    # The re-posted schedule lost its SLA, and an entry appeared that the plan never saw.
    assert "project.etl.schedule.daily (its live value changed on the server)" in err
    assert "project.etl.sla.daily (not in the plan, but it needs a change now)" in err
    assert "project.etl.permission.group.intruders (not in the plan, but it needs a" in err
    assert "project.etl.permission.user.reader" not in err
    assert "project.etl.files" not in err


def test_saved_plan_refused_when_the_configuration_changed(ws: Workspace) -> None:
    ws.write(ETL + DAILY)
    ws.apply()
    ws.write(ETL + DAILY.replace("0 0 2", "0 0 3"))
    path = save_plan(ws)
    ws.write(ETL + DAILY.replace("0 0 2", "0 0 4"))
    err = _stale(ws, path).err
    assert "the configuration or its sources changed" in err
    assert "project.etl.schedule.daily (the configuration now asks for something else)" in err

    ws.write(ETL + DAILY.replace("0 0 2", "0 0 3"))
    flow20(ws.root / "src" / "etl", {"daily": ["extract", "load"], "hourly": ["ping", "pong"]})
    err = _stale(ws, path).err
    assert "configuration or its sources" in err
    assert "project.etl.files (not in the plan, but it needs a change now)" in err


def test_saved_plan_refused_on_another_server(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.write(ETL + DAILY)
    path = save_plan(ws)
    with SandboxServer(data_dir=tmp_path / "other-data") as other:
        monkeypatch.setenv("AZKABAN_URL", other.url)
        result = ws.run("apply", str(path))
        assert result.code == 1
        assert ws.sandbox.url in result.err and other.url in result.err
        assert "make a new plan for this server" in result.err
        assert [e.action for e in other.log.snapshot()] == ["login"]  # nothing read from it
        assert ws.client().fetch_all_projects() == []


# --- failures -----------------------------------------------------------------------------------


def test_a_failed_call_stops_what_needs_it_and_the_rest_goes_on(ws: Workspace) -> None:
    flow10(ws.root / "src" / "legacy", {"a": [], "b": ["a"]})
    ws.write(
        FULL
        + """
    [projects.legacy]
    description = "Flow 1.0"
    [projects.plain]
    description = "no files"
    [projects.plain.permissions]
    users = { reader = ["read"] }
    """
    )
    ws.sandbox.faults.add("error200", path="/manager", action="upload")
    result = apply(ws, "--auto-approve")
    assert result.code == 1
    rows = {
        line.split()[1] if line.split()[0] != "not" else line.split()[2]: line.split("  ")[1]
        for line in result.out.splitlines()
        if line.startswith("  ") and " project." in line and "sent)" in line
    }
    assert rows == {
        "project.etl": "applied",
        "project.etl.files": "failed",
        "project.etl.schedule.daily": "not attempted",
        "project.etl.sla.daily": "not attempted",
        "project.etl.permission.group.analysts": "applied",  # needs only the project
        "project.etl.permission.user.reader": "applied",
        "project.legacy": "applied",
        "project.plain": "applied",
        "project.plain.permission.user.reader": "applied",
    }
    failed = next(line for line in result.out.splitlines() if "project.etl.files (" in line)
    # The call and the server's own words, on the failed change's line.
    assert "POST /manager upload: Injected fault" in failed
    assert "6 applied, 1 failed, 2 not attempted." in result.out
    assert "1 failed" in result.err and "2 not attempted" in result.err
    assert "needs project.etl.files, which did not happen" in result.out
    assert write_actions(ws).count("scheduleCronFlow") == 0
    names = {p.name for p in ws.client().fetch_all_projects()}
    assert names == {"etl", "legacy", "plain"}

    ws.sandbox.log.clear()
    ws.apply()  # applying again repairs what was left
    assert "create" not in write_actions(ws)
    ws.assert_converged()


def test_a_failed_schedule_stops_its_sla_and_every_removal_but_not_the_other_flow(
    ws: Workspace,
) -> None:
    ws.write(ETL + DAILY + SLA)
    ws.apply()
    client = ws.client()
    client.schedule_cron_flow("etl", "hourly", ScheduleValue(cron="0 0 * ? * *"))
    client.add_permission("etl", "user", "reader", frozenset({Perm.READ}))
    ws.write(
        ETL
        + DAILY.replace("0 0 2", "0 0 3")
        + SLA.replace('"2h"', '"3h"')
        + '[projects.etl.permissions]\ngroups = { analysts = ["read"] }\n'
        + '[projects.etl.schedules.hourly]\ncron = "0 30 * ? * *"\n'
    )
    ws.sandbox.faults.add("error200", path="/schedule", action="scheduleCronFlow")
    result = apply(ws, "--auto-approve")
    assert result.code == 1, result.out
    lines = {
        line.split("(")[0].split()[-1]: line for line in result.out.splitlines() if "sent)" in line
    }
    assert "failed" in lines["project.etl.schedule.daily"]  # the first scheduleCronFlow
    assert "not attempted" in lines["project.etl.permission.user.reader"]  # a removal
    assert "not attempted" in lines["project.etl.sla.daily"]
    assert "applied" in lines["project.etl.schedule.hourly"]
    assert "applied" in lines["project.etl.permission.group.analysts"]
    live = {s.flow: s.cron for s in client.fetch_schedules()}
    assert live == {"daily": "0 0 2 ? * *", "hourly": "0 30 * ? * *"}  # nothing lost
    assert "reader" in next(p for p in client.fetch_all_projects()).user_permissions
    ws.apply()
    ws.assert_converged()


# --- order and idempotence ----------------------------------------------------------------------


def test_calls_for_a_new_project_come_in_dependency_order(ws: Workspace) -> None:
    ws.write(FULL)
    ws.sandbox.log.clear()
    ws.apply()
    sent = writes(ws)
    assert [action for _, action, _ in sent] == [
        "create",
        "upload",
        "scheduleCronFlow",
        "addPermission",
        "addPermission",
    ]
    create, schedule = sent[0][2], sent[2][2]
    assert create["description"] == "Nightly ETL"  # the description goes with the create
    assert schedule["slaSettings[0]"] == ",SUCCESS,2:00,true,false"
    assert schedule["slaEmails"] == "ops@example.com"

    flow20(ws.root / "src" / "etl", {"daily": ["extract", "load"], "hourly": ["ping", "pong"]})
    ws.write(
        ETL.replace("Nightly ETL", "Changed")
        + DAILY.replace("0 0 2", "0 0 5")
        + SLA
        + READER.replace('["read"]', '["read", "write"]')
    )
    ws.sandbox.log.clear()
    ws.apply()
    assert write_actions(ws) == [
        "upload",
        "changeDescription",
        "scheduleCronFlow",
        "changePermission",
    ]


def test_removals_come_after_the_changes_they_would_break(ws: Workspace) -> None:
    ws.write(FULL + '\n[projects.etl.schedules.hourly]\ncron = "0 0 * ? * *"\n')
    ws.apply()
    ws.client().send(calls.create_project("etl-old", "left over"))
    ws.write('[azstate]\nprune = ["etl-*"]\n' + ETL + DAILY + "\n[projects.etl.permissions]\n")
    ws.sandbox.log.clear()
    ws.apply()
    etl = [a for _, a, p in writes(ws) if "etl" in (p.get("project"), p.get("projectName"))]
    removed = ["removeSched" for _, a, _ in writes(ws) if a == "removeSched"]
    assert etl + removed == [
        "scheduleCronFlow",  # the SLA is cleared by re-posting its schedule without one
        "changePermission",
        "changePermission",
        "removeSched",
    ]
    assert write_actions(ws).index("removeSched") > write_actions(ws).index("changePermission")
    assert [p["project"] for _, a, p in writes(ws) if a == "delete"] == ["etl-old"]
    ws.assert_converged()


def test_applying_the_same_configuration_twice_changes_nothing(ws: Workspace) -> None:
    flow10(ws.root / "src" / "legacy", {"a": [], "b": ["a"], "c": ["a"]})
    ws.write(
        ETL.replace('"Nightly ETL"', """'Nightly <ETL> & "friends" é'""")
        + """
    [projects.etl.schedules.daily]
    cron = "0  0  2  ?  *  mon-fri"
    concurrent = "pipeline"
    pipeline_level = 2
    failure_emails = ["b@example.com", "a@example.com"]
    disabled_jobs = ["extract"]
    parameters = { env = "prod" }
    [projects.etl.schedules.daily.sla]
    emails = ["ops@example.com", "lead@example.com"]
    rules = [
      { rule = "FINISH", duration = "1h30m", email = true, kill = true },
      { job = "load", rule = "SUCCESS", duration = "2:00", kill = true },
    ]
    [projects.etl.permissions]
    users = { reader = ["read", "admin"] }
    groups = { analysts = ["execute", "read"] }
    [projects.legacy]
    description = "Flow 1.0"
    source = "src/legacy"
    [projects.legacy.schedules.b]
    cron = "0 0 5 ? * *"
    """
    )
    ws.apply()
    ws.sandbox.log.clear()
    second = ws.apply()
    assert writes(ws) == []
    assert "No changes." in second.out
    assert not any(e.method == "GET" and e.action == "download" for e in ws.sandbox.log.snapshot())


def test_saved_plan_refused_once_someone_else_applied_it(ws: Workspace) -> None:
    ws.write(ETL + DAILY)
    path = save_plan(ws)
    ws.apply()
    err = _stale(ws, path).err
    assert "project.etl.schedule.daily (in the plan, but it needs no change now)" in err
    assert len(ws.client().fetch_all_projects()) == 1


def test_saved_refresh_only_plan_applies_nothing(ws: Workspace) -> None:
    ws.write(ETL + DAILY)
    path = save_plan(ws, "--refresh-only")
    ws.sandbox.log.clear()
    result = ws.run("apply", str(path))
    assert result.code == 0, result.err
    assert writes(ws) == [] and ws.client().fetch_all_projects() == []


def test_apply_format_json_puts_one_json_report_on_stdout(ws: Workspace) -> None:
    ws.write(ETL + DAILY + SLA)
    result = apply(ws, "--auto-approve", "--format", "json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["summary"] == {"applied": 4, "failed": 0, "not_attempted": 0}
    assert report["server_matches_configuration"] is True
    assert {c["address"] for c in report["changes"]} >= {"project.etl", "project.etl.files"}
    assert report["plan"]["summary"]["create"] == 4  # the plan it applied, embedded
    # stderr: the plan as text, then one progress line per change (no terminal here)
    assert "Apply results:" not in result.err and "project.etl.files (create, 1 call sent)" in (
        result.err
    )

    ws.write(ETL.replace("Nightly ETL", "Nightly") + DAILY.replace("0 0 2", "0 0 4") + SLA)
    ws.sandbox.faults.add("error200", path="/schedule", action="scheduleCronFlow")
    result = apply(ws, "--auto-approve", "--format", "json")
    assert result.code == 1
    report = json.loads(result.out)
    assert report["summary"]["failed"] == 1 and report["server_matches_configuration"] is None
    failed = next(c for c in report["changes"] if c["status"] == "failed")
    assert failed["address"] == "project.etl.schedule.daily" and "Injected" in failed["message"]
