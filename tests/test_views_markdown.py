"""The pull-request comment: counts first, deletions unmissable, one section per resource, cut
under the limit with a note, and HTML that GitHub-flavoured renderers turn into what we meant.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from azstate import cron
from azstate.plan import Action, Change, Plan
from azstate.views import markdown
from tests.test_views_fixtures import (
    NOW,
    SERVER,
    TZ,
    big_plan,
    empty_plan,
    full_plan,
    one_change_plan,
    schedule,
)

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("AZSTATE_UPDATE_SNAPSHOTS") == "1"


def to_html(text: str) -> str:
    """GitHub renders comments as CommonMark with raw HTML and tables."""
    html: str = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    return html


def section(md: str, address: str) -> str:
    head = rf"<details><summary><code>[^<]*</code> <code>{re.escape(address)}</code> will"
    match = re.search(head + r".*?</details>", md, re.S)
    assert match, f"no section for {address}"
    return match.group(0)


def test_summary_table_comes_first() -> None:
    md = markdown.render(full_plan(), now=NOW)
    lines = [line for line in md.splitlines() if line.strip()]
    assert lines[0] == "## azstate plan"
    assert lines[1] == "| Create | Update | Replace | Delete | Server |"
    assert lines[3] == f"| 5 | 4 | 1 | 3 | `{SERVER}` |"
    html = to_html(md)
    assert html.index("<table>") < html.index("<details>")
    cells = re.findall(r"<td[^>]*>(.*?)</td>", html)
    assert cells == ["5", "4", "1", "3", f"<code>{SERVER}</code>"]


def test_deletions_are_listed_before_everything_else_after_the_summary() -> None:
    md = markdown.render(full_plan(), now=NOW)
    warning = next(line for line in md.splitlines() if line.startswith("> ⚠️ **This plan deletes 3"))
    for address in (
        "project.old",
        "project.billing.schedule.legacy",
        "project.billing.permission.group.contractors",
    ):
        assert f"`{address}`" in warning
    assert warning.index("project.old") < warning.index("project.billing")  # projects first
    assert md.index("| Create |") < md.index(warning) < md.index("<details>")
    assert "deletes and re-creates 1 resource:** `project.billing.permission.user.bob`" in md


def test_no_warning_without_deletions() -> None:
    assert "⚠️" not in markdown.render(one_change_plan(), now=NOW)


def test_one_collapsible_section_per_resource_and_drift() -> None:
    plan = full_plan()
    md = markdown.render(plan, now=NOW)
    assert md.count("<details><summary>") == len(plan.changes) + len(plan.drift)
    assert md.count("</details>") == md.count("<details>")
    html = to_html(md)
    assert html.count("<details>") == len(plan.changes) + len(plan.drift)


def test_update_section_is_a_diff_of_the_changed_fields_only() -> None:
    md = section(markdown.render(full_plan(), now=NOW), "project.billing.schedule.hourly")
    assert "```diff\n" in md
    assert "\n  failure_emails:\n-   old@x.com\n+   new@x.com\n" in md
    assert '\n- cron: "0 0 4 ? * *"\n' in md
    assert '\n+ cron: "0 30 3 ? * *"\n' in md
    assert "concurrent" not in md and "oncall@example.com" not in md


def test_cron_change_shows_description_and_next_fires_old_then_new() -> None:
    md = section(markdown.render(full_plan(), now=NOW), "project.billing.schedule.hourly")
    old = f"-   {cron.describe('0 0 4 ? * *')}\n-   next: Sun 2024-06-02 04:00 PDT"
    new = f"+   {cron.describe('0 30 3 ? * *')}\n+   next: Sun 2024-06-02 03:30 PDT"
    assert old in md and new in md
    assert md.index(old) < md.index(new)


def test_create_and_delete_sections_show_whole_values() -> None:
    md = markdown.render(full_plan(), now=NOW)
    created = section(md, "project.etl.sla.daily_load")
    assert "+ rules:\n+   the flow must succeed within 2h: email" in created
    assert "+   job load must finish within 1h30m: kill" in created
    deleted = section(md, "project.old")
    assert '- description: "Retired"' in deleted
    assert "_deleting a project also removes its schedules and SLAs_" in deleted


def test_drift_section_marks_server_and_configuration() -> None:
    md = markdown.render(full_plan(), now=NOW)
    assert "### Changed outside azstate" in md
    assert md.index("### Changed outside azstate") < md.index("### Changes")
    assert "`-` is the value on the server, `+` the one in the configuration." in md


def test_refresh_only_shows_drift_only() -> None:
    md = markdown.render(full_plan(refresh_only=True), now=NOW)
    assert md.startswith("## azstate plan (refresh only)")
    assert "1 resource has changed outside azstate" in md
    assert "### Changes" not in md and "| Create |" not in md and "⚠️" not in md
    assert md.count("<details>") == 1


def test_no_changes() -> None:
    md = markdown.render(empty_plan(), now=NOW)
    assert "**No changes.** The server matches the configuration." in md
    assert "<details>" not in md and "| Create |" not in md
    assert md.endswith(".\n") and not md.endswith("\n\n")


def test_one_change_reads_without_headings_or_cut_note() -> None:
    md = markdown.render(one_change_plan(), now=NOW)
    assert "#### Project" not in md and "not shown" not in md
    assert md.count("<details>") == 1
    assert len(md) < 1_000


def test_a_2000_change_plan_is_cut_under_the_limit_with_a_note() -> None:
    plan = big_plan(2_000)
    md = markdown.render(plan, now=NOW)
    assert len(md) <= 60_000
    shown = md.count("<details>")
    match = re.search(r"\*\*([\d,]+) of 2,000 resources are not shown\*\*", md)
    assert match, md[-1_000:]
    assert int(match.group(1).replace(",", "")) == 2_000 - shown
    assert "azstate show PLANFILE" in md and "CI artifacts" in md
    assert md.rstrip().splitlines()[-1].startswith("> ✂️")
    warning = next(line for line in md.splitlines() if line.startswith("> ⚠️"))
    for change in plan.changes:
        if change.action is Action.DELETE:
            assert f"`{change.address}`" in warning


@pytest.mark.parametrize("limit", [4_000, 10_000, 30_000, 65_536])
def test_any_limit_is_kept(limit: int) -> None:
    md = markdown.render(big_plan(500), limit=limit, now=NOW)
    assert len(md) <= limit
    assert "not shown" in md
    assert md.count("<details>") == md.count("</details>")


def test_500_changes_stay_grouped_by_project() -> None:
    md = markdown.render(big_plan(500), now=NOW)
    assert "#### Project `team0000`" in md
    assert md.count("#### Project `team0000`") == 1
    assert md.count("<details>") > 50


def test_deletion_list_of_a_huge_plan_is_itself_bounded() -> None:
    deletes = tuple(
        Change(address=f"project.p{i:05d}.schedule.flow_{i}", action=Action.DELETE)
        for i in range(5_000)
    )
    md = markdown.render(Plan(server=SERVER, timezone=TZ, changes=deletes), now=NOW)
    assert len(md) <= 60_000
    warning = next(line for line in md.splitlines() if line.startswith("> ⚠️"))
    assert "This plan deletes 5,000 resources" in warning
    assert re.search(r"and [\d,]+ more \(see the full plan\)$", warning)


def test_user_text_cannot_break_out_of_html_or_fences() -> None:
    change = Change(
        address="project.etl.schedule.<b>x</b>",
        action=Action.UPDATE,
        before={"description": "</details><script>alert(1)</script>"},
        after={"description": "```\n<img src=x onerror=alert(1)>"},
        reason="*flow* [x](http://evil) <b>gone</b> & `done`",
    )
    md = markdown.render(Plan(server=SERVER, timezone=TZ, changes=(change,)), now=NOW)
    html = to_html(md)
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert html.count("<details>") == html.count("</details>") == 1
    assert 'href="http://evil"' not in html and "<em>flow</em>" not in html
    assert "*flow* [x](http://evil) &lt;b&gt;gone&lt;/b&gt; &amp; `done`" in html


def test_cron_preview_is_omitted_for_an_invalid_expression() -> None:
    change = Change(address="project.a.schedule.f", action=Action.CREATE, after=schedule("nope"))
    md = markdown.render(Plan(server=SERVER, timezone=TZ, changes=(change,)), now=NOW)
    assert '+ cron: "nope"' in md and "next:" not in md


@pytest.mark.parametrize(
    ("name", "plan"),
    [("markdown-small.html", full_plan()), ("markdown-large.html", big_plan(500))],
)
def test_html_snapshot(name: str, plan: Plan, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins the comment's structure; the cron module's wording is pinned by its own tests.

    Update with AZSTATE_UPDATE_SNAPSHOTS=1 after a deliberate change, and review the diff.
    """
    monkeypatch.setattr(cron, "describe", lambda expr: f"(described: {expr})")
    html = to_html(markdown.render(plan, now=NOW))
    path = SNAPSHOTS / name
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(html, encoding="utf-8")
    assert path.exists(), f"missing snapshot {path}: run with AZSTATE_UPDATE_SNAPSHOTS=1"
    assert html == path.read_text(encoding="utf-8")
