"""azstate import against the sandbox: whatever state the server is in, the written directory
validates on its own and the plan right after the import is empty, except for what the TOML
cannot hold, which import reports on stderr and in a comment, and which the plan then shows."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from azstate.archive import build_zip, zip_files
from azstate.plan import Call
from azstate.sandbox.server import SandboxServer
from azstate.state import Perm, ScheduleValue, SlaRule, SlaRuleValue, SlaValue
from azstate.wire.client import AzkabanClient
from tests.e2e.workspace import Workspace, flow10, flow20, raw_schedule

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
notify_on_first_failure = false

[projects.legacy.schedules.b.sla]
rules = [
  { job = "a", rule = "SUCCESS", duration = "45m", kill = true },
  { job = "b", rule = "FINISH", duration = 600, kill = true },
]

[projects.Empty-one]
description = "declared, never uploaded"

[projects.nest]
description = "an embedded flow"
source = "src/nest"

[projects.nest.schedules.main]
cron = "0 0 4 ? * SUN#2"
disabled_jobs = ["sub"]

[projects.nest.schedules.main.sla]
emails = ["x@example.com"]
rules = [{ job = "sub:inner", rule = "SUCCESS", duration = "2:30", email = true }]
"""

NESTED = """nodes:
  - name: first
    type: command
    config:
      command: echo 1
  - name: sub
    type: flow
    dependsOn:
      - first
    nodes:
      - name: inner
        type: command
        config:
          command: echo 2
"""


@pytest.fixture
def ws(tmp_path: Path, azkaban_env: SandboxServer, capsys: pytest.CaptureFixture[str]) -> Workspace:
    flow20(tmp_path / "src" / "etl", {"daily": ["extract", "load"], "hourly": ["ping"]})
    flow10(tmp_path / "src" / "legacy", {"a": [], "b": ["a"]})
    flow20(tmp_path / "src" / "nest", {})
    (tmp_path / "src" / "nest" / "main.flow").write_text(NESTED)
    return Workspace(tmp_path, azkaban_env, capsys)


def import_(ws: Workspace, *args: str) -> tuple[Path, str]:
    out = ws.root / "imported"
    result = ws.run("import", "--out", str(out), *args)
    assert result.code == 0, result.out + result.err
    return out, result.err


def assert_valid(ws: Workspace, out: Path) -> None:
    valid = ws.run("validate", "-c", str(out))
    assert valid.code == 0, valid.err


def assert_plans_empty(ws: Workspace, out: Path) -> None:
    assert_valid(ws, out)
    plan = ws.run("plan", "--detailed-exitcode", "-c", str(out))
    assert plan.code == 0, f"plan after import is not empty:\n{plan.out}\n{plan.err}"


def planned_changes(ws: Workspace, out: Path) -> dict[str, str]:
    """Address -> action of the plan after an import that noted something."""
    assert_valid(ws, out)
    plan = ws.run("plan", "--detailed-exitcode", "--format", "json", "-c", str(out))
    assert plan.code == 2, plan.out + plan.err
    return {c["address"]: c["action"] for c in json.loads(plan.out)["changes"]}


def notes(err: str) -> list[str]:
    return [line.removeprefix("Note: ") for line in err.splitlines() if line.startswith("Note: ")]


def assert_noted(out: Path, err: str, *fragments: str) -> None:
    """Each fragment is in a note on stderr (one line) and the same note is a comment."""
    text = (out / "azstate.toml").read_text()
    found = notes(err)
    for fragment in fragments:
        hits = [n for n in found if fragment in n]
        assert hits, f"no note says {fragment!r}:\n{err}"
        for note in hits:
            assert f"# {note}\n" in text


def raw_sla(client: AzkabanClient, schedule_id: int, *settings: str) -> None:
    params = [(f"settings[{i}]", s) for i, s in enumerate(settings)]
    reply = client.send(
        Call(
            method="POST",
            path="/schedule",
            params=(("ajax", "setSla"), ("scheduleId", str(schedule_id)), *params),
        )
    )
    assert "error" not in reply.json, reply.json


def uploaded(ws: Workspace, client: AzkabanClient, name: str, source: str = "etl") -> None:
    client.create_project(name, f"{name} made by hand")
    client.upload(name, build_zip(ws.root / "src" / source))


# -- round trips -------------------------------------------------------------------------------


def test_import_all_round_trips_every_option_sla_permission_and_description(
    ws: Workspace,
) -> None:
    ws.write(FULL)
    ws.apply()
    out, err = import_(ws, "--all")
    assert notes(err) == []  # everything here can be written down exactly
    assert_plans_empty(ws, out)

    text = (out / "azstate.toml").read_text()
    assert text.startswith("#:schema azstate.schema.json\n")
    schema = json.loads((out / "azstate.schema.json").read_text())
    assert schema["title"] == "azstate configuration"
    doc = tomllib.loads(text)
    assert list(doc["projects"]) == ["Empty-one", "etl", "legacy", "nest"]  # ignoring case
    etl = doc["projects"]["etl"]
    assert etl["description"] == 'Nightly <ETL> & "friends" é\ttab'
    assert etl["source"] == "projects/etl"
    assert etl["permissions"]["users"]["reader"] == ["execute", "read"]
    assert etl["permissions"]["groups"] == {"analysts": ["read"], "ops": ["admin"]}
    daily = etl["schedules"]["daily"]
    assert daily["failure_emails"] == ["a@example.com", "b@example.com"]
    assert daily["parameters"] == {"env": "prod", "with space": "x=1"}
    assert {r["duration"] for r in daily["sla"]["rules"]} == {"2h", "1h30m"}
    legacy_rules = doc["projects"]["legacy"]["schedules"]["b"]["sla"]["rules"]
    assert {(r["job"], r["rule"], r["duration"]) for r in legacy_rules} == {
        ("a", "SUCCESS", "45m"),
        ("b", "FINISH", "10h"),
    }
    assert "source" not in doc["projects"]["Empty-one"]
    main = doc["projects"]["nest"]["schedules"]["main"]
    assert main["disabled_jobs"] == ["sub"]
    assert main["sla"]["rules"] == [
        {"job": "sub:inner", "rule": "SUCCESS", "duration": "2h30m", "email": True}
    ]
    assert (out / "projects" / "etl" / "daily.flow").is_file()
    assert (out / "projects" / "legacy" / "b.job").is_file()
    assert (out / "projects" / "legacy" / "common.properties").read_text() == "retries=1\n"
    assert not (out / "projects" / "Empty-one").exists()


def test_import_some_projects_by_name_ignoring_case(ws: Workspace) -> None:
    ws.write(FULL)
    ws.apply()
    out, _ = import_(ws, "--project", "LEGACY", "empty-one")
    doc = tomllib.loads((out / "azstate.toml").read_text())
    assert list(doc["projects"]) == ["Empty-one", "legacy"]  # the server's spelling
    assert not (out / "projects" / "etl").exists()
    assert_plans_empty(ws, out)


def test_unknown_project_is_a_clear_error_and_writes_nothing(ws: Workspace) -> None:
    ws.write(FULL)
    ws.apply()
    out = ws.root / "imported"
    for names in (["nope"], ["etl", "nope", "other"]):
        result = ws.run("import", "--out", str(out), "--project", *names)
        assert result.code == 1
        assert "no such project on the server: nope" in result.err
        assert "Traceback" not in result.err
        assert not out.exists()


def test_a_time_zone_that_does_not_exist_is_refused_before_anything_is_written(
    ws: Workspace,
) -> None:
    out = ws.root / "imported"
    result = ws.run("import", "--all", "--out", str(out), "--timezone", "Mars/Olympus")
    assert result.code == 1 and "--timezone" in result.err and "Traceback" not in result.err
    assert not out.exists()


def test_state_made_by_hand_through_the_api_round_trips(ws: Workspace) -> None:
    """Projects as a team makes them in the UI: one with no upload yet, one whose schedule and
    SLA were set with separate calls, permissions for a user and a group, a description
    changed afterwards."""
    client = ws.client()
    client.create_project("bare", "created in the UI, nothing uploaded")
    client.add_permission("bare", "group", "readers", frozenset({Perm.READ}))
    uploaded(ws, client, "handmade")
    client.change_description("handmade", "Ünïcode & <tags> \"quotes\" 'single' \\ back # hash")
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
                {
                    SlaRuleValue(
                        job="ping", rule=SlaRule.FINISH, minutes=45, email=True, kill=True
                    ),
                    SlaRuleValue(job="", rule=SlaRule.SUCCESS, minutes=61, email=True),
                }
            ),
        ),
    )
    client.add_permission("handmade", "user", "reader", frozenset({Perm.READ, Perm.SCHEDULE}))
    client.add_permission("handmade", "group", "night-shift", frozenset({Perm.EXECUTE}))
    out, err = import_(ws, "--all")
    assert notes(err) == []
    doc = tomllib.loads((out / "azstate.toml").read_text())
    assert "source" not in doc["projects"]["bare"]
    assert doc["projects"]["bare"]["permissions"]["groups"] == {"readers": ["read"]}
    assert not (out / "projects" / "bare").exists()
    handmade = doc["projects"]["handmade"]
    assert handmade["description"] == "Ünïcode & <tags> \"quotes\" 'single' \\ back # hash"
    assert handmade["schedules"]["hourly"]["sla"]["rules"] == [
        {"rule": "SUCCESS", "duration": "1h1m", "email": True},
        {"job": "ping", "rule": "FINISH", "duration": "45m", "email": True, "kill": True},
    ]
    assert handmade["permissions"]["users"]["reader"] == ["read", "schedule"]
    assert handmade["permissions"]["groups"] == {"night-shift": ["execute"]}
    assert_plans_empty(ws, out)


def test_options_sent_in_azkabans_own_spellings_round_trip(ws: Workspace) -> None:
    """A schedule posted the way the web UI posts it: no explicit concurrent option, e-mails
    split by ';' and spaces, lower-case day names, a disabled job as an object."""
    client = ws.client()
    uploaded(ws, client, "ui")
    raw_schedule(
        client,
        "ui",
        "daily",
        ("cronExpression", "0  30 6 ? * mon-fri"),
        ("failureEmails", "a@example.com; b@example.com  c@example.com"),
        ("failureEmailsOverride", "true"),
        ("failureAction", "finishPossible"),
        ("notifyFailureLast", "true"),
        ("disabled", '["extract"]'),
        ("flowOverride[retries]", "3"),
    )
    out, err = import_(ws, "--all")
    assert notes(err) == []
    daily = tomllib.loads((out / "azstate.toml").read_text())["projects"]["ui"]["schedules"]
    assert daily["daily"]["failure_emails"] == ["a@example.com", "b@example.com", "c@example.com"]
    assert daily["daily"]["disabled_jobs"] == ["extract"]
    assert_plans_empty(ws, out)


def test_import_is_rerunnable_over_its_own_output(ws: Workspace) -> None:
    ws.write(FULL)
    ws.apply()
    out, _ = import_(ws, "--all")
    first = (out / "azstate.toml").read_text()
    stale = out / "projects" / "etl" / "removed.flow"
    stale.write_text("nodes: []\n")
    out, _ = import_(ws, "--all", "--force")  # without it, the file there is refused
    assert not stale.exists()  # a project's directory is written afresh
    assert (out / "azstate.toml").read_text() == first  # and the file is the same text
    assert_plans_empty(ws, out)


def test_an_imported_directory_applies_to_a_fresh_server(
    ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The import is a real configuration: applied to an empty server, it plans empty there."""
    ws.write(FULL)
    ws.apply()
    out, _ = import_(ws, "--all")
    fresh = SandboxServer(data_dir=tmp_path / "fresh-data", port=0)
    fresh.start()
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("AZKABAN_URL", fresh.url)
            other = Workspace(out, fresh, capsys)
            other.config = out / "azstate.toml"
            other.apply()
            other.assert_converged()
    finally:
        fresh.stop()


# -- what the TOML cannot hold -------------------------------------------------------------------


def test_options_other_tools_set_are_written_and_the_plan_stays_empty(
    ws: Workspace,
) -> None:
    """Runtime properties, a mail creator, an SLA alerter that is not e-mail, e-mails that do
    not override the flow's: the TOML holds them all, so import writes them without a note
    (tests/e2e/test_schedule_options.py changes each and reads it back)."""
    client = ws.client()
    uploaded(ws, client, "extras")
    raw_schedule(
        client,
        "extras",
        "daily",
        ("runtimeProperty[load][memory]", "4g"),
        ("mailCreator", "custom"),
        ("slaSettings[0]", ",SUCCESS,1:00,true,false"),
        ("slaAlerters[email][recipients]", "sla@example.com"),
        ("slaAlerters[pager][key]", "abc"),
    )
    raw_schedule(client, "extras", "hourly", ("failureEmails", "oncall@example.com"))
    out, err = import_(ws, "--all")
    assert notes(err) == []
    schedules = tomllib.loads((out / "azstate.toml").read_text())["projects"]["extras"]
    daily, hourly = schedules["schedules"]["daily"], schedules["schedules"]["hourly"]
    assert daily["runtime_properties"] == {"load": {"memory": "4g"}}
    assert daily["mail_creator"] == "custom"
    assert daily["sla"]["alerters"] == {"pager": {"key": ["abc"]}}
    assert hourly["failure_emails_override"] is False
    assert_plans_empty(ws, out)


def test_values_the_toml_refuses_are_noted_left_out_and_shown_by_the_plan(ws: Workspace) -> None:
    """A negative pipeline level, an unknown concurrent option, an SLA on a job the flow
    lacks, a zero-minute rule, a disabled job that is not there, a bad e-mail, a blank
    parameter name, an empty permission entry, a blank description: the file still validates,
    each is a note, and the plan changes exactly those resources."""
    client = ws.client()
    uploaded(ws, client, "odd")
    raw_schedule(
        client,
        "odd",
        "daily",
        ("concurrentOption", "pipeline"),
        ("pipelineLevel", "-1"),
        ("disabled", '["ghost", "load"]'),
        ("failureEmails", "ok@example.com,not-an-address"),
        ("failureEmailsOverride", "true"),
        ("flowOverride[]", "blank"),
    )
    sid = raw_schedule(client, "odd", "hourly", ("concurrentOption", "fifo"))
    raw_sla(client, sid, "nosuch,FINISH,0:30,true,false", ",FINISH,0:0,false,true")
    client.send(
        Call(
            method="POST",
            path="/manager",
            params=(
                ("project", "odd"),
                ("ajax", "addPermission"),
                ("name", "nobody"),
                ("group", "true"),
                *((f"permissions[{p}]", "false") for p in Perm),
            ),
        )
    )
    client.create_project("blank", "placeholder")
    client.change_description("blank", "")  # changeDescription takes what create refuses
    out, err = import_(ws, "--all")
    assert_noted(
        out,
        err,
        "project blank: the server has no description",
        "project odd, flow daily: pipeline level -1",
        'project odd, flow daily: disabled job "ghost"',
        'project odd, flow daily: failure_emails: "not-an-address"',
        'project odd, flow daily: a flow parameter with a blank name ("" = "blank")',
        'project odd, flow hourly: concurrent option "fifo"',
        'project odd, flow hourly: SLA rule { job = "nosuch"',
        'project odd, flow hourly: SLA rule { rule = "FINISH", duration = 0',
        "project odd, flow hourly: no SLA rule of this schedule can be written",
        'project odd: group "nobody" has an entry with no permission',
    )
    doc = tomllib.loads((out / "azstate.toml").read_text())
    daily = doc["projects"]["odd"]["schedules"]["daily"]
    assert daily["disabled_jobs"] == ["load"]  # what can be kept is kept
    assert daily["failure_emails"] == ["ok@example.com"]
    assert planned_changes(ws, out) == {
        "project.blank": "update",
        "project.odd.schedule.daily": "update",
        "project.odd.schedule.hourly": "update",
        "project.odd.sla.hourly": "delete",
        "project.odd.permission.group.nobody": "delete",
    }


def test_files_azstate_would_not_zip_are_named(ws: Workspace) -> None:
    """A zip made by hand with a .DS_Store: unpacked, azstate leaves it out of its own zip, so
    the plan uploads the project again; import says so."""
    client = ws.client()
    client.create_project("mac", "zipped on a Mac")
    files = {
        "flow.project": b"azkaban-flow-version: 2.0\n",
        "daily.flow": b"nodes:\n  - name: a\n    type: command\n    config:\n      command: echo\n",
        ".DS_Store": b"\0\0\0\1Bud1",
    }
    client.upload("mac", zip_files(files))
    out, err = import_(ws, "--project", "mac")
    assert_noted(out, err, "project mac: the upload holds files that azstate never zips")
    assert ".DS_Store" in notes(err)[0]
    assert planned_changes(ws, out) == {"project.mac.files": "update"}
