"""The sandbox's schedule options as section 14 of azkaban-api.md describes them.

Over real HTTP, beyond the conformance replay: where each option sent to scheduleCronFlow is
read back by fetchSchedule, that every re-post replaces all options, and what a re-post that
fails in option parsing leaves behind (the new cron with null options, which slaInfo and
setSla cannot read).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from azstate.sandbox.server import SandboxServer
from tests.test_sandbox import FLOW20_TWO, Az

EMBEDDED = {
    "flow20.project": "azkaban-flow-version: 2.0\n",
    "main.flow": (
        "nodes:\n"
        "  - name: start\n    type: command\n    config: {command: echo start}\n"
        "  - name: sub\n    type: flow\n    dependsOn: [start]\n    nodes:\n"
        "      - name: inner1\n        type: command\n        config: {command: echo 1}\n"
        "      - name: inner2\n        type: command\n        dependsOn: [inner1]\n"
        "        config: {command: echo 2}\n"
        "  - name: done\n    type: command\n    dependsOn: [sub]\n    config: {command: x}\n"
    ),
}


@pytest.fixture
def az(sandbox: SandboxServer) -> Az:
    client = Az(sandbox.url)
    client.create("opt")
    assert client.upload("opt", EMBEDDED).status_code == 200
    client.create("two")
    assert client.upload("two", FLOW20_TWO).status_code == 200
    return client


def options(az: Az, project: str = "opt", flow: str = "main") -> Any:
    schedule = az.fetch_schedule(az.project_id(project), flow)["schedule"]
    return schedule["executionOptions"]


def scheduled(az: Az, project: str = "opt", flow: str = "main", **form: Any) -> int:
    reply = az.schedule(project, flow, **form)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["status"] == "success" and "error" not in body, body
    schedule_id: int = body["scheduleId"]
    return schedule_id


def test_runtime_properties_root_to_flow_parameters_nodes_to_runtime_properties(az: Az) -> None:
    scheduled(az, **{"runtimeProperty[ROOT][env]": "prod", "runtimeProperty[start][mem]": "2g",
                     "runtimeProperty[sub:inner1][depth]": "5",
                     "runtimeProperty[nosuch][k]": "v"})  # fmt: skip
    read = options(az)
    assert read["flowParameters"] == {"env": "prod"}
    assert read["runtimeProperties"] == {
        "start": {"mem": "2g"}, "sub:inner1": {"depth": "5"}, "nosuch": {"k": "v"},
    }  # fmt: skip


def test_queue_is_stored_as_pipeline_level(az: Az) -> None:
    scheduled(az, concurrentOption="queue")
    read = options(az)
    assert (read["concurrentOption"], read["pipelineLevel"], read["queueLevel"]) == ("queue", 1, 0)
    scheduled(az, concurrentOption="queue", queueLevel="3")
    assert (options(az)["pipelineLevel"], options(az)["queueLevel"]) == (3, 0)
    scheduled(az, concurrentOption="pipeline", pipelineLevel="0")  # not range-checked
    assert options(az)["pipelineLevel"] == 0


def test_email_lists_keep_their_override_flags_and_mail_creator_is_free_text(az: Az) -> None:
    scheduled(az, failureEmails="f1@example.com;f2@example.com", failureEmailsOverride="false",
              successEmails="s@example.com", successEmailsOverride="true",
              mailCreator="")  # fmt: skip
    read = options(az)
    assert read["failureEmails"] == ["f1@example.com", "f2@example.com"]
    assert read["successEmails"] == ["s@example.com"]
    assert (read["failureEmailsOverridden"], read["successEmailsOverridden"]) == (False, True)
    assert read["mailCreator"] == ""
    scheduled(az, mailCreator="my <creator>")
    assert options(az)["mailCreator"] == "my <creator>"


def test_sla_alerters_email_and_others(az: Az) -> None:
    sched = scheduled(az, "two", "alpha", **{
        "slaSettings[0]": "extract,FINISH,0:50,true,true",
        "slaAlerters[email][recipients]": "a@example.com b@example.com",
        "slaAlerters[pagerduty][service]": "svc-1; svc-2,svc 3",
    })  # fmt: skip
    sla = options(az, "two", "alpha")["slaOptions"][0]
    assert sla["emails"] == ["a@example.com", "b@example.com"]
    assert sla["alertersConfigs"] == {"pagerduty": {"service": ["svc-1", "svc-2", "svc 3"]}}
    info = az.get("/schedule", ajax="slaInfo", scheduleId=sched).json()
    assert info["slaAlerters"] == {
        "pagerduty": {"service": ["svc-1", "svc-2", "svc 3"]},
        "email": {"recipients": ["a@example.com", "b@example.com"]},
    }  # fmt: skip
    later = {"settings[0]": ",SUCCESS,2:00,true,false",
             "slaAlerters[email][recipients]": "later@example.com"}  # fmt: skip
    assert az.post("/schedule", ajax="setSla", scheduleId=sched, **later).json() == {}
    assert az.get("/schedule", ajax="slaInfo", scheduleId=sched).json()["slaEmails"] == [
        "later@example.com"
    ]


def test_sla_emails_with_sla_alerters_is_a_500_that_stores_nothing_new(az: Az) -> None:
    reply = az.schedule("two", "beta", **{
        "slaSettings[0]": ",SUCCESS,1:00,true,false", "slaEmails": "x@example.com",
        "slaAlerters[email][recipients]": "y@example.com",
    })  # fmt: skip
    assert reply.status_code == 500 and "HTTP ERROR 500" in reply.text
    assert az.fetch_schedule(az.project_id("two"), "beta") == {}


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ([{"id": "sub", "children": ["inner2"]}],
         [{"name": "sub", "children": [{"name": "inner2", "children": None,
                                        "embeddedFlow": False}], "embeddedFlow": True}]),
        (["start", {"id": "sub", "children": []}],
         [{"name": "start", "children": None, "embeddedFlow": False},
          {"name": "sub", "children": [], "embeddedFlow": True}]),
        (["sub"], [{"name": "sub", "children": None, "embeddedFlow": False}]),
        (["sub:inner2"], [{"name": "sub:inner2", "children": None, "embeddedFlow": False}]),
    ],
)  # fmt: skip
def test_disabled_jobs_with_embedded_children_read_back_nested(
    az: Az, sent: list[Any], stored: list[Any]
) -> None:
    scheduled(az, disabled=json.dumps(sent))
    assert options(az)["disabledJobs"] == stored


def test_every_re_post_replaces_all_options(az: Az) -> None:
    first = scheduled(az, failureEmails="f@example.com", concurrentOption="ignore",
                      disabled='["start"]', mailCreator="m", failureAction="cancelImmediately",
                      **{"runtimeProperty[ROOT][a]": "1",
                         "slaSettings[0]": ",SUCCESS,1:00,true,false",
                         "slaEmails": "s@example.com"})  # fmt: skip
    assert options(az)["slaOptions"] and options(az)["disabledJobs"]
    again = scheduled(az)
    assert again == first
    read = options(az)
    assert read["failureEmails"] == [] and read["disabledJobs"] == [] and read["slaOptions"] == []
    assert (read["concurrentOption"], read["mailCreator"], read["failureAction"]) == (
        "skip", "default", "FINISH_CURRENTLY_RUNNING",
    )  # fmt: skip
    assert read["flowParameters"] == {} and read["runtimeProperties"] == {}


@pytest.mark.parametrize(
    "broken",
    [
        {"flowOverride[a]": "1", "runtimeProperty[ROOT][b]": "2"},
        {"slaSettings[0]": ",SUCCESS,1:00,true,false", "slaEmails": "x@example.com",
         "slaAlerters[email][recipients]": "y@example.com"},
        {"concurrentOption": "pipeline", "pipelineLevel": "two"},
    ],
    ids=["flowOverride-with-runtimeProperty", "slaEmails-with-slaAlerters", "bad-pipelineLevel"],
)  # fmt: skip
def test_a_failing_re_post_leaves_the_new_cron_and_null_options(
    az: Az, broken: dict[str, str]
) -> None:
    sched = scheduled(az, **{"runtimeProperty[ROOT][env]": "prod"})
    az.set_sla(sched, ",SUCCESS,1:30,true,false")
    events = az.get("/manager", ajax="fetchProjectLogs", project="opt").json()["logData"]
    reply = az.schedule("opt", "main", cron="0 0 3 ? * *", **broken)
    assert reply.status_code == 500
    stored = az.fetch_schedule(az.project_id("opt"), "main")["schedule"]
    assert stored["scheduleId"] == str(sched)
    assert stored["cronExpression"] == "0 0 3 ? * *" and stored["executionOptions"] is None
    listed = az.get("/schedule", ajax="fetchSchedules").json()["items"]
    assert [(s["scheduleId"], s["cron"]) for s in listed if s["flowname"] == "main"] == [
        (sched, "0 0 3 ? * *")
    ]
    assert az.get("/schedule", ajax="slaInfo", scheduleId=sched).status_code == 500
    set_sla = az.post("/schedule", ajax="setSla", scheduleId=sched, slaEmails="a@example.com",
                      **{"settings[0]": ",SUCCESS,1:00,true,false"})  # fmt: skip
    assert set_sla.status_code == 500
    assert az.get("/manager", ajax="fetchProjectLogs", project="opt").json()["logData"] == events
    assert scheduled(az, **{"runtimeProperty[done][k]": "v"}) == sched
    repaired = options(az)
    assert repaired["runtimeProperties"] == {"done": {"k": "v"}}
    assert repaired["flowParameters"] == {} and repaired["slaOptions"] == []


def test_null_options_survive_a_restart(sandbox: SandboxServer, az: Az) -> None:
    """The store keeps a schedule with null options as it is (no crash on loading it)."""
    scheduled(az)
    az.schedule("opt", "main", cron="0 0 3 ? * *", **{"flowOverride[a]": "1",
                                                      "runtimeProperty[ROOT][b]": "2"})  # fmt: skip
    sandbox.stop()
    again = SandboxServer(data_dir=sandbox.data_dir, port=0).start()
    try:
        fresh = Az(again.url)
        stored = fresh.fetch_schedule(fresh.project_id("opt"), "main")["schedule"]
        assert stored["executionOptions"] is None and stored["cronExpression"] == "0 0 3 ? * *"
    finally:
        again.stop()
