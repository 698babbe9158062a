"""The read-back mapping, both ways: builders' parameters, and replies into state values.

Pure tests parse replies a real server gave (tests/data/wire/); round-trip tests send a value
with the builders to the sandbox and check that what fetchSchedule and slaInfo read back maps
to the very same value, over many option combinations.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from azstate import cron
from azstate.errors import AzkabanError
from azstate.plan import UploadFile
from azstate.sandbox.server import SandboxServer
from azstate.state import (
    Concurrent,
    FailureAction,
    Perm,
    PermissionValue,
    ScheduleValue,
    SlaRule,
    SlaRuleValue,
    SlaValue,
)
from azstate.wire import calls, replies
from azstate.wire.client import AzkabanClient
from azstate.wire.replies import SlaPartial, SlaRuleReadBack
from tests.strategies import schedule_values
from tests.test_wire_detect import GOLDENS, golden, transcript

DATA = Path(__file__).parent / "data" / "wire"


def golden_json(key: str) -> Any:
    return GOLDENS[key]["reply"]["body"]["json"]


def golden_form(key: str) -> dict[str, str]:
    request = GOLDENS[key]["request"]
    return {k: v for k, v in request.get("form", []) + request.get("query", [])}


def pairs(mapping: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(mapping.items()))


def rule(
    job: str = "",
    kind: str = "SUCCESS",
    minutes: int = 60,
    *,
    email: bool = False,
    kill: bool = False,
) -> SlaRuleValue:
    return SlaRuleValue(job=job, rule=SlaRule(kind), minutes=minutes, email=email, kill=kill)


# -- builders: what is sent -----------------------------------------------------------------


def test_no_builder_puts_a_secret_in_a_call() -> None:
    value = ScheduleValue(cron="0 0 2 ? * *")
    built = [
        calls.create_project("p", "d"),
        calls.delete_project("p"),
        calls.upload("p", UploadFile(name="p.zip", size=1, sha256="0" * 64)),
        calls.change_description("p", "d"),
        calls.add_permission("p", "user", "u", frozenset({Perm.READ})),
        calls.change_permission("p", "group", "g", frozenset()),
        calls.schedule_cron_flow("p", "f", value, SlaValue(rules=frozenset({rule(email=True)}))),
        calls.set_sla(1, SlaValue(rules=frozenset({rule(email=True)}))),
        calls.remove_schedule(1),
        calls.fetch_all_projects(),
        calls.fetch_schedules(),
        calls.fetch_schedule(1, "f"),
        calls.sla_info(1),
        calls.project_page("p"),
        calls.download("p"),
        calls.download("p", 2, head=True),
        calls.fetch_project_flows("p"),
        calls.fetch_flow_graph("p", "f"),
        calls.get_project_id("p"),
        calls.get_permissions("p"),
        calls.get_group_permissions("p"),
        calls.fetch_project_logs("p", size=10, skip=0),
        calls.execute_flow("p", "f"),
        calls.fetch_exec_flow(1),
    ]
    for call in built:
        names = {k for k, _ in call.params}
        assert not names & {"session.id", "password", "username"}, call
        assert isinstance(call.params, tuple)


def test_reads_are_not_mutating_and_writes_are() -> None:
    assert not calls.fetch_all_projects().mutating
    assert not calls.download("p", head=True).mutating
    assert not calls.project_page("p").mutating
    assert calls.delete_project("p").mutating and calls.delete_project("p").method == "GET"
    assert calls.execute_flow("p", "f").mutating


def test_create_and_delete_match_the_recorded_requests() -> None:
    create = calls.create_project("demoproj", "demo project")
    assert create.method == "POST" and create.path == "/manager"
    assert dict(create.params) == {
        "action": "create",
        "name": "demoproj",
        "description": "demo project",
    }
    delete = calls.delete_project("demoproj")
    assert (delete.method, delete.params) == ("GET", (("project", "demoproj"), ("delete", "true")))
    assert delete.action == "delete"


def test_upload_is_multipart_with_the_fields_as_parts() -> None:
    file = UploadFile(name="etl.zip", size=3, sha256="a" * 64)
    call = calls.upload("etl", file)
    assert call.multipart and call.upload == file and call.method == "POST"
    assert call.params == (("ajax", "upload"), ("project", "etl"))


def test_permission_params_equal_the_recorded_request() -> None:
    sent = golden_form("permissions-csrf-cookie/add-with-cookie")
    del sent["session.id"]
    call = calls.add_permission("proj_r1234567", "user", "reader", frozenset({Perm.READ}))
    assert dict(call.params) == sent
    group = calls.change_permission("p", "group", "readers", frozenset({Perm.ADMIN}))
    assert dict(group.params)["group"] == "true"
    assert dict(group.params)["permissions[admin]"] == "true"
    removal = calls.change_permission("p", "user", "reader", frozenset())
    assert [v for k, v in removal.params if k.startswith("permissions[")] == ["false"] * 5


def test_remove_schedule_is_a_post_action() -> None:
    call = calls.remove_schedule(2001)
    assert call.method == "POST" and call.params == (
        ("action", "removeSched"),
        ("scheduleId", "2001"),
    )


def test_schedule_call_sends_every_option() -> None:
    value = ScheduleValue(
        cron="0 0 1 ? * *",
        failure_action=FailureAction.CANCEL_ALL,
        failure_emails=frozenset({"b@example.com", "a@example.com"}),
        failure_emails_override=True,
        success_emails=frozenset({"ok@example.com"}),
        success_emails_override=True,
        notify_on_first_failure=False,
        notify_on_last_failure=True,
        disabled_jobs=frozenset({"jobB", "jobA"}),
        parameters=pairs({"env": "prod", "retry.count": "3"}),
    )
    params = dict(calls.schedule_cron_flow("etl", "basic", value, None).params)
    assert params == {
        "ajax": "scheduleCronFlow",
        "projectName": "etl",
        "flow": "basic",
        "cronExpression": "0 0 1 ? * *",
        "concurrentOption": "skip",
        "failureAction": "cancelImmediately",
        "failureActionOverride": "false",
        "failureEmailsOverride": "true",
        "successEmailsOverride": "true",
        "failureEmails": "a@example.com,b@example.com",
        "successEmails": "ok@example.com",
        "notifyFailureFirst": "false",
        "notifyFailureLast": "true",
        "mailCreator": "default",
        "backExecuteOnce": "false",
        "disabled": '["jobA","jobB"]',
        "flowOverride[env]": "prod",
        "flowOverride[retry.count]": "3",
    }


def test_schedule_call_names_match_the_recorded_requests() -> None:
    """Every parameter name the recorded requests used, our builder uses too."""
    emails = {"failure_emails": frozenset({"a@x"}), "success_emails": frozenset({"b@x"})}
    value = ScheduleValue(
        cron="0 0 2 ? * *", concurrent="pipeline", pipeline_level=2,
        disabled_jobs=frozenset({"jobA"}), parameters=pairs({"env": "prod"}), **emails,
    )
    sla = SlaValue(emails=frozenset({"s@x"}), rules=frozenset({rule(email=True)}))
    ours = {k for k, _ in calls.schedule_cron_flow("p", "basic", value, sla).params}
    recorded = {
        "ajax",
        "projectName",
        "flow",
        "cronExpression",
        "failureAction",
        "failureEmails",
        "failureEmailsOverride",
        "successEmails",
        "successEmailsOverride",
        "notifyFailureFirst",
        "notifyFailureLast",
        "concurrentOption",
        "pipelineLevel",
        "disabled",
        "flowOverride[env]",
        "slaSettings[0]",
        "slaEmails",
    }
    assert recorded <= ours


def test_pipeline_level_only_with_pipeline() -> None:
    skip = dict(calls.schedule_cron_flow("p", "f", ScheduleValue(cron="0 0 1 ? * *"), None).params)
    assert "pipelineLevel" not in skip
    with pytest.raises(ValueError, match="pipeline level"):
        calls.schedule_cron_flow(
            "p", "f", ScheduleValue(cron="0 0 1 ? * *", concurrent="pipeline"), None
        )


@pytest.mark.parametrize(
    ("minutes", "text"), [(90, "1:30"), (300, "5:00"), (45, "0:45"), (0, "0:00"), (125, "2:05")]
)
def test_sla_durations_are_sent_as_h_mm(minutes: int, text: str) -> None:
    assert calls.sla_duration(minutes) == text


def test_negative_sla_durations_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        calls.sla_duration(-5)


def test_other_read_builders() -> None:
    assert calls.fetch_job_info("p", "f", "j").params == (
        ("ajax", "fetchJobInfo"),
        ("project", "p"),
        ("flowName", "f"),
        ("jobName", "j"),
    )
    assert dict(calls.fetch_flow_executions("p", "f").params)["length"] == "10"
    assert dict(calls.fetch_user_projects("reader").params)["user"] == "reader"
    assert calls.cancel_flow(3).mutating and not calls.get_running("p", "f").mutating


def test_sla_settings_words_and_order() -> None:
    sla = SlaValue(
        emails=frozenset({"y@example.com", "x@example.com"}),
        rules=frozenset(
            {
                rule("jobA", "SUCCESS", 30, email=True),
                rule("", "FINISH", 120, email=True, kill=True),
            }
        ),
    )
    assert calls.sla_settings(sla) == (",FINISH,2:00,true,true", "jobA,SUCCESS,0:30,true,false")
    params = calls.set_sla(2001, sla).params
    assert params == (
        ("ajax", "setSla"),
        ("scheduleId", "2001"),
        ("settings[0]", ",FINISH,2:00,true,true"),
        ("settings[1]", "jobA,SUCCESS,0:30,true,false"),
        ("slaEmails", "x@example.com,y@example.com"),
    )
    with_schedule = dict(
        calls.schedule_cron_flow("p", "f", ScheduleValue(cron="0 0 5 ? * *"), sla).params
    )
    assert with_schedule["slaSettings[0]"] == ",FINISH,2:00,true,true"
    assert "settings[0]" not in with_schedule


# -- replies: what is read back -------------------------------------------------------------


def test_project_listing_from_fetchallprojects() -> None:
    [item] = replies.project_listings(transcript("21").json())
    assert item.project_id == 1 and item.name == "demoproj"
    assert item.created_by == "azkaban" and item.created_time == 1795350008225
    assert item.user_permissions == {"azkaban": PermissionValue(perms=frozenset({Perm.ADMIN}))}
    assert item.group_permissions == {}
    [grouped] = replies.project_listings(golden_json("permissions-group/all-projects"))
    assert grouped.group_permissions == {"readers": PermissionValue(perms=frozenset({Perm.ADMIN}))}


def test_permission_types_azstate_does_not_manage_are_dropped() -> None:
    value = replies.perms_from_types(["READ", "METRICS", "EXECUTE"])
    assert value == PermissionValue(perms=frozenset({Perm.READ, Perm.EXECUTE}))
    assert replies.perms_from_types([]) == PermissionValue(perms=frozenset())


def test_permissions_lists() -> None:
    users = replies.permissions(golden_json("permissions-user/permissions-changed"))
    assert users == {
        "azkaban": PermissionValue(perms=frozenset({Perm.ADMIN})),
        "reader": PermissionValue(perms=frozenset({Perm.EXECUTE, Perm.READ, Perm.WRITE})),
    }
    groups = replies.permissions(
        golden_json("permissions-group/groups-added"), "getGroupPermissions"
    )
    assert groups == {"readers": PermissionValue(perms=frozenset({Perm.EXECUTE, Perm.READ}))}


def test_schedule_listings() -> None:
    [item] = replies.schedule_listings(transcript("26").json())
    assert item == replies.ScheduleListing(
        schedule_id=2, project_name="demoproj", flow="basic", cron="0 0 1 ? * *"
    )
    assert replies.schedule_listings(golden_json("schedule-list/fetch-schedules-after")) == []
    assert replies.schedule_listings({}) == []


def test_listings_keep_only_the_wanted_projects_by_lower_name() -> None:
    """A --target maps one project of the listing; a nameless item is still refused."""
    reply = {
        "projects": [
            {"projectId": 1, "projectName": "ETL", "createdBy": "a", "createdTime": 1},
            {"projectId": 2, "projectName": "reports", "createdBy": "a", "createdTime": 1},
        ]
    }
    wanted = frozenset({"etl"}).__contains__
    assert [p.name for p in replies.project_listings(reply, wanted=wanted)] == ["ETL"]
    assert len(replies.project_listings(reply)) == 2
    schedules = {
        "items": [
            {"scheduleId": 1, "projectname": "reports", "flowname": "f", "cron": "0 0 1 ? * *"},
            {"scheduleId": 2, "projectname": "Etl", "flowname": "g", "cron": "0 0 2 ? * *"},
        ]
    }
    [kept] = replies.schedule_listings(schedules, wanted=wanted)
    assert kept.schedule_id == 2 and kept.project_name == "Etl"
    with pytest.raises(AzkabanError):
        replies.project_listings({"projects": [{"projectId": 3}]}, wanted=wanted)


def test_fetch_schedule_basic() -> None:
    live = replies.live_schedule(transcript("09").json())
    assert live is not None
    assert live.schedule_id == 1  # a string in this reply
    assert live.value == ScheduleValue(cron="0 23/30 5 ? * *")
    assert not live.has_sla and live.sla_partial is None
    assert live.next_exec_time == "2026-11-22 05:23:00"


def test_fetch_schedule_none() -> None:
    assert replies.live_schedule(transcript("14").json()) is None
    assert replies.live_schedule(golden_json("schedule-cron-errors/fetch-nothing-stored")) is None


def test_fetch_schedule_with_sla_shows_it_partially() -> None:
    live = replies.live_schedule(transcript("12").json())
    assert live is not None and live.has_sla
    assert live.sla_partial == SlaPartial(
        emails=frozenset({"ops@example.com"}),
        rules=frozenset({
            SlaRuleReadBack(job="", rule=SlaRule.SUCCESS, minutes=90),
            SlaRuleReadBack(job="jobA", rule=SlaRule.FINISH, minutes=300),
        }),
    )  # fmt: skip


def test_fetch_schedule_failure_options_read_back_as_sent() -> None:
    sent = golden_form("schedule-failure-options/fetch-schedule")
    assert sent["ajax"] == "fetchSchedule"
    live = replies.live_schedule(golden_json("schedule-failure-options/fetch-schedule"))
    assert live is not None
    assert live.value == ScheduleValue(
        cron="0 0 1 ? * *",
        failure_action=FailureAction.CANCEL_ALL,
        failure_emails=frozenset(
            {"a@example.com", "b@example.com", "c@example.com", "d@example.com"}
        ),
        failure_emails_override=True,
        success_emails=frozenset({"ok@example.com"}),
        success_emails_override=True,
        notify_on_first_failure=False,
        notify_on_last_failure=True,
    )


def test_fetch_schedule_disabled_jobs_and_parameters() -> None:
    live = replies.live_schedule(golden_json("schedule-disabled-and-overrides/fetch-schedule"))
    assert live is not None
    assert live.value == ScheduleValue(
        cron="0 15 6 ? * MON-FRI",
        disabled_jobs=frozenset({"jobA"}),
        parameters=pairs({"env": "prod", "retry.count": "3"}),
    )


@pytest.mark.parametrize(
    ("key", "concurrent", "level", "action"),
    [
        ("fetch-pipeline", "pipeline", 2, FailureAction.FINISH_CURRENT),
        ("fetch-ignore", "ignore", None, FailureAction.FINISH_CURRENT),
        ("fetch-skip", "skip", None, FailureAction.FINISH_POSSIBLE),
    ],
)
def test_fetch_schedule_concurrent_options(
    key: str, concurrent: str, level: int | None, action: FailureAction
) -> None:
    live = replies.live_schedule(golden_json(f"schedule-concurrent-options/{key}"))
    assert live is not None
    assert (live.value.concurrent, live.value.pipeline_level) == (concurrent, level)
    assert live.value.failure_action is action


def test_disabled_objects_read_back_as_null_name_nothing() -> None:
    options = {"disabledJobs": [None, {"name": "jobB", "children": None}], "failureAction": None}
    value = replies.schedule_value("0 0 1 ? * *", options)
    assert value.disabled_jobs == frozenset({"jobB"})
    assert value.concurrent == Concurrent.SKIP.value and value.notify_on_first_failure


def test_flow_level_sla_after_a_restart_has_a_null_job_name() -> None:
    body = json.loads(json.dumps(transcript("12").json()))
    body["schedule"]["executionOptions"]["slaOptions"][0]["jobName"] = None
    live = replies.live_schedule(body)
    assert live is not None and live.sla_partial is not None
    assert SlaRuleReadBack(job="", rule=SlaRule.SUCCESS, minutes=90) in live.sla_partial.rules


def test_sla_info_maps_succeed_minutes_and_actions() -> None:
    assert replies.sla_from_info(transcript("11").json()) == SlaValue(
        emails=frozenset({"ops@example.com"}),
        rules=frozenset(
            {
                rule("", "SUCCESS", 90, email=True, kill=True),
                rule("jobA", "FINISH", 300, kill=True),
            }
        ),
    )
    assert replies.sla_from_info(golden_json("sla-job-level/sla-info")) == SlaValue(
        emails=frozenset({"x@example.com", "y@example.com"}),
        rules=frozenset(
            {
                rule("", "FINISH", 120, email=True, kill=True),
                rule("jobA", "SUCCESS", 30, email=True),
            }
        ),
    )


def test_sla_info_succeed_sent_back_meant_finish() -> None:
    sla = replies.sla_from_info(golden_json("sla-rules/info-succeed-word"))
    assert sla == SlaValue(
        emails=frozenset({"ops@example.com"}),
        rules=frozenset({rule("", "FINISH", 90, email=True, kill=True)}),
    )


def test_sla_info_without_settings_is_no_sla() -> None:
    assert replies.sla_from_info(transcript("29").json()) is None
    assert replies.sla_from_info({"allJobNames": [], "slaEmails": ["a@x"]}) is None


def test_sla_info_null_id_is_the_whole_flow_and_alerters_give_emails() -> None:
    body = {
        "settings": [{"duration": "30m", "rule": "FINISH", "id": None, "actions": ["KILL"]}],
        "slaAlerters": {"email": {"recipients": ["a@x.com", ""]}},
    }
    assert replies.sla_from_info(body) == SlaValue(
        emails=frozenset({"a@x.com"}), rules=frozenset({rule("", "FINISH", 30, kill=True)})
    )


def test_description_is_unescaped_twice() -> None:
    page = golden("project-page-description/page").body.decode()
    assert replies.description_from_page(page) == 'Nightly <b>ETL</b> & "reports"'
    accented = '<p class="editable" id="project-description">caf&amp;eacute; &amp;amp;amp;</p>'
    assert replies.description_from_page(accented) == "café &amp;"
    assert replies.description_from_page('<p id="project-description"></p>') == ""
    assert replies.description_from_page("<html><body>nothing</body></html>") is None


def test_upload_and_download_ids_are_numbers() -> None:
    result = replies.upload_result(transcript("04").json())
    assert (result.project_id, result.version, result.warnings) == (1, 1, None)
    warned = replies.upload_result({"projectId": "3", "version": "2", "warn": "a<br>b"})
    assert warned.warnings == "a\nb"
    headers = golden("download-get-head/head-download").headers
    assert replies.download_identity(headers) == (41, 2)


def test_project_id_flows_graph_and_logs() -> None:
    assert replies.project_id(golden_json("auth-stale-cookie/project-id")) == 41
    assert replies.project_flows(transcript("05").json()) == ["basic"]
    graph = replies.flow_graph(golden_json("upload-flow20-basic/graph"))
    assert graph.flow == "basic"
    assert [(n.id, n.parents) for n in graph.nodes] == [("jobA", ()), ("jobB", ("jobA",))]
    logs = replies.project_logs(golden_json("project-change-description/logs"))
    assert [e.type for e in logs] == ["DESCRIPTION", "DESCRIPTION", "CREATED"]
    assert logs[0].message == "Description changed to " and logs[2].message is None


def test_executions() -> None:
    assert replies.exec_id(golden_json("executor-basic/execute")) == 1001
    run = replies.execution(golden_json("executor-basic/fetch-exec"))
    assert run.exec_id == 1001 and run.status == "SUCCEEDED"
    assert run.nodes == {"jobA": "SUCCEEDED", "jobB": "SUCCEEDED"}


def test_job_info_proxies_and_flow_executions() -> None:
    info = replies.job_info(
        {
            "jobName": "jobB",
            "generalParams": {"type": "command", "command": 'echo "hello from jobB"'},
            "project": "p",
            "jobType": "command",
            "projectId": 41,
            "overrideParams": {"type": "command", "command": 'echo "hello from jobB"'},
        }
    )
    assert (info.job, info.type) == ("jobB", "command")
    assert info.general_params["command"] == 'echo "hello from jobB"'
    assert replies.proxy_users({"proxyUsers": ["b", "a"]}) == ["a", "b"]
    [run] = replies.flow_executions(transcript("36").json())
    assert (run.exec_id, run.flow, run.project_id, run.status) == (1, "basic", 1, "SUCCEEDED")
    assert run.end_time == 1795350028248
    assert replies.running({}) == [] and replies.running({"execIds": [3, 4]}) == [3, 4]
    listed = replies.project_listings(transcript("20").json(), "fetchuserprojects")
    assert [p.name for p in listed] == ["demoproj"]


def test_scheduled_id_refuses_minus_one() -> None:
    assert replies.scheduled_id(transcript("07").json()) == 1
    with pytest.raises(AzkabanError, match="scheduleCronFlow"):
        replies.scheduled_id({"status": "success", "scheduleId": -1})


@pytest.mark.parametrize(
    ("parse", "body"),
    [
        (replies.live_schedule, {"schedule": {"scheduleId": "x"}}),
        (
            replies.live_schedule,
            {"schedule": {"scheduleId": "1", "executionOptions": {"failureAction": "NOPE"}}},
        ),
        (replies.sla_from_info, {"settings": [{"duration": "1:30", "rule": "FINISH"}]}),
        (replies.sla_from_info, {"settings": [{"duration": "30m", "rule": "SUCCESS"}]}),
        (replies.project_listings, {"projects": [{"projectName": "p"}]}),
        (replies.schedule_listings, []),
        (replies.upload_result, {"projectId": "1"}),
    ],
)
def test_unexpected_shapes_are_azkaban_errors(parse: Any, body: Any) -> None:
    with pytest.raises(AzkabanError, match="unexpected reply shape"):
        parse(body)


# -- round trips through the sandbox ---------------------------------------------------------

FLOW = """\
nodes:
  - name: jobA
    type: command
    config:
      command: echo a
  - name: jobB
    type: command
    dependsOn: [jobA]
    config:
      command: echo b
"""


def project_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("flow20.project", "azkaban-flow-version: 2.0\n")
        zf.writestr("basic.flow", FLOW)
        zf.writestr("other.flow", FLOW)
    return buf.getvalue()


class Live:
    def __init__(self, client: AzkabanClient, project_id: int) -> None:
        self.client = client
        self.project_id = project_id


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    server = SandboxServer(data_dir=tmp_path_factory.mktemp("wire-replies"), port=0)
    server.start()
    client = AzkabanClient(server.url, "azkaban", SecretStr("azkaban"))
    try:
        client.create_project("roundtrip", "round trips")
        client.upload("roundtrip", project_zip(), filename="roundtrip.zip")
        pid = client.get_project_id("roundtrip")
        assert pid is not None
        yield Live(client, pid)
    finally:
        client.close()
        server.stop()


def roundtrip(live: Live, value: ScheduleValue, sla: SlaValue | None, flow: str = "basic") -> None:
    sid = live.client.schedule_cron_flow("roundtrip", flow, value, sla)
    back = live.client.fetch_schedule(live.project_id, flow)
    assert back is not None
    assert back.schedule_id == sid
    assert back.value == value
    assert back.has_sla == (sla is not None)
    if sla is None:
        assert live.client.sla_info(sid) is None
        return
    assert live.client.sla_info(sid) == sla
    assert back.sla_partial == SlaPartial(
        emails=sla.emails,
        rules=frozenset(
            SlaRuleReadBack(job=r.job, rule=r.rule, minutes=r.minutes) for r in sla.rules
        ),
    )


CASES: list[tuple[ScheduleValue, SlaValue | None]] = [
    (ScheduleValue(cron="0 0 2 ? * *"), None),
    (ScheduleValue(cron="0 15 6 ? * MON-FRI", concurrent="ignore"), None),
    (ScheduleValue(cron="0 0/30 * * * ?", concurrent="pipeline", pipeline_level=1), None),
    (
        ScheduleValue(
            cron="0 0 1 1 * ?",
            concurrent="pipeline",
            pipeline_level=3,
            failure_action=FailureAction.FINISH_POSSIBLE,
        ),
        None,
    ),
    (
        ScheduleValue(
            cron="0 30 2 15 6 ? 2031",
            failure_action=FailureAction.CANCEL_ALL,
            failure_emails=frozenset({"a@example.com", "b@example.com"}),
            notify_on_first_failure=False,
            notify_on_last_failure=True,
        ),
        None,
    ),
    (
        ScheduleValue(
            cron="0 0 12 ? * 2#1",
            success_emails=frozenset({"ok@example.com"}),
            disabled_jobs=frozenset({"jobA", "jobB"}),
        ),
        None,
    ),
    (
        ScheduleValue(
            cron="0 0 3 ? * *",
            parameters=pairs({"env": "prod", "retry.count": "3", "sp ace": "a b&c=d;e,f"}),
        ),
        None,
    ),
    (
        ScheduleValue(cron="0 0 4 ? * *"),
        SlaValue(
            emails=frozenset({"ops@example.com"}), rules=frozenset({rule(email=True, minutes=90)})
        ),
    ),
    (
        ScheduleValue(cron="0 0 5 ? * *", failure_emails=frozenset({"f@example.com"})),
        SlaValue(emails=frozenset(), rules=frozenset({rule("jobA", "FINISH", 45, kill=True)})),
    ),
    (
        ScheduleValue(cron="0 0 6 ? * *"),
        SlaValue(
            emails=frozenset({"x@example.com", "y@example.com"}),
            rules=frozenset(
                {
                    rule("", "FINISH", 120, email=True, kill=True),
                    rule("jobA", "SUCCESS", 30, email=True),
                    rule("jobB", "SUCCESS", 1500, kill=True),
                }
            ),
        ),
    ),
]


@pytest.mark.parametrize(("value", "sla"), CASES)
def test_schedule_round_trip(live: Live, value: ScheduleValue, sla: SlaValue | None) -> None:
    roundtrip(live, value, sla)


def test_repost_without_sla_wipes_it(live: Live) -> None:
    sla = SlaValue(emails=frozenset({"a@example.com"}), rules=frozenset({rule(email=True)}))
    roundtrip(live, ScheduleValue(cron="0 0 7 ? * *"), sla)
    roundtrip(live, ScheduleValue(cron="0 0 7 ? * *"), None)


def test_set_sla_round_trip_keeps_the_schedule(live: Live) -> None:
    value = ScheduleValue(cron="0 0 8 ? * *", failure_emails=frozenset({"f@example.com"}))
    sid = live.client.schedule_cron_flow("roundtrip", "other", value)
    sla = SlaValue(
        emails=frozenset({"s@example.com"}),
        rules=frozenset(
            {rule("", "SUCCESS", 61, email=True), rule("jobB", "FINISH", 5, kill=True)}
        ),
    )
    live.client.set_sla(sid, sla)
    assert live.client.sla_info(sid) == sla
    back = live.client.fetch_schedule(live.project_id, "other")
    assert back is not None and back.value == value and back.has_sla


def test_cron_read_back_is_normalized(live: Live) -> None:
    value = ScheduleValue(cron="0 0 9 ? * mon-fri")  # sent verbatim, read back verbatim
    live.client.schedule_cron_flow("roundtrip", "basic", value)
    back = live.client.fetch_schedule(live.project_id, "basic")
    assert back is not None and back.value.cron == "0 0 9 ? * MON-FRI"
    [listed] = [s for s in live.client.fetch_schedules() if s.flow == "basic"]
    assert listed.cron == "0 0 9 ? * MON-FRI"


CRONS = [
    "0 0 2 ? * *",
    "0 15 6 ? * MON-FRI",
    "0 0/30 * * * ?",
    "0 0 1 1 * ?",
    "0 0 12 ? * 2#1",
    "0 0 0 L * ?",
    "0 5,35 8-18 ? * 2-6",
]
EMAILS = st.frozensets(st.sampled_from(["a@example.com", "b@example.com", "c@x.org"]), max_size=3)
KEYS = st.from_regex(r"[a-z][a-z0-9._]{0,10}", fullmatch=True)
VALUES = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
    min_size=1,
    max_size=16,
).filter(lambda v: v == v.strip())


SCHEDULE_VALUES = schedule_values(
    crons=st.sampled_from(CRONS).map(cron.normalize),
    max_level=5,
    emails=EMAILS,
    mail_creators=["default", "custom", ""],
    disabled_jobs=st.frozensets(
        st.sampled_from(["jobA", "jobB", "sub", "sub:inner2", "sub:deep:x"])
    ),
    parameters=st.dictionaries(KEYS, VALUES, max_size=3).map(pairs),
    runtime_properties=st.dictionaries(
        st.sampled_from(["jobA", "sub:inner1"]),
        st.dictionaries(KEYS, VALUES, min_size=1, max_size=2),
        max_size=2,
    ),
)


@st.composite
def sla_values(draw: st.DrawFn) -> SlaValue | None:
    if draw(st.booleans()):
        return None
    rules = draw(st.frozensets(
        st.builds(
            SlaRuleValue,
            job=st.sampled_from(["", "jobA", "jobB"]),
            rule=st.sampled_from(list(SlaRule)),
            minutes=st.integers(1, 2000),
            email=st.booleans(),
            kill=st.booleans(),
        ).filter(lambda r: r.email or r.kill),
        min_size=1, max_size=3,
    ))  # fmt: skip
    alerters = draw(
        st.dictionaries(
            st.sampled_from(["pagerduty", "slack"]),
            st.dictionaries(KEYS, st.lists(st.sampled_from(["svc-1", "svc-2", "x"]), max_size=2)),
            max_size=2,
        )
    )
    return SlaValue(emails=draw(EMAILS), rules=rules, alerters=alerters)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=SCHEDULE_VALUES, sla=sla_values())
def test_any_schedule_round_trips(live: Live, value: ScheduleValue, sla: SlaValue | None) -> None:
    roundtrip(live, value, sla, flow="other")
