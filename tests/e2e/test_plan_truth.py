"""Issue 14 items 3, 5 (in part), 6 and 7 end to end: what a plan and an apply report say is true.

Deletions and prunes show what goes, read from the server; a target that names nothing is an
error; the summary shows only what azstate does; the apply report counts the failed call it
sent and says whether a re-run helps; descriptions converge whatever their white space; a value
that cannot be read stops the plan; a schedule whose options the server lost is repaired.
"""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from azstate.errors import AzkabanError
from azstate.resources.schedule import read_sla
from azstate.state import ScheduleValue
from azstate.wire import calls
from azstate.wire.client import AzkabanClient
from tests.e2e.workspace import DAILY, ETL, SLA, Workspace, plan, plan_json

PERMISSIONS = """
[projects.etl.permissions]
users = { reader = ["read"], azkaban = ["admin"] }
groups = { analysts = ["read", "execute"] }
"""
OPTIONS = """failure_emails = ["oncall@example.com"]
concurrent = "pipeline"
pipeline_level = 2
"""


def sent(ws: Workspace) -> list[str]:
    return [e.action or "" for e in ws.sandbox.log.snapshot()]


# --- item 3: deletions and prunes show what goes ----------------------------------------------


def test_a_pruned_project_shows_everything_it_holds(ws: Workspace) -> None:
    ws.write(ETL + DAILY + OPTIONS + SLA + PERMISSIONS)
    ws.apply()
    ws.write('[azstate]\nprune = ["et*"]\n')
    data = plan_json(ws)
    by_addr = {c["address"]: c for c in data["changes"]}
    assert {a: c["action"] for a, c in by_addr.items()} == {
        "project.etl": "delete",
        "project.etl.schedule.daily": "delete",
        "project.etl.sla.daily": "delete",
        "project.etl.permission.user.reader": "delete",
        "project.etl.permission.user.azkaban": "delete",
        "project.etl.permission.group.analysts": "delete",
    }
    project = by_addr["project.etl"]
    assert project["before"] == {"description": "Nightly ETL"}  # read from the server
    assert 'prune glob "et*"' in project["reason"]
    schedule = by_addr["project.etl.schedule.daily"]["before"]
    assert schedule["cron"] == "0 0 2 ? * *"
    assert schedule["failure_emails"] == ["oncall@example.com"]
    assert schedule["concurrent"] == "pipeline" and schedule["pipeline_level"] == 2
    sla = by_addr["project.etl.sla.daily"]["before"]
    assert sla["emails"] == ["ops@example.com"] and sla["rules"][0]["minutes"] == 120
    assert by_addr["project.etl.permission.group.analysts"]["before"] == {
        "perms": ["execute", "read"]
    }
    # One call deletes it all; the rest goes with it.
    assert [c["address"] for c in data["changes"] if c["calls"]] == ["project.etl"]
    # A refresh-only plan names the project once; what goes with it is no finding of its own.
    found = plan_json(ws, "--refresh-only")
    assert [c["address"] for c in found["changes"]] == ["project.etl"]
    assert found["changes"][0]["field_origins"] == {"": "unknown"}

    text = plan(ws)
    assert "(none)" not in text.out
    assert "oncall@example.com" in text.out and "ops@example.com" in text.out
    assert "the flow must succeed within 2h: email" in text.out
    assert 'prune glob "et*"' in text.out
    assert "Plan: 0 to create, 0 to update, 6 to delete." in text.out
    markdown = plan(ws, "--format", "markdown")
    assert "(none)" not in markdown.out
    assert "project.etl.permission.group.analysts" in markdown.out

    ws.apply()
    assert ws.client().fetch_all_projects() == []
    ws.assert_converged()


# --- item 5: summary, targets, the apply report -------------------------------------------------


def test_a_target_that_matches_nothing_is_an_error_naming_the_nearest(ws: Workspace) -> None:
    ws.write(ETL + DAILY)
    ws.apply()
    result = plan(ws, "--target", "project.etl.schedule.dialy")
    assert result.code == 1
    assert "--target project.etl.schedule.dialy matches nothing" in result.err
    assert "nearest: project.etl.schedule.daily" in result.err
    assert "Traceback" not in result.err
    result = plan(ws, "--target", "project.nosuch")
    assert result.code == 1 and "project.nosuch matches nothing" in result.err


def test_a_matched_target_without_changes_is_no_changes(ws: Workspace) -> None:
    ws.write(ETL + DAILY)
    ws.apply()
    result = plan(ws, "--detailed-exitcode", "--target", "project.etl.schedule.daily")
    assert result.code == 0, result.err
    assert "No changes." in result.out


def test_a_target_on_the_server_only_is_planned(ws: Workspace) -> None:
    """A schedule made by hand is not in the configuration, but it is on the server."""
    ws.write(ETL + DAILY)
    ws.apply()
    ws.client().schedule_cron_flow("etl", "hourly", ScheduleValue(cron="0 0 * ? * *"))
    data = plan_json(ws, "--target", "project.etl.schedule.hourly")
    assert [(c["address"], c["action"]) for c in data["changes"]] == [
        ("project.etl.schedule.hourly", "delete")
    ]


def test_a_refused_write_counts_its_call_and_says_fix_the_configuration(ws: Workspace) -> None:
    ws.write(ETL + '[projects.etl.permissions]\nusers = { nosuchuser = ["read"] }\n')
    result = ws.run("apply", "--auto-approve", "-c", str(ws.config))
    assert result.code == 1
    line = next(x for x in result.out.splitlines() if "permission.user.nosuchuser (" in x)
    assert line.split()[0] == "failed"
    assert "(create, 1 call sent)" in line
    assert "fix the configuration" in result.err
    assert "project.etl.permission.user.nosuchuser" in result.err
    assert "apply again" not in result.err and "repairs" not in result.err
    report = json.loads(
        ws.run("apply", "--auto-approve", "-c", str(ws.config), "--format", "json").out
    )
    failed = next(c for c in report["changes"] if c["status"] == "failed")
    assert failed["calls_sent"] == 1
    assert "fix the configuration" in report["next_step"]


def test_a_transient_failure_says_apply_again(ws: Workspace) -> None:
    ws.write(ETL + DAILY)
    ws.apply()
    ws.write(ETL + DAILY.replace("0 0 2", "0 0 3"))
    ws.sandbox.faults.add("reset_before", path="/schedule", action="scheduleCronFlow", times=None)
    result = ws.run("apply", "--auto-approve", "-c", str(ws.config))
    assert result.code == 1
    line = next(x for x in result.out.splitlines() if "schedule.daily (" in x)
    assert line.split()[:2] == ["transient", "failure"], line
    assert "fix the configuration" not in result.err
    assert "apply again" in result.err
    ws.sandbox.faults.clear()
    ws.apply()
    ws.assert_converged()


# --- item 6: descriptions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "description",
    [
        '"""\nNightly ETL\nloads the warehouse\n"""',  # a TOML multi-line string ends in \n
        '"  padded  "',
        '"tabs\\tand\\r\\nCRLF"',
        '"deploy 🚀 nightly, café ✅"',
        '"a<br/>b"',
    ],
)
def test_a_description_converges_whatever_its_white_space(ws: Workspace, description: str) -> None:
    ws.write(f"[projects.etl]\ndescription = {description}\n")
    ws.apply()
    ws.assert_converged()  # the first apply stored it; the plan after it is empty
    changed = description.replace("a<br/>b", "a<br>b").replace("Nightly", "Daily")
    if changed != description:
        ws.write(f"[projects.etl]\ndescription = {changed}\n")
        result = plan(ws, "--detailed-exitcode")
        assert result.code == (0 if "<br>" in changed else 2), result.out


def test_the_server_keeps_the_exact_text_sent(ws: Workspace) -> None:
    ws.write('[projects.etl]\ndescription = """\nline one\n  line two\n"""\n')
    ws.apply()
    assert ws.client().project_description("etl") == "line one\n  line two\n"


def test_validate_warns_about_what_the_page_cannot_show(ws: Workspace) -> None:
    ws.write('[projects.etl]\ndescription = "first<br/>second"\n')
    result = ws.run("validate", "-c", str(ws.config))
    assert result.code == 0
    assert "description" in result.out + result.err
    assert "<br>, <br/> and !NEWLINE!" in result.out + result.err
    ws.write('[projects.etl]\ndescription = "first\\nsecond\\n"\n')
    result = ws.run("validate", "-c", str(ws.config))
    assert "!NEWLINE!" not in result.out + result.err


# --- item 7: values that cannot be read, lost options ----------------------------------------


def test_a_project_the_user_cannot_read_stops_the_plan(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.write(
        ETL + DAILY + '[projects.etl.permissions]\nusers = { alice = ["write", "schedule"] }\n'
    )
    ws.apply()
    monkeypatch.setenv("AZKABAN_USERNAME", "alice")
    monkeypatch.setenv("AZKABAN_PASSWORD", "alice")
    result = plan(ws, "--detailed-exitcode")
    assert result.code == 1
    # the description comes from /index?all (no permission filter): the first read refused
    # is the files' version (or, for a project without a source, the project page)
    assert "reading project.etl" in result.err and "/manager" in result.err
    assert "No permission to" in result.err and "project etl" in result.err


def test_sla_info_without_read_says_read_is_missing(ws: Workspace) -> None:
    ws.write(ETL + DAILY + SLA + '[projects.etl.permissions]\nusers = { alice = ["write"] }\n')
    ws.apply()
    sid = next(s.schedule_id for s in ws.client().fetch_schedules())
    alice = AzkabanClient(ws.sandbox.url, "alice", SecretStr("alice"))
    alice.login()
    with pytest.raises(AzkabanError) as caught:
        read_sla(alice, sid, "etl")
    message = str(caught.value)
    assert "slaInfo" in message
    assert "user alice lacks READ permission on project etl" in message


def test_a_schedule_whose_options_were_lost_is_shown_and_repaired(ws: Workspace) -> None:
    ws.write(ETL + DAILY + SLA)
    ws.apply()
    # A re-post that fails in option parsing (slaEmails with slaAlerters: 500) leaves the
    # schedule with the new cron and executionOptions null (azkaban-api.md section 14).
    client = ws.client()
    bad = calls.schedule_cron_flow("etl", "daily", ScheduleValue(cron="0 0 4 ? * *"), None)
    params = (
        *bad.params,
        ("slaEmails", "a@example.com"),
        ("slaAlerters[email][recipients]", "a@example.com"),
    )
    with pytest.raises(AzkabanError):
        client.send(bad.model_copy(update={"params": params}))
    ws.sandbox.log.clear()
    data = plan_json(ws)
    assert "slaInfo" not in sent(ws)  # it would answer 500
    by_addr = {c["address"]: c for c in data["changes"]}
    schedule = by_addr["project.etl.schedule.daily"]
    assert schedule["action"] == "update" and schedule["before"]["no_options"] is True
    assert "lost this schedule's options" in schedule["reason"]
    text = plan(ws)
    assert "options: lost on the server (executionOptions null) → set again by the re-post" in (
        text.out
    )
    ws.apply()
    ws.assert_converged()
    assert next(iter(ws.client().fetch_schedules())).cron == "0 0 2 ? * *"
