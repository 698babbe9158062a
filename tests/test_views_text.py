"""The terminal plan, as a user reads it: symbols, only what changes, crons in words, origins."""

from __future__ import annotations

import io
import re

from rich.console import Console

from azstate import cron
from azstate.plan import Action, Change, Plan
from azstate.views import text
from tests.test_views_fixtures import (
    BASELINE,
    NOW,
    SERVER,
    TZ,
    console,
    empty_plan,
    full_plan,
    one_change_plan,
    output,
    schedule,
    three_way_plan,
)


def render(plan: Plan, width: int = 100) -> str:
    con = console(width)
    text.render(plan, con, now=NOW)
    return output(con)


def block(out: str, address: str) -> str:
    """The lines of one resource's block: from its header to the next blank line."""
    match = re.search(rf"^ *\S+ {re.escape(address)} will .*?(?=\n\n)", out, re.M | re.S)
    assert match, f"no block for {address} in:\n{out}"
    return match.group(0)


def test_each_action_has_terraforms_symbol() -> None:
    out = render(full_plan())
    assert "    + project.etl will be created" in out
    assert "    ~ project.billing.schedule.hourly will be updated in place" in out
    assert "    - project.old will be deleted" in out
    assert "  -/+ project.billing.permission.user.bob will be deleted and re-created" in out


def test_legend_lists_only_the_symbols_used() -> None:
    out = render(one_change_plan())
    assert "~ update in place" in out
    assert "+ create" not in out and "-/+" not in out
    assert "a → b the value on the server → the one in the configuration" in out


def test_changes_are_sorted_by_address_projects_then_kinds() -> None:
    out = render(full_plan())
    order = [
        "project.billing will",
        "project.billing.files will",
        "project.billing.schedule.hourly will",
        "project.billing.schedule.legacy will",
        "project.billing.sla.hourly will",
        "project.billing.permission.group.contractors will",
        "project.billing.permission.user.bob will",
        "project.etl will",
        "project.etl.files will",
        "project.etl.schedule.daily_load will",
        "project.etl.sla.daily_load will",
        "project.etl.permission.user.alice will",
        "project.old will",
    ]
    positions = [out.index(a) for a in order]
    assert positions == sorted(positions)


def test_update_shows_only_the_changed_fields_with_old_and_new() -> None:
    out = block(render(full_plan()), "project.billing.schedule.hourly")
    assert 'cron: "0 0 4 ? * *" → "0 30 3 ? * *"' in out
    assert "failure_emails: - old@x.com, + new@x.com" in out  # - before +
    assert "# (19 unchanged attributes hidden)" in out
    for unchanged in ("concurrent", "failure_action", "notify_on_first_failure", "parameters"):
        assert unchanged not in out
    assert "oncall@example.com" not in out  # in both: not a change


def test_description_update_reads_old_arrow_new() -> None:
    out = block(render(full_plan()), "project.billing")
    assert 'description: "Billing" → "Billing jobs"' in out


def test_create_shows_every_field_of_the_new_value() -> None:
    out = block(render(full_plan()), "project.etl.schedule.daily_load")
    assert 'cron: "0 0 2 ? * *"' in out
    assert 'concurrent: "skip"' in out
    assert "failure_emails: oncall@example.com" in out
    assert "disabled_jobs: optional_step" in out
    assert "parameters: env=prod" in out
    assert "notify_on_first_failure: true" in out
    assert "pipeline_level" not in out  # None: nothing to show


def test_delete_shows_what_goes() -> None:
    out = render(full_plan())
    assert 'description: "Retired"' in block(out, "project.old")
    assert "perms: read, write" in block(out, "project.billing.permission.group.contractors")
    legacy = block(out, "project.billing.schedule.legacy")
    assert 'cron: "0 15 1 ? * *"' in legacy
    assert cron.describe("0 15 1 ? * *") in legacy


def test_files_show_short_digests_flows_and_the_upload() -> None:
    out = render(full_plan())
    created = block(out, "project.etl.files")
    assert "content digest: abababababab…" in created
    assert "upload: etl.zip, 12.1 KiB" in created
    updated = block(out, "project.billing.files")
    assert "content digest: cdcdcdcdcdcd… → efefefefefef…" in updated
    assert "flows: - legacy" in updated
    assert "upload: billing.zip, 2,048 bytes" not in updated
    assert "upload: billing.zip, 2.0 KiB" in updated


def test_sla_minutes_read_as_durations_and_rules_as_sentences() -> None:
    out = render(full_plan())
    created = block(out, "project.etl.sla.daily_load")
    assert "the flow must succeed within 2h: email" in created
    assert "job load must finish within 1h30m: kill" in created
    updated = block(out, "project.billing.sla.hourly")
    assert "~ job load FINISH: 1h → 1h30m" in updated  # one rule changed, keyed (job, rule)
    assert "must finish" not in updated
    assert "# (2 unchanged attributes hidden)" in updated


def test_cron_create_shows_description_and_next_three_fires_in_the_plans_zone() -> None:
    out = block(render(full_plan()), "project.etl.schedule.daily_load")
    assert cron.describe("0 0 2 ? * *") in out
    assert (
        "next: Sun 2024-06-02 02:00 PDT, Mon 2024-06-03 02:00 PDT, Tue 2024-06-04 02:00 PDT" in out
    )


def test_cron_update_shows_old_and_new_meaning_and_times() -> None:
    out = block(render(full_plan()), "project.billing.schedule.hourly")
    assert f"was: {cron.describe('0 0 4 ? * *')}" in out
    assert f"now: {cron.describe('0 30 3 ? * *')}" in out
    assert "next: Sun 2024-06-02 04:00 PDT, Mon 2024-06-03 04:00 PDT" in out
    assert "next: Sun 2024-06-02 03:30 PDT, Mon 2024-06-03 03:30 PDT" in out
    assert out.index("was:") < out.index("04:00 PDT") < out.index("now:") < out.index("03:30 PDT")


def test_cron_times_follow_the_plans_time_zone() -> None:
    plan = full_plan(timezone="Asia/Kolkata")
    out = block(render(plan), "project.etl.schedule.daily_load")
    assert "Sun 2024-06-02 02:00 IST, Mon 2024-06-03 02:00 IST, Tue 2024-06-04 02:00 IST" in out
    assert "PDT" not in out
    assert "(times in Asia/Kolkata)" in render(plan)


def test_an_invalid_cron_or_zone_only_omits_the_preview() -> None:
    change = Change(
        address="project.etl.schedule.daily",
        action=Action.CREATE,
        after=schedule("not a cron"),
    )
    out = render(Plan(server=SERVER, timezone=TZ, changes=(change,)))
    assert 'cron: "not a cron"' in out
    assert "next:" not in out
    out = render(full_plan(timezone="Mars/Olympus_Mons"))
    assert cron.describe("0 0 2 ? * *") in out
    assert "next:" not in out


def test_reason_is_printed_under_its_block() -> None:
    out = render(full_plan())
    legacy = block(out, "project.billing.schedule.legacy")
    assert legacy.rstrip().endswith(
        "(removed by the server when the new files are uploaded: flow legacy no longer exists)"
    )
    assert "(re-posting a schedule drops its SLA" in block(out, "project.billing.schedule.hourly")


def test_reason_is_dim_and_actions_coloured_on_a_terminal() -> None:
    con = Console(file=io.StringIO(), width=100, force_terminal=True, color_system="standard")
    text.render(full_plan(), con, now=NOW)
    out = output(con)
    assert "\x1b[2m" in out  # dim reason
    assert "\x1b[32m" in out and "\x1b[31m" in out and "\x1b[33m" in out and "\x1b[35m" in out


def test_summary_line_counts_every_action() -> None:
    out = render(full_plan())
    assert out.rstrip().endswith("Plan: 6 to create, 4 to update, 4 to delete.")


def test_no_changes() -> None:
    out = render(empty_plan())
    assert "No changes. The server matches the configuration." in out
    assert "Plan:" not in out and "will be" not in out


def test_a_plain_plan_says_only_that_the_server_differs() -> None:
    """Without a baseline nobody knows who moved a value: each resource is said once, as the
    action, with the server's value and the configured one."""
    out = render(full_plan())
    assert "outside" not in out and "Drift" not in out and "Conflicts" not in out
    assert out.count("project.billing.schedule.hourly") == 1
    hourly = block(out, "project.billing.schedule.hourly")
    assert "will be updated in place" in hourly
    assert 'cron: "0 0 4 ? * *" → "0 30 3 ? * *"' in hourly


def test_a_three_way_plan_groups_changes_by_origin_conflicts_first() -> None:
    out = render(three_way_plan())
    assert f"Compared with the configuration at {BASELINE.revision} (commit 0123456789ab)" in out
    conflicts = out.index("Conflicts (1): changed in the configuration and on the server since")
    edits = out.index("This change (10): the configuration changed since release-41")
    drift = out.index("Drift on the server (2): changed on the server since release-41")
    assert conflicts < edits < drift
    assert conflicts < out.index("project.billing.schedule.hourly") < edits
    assert edits < out.index("project.billing.permission.group.contractors") > drift
    assert drift < out.index("project.billing.sla.hourly")
    assert "outside" not in out


def test_a_conflict_shows_baseline_configuration_and_server() -> None:
    hourly = block(render(three_way_plan()), "project.billing.schedule.hourly")
    assert 'cron: "0 0 4 ? * *" → "0 30 3 ? * *"' in hourly  # server → configuration
    baseline = '\n        at the baseline: "0 0 1 ? * *"\n'
    assert hourly.index("cron:") < hourly.index(baseline) < hourly.index("failure_emails")
    assert hourly.count("at the baseline") == 1  # an edit: two values suffice


def test_converged_resources_are_listed_once() -> None:
    out = render(three_way_plan())
    assert out.count("project.etl.schedule.weekly") == 1
    assert "Already on the server" in out


def test_refresh_only_without_baseline_reports_every_difference() -> None:
    out = render(full_plan(refresh_only=True))
    assert out.startswith("Refresh-only plan for")
    assert "project.etl.schedule.daily_load is missing on the server" in out
    assert "project.billing.schedule.hourly differs on the server" in out
    assert "will be" not in out and "Plan:" not in out and "outside" not in out
    assert "Found: 13 resources differ from the configuration." in out
    out = render(empty_plan(refresh_only=True))
    assert "No changes. The server matches the configuration." in out


def test_refresh_only_with_baseline_lists_drift_and_conflicts() -> None:
    findings = tuple(c for c in three_way_plan().changes if c.origin.value != "edit")
    out = render(three_way_plan(refresh_only=True, changes=findings))
    assert out.index("Conflicts (1)") < out.index("Drift on the server (2)")
    assert "This change" not in out
    assert "Found: 3 resources differ from the baseline on the server." in out
    out = render(three_way_plan(refresh_only=True, changes=(), converged=()))
    assert "No drift. The server holds what the baseline applied." in out


def test_no_origin_wording_without_a_baseline() -> None:
    out = render(one_change_plan())
    assert "outside of azstate" not in out and "baseline" not in out


def test_targets_are_named_in_the_header() -> None:
    out = render(full_plan(targets=("project.etl",)))
    assert "Only the targeted resources are planned: project.etl" in out


def test_user_text_is_never_read_as_markup() -> None:
    change = Change(
        address="project.etl.schedule.[bold]x[/bold]",
        action=Action.UPDATE,
        before={"cron": "[red]old[/red]"},
        after={"cron": "[red]boom[/red] :warning:"},
        reason="flow [link=http://evil]x[/link] is gone",
    )
    described = Change(
        address="project.etl",
        action=Action.UPDATE,
        before={"description": "[blink]a"},
        after={"description": "b[/]"},
    )
    con = Console(file=io.StringIO(), width=100, force_terminal=True, color_system="truecolor")
    plan = Plan(server="https://[i]az[/i]", timezone=TZ, changes=(change, described))
    text.render(plan, con, now=NOW)
    raw = output(con)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", raw)
    for literal in (
        'project.etl.schedule["[bold]x[/bold]"]',
        '"[red]old[/red]" → "[red]boom[/red] :warning:"',
        "flow [link=http://evil]x[/link] is gone",
        '"[blink]a"',
        '"b[/]"',
        "https://[i]az[/i]",
    ):
        assert literal in plain
    assert "\x1b]8;" not in raw  # no hyperlink escape
    assert "⚠" not in raw


def test_no_op_changes_are_not_listed() -> None:
    noop = Change(address="project.etl", action=Action.NO_OP)
    out = render(Plan(server=SERVER, timezone=TZ, changes=(noop,)))
    assert "No changes." in out and "project.etl" not in out


def test_lines_is_pure_and_matches_render() -> None:
    plan = three_way_plan()
    plain = "\n".join(line.plain for line in text.lines(plan, now=NOW))
    assert "Plan: 6 to create" in plain
    assert text.lines(plan, now=NOW) == text.lines(plan, now=NOW)
