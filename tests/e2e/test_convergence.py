"""Convergence: for each (server state, configuration), apply then plan is empty, and the
server holds what the configuration says."""

from __future__ import annotations

from azstate.state import FailureAction, SlaRule
from azstate.wire import calls
from tests.e2e.workspace import DAILY, ETL, SLA, Workspace, flow10, flow20


def _pid(ws: Workspace, name: str = "etl") -> int:
    client = ws.client()
    return next(p.project_id for p in client.fetch_all_projects() if p.name.lower() == name)


def _schedule(ws: Workspace, flow: str, name: str = "etl"):  # type: ignore[no-untyped-def]
    return ws.client().fetch_schedule(_pid(ws, name), flow)


def test_new_project_with_schedule_and_sla(ws: Workspace) -> None:
    ws.write(ETL + DAILY + SLA)
    ws.apply()
    ws.assert_converged()
    live = _schedule(ws, "daily")
    assert live is not None and live.value.cron == "0 0 2 ? * *"
    sla = ws.client().sla_info(live.schedule_id)
    assert sla is not None and {r.minutes for r in sla.rules} == {120}
    assert ws.client().project_description("etl") == "Nightly ETL"


def test_new_flow10_project(ws: Workspace) -> None:
    flow10(ws.root / "src" / "legacy", {"extract": [], "load": ["extract"], "report": ["load"]})
    ws.write("""
    [projects.legacy]
    description = "Flow 1.0"
    source = "src/legacy"
    [projects.legacy.schedules.report]
    cron = "0 30 4 ? * MON-FRI"
    """)
    ws.apply()
    ws.assert_converged()
    assert ws.client().fetch_project_flows("legacy") == ["report"]


def test_flow10_and_flow20_together(ws: Workspace) -> None:
    flow10(ws.root / "src" / "legacy", {"a": [], "b": ["a"]})
    ws.write(
        ETL
        + DAILY
        + """
    [projects.legacy]
    description = "Flow 1.0"
    source = "src/legacy"
    [projects.legacy.schedules.b]
    cron = "0 0 5 ? * *"
    """
    )
    ws.apply()
    ws.assert_converged()


def test_files_add_a_flow_and_schedule_it(ws: Workspace) -> None:
    ws.write(ETL + DAILY)
    ws.apply()
    flow20(
        ws.root / "src" / "etl", {"daily": ["extract", "load"], "hourly": ["ping"], "weekly": ["w"]}
    )
    ws.write(
        ETL
        + DAILY
        + """
    [projects.etl.schedules.weekly]
    cron = "0 0 6 ? * SUN"
    """
    )
    ws.apply()
    ws.assert_converged()
    assert sorted(ws.client().fetch_project_flows("etl")) == ["daily", "hourly", "weekly"]


def test_files_remove_a_scheduled_flow(ws: Workspace) -> None:
    ws.write(
        ETL
        + DAILY
        + SLA
        + """
    [projects.etl.schedules.hourly]
    cron = "0 0 * ? * *"
    """
    )
    ws.apply()
    flow20(ws.root / "src" / "etl", {"daily": ["extract", "load"]})
    ws.write(ETL + DAILY + SLA)
    ws.apply()
    ws.assert_converged()
    assert _schedule(ws, "hourly") is None
    assert _schedule(ws, "daily") is not None


def test_cron_change_keeps_sla(ws: Workspace) -> None:
    ws.write(ETL + DAILY + SLA)
    ws.apply()
    ws.write(ETL + DAILY.replace("0 0 2", "0 15 3") + SLA)
    ws.apply()
    ws.assert_converged()
    live = _schedule(ws, "daily")
    assert live is not None and live.value.cron == "0 15 3 ? * *"
    assert ws.client().sla_info(live.schedule_id) is not None


def test_schedule_options(ws: Workspace) -> None:
    ws.write(ETL + DAILY)
    ws.apply()
    ws.write(
        ETL
        + """
    [projects.etl.schedules.daily]
    cron = "0 0 2 ? * *"
    concurrent = "pipeline"
    pipeline_level = 2
    failure_action = "cancel_all"
    failure_emails = ["a@example.com", "b@example.com"]
    success_emails = ["c@example.com"]
    notify_on_first_failure = false
    notify_on_last_failure = true
    """
    )
    ws.apply()
    ws.assert_converged()
    live = _schedule(ws, "daily")
    assert live is not None
    assert live.value.failure_action is FailureAction.CANCEL_ALL
    assert live.value.concurrent == "pipeline" and live.value.pipeline_level == 2


def test_concurrent_ignore(ws: Workspace) -> None:
    ws.write(ETL + DAILY + 'concurrent = "ignore"\nfailure_action = "finish_possible"\n')
    ws.apply()
    ws.assert_converged()


def test_sla_added(ws: Workspace) -> None:
    ws.write(ETL + DAILY)
    ws.apply()
    ws.write(ETL + DAILY + SLA)
    ws.apply()
    ws.assert_converged()


def test_sla_changed_and_job_level_rules(ws: Workspace) -> None:
    ws.write(ETL + DAILY + SLA)
    ws.apply()
    ws.write(
        ETL
        + DAILY
        + """
    [projects.etl.schedules.daily.sla]
    emails = ["ops@example.com", "lead@example.com"]
    rules = [
      { rule = "FINISH", duration = "1h30m", email = true, kill = true },
      { job = "load", rule = "SUCCESS", duration = "45m", kill = true },
    ]
    """
    )
    ws.apply()
    ws.assert_converged()
    live = _schedule(ws, "daily")
    assert live is not None
    sla = ws.client().sla_info(live.schedule_id)
    assert sla is not None
    assert {(r.job, r.rule, r.minutes) for r in sla.rules} == {
        ("", SlaRule.FINISH, 90),
        ("load", SlaRule.SUCCESS, 45),
    }


def test_sla_reduced_to_nothing(ws: Workspace) -> None:
    ws.write(ETL + DAILY + SLA)
    ws.apply()
    ws.write(ETL + DAILY)
    ws.apply()
    ws.assert_converged()
    live = _schedule(ws, "daily")
    assert live is not None and ws.client().sla_info(live.schedule_id) is None


def test_disabled_jobs_and_parameters(ws: Workspace) -> None:
    ws.write(
        ETL + DAILY + 'disabled_jobs = ["extract"]\nparameters = { env = "prod", day = "1" }\n'
    )
    ws.apply()
    ws.assert_converged()
    live = _schedule(ws, "daily")
    assert live is not None
    assert live.value.disabled_jobs == frozenset({"extract"})
    assert dict(live.value.parameters) == {"env": "prod", "day": "1"}


def test_permissions_added_changed_removed(ws: Workspace) -> None:
    perms = "\n[projects.etl.permissions]\nusers = {{ reader = [{u}] }}\ngroups = {{ {g} }}\n"
    ws.write(ETL + perms.format(u='"read"', g='analysts = ["read", "execute"]'))
    ws.apply()
    ws.assert_converged()
    ws.write(ETL + perms.format(u='"read", "write"', g='ops = ["admin"]'))
    ws.apply()
    ws.assert_converged()
    listing = next(p for p in ws.client().fetch_all_projects() if p.name == "etl")
    assert set(listing.group_permissions) == {"ops"}
    assert "azkaban" in listing.user_permissions  # the applying user keeps its entry
    # ops holds ADMIN and the applying user may be in it: removing it must be meant.
    ws.write(ETL + "\n[projects.etl.permissions]\n")
    refused = ws.run("apply", "--auto-approve", "-c", str(ws.config))
    assert refused.code == 1 and "group ops is removed with ADMIN" in refused.err
    assert "allow_admin_removal" in refused.err and "Traceback" not in refused.err
    listing = next(p for p in ws.client().fetch_all_projects() if p.name == "etl")
    assert set(listing.group_permissions) == {"ops"}  # nothing was sent
    ws.write(ETL + "\n[projects.etl.permissions]\nallow_admin_removal = true\n")
    ws.apply()
    ws.assert_converged()
    listing = next(p for p in ws.client().fetch_all_projects() if p.name == "etl")
    assert set(listing.user_permissions) == {"azkaban"} and not listing.group_permissions


def test_description_changed(ws: Workspace) -> None:
    ws.write(ETL)
    ws.apply()
    ws.write(ETL.replace('"Nightly ETL"', """'Nightly <ETL> & "friends" é'"""))
    ws.apply()
    ws.assert_converged()
    assert ws.client().project_description("etl") == 'Nightly <ETL> & "friends" é'


def test_project_deleted_in_ui_is_recreated(ws: Workspace) -> None:
    ws.write(ETL + DAILY + SLA)
    ws.apply()
    old = _pid(ws)
    ws.client().send(calls.delete_project("etl"))
    ws.apply()
    ws.assert_converged()
    assert _pid(ws) != old
    assert _schedule(ws, "daily") is not None


def test_prune_deletes_matching_undeclared_projects(ws: Workspace) -> None:
    client = ws.client()
    client.send(calls.create_project("etl-old", "left over"))
    client.send(calls.create_project("keep-me", "not matched"))
    ws.write('[azstate]\nprune = ["etl-*"]\n' + ETL)
    ws.apply()
    ws.assert_converged()
    names = {p.name for p in ws.client().fetch_all_projects()}
    assert "etl-old" not in names and "keep-me" in names


def test_schedule_created_in_ui_is_removed(ws: Workspace) -> None:
    ws.write(ETL + DAILY)
    ws.apply()
    from azstate.state import ScheduleValue

    ws.client().send(
        calls.schedule_cron_flow("etl", "hourly", ScheduleValue(cron="0 0 * ? * *"), None)
    )
    ws.apply()
    ws.assert_converged()
    assert _schedule(ws, "hourly") is None


def test_schedule_removed_in_ui_is_recreated(ws: Workspace) -> None:
    ws.write(ETL + DAILY + SLA)
    ws.apply()
    live = _schedule(ws, "daily")
    assert live is not None
    ws.client().send(calls.remove_schedule(live.schedule_id))
    ws.apply()
    ws.assert_converged()


def test_sla_wiped_in_ui_is_restored(ws: Workspace) -> None:
    ws.write(ETL + DAILY + SLA)
    ws.apply()
    from azstate.state import ScheduleValue

    ws.client().send(
        calls.schedule_cron_flow("etl", "daily", ScheduleValue(cron="0 0 2 ? * *"), None)
    )
    ws.apply()
    ws.assert_converged()


def test_files_uploaded_in_ui_are_restored(ws: Workspace) -> None:
    ws.write(ETL + DAILY)
    ws.apply()
    other = flow20(ws.root / "other", {"daily": ["x"], "hourly": ["y"]})
    import hashlib

    from azstate.archive import build_zip
    from azstate.plan import UploadFile

    data = build_zip(other)
    ws.client().send(
        calls.upload(
            "etl",
            UploadFile(name="other.zip", size=len(data), sha256=hashlib.sha256(data).hexdigest()),
        ),
        file_bytes=data,
    )
    ws.apply()
    ws.assert_converged()


def test_schedule_removed_from_config(ws: Workspace) -> None:
    ws.write(ETL + DAILY + SLA)
    ws.apply()
    ws.write(ETL)
    ws.apply()
    ws.assert_converged()
    assert _schedule(ws, "daily") is None


def test_zip_file_source(ws: Workspace) -> None:
    from azstate.archive import build_zip

    (ws.root / "etl.zip").write_bytes(build_zip(ws.root / "src" / "etl"))
    ws.write(ETL.replace('"src/etl"', '"etl.zip"') + DAILY)
    ws.apply()
    ws.assert_converged()


def test_project_without_source(ws: Workspace) -> None:
    ws.write('[projects.empty]\ndescription = "no files yet"\n')
    ws.apply()
    ws.assert_converged()


def test_second_apply_changes_nothing(ws: Workspace) -> None:
    ws.write(ETL + DAILY + SLA + '\n[projects.etl.permissions]\nusers = { reader = ["read"] }\n')
    ws.apply()
    ws.sandbox.log.clear()
    ws.apply()
    assert [e for e in ws.sandbox.log if e.mutating] == []


def test_dry_run_sends_nothing_that_changes(ws: Workspace) -> None:
    ws.write(ETL + DAILY + SLA)
    ws.sandbox.log.clear()
    result = ws.run("apply", "--dry-run", "-c", str(ws.config))
    assert result.code == 0
    assert [e for e in ws.sandbox.log if e.mutating] == []
    lines = [line for line in result.out.splitlines() if line.strip()]
    assert any("create" in line for line in lines)
    assert any("scheduleCronFlow" in line for line in lines)
    assert any("upload" in line and "sha256" in line.lower() for line in lines)


def test_pruned_project_takes_schedules(ws: Workspace) -> None:
    ws.write(ETL + DAILY)
    ws.apply()
    ws.write('[azstate]\nprune = ["et*"]\n')
    ws.apply()
    ws.assert_converged()
    assert all(s.project_name != "etl" for s in ws.client().fetch_schedules())
