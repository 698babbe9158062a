"""`azstate plan` end to end against the sandbox: what a reviewer sees, in every format.

The convergence tests prove that apply then plan is empty; these prove that the plan in between
says the right thing: each resource type and action in text and JSON, drift, prune, protect,
targets, refresh-only, exit codes, saved plans, the JSON contract and the refresh's call budget.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from azstate.state import Perm, ScheduleValue
from azstate.wire import calls
from tests.e2e.workspace import DAILY, ETL, HOURLY, SLA, Workspace, flow20, plan, plan_json

ROOT = Path(__file__).resolve().parents[2]

READER = """
[projects.etl.permissions]
users = { reader = ["read"] }
"""
FULL = ETL + DAILY + SLA + READER


def actions(data: dict[str, Any]) -> dict[str, str]:
    return {c["address"]: c["action"] for c in data["changes"]}


def mutations(ws: Workspace) -> list[tuple[str | None, dict[str, str]]]:
    return [(e.action, e.params) for e in ws.sandbox.log.snapshot() if e.mutating]


def validate_plan(data: dict[str, Any]) -> None:
    schema = json.loads((ROOT / "schema" / "plan.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(data)


def symbol_lines(text: str) -> dict[str, str]:
    """'    + project.etl will be created' -> {'project.etl': '+'}, from the actions section."""
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] in ("+", "~", "-", "-/+") and parts[2] == "will":
            out[parts[1]] = parts[0]
    return out


# --- each resource type and action ------------------------------------------------------------


def test_create_of_every_resource_type(ws: Workspace) -> None:
    ws.write(FULL)
    ws.sandbox.log.clear()
    result = plan(ws, "--detailed-exitcode")
    assert result.code == 2
    assert symbol_lines(result.out) == {
        "project.etl": "+",
        "project.etl.files": "+",
        "project.etl.schedule.daily": "+",
        "project.etl.sla.daily": "+",
        "project.etl.permission.user.reader": "+",
    }
    assert "Plan: 5 to create, 0 to update, 0 to delete." in result.out
    assert 'description: "Nightly ETL"' in result.out
    assert "At 02:00" in result.out and "next: " in result.out and "PST" in result.out
    assert "the flow must succeed within 2h: email" in result.out
    assert mutations(ws) == []

    data = plan_json(ws)
    validate_plan(data)
    assert actions(data) == {a: "create" for a in symbol_lines(result.out)}
    assert data["summary"] == {"create": 5, "update": 0, "delete": 0}
    by_addr = {c["address"]: c for c in data["changes"]}
    assert by_addr["project.etl"]["after"] == {"description": "Nightly ETL"}
    assert by_addr["project.etl.schedule.daily"]["after"]["cron"] == "0 0 2 ? * *"
    assert by_addr["project.etl.sla.daily"]["after"]["rules"][0]["minutes"] == 120
    assert by_addr["project.etl.permission.user.reader"]["after"] == {"perms": ["read"]}
    upload = by_addr["project.etl.files"]["calls"][0]
    assert upload["upload"]["name"] == "etl.zip" and len(upload["upload"]["sha256"]) == 64


def test_update_of_every_resource_type(ws: Workspace) -> None:
    ws.write(FULL)
    ws.apply()
    flow20(ws.root / "src" / "etl", {"daily": ["extract", "load"], "hourly": ["ping", "pong"]})
    ws.write(
        ETL.replace("Nightly ETL", "Nightly ETL v2")
        + DAILY.replace("0 0 2", "0 30 3")
        + SLA.replace('"2h"', '"3h"')
        + READER.replace('["read"]', '["read", "execute"]')
    )
    ws.sandbox.log.clear()
    result = plan(ws)
    assert result.code == 0
    assert symbol_lines(result.out) == {
        "project.etl": "~",
        "project.etl.files": "~",
        "project.etl.schedule.daily": "~",
        "project.etl.sla.daily": "~",
        "project.etl.permission.user.reader": "~",
    }
    assert 'description: "Nightly ETL" → "Nightly ETL v2"' in result.out
    assert 'cron: "0 0 2 ? * *" → "0 30 3 ? * *"' in result.out
    assert "was: At 02:00" in result.out and "now: At 03:30" in result.out
    assert "perms: + execute" in result.out
    assert "every upload creates a new project version" in result.out
    # Only changed fields: the schedule's unchanged options are not listed.
    assert "failure_action" not in result.out
    assert "Plan: 0 to create, 5 to update, 0 to delete." in result.out
    assert mutations(ws) == []

    data = plan_json(ws)
    validate_plan(data)
    assert set(actions(data).values()) == {"update"} and len(data["changes"]) == 5
    sla = next(c for c in data["changes"] if c["address"] == "project.etl.sla.daily")
    assert (sla["before"]["rules"][0]["minutes"], sla["after"]["rules"][0]["minutes"]) == (120, 180)


def test_delete_of_every_resource_type(ws: Workspace) -> None:
    ws.write(FULL + HOURLY)
    ws.apply()
    ws.client().send(calls.create_project("etl-old", "left over"))
    ws.write('[azstate]\nprune = ["etl-*"]\n' + ETL + DAILY + "\n[projects.etl.permissions]\n")
    result = plan(ws)
    assert symbol_lines(result.out) == {
        "project.etl-old": "-",
        "project.etl-old.permission.user.azkaban": "-",  # goes with the project
        "project.etl.schedule.hourly": "-",
        "project.etl.sla.daily": "-",
        "project.etl.permission.user.reader": "-",
    }
    assert "Plan: 0 to create, 0 to update, 1 to delete." not in result.out
    assert "Plan: 0 to create, 0 to update, 5 to delete." in result.out
    assert "setSla cannot clear an SLA" in result.out

    data = plan_json(ws)
    validate_plan(data)
    assert set(actions(data).values()) == {"delete"}
    by_addr = {c["address"]: c for c in data["changes"]}
    assert [c["params"]["action"] for c in by_addr["project.etl.schedule.hourly"]["calls"]] == [
        "removeSched"
    ]
    assert by_addr["project.etl-old"]["calls"][0]["params"]["delete"] == "true"
    assert all(c["after"] is None for c in data["changes"])


def test_what_the_server_does_by_itself_is_shown_without_calls(ws: Workspace) -> None:
    hourly_sla = SLA.replace("daily", "hourly")
    ws.write(ETL + DAILY + SLA + HOURLY + hourly_sla)
    ws.apply()
    flow20(ws.root / "src" / "etl", {"daily": ["extract", "load"]})
    ws.write(ETL + DAILY.replace("0 0 2", "0 0 3") + SLA)
    result = plan(ws)
    assert symbol_lines(result.out) == {
        "project.etl.files": "~",
        "project.etl.schedule.daily": "~",
        "project.etl.schedule.hourly": "-",
        "project.etl.sla.hourly": "-",
    }
    assert "removed by the server with the new files: flow hourly is gone" in result.out
    assert "re-posting a schedule drops its SLA: the SLA is sent again" in result.out
    data = plan_json(ws)
    by_addr = {c["address"]: c for c in data["changes"]}
    assert by_addr["project.etl.schedule.hourly"]["calls"] == []
    assert by_addr["project.etl.sla.hourly"]["calls"] == []
    daily = by_addr["project.etl.schedule.daily"]["calls"][0]["params"]
    assert daily["slaSettings[0]"] == ",SUCCESS,2:00,true,false"
    # Consequences of the upload are no findings: only the files and the edited cron differ.
    found = plan_json(ws, "--refresh-only")
    assert [c["address"] for c in found["changes"]] == [
        "project.etl.files",
        "project.etl.schedule.daily",
    ]


# --- server edits, refresh-only, prune, protect, ownership --------------------------------------


def _edit_cron_behind_our_back(ws: Workspace) -> None:
    ws.client().send(
        calls.schedule_cron_flow("etl", "daily", ScheduleValue(cron="0 30 5 ? * *"), None)
    )


def test_schedule_edited_on_the_server_is_said_once_as_the_update(ws: Workspace) -> None:
    """Without a baseline nobody knows who moved the cron: no "changed outside" claim, one
    block with the server's value and the configured one."""
    ws.write(ETL + DAILY)
    ws.apply()
    _edit_cron_behind_our_back(ws)
    result = plan(ws, "--detailed-exitcode")
    assert result.code == 2
    assert "outside" not in result.out and "Drift" not in result.out
    assert result.out.count("project.etl.schedule.daily") == 1
    assert 'cron: "0 30 5 ? * *" → "0 0 2 ? * *"' in result.out
    assert symbol_lines(result.out) == {"project.etl.schedule.daily": "~"}

    data = plan_json(ws)
    validate_plan(data)
    assert data["format_version"] == "2" and "drift" not in data
    assert actions(data) == {"project.etl.schedule.daily": "update"}
    (change,) = data["changes"]
    assert change["origin"] == "unknown" and change["field_origins"] == {"cron": "unknown"}
    assert data["baseline"] is None and data["converged"] == []


def test_description_and_permission_edited_on_the_server_are_differences(ws: Workspace) -> None:
    ws.write(ETL + READER)
    ws.apply()
    client = ws.client()
    client.send(calls.change_description("etl", "edited in the UI"))
    client.send(calls.change_permission("etl", "user", "reader", frozenset({Perm.WRITE})))
    result = plan(ws, "--refresh-only")
    assert 'description: "edited in the UI" → "Nightly ETL"' in result.out
    assert "perms: - write, + read" in result.out
    assert "project.etl differs on the server" in result.out
    data = plan_json(ws)
    assert actions(data) == {
        "project.etl": "update",
        "project.etl.permission.user.reader": "update",
    }
    found = plan_json(ws, "--refresh-only")
    assert actions(found) == actions(data)


def test_refresh_only_reports_differences_and_changes_nothing(ws: Workspace) -> None:
    ws.write(ETL + DAILY)
    ws.apply()
    ws.sandbox.log.clear()
    quiet = plan(ws, "--refresh-only", "--detailed-exitcode")
    assert quiet.code == 0 and "No changes." in quiet.out

    _edit_cron_behind_our_back(ws)
    ws.write(ETL + DAILY.replace("0 0 2", "0 0 4"))
    ws.sandbox.log.clear()
    result = plan(ws, "--refresh-only", "--detailed-exitcode")
    assert result.code == 2
    assert result.out.startswith("Refresh-only plan for ")
    assert "project.etl.schedule.daily differs on the server" in result.out
    assert "will be updated" not in result.out and "Plan:" not in result.out
    assert "Found: 1 resource differs from the configuration." in result.out

    data = plan_json(ws, "--refresh-only")
    validate_plan(data)
    assert data["refresh_only"] is True
    assert [c["address"] for c in data["changes"]] == ["project.etl.schedule.daily"]
    assert all(c["calls"] == [] for c in data["changes"])
    assert data["summary"] == {"create": 0, "update": 0, "delete": 0}
    assert mutations(ws) == []


@pytest.mark.parametrize(
    ("body", "gone", "delete"),
    [
        (ETL + DAILY, "project.etl.schedule.daily", "remove_schedule"),
        (ETL + DAILY + SLA, "project.etl.sla.daily", "remove_sla"),
        (ETL + READER, "project.etl.permission.user.reader", "remove_permission"),
    ],
)
def test_refresh_only_sees_a_declared_resource_deleted_on_the_server(
    ws: Workspace, body: str, gone: str, delete: str
) -> None:
    """Issue 14: a declared schedule, SLA or permission deleted on the server was missed and
    the drift check exited 0."""
    ws.write(body)
    ws.apply()
    client = ws.client()
    if delete == "remove_schedule":
        (listed,) = client.fetch_schedules()
        client.send(calls.remove_schedule(listed.schedule_id))
    elif delete == "remove_sla":  # a re-post without the SLA drops it (as the UI's does)
        client.send(
            calls.schedule_cron_flow("etl", "daily", ScheduleValue(cron="0 0 2 ? * *"), None)
        )
    else:
        client.send(calls.change_permission("etl", "user", "reader", frozenset()))
    result = plan(ws, "--refresh-only", "--detailed-exitcode")
    assert result.code == 2, result.out + result.err
    assert f"{gone} is missing on the server" in result.out
    assert gone in [c["address"] for c in plan_json(ws, "--refresh-only")["changes"]]


def test_prune_deletes_matching_undeclared_projects_only(ws: Workspace) -> None:
    client = ws.client()
    for name in ("etl-old", "ETL-Older", "keep-me", "etl"):
        client.send(calls.create_project(name, "made by hand"))
    ws.write('[azstate]\nprune = ["etl-*"]\n[projects.etl]\ndescription = "made by hand"\n')
    data = plan_json(ws)
    assert actions(data) == {
        "project.ETL-Older": "delete",
        "project.ETL-Older.permission.user.azkaban": "delete",
        "project.etl-old": "delete",
        "project.etl-old.permission.user.azkaban": "delete",
    }

    ws.write('[projects.etl]\ndescription = "made by hand"\n')
    assert plan_json(ws)["changes"] == []


def test_pruned_project_takes_its_schedules_without_calls_of_their_own(ws: Workspace) -> None:
    ws.write(ETL.replace("etl]", "etl-old]") + DAILY.replace("etl.", "etl-old."))
    ws.apply()
    ws.write('[azstate]\nprune = ["etl-*"]\n')
    data = plan_json(ws)
    by_addr = {c["address"]: c for c in data["changes"]}
    assert actions(data) == {
        "project.etl-old": "delete",
        "project.etl-old.schedule.daily": "delete",
        "project.etl-old.permission.user.azkaban": "delete",
    }
    assert by_addr["project.etl-old.schedule.daily"]["calls"] == []
    assert "with the project" in by_addr["project.etl-old.schedule.daily"]["reason"]


def test_plan_that_deletes_a_protected_project_is_an_error(ws: Workspace) -> None:
    ws.client().send(calls.create_project("etl-old", "precious"))
    ws.write('[azstate]\nprune = ["etl-*"]\nprotect = ["etl-old"]\n')
    ws.sandbox.log.clear()
    result = plan(ws, "--detailed-exitcode")
    assert result.code == 1
    assert result.err.startswith("Error: ")
    assert "protected" in result.err and "etl-old" in result.err
    assert "Traceback" not in result.err
    assert mutations(ws) == []
    refused = ws.run("apply", "--auto-approve", "-c", str(ws.config))
    assert refused.code == 1 and "etl-old" in refused.err
    assert any(p.name == "etl-old" for p in ws.client().fetch_all_projects())


def test_applying_user_keeps_its_permission_unless_named(ws: Workspace) -> None:
    ws.write(ETL + READER)
    ws.apply()
    listing = next(p for p in ws.client().fetch_all_projects() if p.name == "etl")
    assert "azkaban" in listing.user_permissions  # the creator's ADMIN, never in the table
    assert plan_json(ws)["changes"] == []

    ws.write(ETL + READER.replace('["read"] }', '["read"], azkaban = ["read"] }'))
    refused = plan(ws)  # the applying user would lose its ADMIN: only when meant
    assert refused.code == 1 and "user azkaban (the applying user) loses ADMIN" in refused.err
    ws.write(
        ETL
        + READER.replace('["read"] }', '["read"], azkaban = ["read"] }')
        + "allow_admin_removal = true\n"
    )
    data = plan_json(ws)
    change = data["changes"][0]
    assert actions(data) == {"project.etl.permission.user.azkaban": "update"}
    assert (change["before"], change["after"]) == ({"perms": ["admin"]}, {"perms": ["read"]})


# --- targets, exit codes, saved plans, formats ---------------------------------------------------


def test_target_limits_the_plan_and_keeps_what_it_needs(ws: Workspace) -> None:
    ws.write(FULL + ETL.replace("etl]", "other]").replace("src/etl", "src/etl"))
    ws.sandbox.log.clear()
    data = plan_json(ws, "--target", "project.etl.schedule.daily")
    assert actions(data) == {
        "project.etl": "create",
        "project.etl.files": "create",
        "project.etl.schedule.daily": "create",
    }
    assert data["targets"] == ["project.etl.schedule.daily"]
    text = plan(ws, "--target", "project.etl.schedule.daily").out
    assert "Only the targeted resources are planned: project.etl.schedule.daily" in text

    ws.apply()
    ws.write(
        ETL.replace("Nightly ETL", "changed")
        + DAILY.replace("0 0 2", "0 0 3")
        + SLA.replace('"2h"', '"1h"')
    )
    data = plan_json(ws, "--target", "project.etl.sla.daily")
    # The SLA travels in the schedule's call, so targeting it brings the schedule along.
    assert actions(data) == {
        "project.etl.schedule.daily": "update",
        "project.etl.sla.daily": "update",
    }
    ws.sandbox.log.clear()
    result = plan(ws, "--target", "project.other")  # names nothing: an error, not "no changes"
    assert result.code == 1 and "project.other matches nothing" in result.err
    assert not any(e.params.get("project") == "etl" for e in ws.sandbox.log.snapshot())


def test_a_target_reads_and_plans_only_its_own_project(ws: Workspace) -> None:
    """Another project's drift is neither read nor shown: the targeted plan is the target's
    part of the whole plan, and only the target's event log and schedules are read."""
    other = ETL.replace("etl]", "other]")
    ws.write(ETL + DAILY + other)
    assert ws.apply().code == 0
    ws.client().change_description("other", "changed by hand")
    ws.write(ETL.replace("Nightly ETL", "changed") + DAILY + other)
    whole = plan_json(ws)
    assert actions(whole) == {"project.etl": "update", "project.other": "update"}
    ws.sandbox.log.clear()
    targeted = plan_json(ws, "--target", "project.etl")
    part = [c for c in whole["changes"] if c["address"] == "project.etl"]
    assert targeted["changes"] == part
    read = {
        e.params.get("project") or e.params.get("projectId")
        for e in ws.sandbox.log.snapshot()
        if e.action in ("fetchProjectLogs", "fetchSchedule")
    }
    ids = {p.name: str(p.project_id) for p in ws.client().fetch_all_projects()}
    assert "etl" in read and read <= {"etl", ids["etl"]}, read


def test_detailed_exitcode(ws: Workspace) -> None:
    ws.write(ETL + DAILY)
    assert plan(ws, "--detailed-exitcode").code == 2
    assert plan(ws).code == 0  # without the flag, changes are not an error
    ws.apply()
    converged = plan(ws, "--detailed-exitcode")
    assert converged.code == 0 and "No changes." in converged.out
    ws.write(ETL + DAILY + 'cron_typo = "x"\n')
    broken = plan(ws, "--detailed-exitcode")
    assert broken.code == 1 and "cron_typo" in broken.err and "Traceback" not in broken.err
    bad_target = plan(ws, "--detailed-exitcode", "--target", "project.etl.nonsense")
    assert bad_target.code == 1 and "invalid address" in bad_target.err


def test_saved_plan_shows_like_the_fresh_one(ws: Workspace) -> None:
    ws.write(ETL + DAILY)
    ws.apply()
    _edit_cron_behind_our_back(ws)
    ws.write(FULL)
    saved = ws.root / "tfplan.json"
    fresh = {fmt: plan(ws, "--format", fmt) for fmt in ("text", "json", "markdown")}
    result = plan(ws, "--out", str(saved))
    assert result.code == 0 and f"azstate apply {saved}" in result.err
    for fmt, expected in fresh.items():
        shown = ws.run("show", str(saved), "--format", fmt)
        assert shown.code == 0, shown.err
        assert shown.out == expected.out, fmt
    data = json.loads(saved.read_text())
    validate_plan(data)
    assert data["changes"] and data["config_digest"] and data["server"] == ws.sandbox.url
    assert all(c["fingerprint"] for c in data["changes"])
    shown = json.dumps(data).replace('"user": "azkaban"', "")
    assert "azkaban" not in shown.replace('"submitted_by": "azkaban"', "")
    unsaved = plan(ws, "--out", str(ws.root / "no-such-dir" / "plan.json"))
    assert unsaved.code == 1 and "cannot save the plan" in unsaved.err
    assert "Traceback" not in unsaved.err
    missing = ws.run("show", str(ws.root / "nope.json"))
    assert missing.code == 1 and "no such plan file" in missing.err


def test_markdown_of_a_big_plan_stays_under_the_comment_limit(ws: Workspace) -> None:
    body = ""
    for i in range(80):
        body += f"""
[projects.p{i:03}]
description = "Project number {i} with a description long enough to take some room"
source = "src/etl"
[projects.p{i:03}.permissions]
users = {{ alice = ["read", "execute"], bob = ["admin"] }}
groups = {{ analysts = ["read"] }}
[projects.p{i:03}.schedules.daily]
cron = "0 {i % 60} 2 ? * MON-FRI"
failure_emails = ["oncall@example.com", "team-{i}@example.com"]
[projects.p{i:03}.schedules.daily.sla]
emails = ["oncall@example.com"]
rules = [{{ rule = "SUCCESS", duration = "2h", email = true }},
         {{ job = "load", rule = "FINISH", duration = "1h30m", kill = true }}]
[projects.p{i:03}.schedules.hourly]
cron = "0 0 * ? * *"
"""
    ws.write(body)
    result = plan(ws, "--format", "markdown")
    assert result.code == 0
    md = result.out
    assert len(md) < 60_000
    assert md.startswith("## azstate plan")
    assert "| " in md.split("<details>")[0]  # the summary table comes first
    assert "<details>" in md
    assert "p000" in md
    assert "left out" in md.lower() or "not shown" in md.lower() or "omitted" in md.lower()
    text = plan(ws).out
    assert "Plan: 640 to create" in text


# --- what a refresh costs -----------------------------------------------------------------------


def test_refresh_makes_the_fewest_calls_and_reuses_digests(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow20(ws.root / "src" / "etl", {"a": ["x"], "b": ["y"], "c": ["z"]})
    projects = ("one", "two", "three")
    sla = '[projects.{p}.schedules.{f}.sla]\nemails = ["x@example.com"]\n' + (
        'rules = [{{ rule = "FINISH", duration = 30, kill = true }}]\n'
    )
    body = ""
    for p in projects:
        body += f'[projects.{p}]\ndescription = "d"\nsource = "src/etl"\n'
    schedules = {("one", "a"), ("one", "b"), ("two", "a"), ("three", "c")}
    slas = {("one", "a"), ("three", "c")}
    for p, f in sorted(schedules):
        body += f'[projects.{p}.schedules.{f}]\ncron = "0 0 1 ? * *"\n'
        if (p, f) in slas:
            body += sla.format(p=p, f=f)
    ws.write(body)
    ws.apply()

    monkeypatch.setenv("AZSTATE_CACHE_DIR", str(tmp_path / "cold-cache"))
    listings = {
        ("POST", "login"): 1,
        ("GET", "fetchallprojects"): 1,
        ("GET", "fetchSchedules"): 1,
        ("GET", None): 1,  # /index?all, every description
        ("GET", "fetchProjectLogs"): len(projects),  # the change tokens
    }
    full = {
        ("HEAD", "download"): len(projects),
        ("GET", "fetchSchedule"): len(schedules),
        ("GET", "slaInfo"): len(slas),
    }
    # cold caches (digests downloaded, tokens read); then warm: the tokens vouch for all
    for downloads, expected in ((len(projects), listings | full), (0, listings)):
        ws.sandbox.log.clear()
        assert plan(ws, "--detailed-exitcode").code == 0
        counts = Counter((e.method, e.action) for e in ws.sandbox.log.snapshot())
        assert counts.pop(("GET", "download"), 0) == downloads
        assert dict(counts) == expected
