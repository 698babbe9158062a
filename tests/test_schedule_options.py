"""Every option Azkaban keeps for a schedule, without a server: the TOML that holds it, the
exact request parameters that send it, the mapping of the recorded replies (from a real server,
tests/data/schedule_options/, copied from the conformance suite) back into the same value, and
the plan that shows each removal."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from azstate.config import ProjectConfig, ScheduleConfig, SlaConfig
from azstate.diff import DiffOptions, diff
from azstate.plan import Plan
from azstate.resources import desired_project
from azstate.state import (
    END_SCHED_TIME_DEFAULT,
    LiveIds,
    ProjectState,
    ScheduleValue,
    ServerState,
    SlaRule,
    SlaRuleValue,
    SlaValue,
    jsonable,
)
from azstate.wire import calls, replies
from tests.test_diff import CASES, run_case

DATA = Path(__file__).parent / "data" / "schedule_options"
CRON = "0 0 1 ? * *"


def recorded(scenario: str) -> dict[str, tuple[dict[str, str], Any]]:
    """Step name -> (the request's parameters, the reply the real server gave)."""
    steps = json.loads((DATA / f"{scenario}.json").read_text())["steps"]
    text = (DATA / f"{scenario}.golden.json").read_text()
    # captured ids are placeholders in the goldens: any number stands for them
    golden = json.loads(re.sub(r'"#?\$\{[A-Z0-9]+\}"', '"41"', text))["steps"]
    out = {}
    for step, reply in zip(steps, golden, strict=True):
        params = dict(step.get("form") or step.get("query") or [])
        params.pop("session.id", None)
        out[step["name"]] = (params, reply["body"].get("json"))
    return out


def schedule(**fields: Any) -> ScheduleConfig:
    return ScheduleConfig.model_validate({"cron": CRON, **fields})


def desired(**fields: Any) -> ScheduleValue:
    """The value desired_project makes of a schedule table with these keys."""
    project = ProjectConfig.model_validate(
        {"description": "d", "schedules": {"main": {"cron": CRON, **fields}}}
    )
    return desired_project("etl", project, None).schedules["main"]


def desired_sla(**fields: Any) -> SlaValue:
    project = ProjectConfig.model_validate(
        {"description": "d", "schedules": {"main": {"cron": CRON, "sla": fields}}}
    )
    return desired_project("etl", project, None).slas["main"]


def params(value: ScheduleValue, sla: SlaValue | None = None) -> list[tuple[str, str]]:
    return list(calls.schedule_cron_flow("etl", "main", value, sla).params)


def error(model: type[Any], data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return str(info.value)


# -- the TOML ------------------------------------------------------------------------------


def test_every_option_has_a_key() -> None:
    sched = schedule(
        concurrent="queue",
        queue_level=0,
        failure_action_override=True,
        failure_emails=["f@example.com"],
        failure_emails_override=False,
        success_emails_override=True,
        mail_creator="",
        disabled_jobs=["start", "sub:inner2", "sub:deep:x"],
        parameters={"env": "prod"},
        runtime_properties={"start": {"memory": "2g", "n": 3, "on": True}, "sub:inner1": {}},
        back_execute_once=True,
        sla={
            "alerters": {"pagerduty": {"service": ["svc-1"]}},
            "rules": [{"rule": "FINISH", "duration": 5, "kill": True}],
        },
    )
    assert sched.runtime_properties["start"] == {"memory": "2g", "n": "3", "on": "true"}
    assert sched.mail_creator == ""
    assert sched.sla is not None and sched.sla.alerters == {"pagerduty": {"service": ("svc-1",)}}


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"runtime_properties": {"ROOT": {"k": "v"}}}, "ROOT is the flow itself"),
        ({"runtime_properties": {"": {"k": "v"}}}, "must not be empty"),
        ({"runtime_properties": {"a]b": {"k": "v"}}}, "holds ']'"),
        ({"runtime_properties": {"a": {"": "v"}}}, "must not be empty"),
        ({"runtime_properties": {"a": "v"}}, "valid dictionary"),
        ({"queue_level": 1}, 'only allowed with concurrent = "queue"'),
        ({"concurrent": "pipeline", "pipeline_level": 1, "queue_level": 1}, "only allowed"),
        ({"concurrent": "queue", "queue_level": -1}, "greater than or equal to 0"),
        ({"concurrent": "queue", "pipeline_level": 1}, 'only allowed with concurrent = "pipeline"'),
        ({"concurrent": "pipeline", "pipeline_level": 2**31}, "less than or equal to"),
        ({"disabled_jobs": ["sub:"]}, 'an empty name around ":"'),
        ({"disabled_jobs": [":x"]}, 'an empty name around ":"'),
        ({"mail_creator": 1}, "valid string"),
        ({"failure_emails_override": "true"}, "valid boolean"),
    ],
)
def test_schedule_refusals(fields: dict[str, Any], fragment: str) -> None:
    assert fragment in error(ScheduleConfig, {"cron": CRON, **fields})


@pytest.mark.parametrize(
    ("alerters", "fragment"),
    [
        ({"email": {"recipients": ["a@example.com"]}}, "write them there"),
        ({"EMAIL": {"recipients": ["a@example.com"]}}, "write them there"),
        ({"pagerduty": {"service": ["a,b"]}}, "holds ',' or ';'"),
        ({"pagerduty": {"service": ["a;b"]}}, "holds ',' or ';'"),
        ({"pagerduty": {"service": [""]}}, "must not be empty"),
        ({"pagerduty": {"service": [" a"]}}, "surrounding spaces"),
        ({"pagerduty": {"service": "a"}}, "valid tuple"),
        ({"pager]duty": {"service": ["a"]}}, "holds ']'"),
    ],
)
def test_sla_alerter_refusals(alerters: dict[str, Any], fragment: str) -> None:
    rules = [{"rule": "FINISH", "duration": 5, "kill": True}]
    assert fragment in error(SlaConfig, {"alerters": alerters, "rules": rules})


def test_left_out_values_take_azkabans_defaults() -> None:
    value = desired()
    assert value == ScheduleValue(cron=CRON)
    assert (value.mail_creator, value.queue_level, value.back_execute_once) == (
        "default",
        None,
        False,
    )
    assert value.end_sched_time == END_SCHED_TIME_DEFAULT
    assert desired(concurrent="queue").queue_level == 1  # Azkaban's default queue level
    assert desired(concurrent="queue", queue_level=0).queue_level == 0


def test_email_lists_override_by_default_when_not_empty() -> None:
    """The TOML's default for the override flags: true with addresses (what azstate always
    sent), false without (Azkaban's default)."""
    assert desired(failure_emails=["a@example.com"]).failure_emails_override is True
    assert desired().failure_emails_override is False
    assert desired(success_emails=["a@example.com"], success_emails_override=False) == desired(
        success_emails=["a@example.com"], success_emails_override=False
    )
    off = desired(failure_emails=["a@example.com"], failure_emails_override=False)
    assert off.failure_emails_override is False
    assert off != desired(failure_emails=["a@example.com"])


# -- the request ---------------------------------------------------------------------------

BASE = [
    ("ajax", "scheduleCronFlow"),
    ("projectName", "etl"),
    ("flow", "main"),
    ("cronExpression", CRON),
]
OPTIONS = [
    ("failureAction", "finishCurrent"),
    ("failureActionOverride", "false"),
    ("failureEmailsOverride", "false"),
    ("successEmailsOverride", "false"),
    ("failureEmails", ""),
    ("successEmails", ""),
    ("notifyFailureFirst", "true"),
    ("notifyFailureLast", "false"),
    ("mailCreator", "default"),
    ("backExecuteOnce", "false"),
]


def test_default_schedule_sends_every_option_explicitly() -> None:
    assert params(desired()) == [
        *BASE,
        ("concurrentOption", "skip"),
        *OPTIONS,
        ("disabled", "[]"),
    ]


def test_parameters_alone_go_as_flow_override() -> None:
    sent = params(desired(parameters={"env": "prod", "a": 1}))
    assert sent[-2:] == [("flowOverride[a]", "1"), ("flowOverride[env]", "prod")]
    assert not any(k.startswith("runtimeProperty") for k, _ in sent)


def test_with_node_properties_parameters_go_as_root_and_never_as_flow_override() -> None:
    sent = params(
        desired(
            parameters={"env": "prod", "retries": 3},
            runtime_properties={"start": {"memory": "2g"}, "sub:inner1": {"depth": 5}},
        )
    )
    assert sent[-4:] == [
        ("runtimeProperty[ROOT][env]", "prod"),
        ("runtimeProperty[ROOT][retries]", "3"),
        ("runtimeProperty[start][memory]", "2g"),
        ("runtimeProperty[sub:inner1][depth]", "5"),
    ]
    assert not any(k.startswith("flowOverride") for k, _ in sent)
    # what the real server was sent in the recorded scenario, option for option
    form, _ = recorded("schedule-options-runtime-properties")["schedule-runtime"]
    assert {k: v for k, v in sent if k.startswith("runtimeProperty")} == {
        k: v for k, v in form.items() if k.startswith("runtimeProperty")
    }


def test_node_properties_without_parameters() -> None:
    sent = params(desired(runtime_properties={"done": {"k": "v"}}))
    assert sent[-1] == ("runtimeProperty[done][k]", "v")
    assert not any("ROOT" in k or k.startswith("flowOverride") for k, _ in sent)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"concurrent": "ignore"}, [("concurrentOption", "ignore")]),
        ({"concurrent": "pipeline", "pipeline_level": 0}, [
            ("concurrentOption", "pipeline"), ("pipelineLevel", "0")
        ]),
        ({"concurrent": "pipeline", "pipeline_level": 2}, [
            ("concurrentOption", "pipeline"), ("pipelineLevel", "2")
        ]),
        ({"concurrent": "queue"}, [("concurrentOption", "queue"), ("queueLevel", "1")]),
        ({"concurrent": "queue", "queue_level": 3}, [
            ("concurrentOption", "queue"), ("queueLevel", "3")
        ]),
    ],
)  # fmt: skip
def test_concurrency_and_its_level(fields: dict[str, Any], expected: list[Any]) -> None:
    sent = params(desired(**fields))
    assert sent[4 : 4 + len(expected)] == expected
    assert sent[4 + len(expected)] == ("failureAction", "finishCurrent")


def test_mail_creator_override_flags_and_back_execute_once() -> None:
    sent = dict(
        params(
            desired(
                mail_creator="custom-creator",
                failure_emails=["f2@example.com", "f1@example.com"],
                failure_emails_override=False,
                success_emails=["s1@example.com"],
                success_emails_override=False,
                failure_action_override=True,
                back_execute_once=True,
            )
        )
    )
    form, _ = recorded("schedule-options-emails-concurrency")["schedule-emails"]
    for name in ("mailCreator", "failureEmails", "failureEmailsOverride", "successEmails",
                 "successEmailsOverride"):  # fmt: skip
        assert sent[name] == form[name], name
    assert sent["failureActionOverride"] == "true"
    assert sent["backExecuteOnce"] == "true"


@pytest.mark.parametrize(
    ("jobs", "expected"),
    [
        (["sub:inner2"], '[{"id":"sub","children":["inner2"]}]'),
        (["start", "sub:inner2"], '["start",{"id":"sub","children":["inner2"]}]'),
        (["sub"], '["sub"]'),
        (["sub", "sub:inner2"], '["sub",{"id":"sub","children":["inner2"]}]'),
        (
            ["sub:inner1", "sub:deep:x", "sub:deep:y"],
            '[{"id":"sub","children":[{"id":"deep","children":["x","y"]},"inner1"]}]',
        ),
    ],
)
def test_disabled_jobs_inside_embedded_flows_go_nested(jobs: list[str], expected: str) -> None:
    assert dict(params(desired(disabled_jobs=jobs)))["disabled"] == expected


def test_the_recorded_disabled_requests_are_what_azstate_sends() -> None:
    steps = recorded("schedule-options-disabled-embedded")
    for step, jobs in (
        ("disabled-child", ["sub:inner2"]),
        ("disabled-mixed", ["start", "sub:inner2"]),
        ("disabled-whole-sub", ["sub"]),
    ):
        assert dict(params(desired(disabled_jobs=jobs)))["disabled"] == steps[step][0]["disabled"]


RULE = {"rule": "SUCCESS", "duration": "1:30", "email": True}


def test_sla_emails_alone_go_as_sla_emails() -> None:
    sla = desired_sla(emails=["a@example.com", "b@example.com"], rules=[RULE])
    sent = params(desired(), sla)
    assert sent[-2:] == [("slaSettings[0]", ",SUCCESS,1:30,true,false"),
                         ("slaEmails", "a@example.com,b@example.com")]  # fmt: skip


def test_sla_alerters_go_as_sla_alerters_and_never_with_sla_emails() -> None:
    sla = desired_sla(
        emails=["ops@example.com"],
        alerters={"pagerduty": {"service": ["svc-1", "svc-2"]}},
        rules=[{"job": "extract", "rule": "FINISH", "duration": 50, "email": True, "kill": True}],
    )
    sent = params(desired(), sla)
    assert sent[-3:] == [
        ("slaSettings[0]", "extract,FINISH,0:50,true,true"),
        ("slaAlerters[email][recipients]", "ops@example.com"),
        ("slaAlerters[pagerduty][service]", "svc-1,svc-2"),
    ]
    assert "slaEmails" not in dict(sent)
    form, _ = recorded("schedule-options-sla-alerters")["schedule-two-alerters"]
    assert {k: v for k, v in sent if k.startswith("sla")} == {
        k: v for k, v in form.items() if k.startswith("sla")
    }
    set_sla = list(calls.set_sla(7, sla).params)
    assert set_sla == [
        ("ajax", "setSla"),
        ("scheduleId", "7"),
        ("settings[0]", "extract,FINISH,0:50,true,true"),
        ("slaAlerters[email][recipients]", "ops@example.com"),
        ("slaAlerters[pagerduty][service]", "svc-1,svc-2"),
    ]
    no_emails = desired_sla(alerters={"x": {"k": ["v"]}}, rules=[RULE])
    assert [k for k, _ in calls.set_sla(7, no_emails).params][2:] == [
        "settings[0]",
        "slaAlerters[x][k]",
    ]


# -- the recorded replies ------------------------------------------------------------------


def live(scenario: str, step: str) -> replies.LiveSchedule:
    found = replies.live_schedule(recorded(scenario)[step][1])
    assert found is not None
    return found


def test_runtime_properties_read_back_as_sent() -> None:
    got = live("schedule-options-runtime-properties", "fetch-runtime")
    assert got.value == desired(
        parameters={"env": "prod", "retries": "3"},
        runtime_properties={"start": {"memory": "2g"}, "sub:inner1": {"depth": "5"}},
    )
    assert got.value.submitted_by == "azkaban" and got.unmanaged == ()
    assert live("schedule-options-runtime-properties", "fetch-after-repost").value == desired()
    recovered = live("schedule-options-runtime-properties", "fetch-recovered")
    assert recovered.value == desired(runtime_properties={"done": {"k": "v"}})


def test_a_schedule_left_without_options_equals_no_configuration() -> None:
    got = live("schedule-options-runtime-properties", "fetch-after-broken")
    assert got.value.no_options and got.value.cron == "0 0 3 ? * *"
    assert got.value != desired().model_copy(update={"cron": "0 0 3 ? * *"})
    assert jsonable(got.value)["no_options"] is True  # type: ignore[index]


@pytest.mark.parametrize(
    ("step", "fields"),
    [
        ("fetch-emails", {
            "mail_creator": "custom-creator",
            "failure_emails": ["f1@example.com", "f2@example.com"],
            "failure_emails_override": False,
            "success_emails": ["s1@example.com"],
            "success_emails_override": False,
        }),
        ("fetch-queue", {"concurrent": "queue", "queue_level": 3}),
        ("fetch-queue-default", {"concurrent": "queue"}),
        ("fetch-pipeline-1", {"concurrent": "pipeline", "pipeline_level": 1}),
        ("fetch-pipeline-2", {"concurrent": "pipeline", "pipeline_level": 2}),
        ("fetch-after-repost", {}),
    ],
)  # fmt: skip
def test_emails_and_concurrency_read_back_as_sent(step: str, fields: dict[str, Any]) -> None:
    got = live("schedule-options-emails-concurrency", step)
    assert got.value == desired(**fields)
    assert got.unmanaged == ()


@pytest.mark.parametrize(
    ("step", "jobs", "unmanaged"),
    [
        ("fetch-disabled-child", ["sub:inner2"], 0),
        ("fetch-disabled-mixed", ["start", "sub:inner2"], 0),
        ("fetch-disabled-whole-sub", ["sub"], 0),
        ("fetch-disabled-qualified", [], 1),  # stored literally: names nothing, disables nothing
        ("fetch-disabled-empty-children", [], 0),  # an embedded flow with no child: nothing
        ("fetch-after-repost", [], 0),
    ],
)
def test_disabled_jobs_read_back_as_toml_names(step: str, jobs: list[str], unmanaged: int) -> None:
    got = live("schedule-options-disabled-embedded", step)
    assert got.value.disabled_jobs == frozenset(jobs)
    assert len(got.unmanaged) == unmanaged
    assert got.value.cannot_repost == got.unmanaged
    if unmanaged:
        assert "'sub:inner2'" in got.unmanaged[0] and "disables nothing" in got.unmanaged[0]
        assert got.value != desired(disabled_jobs=jobs)  # the plan shows the re-post drops it
    else:
        assert got.value == desired(disabled_jobs=jobs)


def test_sla_alerters_read_back_as_sent() -> None:
    steps = recorded("schedule-options-sla-alerters")
    two = replies.sla_from_info(steps["sla-info-two-alerters"][1])
    assert two == desired_sla(
        emails=["ops@example.com"],
        alerters={"pagerduty": {"service": ["svc-1", "svc-2"]}},
        rules=[{"job": "extract", "rule": "FINISH", "duration": 50, "email": True, "kill": True}],
    )
    one = replies.sla_from_info(steps["sla-info-email-alerter"][1])
    assert one == desired_sla(emails=["a@example.com", "b@example.com"], rules=[RULE])
    assert one is not None and one.alerters == ()
    assert replies.sla_from_info(steps["sla-info-after-repost"][1]) is None
    fetched = replies.live_schedule(steps["fetch-two-alerters"][1])
    assert fetched is not None and fetched.unmanaged == ()


def test_only_what_azkaban_cannot_take_back_is_unmanaged() -> None:
    options = recorded("schedule-options-emails-concurrency")["fetch-emails"][1]["schedule"][
        "executionOptions"
    ]
    assert replies.unmanaged_options(options) == ()
    odd = {**options, "memoryCheck": False, "pipelineExecutionId": 12}
    found = replies.unmanaged_options(odd)
    assert len(found) == 2
    assert "memoryCheck" in found[0] and "pipelineExecutionId 12" in found[1]
    # held by the live value, so the plan shows what a re-post loses, and a saved plan's
    # fingerprint covers it
    value = replies.schedule_value(CRON, odd)
    assert value.cannot_repost == found
    assert value != replies.schedule_value(CRON, options)


# -- normalisation -------------------------------------------------------------------------


def test_display_only_values_never_make_a_difference() -> None:
    a = ScheduleValue(cron=CRON, submitted_by="alice")
    b = ScheduleValue(cron=CRON, submitted_by="ci", end_sched_time=END_SCHED_TIME_DEFAULT)
    assert a == b and hash(a) == hash(b)
    assert a != ScheduleValue(cron=CRON, mail_creator="x", submitted_by="alice")
    assert len({a, b}) == 1


def test_orders_and_empty_nodes_do_not_matter() -> None:
    one = ScheduleValue(
        cron=CRON,
        runtime_properties={"b": {"y": "2", "x": "1"}, "a": {"k": "v"}, "empty": {}},
        disabled_jobs=frozenset({"sub:inner2", "start"}),
    )
    two = ScheduleValue(
        cron=CRON,
        runtime_properties=(("a", (("k", "v"),)), ("b", (("x", "1"), ("y", "2")))),
        disabled_jobs=frozenset({"start", "sub:inner2"}),
    )
    assert one == two
    assert jsonable(one)["runtime_properties"] == {"a": {"k": "v"}, "b": {"x": "1", "y": "2"}}  # type: ignore[index]
    sla = SlaValue(
        rules=frozenset({SlaRuleValue(rule=SlaRule.FINISH, minutes=5, kill=True)}),
        alerters={"z": {"b": ["1"], "a": []}, "y": {"k": ["v"]}},
    )
    assert sla.alerters == (("y", (("k", ("v",)),)), ("z", (("a", ()), ("b", ("1",)))))
    assert jsonable(sla)["alerters"] == {"y": {"k": ["v"]}, "z": {"a": [], "b": ["1"]}}  # type: ignore[index]


def test_a_value_the_server_holds_differs_from_the_default() -> None:
    base = desired()
    for fields in (
        {"runtime_properties": {"a": {"k": "v"}}},
        {"mail_creator": ""},
        {"failure_emails_override": True},
        {"success_emails_override": True},
        {"failure_action_override": True},
        {"concurrent": "queue", "queue_level": 1},
        {"back_execute_once": True},
        {"disabled_jobs": frozenset({"sub:inner2"})},
        {"no_options": True},
    ):
        assert ScheduleValue(cron=CRON, **fields) != base, fields  # type: ignore[arg-type]


# -- the plan ------------------------------------------------------------------------------

SCENARIOS = [p for p in CASES if "expect_json" in json.loads(p.read_text())]


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_each_removal_is_in_the_plan_json(path: Path) -> None:
    case, plan = run_case(path)
    assert isinstance(plan, Plan)
    data = json.loads(plan.dumps())
    changes = {c["address"]: c for c in data["changes"]}
    for address, sides in case["expect_json"].items():
        for side, fields in sides.items():
            for field, value in fields.items():
                assert changes[address][side][field] == value, (address, side, field)


def test_saved_plans_go_stale_when_any_new_value_changes() -> None:
    """The fingerprint covers the whole live value: someone adding runtime properties (or any
    other option) between plan and apply makes the saved plan stale."""

    def planned(live: ScheduleValue) -> str | None:
        pid = LiveIds(project_id=1, schedule_ids={"main": 5})
        state = ProjectState(name="etl", schedules={"main": live}, ids=pid)
        want = ProjectState(name="etl", schedules={"main": ScheduleValue(cron="0 0 9 ? * *")})
        plan = diff(
            ServerState(projects={"etl": want}, user="ci"),
            ServerState(projects={"etl": state}, user="ci"),
            DiffOptions(),
        )
        return plan.changes[0].fingerprint

    base = planned(ScheduleValue(cron=CRON))
    for fields in (
        {"runtime_properties": {"a": {"k": "v"}}},
        {"mail_creator": "x"},
        {"failure_emails_override": True},
        {"concurrent": "queue", "queue_level": 2},
        {"disabled_jobs": frozenset({"sub:inner2"})},
        {"back_execute_once": True},
        {"submitted_by": "alice"},
    ):
        assert planned(ScheduleValue(cron=CRON, **fields)) != base, fields  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("stem", "words"),
    [
        ("runtime-properties-removed", ["runtime_properties", "memory", "alice", "azkaban"]),
        ("mail-creator-removed", ["mail_creator", "custom-creator"]),
        ("queue-removed", ["concurrent", "queue", "queue_level"]),
        ("sla-alerters-removed", ["alerters", "pagerduty"]),
        ("disabled-embedded-child-to-whole", ["disabled_jobs", "sub:inner2"]),
    ],
)
def test_the_text_and_markdown_plans_name_each_removal(stem: str, words: list[str]) -> None:
    from azstate.views import markdown
    from azstate.views.text import lines

    _, plan = run_case(next(p for p in SCENARIOS if p.stem == stem))
    assert isinstance(plan, Plan)
    text = "\n".join(line.plain for line in lines(plan))
    md = markdown.render(plan)
    for word in words:
        assert word in text, (word, text)
        assert word in md, (word, md)
