"""Machine output: the plan JSON round-trips, the dry run prints the exact calls, the apply
report says what happened to each change, and render_plan sends each format out untouched.
"""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console

from azstate.address import Address
from azstate.plan import ApplyStatus, Call, Plan, UploadFile
from azstate.views import json as json_view
from azstate.views import markdown, render_plan
from azstate.views.report import ChangeOutcome, render_apply_report
from tests.test_views_fixtures import (
    SHA,
    Outcome,
    console,
    empty_plan,
    full_plan,
    output,
    three_way_plan,
)


@pytest.mark.parametrize(
    "plan",
    [full_plan(), empty_plan(), full_plan(refresh_only=True, targets=("project.etl",))],
)
def test_plan_json_round_trips(plan: Plan) -> None:
    text = json_view.render(plan)
    assert text == plan.dumps()
    assert Plan.from_json(json.loads(text)) == plan


def test_plan_json_has_the_documented_shape() -> None:
    data = json.loads(json_view.render(full_plan()))
    assert data["format_version"] == "2"
    assert data["summary"] == {"create": 6, "update": 4, "delete": 4}
    first = data["changes"][0]
    assert set(first) >= {"address", "action", "before", "after", "calls"}
    assert "drift" not in data and data["baseline"] is None and data["converged"] == []
    assert {c["origin"] for c in data["changes"]} == {"unknown"}


def test_three_way_plan_json_has_origins_baseline_and_converged() -> None:
    plan = three_way_plan()
    data = json.loads(json_view.render(plan))
    assert data["baseline"] == {"revision": "release-41", "commit": plan.baseline.commit}
    assert data["converged"] == ["project.etl.schedule.weekly"]
    hourly = next(c for c in data["changes"] if c["address"] == "project.billing.schedule.hourly")
    assert hourly["origin"] == "conflict"
    assert hourly["field_origins"] == {"cron": "conflict", "failure_emails": "edit"}
    assert hourly["base"]["cron"] == "0 0 1 ? * *"
    edit = next(c for c in data["changes"] if c["address"] == "project.billing")
    assert edit["origin"] == "edit" and "base" not in edit
    assert Plan.from_json(data) == plan


UPLOAD_CALL = Call(
    method="POST",
    path="/manager",
    params=(("ajax", "upload"), ("project", "etl")),
    multipart=True,
    upload=UploadFile(name="etl.zip", size=12_345, sha256=SHA),
)
SCHEDULE_CALL = Call(
    method="POST",
    path="/schedule",
    params=(
        ("ajax", "scheduleCronFlow"),
        ("projectName", "etl"),
        ("flow", "daily"),
        ("cronExpression", "0 0 2 ? * *"),
        ("failureEmails", "a@x.com,b@x.com"),
    ),
)
CREATE_CALL = Call(
    method="POST",
    path="/manager",
    params=(("action", "create"), ("name", "etl"), ("description", "Nightly ETL [red]x[/red]")),
)


def test_dry_run_text_is_one_line_per_call_in_order() -> None:
    con = console()
    json_view.render_calls([CREATE_CALL, UPLOAD_CALL, SCHEDULE_CALL], "text", con)
    assert output(con).splitlines() == [
        "POST /manager action=create name=etl description='Nightly ETL [red]x[/red]'",
        f"POST /manager ajax=upload project=etl file=etl.zip size=12345 zip_sha256={SHA}",
        "POST /schedule ajax=scheduleCronFlow projectName=etl flow=daily "
        "cronExpression='0 0 2 ? * *' failureEmails=a@x.com,b@x.com",
    ]


def test_dry_run_text_never_wraps_a_long_call() -> None:
    long = Call(method="POST", path="/manager", params=(("description", "word " * 60),))
    con = console(width=40)
    json_view.render_calls([long, UPLOAD_CALL], "text", con)
    assert len(output(con).splitlines()) == 2


def test_dry_run_with_nothing_to_send() -> None:
    con = console()
    json_view.render_calls([], "text", con)
    assert "No calls" in output(con)


def test_dry_run_json_is_the_ordered_array_of_calls() -> None:
    con = console(width=40)
    json_view.render_calls([CREATE_CALL, UPLOAD_CALL], "json", con)
    data = json.loads(output(con))
    assert data == [CREATE_CALL.to_json(), UPLOAD_CALL.to_json()]
    assert data[1]["upload"] == {"name": "etl.zip", "size": 12_345, "sha256": SHA}
    assert data[0]["params"]["description"] == "Nightly ETL [red]x[/red]"


def test_dry_run_json_of_the_full_plan_lists_every_call() -> None:
    plan = full_plan()
    con = console()
    json_view.render_calls(plan.calls, "json", con)
    assert len(json.loads(output(con))) == len(plan.calls)


def test_dry_run_refuses_an_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown calls format"):
        json_view.render_calls([], "yaml", console())


def test_render_plan_json_is_exactly_the_plan_json() -> None:
    plan = full_plan()
    con = console(width=40)
    render_plan(plan, "json", con)
    assert output(con) == plan.dumps()


def test_render_plan_markdown_goes_out_raw() -> None:
    plan = empty_plan(server="https://az/[red]x[/red]/:warning:")
    con = console(width=20)
    render_plan(plan, "markdown", con)
    assert output(con) == markdown.render(plan)
    assert "[red]x[/red]/:warning:" in output(con)


def test_render_plan_text_and_unknown_format() -> None:
    con = console()
    render_plan(empty_plan(), "text", con)
    assert "No changes." in output(con)
    with pytest.raises(ValueError, match="unknown plan format"):
        render_plan(empty_plan(), "yaml", con)


OUTCOMES: list[ChangeOutcome] = [
    Outcome(
        Address.parse("project.etl.schedule.daily"),
        "create",
        ApplyStatus.REFUSED,
        "Flow [red]daily[/red] not found",
        1,
    ),
    Outcome(Address.parse("project.etl"), "create", ApplyStatus.APPLIED, None, 1),
    Outcome(Address.parse("project.etl.sla.daily"), "create", ApplyStatus.NOT_ATTEMPTED),
]


def test_apply_report_lists_each_change_sorted_with_its_result() -> None:
    con = console(width=120)
    render_apply_report(OUTCOMES, con)
    out = output(con)
    rows = [line for line in out.splitlines() if "project." in line]
    assert [re.findall(r"project\.\S+", r)[0] for r in rows] == [
        "project.etl",
        "project.etl.schedule.daily",
        "project.etl.sla.daily",
    ]
    assert "applied" in rows[0] and "failed" in rows[1] and "not attempted" in rows[2]
    assert "Flow [red]daily[/red] not found" in rows[1]
    assert "1 applied, 1 failed, 1 not attempted." in out


def test_apply_report_failures_are_red_on_a_terminal() -> None:
    con = Console(file=io.StringIO(), width=120, force_terminal=True, color_system="standard")
    render_apply_report(OUTCOMES, con)
    out = output(con)
    failed_row = next(line for line in out.splitlines() if "schedule.daily" in line)
    assert "\x1b[1;31mfailed" in failed_row
    assert "\x1b[31mFlow [red]daily[/red] not found" in failed_row


def test_apply_report_with_nothing_applied() -> None:
    con = console()
    render_apply_report([], con)
    assert "Nothing to apply." in output(con)
