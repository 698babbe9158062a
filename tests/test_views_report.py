"""Apply's stdout document in each format: the plan it applied, the outcomes, the verdict,
every value from the server or the configuration neutralised."""

from __future__ import annotations

import json

import pytest

from azstate.address import Address
from azstate.plan import Action, ApplyStatus
from azstate.views import markdown
from azstate.views.report import progress_line, render_report
from tests.test_views_fixtures import Outcome, console, full_plan, output

HOSTILE = "bad | cell `x` \x1b[31mred\n::error::ci"
UPDATE, CREATE = Action.UPDATE, Action.CREATE
OUTCOMES = [
    Outcome(Address.parse("project.etl.files"), UPDATE, ApplyStatus.REFUSED, HOSTILE, 0),
    Outcome(Address.parse("project.etl"), UPDATE, ApplyStatus.APPLIED, None, 1),
    Outcome(
        Address.parse("project.etl.sla.daily"),
        CREATE,
        ApplyStatus.NOT_ATTEMPTED,
        "needs project.etl.files",
    ),
]


def test_text_report_embeds_the_plan_unless_it_is_on_screen_already() -> None:
    plan = full_plan()
    with_plan, without = console(), console()
    render_report(plan, OUTCOMES, "text", with_plan, matches=None)
    render_report(plan, OUTCOMES, "text", without, matches=None, with_plan=False)
    assert output(with_plan).startswith("Plan for ")
    assert output(with_plan).endswith(output(without))
    assert output(without).splitlines()[0] == "Apply results:"
    assert output(without).splitlines()[-1] == "1 applied, 1 failed, 1 not attempted."


@pytest.mark.parametrize(("matches", "last"), [(True, "Apply complete"), (False, "Apply sent")])
def test_text_report_ends_with_the_verdict(matches: bool, last: str) -> None:
    con = console()
    done = [Outcome(Address.parse("project.etl"), UPDATE, ApplyStatus.APPLIED, None, 1)]
    render_report(full_plan(), done, "text", con, matches=matches, with_plan=False)
    assert output(con).splitlines()[-1].startswith(last)


def test_json_report_is_one_document_with_the_plan() -> None:
    con = console()
    render_report(full_plan(), OUTCOMES, "json", con, matches=None)
    report = json.loads(output(con))
    assert report["plan"] == json.loads(full_plan().dumps())
    assert report["summary"] == {"applied": 1, "failed": 1, "not_attempted": 1}
    assert report["server_matches_configuration"] is None
    assert report["changes"][1]["message"] == HOSTILE  # JSON carries it as data, escaped


def test_markdown_report_is_the_plan_then_a_table_no_value_can_break() -> None:
    con = console()
    plan = full_plan()
    render_report(plan, OUTCOMES, "markdown", con, matches=None)
    text = output(con)
    assert text.startswith(markdown.render(plan))
    rows = [line for line in text.splitlines() if line.startswith("| failed")]
    (row,) = rows
    assert row.count(" | ") == 4 and row.endswith(" |")  # the | inside the message is escaped
    assert "\x1b" not in text and "\n::error::" not in text
    assert text.rstrip().endswith("1 applied, 1 failed, 1 not attempted.")


def test_progress_line_is_one_neutral_line() -> None:
    line = progress_line(OUTCOMES[0]).plain
    assert "\n" not in line and "\x1b" not in line
    assert line.startswith("  failed ")
    assert line.split(maxsplit=1)[1].startswith("project.etl.files (update, 0 calls sent): bad |")
