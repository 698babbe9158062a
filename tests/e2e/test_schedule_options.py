"""Round trips of every option Azkaban keeps for a schedule, against the sandbox.

Each test sets options the way another tool would (the AJAX API, Azkaban's own spellings),
imports, checks the plan is empty, changes one thing in the imported TOML, applies, and reads
the schedule back with fetchSchedule / slaInfo: the one thing changed, everything else kept.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from azstate.plan import Call
from azstate.sandbox.server import SandboxServer
from azstate.state import Perm
from azstate.wire.client import AzkabanClient
from tests.e2e.test_import import (
    assert_plans_empty,
    import_,
    notes,
    planned_changes,
    uploaded,
)
from tests.e2e.workspace import (
    Workspace,
    flow20,
    raw_fetch_schedule,
    raw_schedule,
    raw_schedule_call,
)

# start -> sub (embedded: inner1 -> inner2) -> done
MAIN = """nodes:
  - name: start
    type: command
    config:
      command: echo start
  - name: sub
    type: flow
    dependsOn:
      - start
    nodes:
      - name: inner1
        type: command
        config:
          command: echo 1
      - name: inner2
        type: command
        dependsOn:
          - inner1
        config:
          command: echo 2
  - name: done
    type: command
    dependsOn:
      - sub
    config:
      command: echo done
"""
# project etl with flow main scheduled at 01:00, what the hand-made schedules here post
MAIN_DAILY = """
[projects.etl]
description = "d"
source = "src/etl"
schedules.main.cron = "0 0 1 ? * *"
"""


@pytest.fixture
def ws(tmp_path: Path, azkaban_env: SandboxServer, capsys: pytest.CaptureFixture[str]) -> Workspace:
    flows = {"basic": ["jobA", "jobB"], "alpha": ["extract", "load"]}
    src = flow20(tmp_path / "src" / "etl", flows)
    (src / "main.flow").write_text(MAIN)
    return Workspace(tmp_path, azkaban_env, capsys)


def post(client: AzkabanClient, ajax: str, *params: tuple[str, str]) -> dict[str, Any]:
    reply = client.send(Call(method="POST", path="/schedule", params=(("ajax", ajax), *params)))
    body: dict[str, Any] = reply.json
    assert "error" not in body and body.get("status") != "error", body
    return body


def schedule(client: AzkabanClient, flow: str, *params: tuple[str, str]) -> int:
    return raw_schedule(client, "etl", flow, *params, cron="0 0 1 ? * *")


def project_id(client: AzkabanClient) -> int:
    return client.project_version("etl")[0]


def fetched(client: AzkabanClient, flow: str) -> dict[str, Any]:
    """fetchSchedule's `schedule`, without what changes on every post."""
    sched = raw_fetch_schedule(client, project_id(client), flow)
    for moving in ("firstSchedTime", "nextExecTime"):
        sched.pop(moving, None)
    return sched


def sla_info(client: AzkabanClient, schedule_id: int) -> dict[str, Any]:
    reply = client.send(
        Call(
            method="GET",
            path="/schedule",
            params=(("ajax", "slaInfo"), ("scheduleId", str(schedule_id))),
            mutating=False,
        )
    )
    body: dict[str, Any] = reply.json
    return body


def toml_of(out: Path) -> dict[str, Any]:
    return tomllib.loads((out / "azstate.toml").read_text())


def edit(out: Path, old: str, new: str) -> None:
    path = out / "azstate.toml"
    text = path.read_text()
    assert old in text, f"{old!r} not in\n{text}"
    path.write_text(text.replace(old, new, 1))


def apply_imported(ws: Workspace, out: Path) -> dict[str, Any]:
    """Apply the imported directory; the plan it applied, as JSON."""
    plan = ws.run("plan", "--format", "json", "-c", str(out))
    assert plan.code == 0, plan.out + plan.err
    result = ws.run("apply", "--auto-approve", "-c", str(out))
    assert result.code == 0, result.out + result.err
    again = ws.run("plan", "--detailed-exitcode", "-c", str(out))
    assert again.code == 0, f"plan after apply is not empty:\n{again.out}\n{again.err}"
    data: dict[str, Any] = json.loads(plan.out)
    return data


def change_of(plan: dict[str, Any], address: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in plan["changes"] if c["address"] == address)
    return found


def without(options: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k not in keys}


# -- the round trips -----------------------------------------------------------------------


def test_runtime_properties_mail_creator_and_non_overriding_emails_survive_a_cron_change(
    ws: Workspace,
) -> None:
    client = ws.client()
    uploaded(ws, client, "etl")
    schedule(
        client,
        "main",
        ("runtimeProperty[ROOT][env]", "prod"),
        ("runtimeProperty[start][memory]", "2g"),
        ("runtimeProperty[sub:inner1][depth]", "5"),
        ("mailCreator", "custom-creator"),
        ("failureEmails", "f1@example.com,f2@example.com"),
        ("failureEmailsOverride", "false"),
        ("successEmails", "s1@example.com"),
        ("successEmailsOverride", "false"),
        ("failureActionOverride", "true"),
        ("backExecuteOnce", "true"),
    )
    before = fetched(client, "main")
    out, err = import_(ws, "--all")
    assert notes(err) == []
    main = toml_of(out)["projects"]["etl"]["schedules"]["main"]
    assert main["parameters"] == {"env": "prod"}
    assert main["runtime_properties"] == {"start": {"memory": "2g"}, "sub:inner1": {"depth": "5"}}
    assert main["mail_creator"] == "custom-creator"
    assert main["failure_emails_override"] is False
    assert main["success_emails_override"] is False
    assert main["failure_action_override"] is True
    assert main["back_execute_once"] is True
    assert_plans_empty(ws, out)

    edit(out, 'cron = "0 0 1 ? * *"', 'cron = "0 30 1 ? * *"')
    apply_imported(ws, out)
    after = fetched(client, "main")
    assert after["cronExpression"] == "0 30 1 ? * *"
    assert without(after, "cronExpression") == without(before, "cronExpression")
    assert after["executionOptions"]["runtimeProperties"] == {
        "start": {"memory": "2g"},
        "sub:inner1": {"depth": "5"},
    }


def test_removing_runtime_properties_is_planned_and_done(ws: Workspace) -> None:
    client = ws.client()
    uploaded(ws, client, "etl")
    schedule(client, "main", ("runtimeProperty[done][k]", "v"), ("mailCreator", "x"))
    out, _ = import_(ws, "--all")
    assert_plans_empty(ws, out)
    edit(out, '\n[projects.etl.schedules.main.runtime_properties]\ndone = { k = "v" }\n', "\n")
    plan = apply_imported(ws, out)
    change = change_of(plan, "project.etl.schedule.main")
    assert change["before"]["runtime_properties"] == {"done": {"k": "v"}}
    assert change["after"]["runtime_properties"] == {}
    options = fetched(client, "main")["executionOptions"]
    assert options["runtimeProperties"] == {}
    assert options["mailCreator"] == "x"  # kept


def test_partly_disabled_embedded_flow_round_trips_and_is_sent_nested(ws: Workspace) -> None:
    client = ws.client()
    uploaded(ws, client, "etl")
    schedule(client, "main", ("disabled", '["start",{"id":"sub","children":["inner2"]}]'))
    before = fetched(client, "main")
    out, err = import_(ws, "--all")
    assert notes(err) == []
    main = toml_of(out)["projects"]["etl"]["schedules"]["main"]
    assert main["disabled_jobs"] == ["start", "sub:inner2"]
    assert_plans_empty(ws, out)

    edit(out, 'cron = "0 0 1 ? * *"', 'cron = "0 0 3 ? * *"')
    apply_imported(ws, out)
    after = fetched(client, "main")
    assert after["executionOptions"]["disabledJobs"] == before["executionOptions"]["disabledJobs"]
    assert after["executionOptions"]["disabledJobs"][1] == {
        "name": "sub",
        "children": [{"name": "inner2", "children": None, "embeddedFlow": False}],
        "embeddedFlow": True,
    }

    edit(out, 'disabled_jobs = ["start", "sub:inner2"]', 'disabled_jobs = ["sub"]')
    plan = apply_imported(ws, out)
    change = change_of(plan, "project.etl.schedule.main")
    assert change["before"]["disabled_jobs"] == ["start", "sub:inner2"]
    assert change["after"]["disabled_jobs"] == ["sub"]
    assert fetched(client, "main")["executionOptions"]["disabledJobs"] == [
        {"name": "sub", "children": None, "embeddedFlow": False}
    ]


@pytest.mark.parametrize("level", [None, "3", "0"])
def test_queue_round_trips_with_its_level(ws: Workspace, level: str | None) -> None:
    client = ws.client()
    uploaded(ws, client, "etl")
    extra = () if level is None else (("queueLevel", level),)
    schedule(client, "basic", ("concurrentOption", "queue"), *extra)
    before = fetched(client, "basic")
    out, err = import_(ws, "--all")
    assert notes(err) == []
    basic = toml_of(out)["projects"]["etl"]["schedules"]["basic"]
    assert basic["concurrent"] == "queue"
    assert basic.get("queue_level") == (None if level is None else int(level))
    assert_plans_empty(ws, out)

    edit(out, 'cron = "0 0 1 ? * *"', 'cron = "0 0 4 ? * *"')
    apply_imported(ws, out)
    after = fetched(client, "basic")
    assert after["executionOptions"] == before["executionOptions"]
    assert after["executionOptions"]["pipelineLevel"] == (1 if level is None else int(level))


def test_removing_queue_goes_back_to_skip(ws: Workspace) -> None:
    client = ws.client()
    uploaded(ws, client, "etl")
    schedule(client, "basic", ("concurrentOption", "queue"), ("queueLevel", "2"))
    out, _ = import_(ws, "--all")
    edit(out, 'concurrent = "queue"\nqueue_level = 2\n', "")
    plan = apply_imported(ws, out)
    change = change_of(plan, "project.etl.schedule.basic")
    assert (change["before"]["concurrent"], change["before"]["queue_level"]) == ("queue", 2)
    assert (change["after"]["concurrent"], change["after"]["queue_level"]) == ("skip", None)
    options = fetched(client, "basic")["executionOptions"]
    assert (options["concurrentOption"], options["pipelineLevel"]) == ("skip", None)


def test_sla_alerters_round_trip_and_an_sla_change_keeps_them(ws: Workspace) -> None:
    client = ws.client()
    uploaded(ws, client, "etl")
    sid = schedule(
        client,
        "alpha",
        ("slaSettings[0]", "extract,FINISH,0:50,true,true"),
        ("slaAlerters[email][recipients]", "ops@example.com"),
        ("slaAlerters[pagerduty][service]", "svc-1,svc-2"),
    )
    before = sla_info(client, sid)
    out, err = import_(ws, "--all")
    assert notes(err) == []
    sla = toml_of(out)["projects"]["etl"]["schedules"]["alpha"]["sla"]
    assert sla["alerters"] == {"pagerduty": {"service": ["svc-1", "svc-2"]}}
    assert sla["emails"] == ["ops@example.com"]
    assert_plans_empty(ws, out)

    edit(out, 'duration = "50m"', 'duration = "1h"')
    apply_imported(ws, out)
    after = sla_info(client, sid)
    assert after["slaAlerters"] == before["slaAlerters"]
    assert after["settings"][0]["duration"] == "60m"
    options = fetched(client, "alpha")["executionOptions"]
    assert options["slaOptions"][0]["alertersConfigs"] == {
        "pagerduty": {"service": ["svc-1", "svc-2"]}
    }

    edit(out, 'alerters = { pagerduty = { service = ["svc-1", "svc-2"] } }\n', "")
    plan = apply_imported(ws, out)
    change = change_of(plan, "project.etl.sla.alpha")
    assert change["before"]["alerters"] == {"pagerduty": {"service": ["svc-1", "svc-2"]}}
    assert change["after"]["alerters"] == {}
    assert "pagerduty" not in sla_info(client, sid)["slaAlerters"]


def test_the_plan_shows_who_submits_and_that_the_end_time_is_reset(ws: Workspace) -> None:
    """reader schedules (with SCHEDULE on the project); azkaban's apply makes azkaban the
    submitting user, and the plan says so beside the endSchedTime it resets."""
    client = ws.client()
    uploaded(ws, client, "etl")
    client.add_permission("etl", "user", "reader", frozenset({Perm.READ, Perm.SCHEDULE}))
    reader = AzkabanClient(ws.sandbox.url, "reader", SecretStr("reader"))
    reader.login()
    schedule(reader, "basic", ("mailCreator", "kept"))
    assert fetched(client, "basic")["submitUser"] == "reader"
    out, _ = import_(ws, "--all")
    assert_plans_empty(ws, out)  # who submitted is never a difference
    edit(out, 'cron = "0 0 1 ? * *"', 'cron = "0 0 5 ? * *"')
    plan = apply_imported(ws, out)
    change = change_of(plan, "project.etl.schedule.basic")
    assert change["before"]["submitted_by"] == "reader"
    assert change["after"]["submitted_by"] == "azkaban"
    assert change["before"]["end_sched_time"] is None  # never returned by Azkaban
    assert change["after"]["end_sched_time"] == "2050-01-01T00:00:00Z"
    after = fetched(client, "basic")
    assert after["submitUser"] == "azkaban"
    assert after["executionOptions"]["mailCreator"] == "kept"


def test_a_schedule_left_without_options_is_noted_and_reposted(ws: Workspace) -> None:
    """flowOverride with runtimeProperty is a 500 that leaves the schedule with the new cron
    and no options; import says so and the plan re-posts it."""
    client = ws.client()
    uploaded(ws, client, "etl")
    schedule(client, "main")
    broken = raw_schedule_call(
        "etl",
        "main",
        ("flowOverride[a]", "1"),
        ("runtimeProperty[ROOT][b]", "2"),
        cron="0 0 3 ? * *",
    )
    with pytest.raises(Exception, match=r"500|NullPointer"):
        client.send(broken)
    assert fetched(client, "main")["executionOptions"] is None
    out, err = import_(ws, "--all")
    assert any("without any options" in n for n in notes(err)), err
    assert planned_changes(ws, out) == {"project.etl.schedule.main": "update"}
    apply_imported(ws, out)
    assert fetched(client, "main")["executionOptions"] is not None


def test_validate_refuses_a_runtime_property_node_the_flow_lacks(ws: Workspace) -> None:
    ws.write(MAIN_DAILY + 'schedules.main.runtime_properties = { "sub:inner3" = { k = "v" } }\n')
    result = ws.run("validate", "-c", str(ws.config))
    assert result.code == 1
    expected = r'runtime_properties\."sub:inner3": no job "sub:inner3" in flow "main"'
    assert re.search(expected, result.err), result.err
    assert "Traceback" not in result.err


def test_a_saved_plan_is_stale_when_options_are_added_behind_its_back(ws: Workspace) -> None:
    """Someone adds runtime properties (same cron) between plan and apply: the saved plan's
    re-post would drop them, so it is refused as stale."""
    ws.write(MAIN_DAILY)
    ws.apply()
    ws.config.write_text(ws.config.read_text().replace("0 0 1 ?", "0 0 6 ?"))
    saved = ws.root / "tfplan.json"
    planned = ws.run("plan", "-c", str(ws.config), "--out", str(saved))
    assert planned.code == 0, planned.err
    client = ws.client()
    schedule(client, "main", ("runtimeProperty[start][memory]", "2g"))
    result = ws.run("apply", str(saved))
    assert result.code == 1, result.out
    assert "stale" in result.err
    assert "project.etl.schedule.main (its live value changed on the server)" in result.err
    assert fetched(client, "main")["executionOptions"]["runtimeProperties"] == {
        "start": {"memory": "2g"}
    }
