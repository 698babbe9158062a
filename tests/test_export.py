"""The TOML writer behind import, without a server: what it writes reads back as the same
configuration, reads like a person wrote it, is the same text whatever the input order, and
what the TOML cannot hold becomes a note and a comment in a file that still loads."""

from __future__ import annotations

import random
import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from azstate.config import Config
from azstate.export import Exported, Remarks, duration, export, quote
from azstate.flows import FlowInfo
from azstate.load import load_config
from azstate.resources import desired_project
from azstate.state import (
    FailureAction,
    Perm,
    PermissionValue,
    ProjectState,
    ScheduleValue,
    SlaRule,
    SlaRuleValue,
    SlaValue,
)
from tests.strategies import schedule_values

NOW = datetime(2026, 1, 1, tzinfo=UTC)
FLOWS = FlowInfo(
    version="2.0",
    flows=frozenset({"daily", "hourly"}),
    jobs={"daily": frozenset({"extract", "load", "sub:inner"}), "hourly": frozenset({"ping"})},
    top_jobs={"daily": frozenset({"extract", "load", "sub"}), "hourly": frozenset({"ping"})},
)


def _project(**fields: object) -> ProjectState:
    return ProjectState.model_validate({"name": "etl", "description": "d", **fields})


def _export(
    *projects: ProjectState,
    sources: Mapping[str, str] | None = None,
    schema: str | None = None,
    flows: Mapping[str, FlowInfo] | None = None,
    remarks: Remarks | None = None,
) -> Exported:
    return export(
        projects,
        url="http://az",
        timezone="UTC",
        sources=sources or {},
        schema=schema,
        flows=flows,
        remarks=remarks,
        now=NOW,
    )


def _loads(tmp_path: Path, result: Exported) -> Config:
    """Through the loader a user's `validate` uses: line-level checks, crons that must fire."""
    path = tmp_path / "azstate.toml"
    path.write_text(result.text)
    return load_config(path, now=NOW).config


def _rule(job: str = "", rule: str = "SUCCESS", minutes: int = 60, **flags: bool) -> SlaRuleValue:
    return SlaRuleValue(job=job, rule=SlaRule(rule), minutes=minutes, **flags)


EVERYTHING = ScheduleValue(
    cron="0 15 2 ? * MON-FRI",
    concurrent="pipeline",
    pipeline_level=2,
    failure_action=FailureAction.CANCEL_ALL,
    failure_emails=frozenset({"b@example.com", "a@example.com"}),
    success_emails=frozenset({"done@example.com"}),
    notify_on_first_failure=False,
    notify_on_last_failure=True,
    disabled_jobs=frozenset({"extract"}),
    parameters=(("env", "prod"), ("with space", "x=1")),
)


def test_every_option_reads_back_as_the_same_configuration(tmp_path: Path) -> None:
    sla = SlaValue(
        emails=frozenset({"sla@example.com"}),
        rules=frozenset({_rule(email=True), _rule("load", "FINISH", 90, kill=True)}),
    )
    project = _project(
        schedules={"daily": EVERYTHING},
        slas={"daily": sla},
        permissions={
            "user.reader": PermissionValue(perms=frozenset({Perm.READ, Perm.EXECUTE})),
            "group.ops": PermissionValue(perms=frozenset({Perm.ADMIN})),
        },
    )
    result = _export(project, flows={"etl": FLOWS})
    assert result.notes == []
    etl = _loads(tmp_path, result).projects["etl"]
    daily = etl.schedules["daily"]
    assert daily.cron == EVERYTHING.cron
    assert (daily.concurrent.value, daily.pipeline_level) == ("pipeline", 2)
    assert daily.failure_action is FailureAction.CANCEL_ALL
    assert set(daily.failure_emails) == EVERYTHING.failure_emails
    assert (daily.notify_on_first_failure, daily.notify_on_last_failure) == (False, True)
    assert daily.disabled_jobs == ("extract",)
    assert daily.parameters == {"env": "prod", "with space": "x=1"}
    assert daily.sla is not None and daily.sla.emails == ("sla@example.com",)
    assert {(r.job, r.rule.value, r.duration, r.email, r.kill) for r in daily.sla.rules} == {
        (None, "SUCCESS", 60, True, False),
        ("load", "FINISH", 90, False, True),
    }
    assert etl.permissions is not None
    assert etl.permissions.users == {"reader": (Perm.EXECUTE, Perm.READ)}
    assert etl.permissions.groups == {"ops": (Perm.ADMIN,)}


def test_keys_and_strings_that_need_quoting_read_back_exactly() -> None:
    tricky = 'line one\nline "two"\t\\ é \x7f \x01 <b>&amp;</b> \U0001f600'
    project = _project(
        name="etl-2",
        description=tricky,
        schedules={
            "flow.with.dots": ScheduleValue(
                cron="0 0 2 ? * *", parameters=(("a b", 'c"d'), ("ключ", "\\n"))
            )
        },
        permissions={"user.first.last": PermissionValue(perms=frozenset({Perm.READ}))},
    )
    result = _export(project)
    config = Config.model_validate(tomllib.loads(result.text))
    etl = config.projects["etl-2"]
    assert etl.description == tricky
    assert list(etl.schedules) == ["flow.with.dots"]
    assert etl.schedules["flow.with.dots"].parameters == {"a b": 'c"d', "ключ": "\\n"}
    assert etl.permissions is not None and list(etl.permissions.users) == ["first.last"]
    assert result.notes == []
    assert "\x7f" not in result.text  # TOML allows no raw DEL in a string
    assert quote("\x7f") == '"\\u007f"'


def test_defaults_are_left_out_so_the_file_reads_as_written_by_hand() -> None:
    result = _export(
        _project(schedules={"f": ScheduleValue(cron="0 0 2 ? * *")}),
        sources={"etl": "projects/etl"},
    )
    project, schedule = result.text.split("[projects.etl]\n", 1)[1].split(
        "[projects.etl.schedules.f]\n"
    )
    assert project.strip() == 'description = "d"\nsource = "projects/etl"'
    assert schedule.strip() == 'cron = "0 0 2 ? * *"'
    assert "# no files were ever uploaded" in _export(_project()).text


def test_the_same_server_gives_the_same_text_whatever_the_order() -> None:
    names = ["zeta", "Alpha", "mid", "beta_2"]
    projects = [
        _project(
            name=n,
            schedules={f"f{i}": ScheduleValue(cron=f"0 {i} 2 ? * *") for i in range(4)},
            permissions={
                f"user.u{i}": PermissionValue(perms=frozenset({Perm.READ})) for i in range(3)
            },
        )
        for n in names
    ]
    first = _export(*projects).text
    shuffled = projects[:]
    random.Random(7).shuffle(shuffled)
    assert _export(*shuffled).text == first
    assert list(tomllib.loads(first)["projects"]) == ["Alpha", "beta_2", "mid", "zeta"]
    schedules = tomllib.loads(first)["projects"]["mid"]["schedules"]
    assert list(schedules) == ["f0", "f1", "f2", "f3"]


def test_the_schema_line_comes_first() -> None:
    text = _export(_project(), schema="azstate.schema.json").text
    assert text.splitlines()[0] == "#:schema azstate.schema.json"


def test_many_permission_entries_get_a_table_of_their_own(tmp_path: Path) -> None:
    users = {
        f"user.someone-{i:02d}": PermissionValue(perms=frozenset({Perm.READ})) for i in range(9)
    }
    result = _export(_project(permissions=users))
    assert "[projects.etl.permissions.users]" in result.text
    assert max(len(line) for line in result.text.splitlines()) <= 100
    loaded = _loads(tmp_path, result).projects["etl"].permissions
    assert loaded is not None and len(loaded.users) == 9


def test_short_groups_beside_a_users_table_stay_groups(tmp_path: Path) -> None:
    perms = {
        f"user.someone-{i:02d}": PermissionValue(perms=frozenset({Perm.READ})) for i in range(9)
    }
    perms["group.ops"] = PermissionValue(perms=frozenset({Perm.ADMIN}))
    loaded = _loads(tmp_path, _export(_project(permissions=perms))).projects["etl"].permissions
    assert loaded is not None
    assert loaded.groups == {"ops": (Perm.ADMIN,)} and len(loaded.users) == 9


def test_durations_are_written_the_way_people_write_them() -> None:
    assert [duration(m) for m in (45, 60, 90, 1440)] == ["45m", "1h", "1h30m", "24h"]


def _note_and_comment(result: Exported, *fragments: str) -> None:
    for fragment in fragments:
        hits = [n for n in result.notes if fragment in n]
        assert hits, f"no note says {fragment!r}: {result.notes}"
        for note in hits:
            assert f"# {note}\n" in result.text


def test_what_toml_cannot_hold_is_a_note_and_a_comment_and_the_file_still_loads(
    tmp_path: Path,
) -> None:
    schedules = {
        "daily": ScheduleValue(
            cron="0 0 2 ? * *",
            concurrent="pipeline",
            pipeline_level=-3,
            failure_emails=frozenset({"ok@example.com", "not-an-address"}),
            disabled_jobs=frozenset({"ghost", "load", "sub:inner"}),
            parameters=(("", "blank"), ("kept", "1")),
        ),
        "hourly": ScheduleValue(cron="0 0 * ? * *", concurrent="fifo"),
        "gone": ScheduleValue(cron="0 0 3 ? * *"),
    }
    slas = {
        "daily": SlaValue(
            emails=frozenset({"sla@example.com"}),
            rules=frozenset(
                {
                    _rule(minutes=30, email=True),
                    _rule(minutes=90, kill=True),  # a second SUCCESS rule for the flow
                    _rule("nosuch", "FINISH", 10, email=True),
                    _rule("load", "FINISH", 0, kill=True),
                    _rule("load", "SUCCESS", 5),  # no action
                }
            ),
        ),
        "hourly": SlaValue(rules=frozenset({_rule("nosuch", email=True)})),
    }
    project = _project(
        description="",
        schedules=schedules,
        slas=slas,
        permissions={
            "group.nobody": PermissionValue(perms=frozenset()),
            "user.alice": PermissionValue(perms=frozenset({Perm.READ})),
        },
    )
    result = _export(
        project,
        flows={"etl": FLOWS},
        remarks={("etl", "daily"): ("runtime properties of job 'load' (mem)",)},
    )
    _note_and_comment(
        result,
        "the server has no description",
        "pipeline level -3",
        '"not-an-address" is not an e-mail address',
        'disabled job "ghost"',
        "blank name",
        'concurrent option "fifo"',
        'the uploaded files have no flow "gone"',
        "azstate holds one rule per job and kind",
        'the flow has no job "nosuch"',
        "not at least one minute",
        "it has no action",
        "no SLA rule of this schedule can be written",
        'group "nobody" has an entry with no permission',
        "Azkaban itself cannot take back in a request what this schedule holds: runtime "
        "properties of job 'load' (mem)",
    )
    etl = _loads(tmp_path, result).projects["etl"]
    assert etl.description == "TODO: describe etl"
    assert sorted(etl.schedules) == ["daily", "hourly"]
    daily = etl.schedules["daily"]
    assert daily.pipeline_level == 1
    assert daily.failure_emails == ("ok@example.com",)
    assert daily.disabled_jobs == ("load", "sub:inner")
    assert daily.parameters == {"kept": "1"}
    assert daily.sla is not None
    assert [(r.job, r.duration) for r in daily.sla.rules] == [(None, 30)]  # the shorter one
    assert etl.schedules["hourly"].sla is None
    assert etl.permissions is not None and not etl.permissions.groups
    assert "# [projects.etl.schedules.gone]" in result.text  # the server's value, for reference


def test_a_cron_azstate_refuses_leaves_the_schedule_as_a_comment(tmp_path: Path) -> None:
    result = _export(
        _project(schedules={"daily": ScheduleValue(cron="0 0 2 ? * * 2020")}),
        flows={"etl": FLOWS},
    )
    _note_and_comment(result, 'the cron "0 0 2 ? * * 2020" is not one azstate accepts')
    assert '# cron = "0 0 2 ? * * 2020"' in result.text
    assert _loads(tmp_path, result).projects["etl"].schedules == {}


# -- every option Azkaban keeps: written, loaded, and equal to what the server holds --------

_KEYS = st.from_regex(r"[a-z][a-z0-9._ -]{0,8}", fullmatch=True)
_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
    max_size=12,
)
_EMAILS = st.frozensets(st.sampled_from(["a@example.com", "b@example.com", "c@x.org"]), max_size=2)
_NODES = ["extract", "load", "sub", "sub:inner"]


_LIVE_SCHEDULES = schedule_values(
    crons=st.sampled_from(["0 0 2 ? * *", "0 15 6 ? * MON-FRI", "0 0/30 * * * ?"]),
    max_level=4,
    emails=_EMAILS,
    mail_creators=["default", "", "custom creator"],
    disabled_jobs=st.frozensets(st.sampled_from(_NODES)),
    parameters=st.dictionaries(_KEYS.filter(str.strip), _TEXT, max_size=2),
    runtime_properties=st.dictionaries(
        st.sampled_from(_NODES),
        st.dictionaries(_KEYS.filter(str.strip), _TEXT, min_size=1, max_size=2),
        max_size=2,
    ),
    submitted_by="someone",
)


@st.composite
def _live_slas(draw: st.DrawFn) -> SlaValue | None:
    if draw(st.booleans()):
        return None
    return SlaValue(
        emails=draw(_EMAILS),
        rules=frozenset({_rule("load", "FINISH", draw(st.integers(1, 600)), kill=True)}),
        alerters=draw(  # type: ignore[arg-type]
            st.dictionaries(
                st.sampled_from(["pagerduty", "slack hook"]),
                st.dictionaries(_KEYS.filter(str.strip), st.lists(st.sampled_from(["s1", "s 2"]))),
                max_size=2,
            )
        ),
    )


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=_LIVE_SCHEDULES, sla=_live_slas())
def test_any_schedule_the_server_holds_is_written_so_the_plan_is_empty(
    tmp_path: Path, value: ScheduleValue, sla: SlaValue | None
) -> None:
    project = _project(schedules={"daily": value}, slas={"daily": sla} if sla else {})
    result = _export(project, flows={"etl": FLOWS})
    assert result.notes == []
    loaded = _loads(tmp_path, result).projects["etl"]
    want = desired_project("etl", loaded, None)
    assert want.schedules["daily"] == value
    assert want.slas.get("daily") == sla


def test_new_options_are_written_the_way_people_write_them() -> None:
    value = ScheduleValue(
        cron="0 0 2 ? * *",
        concurrent="queue",
        queue_level=1,
        failure_emails=frozenset({"a@example.com"}),
        failure_emails_override=False,
        mail_creator="custom",
        disabled_jobs=frozenset({"extract", "sub:inner"}),
        parameters=(("env", "prod"),),
        runtime_properties=(("sub:inner", (("depth", "5"),)), ("load", (("memory", "2g"),))),
    )
    sla = SlaValue(
        emails=frozenset({"ops@example.com"}),
        rules=frozenset({_rule(email=True)}),
        alerters=(("pagerduty", (("service", ("svc-1", "svc-2")),)),),
    )
    text = _export(_project(schedules={"daily": value}, slas={"daily": sla})).text
    assert (
        "\n".join(
            [
                "[projects.etl.schedules.daily]",
                'cron = "0 0 2 ? * *"',
                'concurrent = "queue"',  # queue_level 1 is Azkaban's default: not written
                'failure_emails = ["a@example.com"]',
                "failure_emails_override = false",
                'mail_creator = "custom"',
                'disabled_jobs = ["extract", "sub:inner"]',
                'parameters = { env = "prod" }',
                "",
                "[projects.etl.schedules.daily.runtime_properties]",
                'load = { memory = "2g" }',
                '"sub:inner" = { depth = "5" }',
                "",
                "[projects.etl.schedules.daily.sla]",
                'emails = ["ops@example.com"]',
                'alerters = { pagerduty = { service = ["svc-1", "svc-2"] } }',
            ]
        )
        in text
    )


def test_what_azkaban_cannot_take_back_is_one_note() -> None:
    result = _export(
        _project(schedules={"daily": ScheduleValue(cron="0 0 2 ? * *")}),
        remarks={("etl", "daily"): ("memoryCheck false", "pipelineExecutionId 12")},
    )
    assert result.notes == [
        "project etl, flow daily: Azkaban itself cannot take back in a request what this "
        "schedule holds: memoryCheck false; pipelineExecutionId 12 (any apply that re-posts the "
        "schedule loses it, and the plan shows that)"
    ]
    # the same words held by the live value (as a refresh reads them) make one note, not two
    held = ScheduleValue(cron="0 0 2 ? * *", cannot_repost=("memoryCheck false",))
    again = _export(
        _project(schedules={"daily": held}),
        remarks={("etl", "daily"): ("memoryCheck false",)},
    )
    assert len(again.notes) == 1 and "memoryCheck false (any apply" in again.notes[0]


def test_alerter_values_the_toml_refuses_are_noted() -> None:
    sla = SlaValue(
        rules=frozenset({_rule(kill=True)}),
        alerters=(
            ("bad]name", (("k", ("v",)),)),
            ("pagerduty", (("service", ("", "svc-1")),)),
        ),
    )
    result = _export(_project(schedules={"daily": ScheduleValue(cron="0 0 2 ? * *")},
                              slas={"daily": sla}))  # fmt: skip
    _note_and_comment(
        result,
        'SLA alerter "bad]name" has a name the TOML cannot hold',
        'SLA alerter "pagerduty": service = ["", "svc-1"] holds a value the TOML cannot',
    )
    assert 'alerters = { pagerduty = { service = ["svc-1"] } }' in result.text


def test_text_that_reads_as_a_variable_is_escaped_and_reads_back_exactly(tmp_path: Path) -> None:
    """A server value holding `${var.x}` or `$${` must not be interpolated when the imported
    file is loaded; Azkaban's own `${...}` properties stay as written."""
    values = {
        "a": "${var.token}",
        "b": "$${literal",
        "c": "${azkaban.flow.start.timestamp}",
        "${var.k}": "plain",
    }
    schedule = EVERYTHING.model_copy(update={"parameters": tuple(sorted(values.items()))})
    project = _project(schedules={"daily": schedule}, description="costs $${var.x} or ${var.y}")
    result = _export(project, flows={"etl": FLOWS})
    assert "${azkaban.flow.start.timestamp}" in result.text  # not escaped: not a variable
    etl = _loads(tmp_path, result).projects["etl"]
    assert etl.schedules["daily"].parameters == values
    assert etl.description == "costs $${var.x} or ${var.y}"
