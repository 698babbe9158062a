"""The neutralising rules one by one, and every console view at every width.

test_hostile_e2e.py runs the corpus through the commands; here each rule of views/neutral.py is
pinned on its own, and each rich view is rendered at widths from 10 to 120 columns with values
that put a space at every offset: a view that let the console fold a line would start a new line
with ``::error::`` at one of them.
"""

from __future__ import annotations

import json
import logging
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from azstate.address import Address
from azstate.apply import ChangeOutcome
from azstate.plan import Action, ApplyStatus, Call, Change, Drift, Plan
from azstate.views import markdown, neutral, text
from azstate.views.json import render_calls
from azstate.views.report import apply_report_json, render_apply_report
from azstate.views.validate import ProjectLine, ScheduleLine, ValidateSummary, render_summary
from tests.test_hostile_e2e import GROUPS, assert_inert, assert_markdown_inert
from tests.test_views_fixtures import NOW, SERVER, TZ, console, output, schedule

CORPUS = (*GROUPS, "\x85::e", "\t::e", "a\u2028::b", "\U000e0041", "x\r##[y", "#", "##")
# A space at every offset before a command, so any folding width meets one.
SPACED = tuple("a" * k + " ::error::folded" for k in range(60))


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("::add-mask::x", "\\u003a:add-mask::x"),
        ("  ::stop-commands::t", "  \\u003a:stop-commands::t"),
        (" \u3000\u00a0::e", " \u3000\u00a0\\u003a:e"),  # .NET's Trim() removes these too
        ("\t::e", "\\t::e"),
        (":", "\\u003a"),
        (": x", "\\u003a x"),  # laid out first, ': ' after it would make '::'
        ("a::b", "a::b"),  # only a line's start is read as a command
        ("##[error]x", "\\u0023#[error]x"),
        ("x ##vso[task.setvariable]", "x \\u0023#vso[task.setvariable]"),
        ("##VSO[", "\\u0023#VSO["),
        (
            "x ##teamcity[setParameter name='env.X']",
            "x \\u0023#teamcity[setParameter name='env.X']",
        ),
        ("###[", "#\\u0023#["),
        ("# [x] ## y", "# [x] ## y"),
        ("\x00\x85\u2029", "\\u0000\\u0085\\u2029"),
        ("\ud800x", "\\ud800x"),  # a lone surrogate from a JSON reply: printing it would crash
    ],
)
def test_for_text_rules(raw: str, shown: str) -> None:
    assert neutral.for_text(raw) == shown


@pytest.mark.parametrize("value", CORPUS)
def test_for_text_is_one_inert_line_and_idempotent(value: str) -> None:
    shown = neutral.for_text(value)
    assert_inert(shown)
    assert "\n" not in shown
    assert neutral.for_text(shown) == shown
    for prefix in ("", "      ", "    - ", "x: "):
        assert_inert(prefix + shown)


@pytest.mark.parametrize("value", ["a\\|b", "\\|", "a\\\\|b", "|", "`|`", "x|\\"])
def test_a_table_cell_cannot_be_split_by_github_or_markdown_it(value: str) -> None:
    cell = neutral.md_cell(value)
    # GitHub reads '\\' as an escaped backslash, then '|' as a cell boundary; markdown-it reads
    # '\\|' as an escaped pipe. So every '|' has exactly one backslash before it.
    assert re.findall(r"\\*\|", cell) == ["\\|"] * len(re.findall(r"(?<!\\)\|", value))
    table = f"| a | b |\n|---|---|\n| {cell} | z |\n"
    html = MarkdownIt("commonmark").enable("table").render(table)
    row = html.split("<tbody>")[1]
    assert row.count("<td>") == 2
    assert neutral.for_text(value).replace("\\|", "\\\\u007c") in row.replace("&quot;", '"')


@pytest.mark.parametrize("value", CORPUS)
def test_json_is_exact_ascii_and_inert(value: str) -> None:
    document = neutral.for_json(json.dumps({value: [value]}, indent=2, ensure_ascii=True))
    assert document.isascii() and "##" not in document
    assert json.loads(document) == {value: [value]}


def test_a_log_record_is_one_inert_line() -> None:
    record = logging.LogRecord(
        "azstate", logging.DEBUG, __file__, 1, "POST %s", ("name=x\n::error::y\x1b[8m",), None
    )
    line = neutral.NeutralFormatter("%(message)s").format(record)
    assert line == "POST name=x\\n::error::y\\u001b[8m"


def hostile_plan(names: tuple[str, ...]) -> Plan:
    changes = []
    for i, name in enumerate(names):
        changes.append(
            Change(
                address=Address.permission("etl", "group", name),
                action=Action.DELETE if i % 2 else Action.CREATE,
                before={"perms": ["read"]} if i % 2 else None,
                after=None if i % 2 else {"perms": ["read", "write"]},
                reason=name,
            )
        )
    changes.append(
        Change(
            address="project.etl.schedule.daily",
            action=Action.UPDATE,
            before=schedule("0 0 2 ? * *", parameters={n: n for n in names[:20]}),
            after=schedule("0 0 2 ? * *", failure_emails=list(names[:20])),
        )
    )
    drift = Drift(
        address="project.etl",
        fields={"description": {"live": " ".join(names[:5]), "desired": names[-1]}},
    )
    return Plan(server=SERVER, timezone=TZ, changes=tuple(changes), drift=(drift,))


WIDTHS = range(10, 121, 11)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_text_plan_never_folds_a_value_onto_a_new_line(width: int) -> None:
    plan = hostile_plan(SPACED + GROUPS)
    con = console(width)
    text.render(plan, con, now=NOW)
    shown = output(con)
    assert_inert(shown, f"text plan at {width} columns")
    assert shown.split("\n") == [line.plain for line in text.lines(plan, now=NOW)] + [""]


@pytest.mark.parametrize("width", WIDTHS)
def test_the_apply_report_never_folds(width: int) -> None:
    results = [
        ChangeOutcome(Address.permission("etl", "group", name), Action.DELETE, status, name, 1)
        for name, status in zip(SPACED + GROUPS, list(ApplyStatus) * 20, strict=False)
    ]
    con = console(width)
    render_apply_report(results, con)
    shown = output(con)
    assert_inert(shown, f"report at {width} columns")
    assert len(shown.split("\n")) == len(results) + 3
    document = apply_report_json(results, matches=None)
    assert_inert(document)
    assert {c["message"] for c in json.loads(document)["changes"]} == set(SPACED + GROUPS)


@pytest.mark.parametrize("width", WIDTHS)
def test_dry_run_calls_never_fold(width: int) -> None:
    calls = [
        Call(method="POST", path="/manager", params=(("ajax", "addPermission"), ("name", name)))
        for name in SPACED + GROUPS
    ]
    con = console(width)
    render_calls(calls, "text", con)
    shown = output(con)
    assert_inert(shown, f"calls at {width} columns")
    assert len(shown.split("\n")) == len(calls) + 1
    con = console(width)
    render_calls(calls, "json", con)
    assert_inert(output(con))
    assert [dict(c["params"])["name"] for c in json.loads(output(con))] == list(SPACED + GROUPS)


@pytest.mark.parametrize("width", WIDTHS)
def test_validate_summary_never_folds(width: int) -> None:
    summary = ValidateSummary(
        files=SPACED[:3],
        timezone=TZ,
        projects=(
            ProjectLine(
                name="etl",
                protected=False,
                flow_version="2.0",
                flows=SPACED[10:20],
                schedules=tuple(ScheduleLine(flow, "0 0 2 ? * *", True) for flow in GROUPS),
            ),
        ),
        flows_found=10,
        warnings=SPACED[30:40] + GROUPS,
    )
    con = console(width)
    render_summary(summary, con, now=NOW)
    shown = output(con)
    assert_inert(shown, f"validate at {width} columns")
    assert len(shown.split("\n")) == 1 + 1 + len(GROUPS) + 10 + len(GROUPS) + 1 + 1


def test_markdown_reasons_are_code_not_prose() -> None:
    """A reason quotes a name; in prose GitHub would make a link of www.…, a mention of @…, an
    emoji of :…: and an issue link of #…."""
    reason = "flow @org/team www.evil.example :warning: #1 <!-- [x](http://e) is gone"
    change = Change(
        address="project.etl.schedule.f",
        action=Action.DELETE,
        before=schedule("0 0 2 ? * *"),
        reason=reason,
    )
    md = markdown.render(Plan(server=SERVER, timezone=TZ, changes=(change,)), now=NOW)
    page = assert_markdown_inert(md, [reason], changes=1)
    assert any(reason in code for code in page.code)
    assert reason not in md.replace(f"  # ({reason})", "")


def test_markdown_of_the_whole_corpus_in_every_place() -> None:
    plan = hostile_plan(GROUPS)
    md = markdown.render(plan, now=NOW)
    assert_markdown_inert(md, GROUPS, changes=len(plan.changes) + len(plan.drift))


@pytest.mark.parametrize("server", ["https://x\n::error::y", "https://h/##[error]\u202e"])
def test_a_saved_plans_own_fields_are_shown_inertly(server: str) -> None:
    """``show`` renders a plan file someone else may have written: its server and targets are
    values too."""
    targets = tuple(Address.permission("etl", "group", g) for g in GROUPS[:6])
    plan = hostile_plan(GROUPS[:6]).model_copy(update={"server": server, "targets": targets})
    con = console(40)
    text.render(plan, con, now=NOW)
    assert_inert(output(con), "text")
    md = markdown.render(plan, now=NOW)
    assert_markdown_inert(md, (server, *GROUPS[:6]), changes=len(plan.changes) + 1)


@pytest.mark.parametrize("name", CORPUS)
def test_an_address_as_shown_is_the_address(name: str) -> None:
    """What a reviewer copies from the plan is a valid --target for the same resource."""
    for address in (Address.permission("etl", "group", name), Address.schedule("etl", name)):
        shown = neutral.for_text(str(address))
        assert Address.parse(shown) == address


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1))
def test_any_value_is_inert_on_any_line_and_any_address_shown_is_a_target(value: str) -> None:
    shown = neutral.for_text(value)
    assert neutral.for_text(shown) == shown
    for prefix in ("", "  ", "- "):
        assert_inert(prefix + shown)
    address = Address.permission("etl", "group", value)
    assert Address.parse(neutral.for_text(str(address))) == address
    assert json.loads(neutral.for_json(json.dumps(value, ensure_ascii=True))) == value
