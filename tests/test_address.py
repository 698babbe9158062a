"""Addresses: both spellings parse, the quoted one round-trips any name, plain ones print as
they always did, and a plan carries them as their text."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from azstate.address import Address, Kind
from azstate.errors import PlanError
from azstate.plan import Action, Change, Plan


@pytest.mark.parametrize(
    ("text", "kind", "principal", "name"),
    [
        ("project.etl", Kind.PROJECT, "", ""),
        ("project.etl.files", Kind.FILES, "", ""),
        ("project.etl.schedule.daily", Kind.SCHEDULE, "", "daily"),
        ("project.etl.sla.daily", Kind.SLA, "", "daily"),
        ("project.etl.permission.user.alice", Kind.PERMISSION, "user", "alice"),
        ("project.etl.permission.group.ops", Kind.PERMISSION, "group", "ops"),
    ],
)
def test_plain_addresses_print_as_they_parse(
    text: str, kind: Kind, principal: str, name: str
) -> None:
    addr = Address.parse(text)
    assert (addr.project, addr.kind, addr.principal, addr.name) == ("etl", kind, principal, name)
    assert str(addr) == text


def test_a_name_that_is_not_plain_prints_quoted_and_both_spellings_parse() -> None:
    legacy = Address.parse("project.etl.permission.group.ops.team")
    quoted = Address.parse('project.etl.permission.group["ops.team"]')
    assert legacy == quoted == Address.permission("etl", "group", "ops.team")
    assert str(quoted) == 'project.etl.permission.group["ops.team"]'
    assert str(Address.schedule("etl", "a b")) == 'project.etl.schedule["a b"]'
    assert str(Address.sla("etl", "")) == 'project.etl.sla[""]'


def test_quoting_escapes_quotes_backslashes_and_control_characters() -> None:
    addr = Address.permission("etl", "user", 'a"b\\c\nd')
    assert str(addr) == 'project.etl.permission.user["a\\"b\\\\c\\nd"]'
    assert Address.parse(str(addr)) == addr


@given(
    st.sampled_from([Kind.SCHEDULE, Kind.SLA, Kind.PERMISSION]),
    st.sampled_from(["user", "group"]),
    st.text(max_size=20),
)
def test_every_name_round_trips(kind: Kind, principal: str, name: str) -> None:
    addr = Address("etl", kind, name, principal if kind is Kind.PERMISSION else "")
    assert Address.parse(str(addr)) == addr


@pytest.mark.parametrize(
    "text",
    [
        "etl",
        "project.",
        "project.etl.nothing",
        "project.etl.schedule",
        "project.etl.schedulex",
        "project.etl.permission.robot.x",
        'project.etl.schedule["a"',
        'project.etl.schedule["a"]x',
        "project.etl.schedule[1]",
        'project["etl"]',
    ],
)
def test_bad_addresses_are_refused_in_one_line(text: str) -> None:
    with pytest.raises(PlanError, match="invalid address"):
        Address.parse(text)


def test_addresses_sort_by_project_then_kind_then_name() -> None:
    texts = [
        "project.b",
        "project.a.permission.user.z",
        "project.a.sla.x",
        "project.a.schedule.y",
        "project.a.schedule.x",
        "project.a.files",
        "project.A",
    ]
    assert [str(a) for a in sorted(map(Address.parse, texts))] == [
        "project.A",
        "project.a.files",
        "project.a.schedule.x",
        "project.a.schedule.y",
        "project.a.sla.x",
        "project.a.permission.user.z",
        "project.b",
    ]


def test_a_plan_holds_addresses_as_text_and_reads_them_back() -> None:
    change = Change(address=Address.schedule("etl", "a.b"), action=Action.DELETE)
    plan = Plan(server="http://x", changes=(change,), targets=(Address.project_("etl"),))
    data = json.loads(plan.dumps())
    assert data["changes"][0]["address"] == 'project.etl.schedule["a.b"]'
    assert data["targets"] == ["project.etl"]
    assert Plan.from_json(data) == plan


def test_an_address_is_immutable() -> None:
    addr = Address.parse("project.etl")
    with pytest.raises(AttributeError):
        addr.project = "other"  # type: ignore[misc]
