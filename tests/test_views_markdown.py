"""The pull-request comment: counts first, deletions unmissable, one section per resource, cut
under the limit with a note, and HTML that GitHub-flavoured renderers turn into what we meant.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
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
    three_way_plan,
)

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("AZSTATE_UPDATE_SNAPSHOTS") == "1"


def to_html(text: str) -> str:
    """GitHub renders comments as CommonMark with raw HTML, tables and alerts (``> [!CAUTION]``
    opening a quote turns it into a coloured box); markdown-it has no alerts, so they are
    rewritten here the way GitHub marks them up."""
    html: str = MarkdownIt("commonmark", {"html": True}).enable("table").render(text)
    return re.sub(
        r"<blockquote>\n<p>\[!(CAUTION|WARNING)\]\n(.*?)</blockquote>",
        lambda m: (
            f'<div class="markdown-alert markdown-alert-{m.group(1).lower()}">\n'
            f'<p class="markdown-alert-title">{m.group(1).title()}</p>\n<p>{m.group(2)}</div>'
        ),
        html,
        flags=re.S,
    )


def opened(text: str) -> int:
    return len(re.findall(r"<details[ >]", text))


def section(md: str, address: str) -> str:
    head = (
        rf"<details(?: open)?><summary><code>[^<]*</code> <code>{re.escape(address)}</code> "
        r"(?:<strong>)?(?:will|is|differs)"
    )
    match = re.search(head + r".*?</details>", md, re.S)
    assert match, f"no section for {address}"
    return match.group(0)


def warning(md: str, verb: str) -> list[str]:
    """The alert's lines: its title, then one address per line."""
    match = re.search(rf"^> \[!\w+\]\n> ⚠️ \*\*This plan {verb} .*?(?=\n\n|\Z)", md, re.M | re.S)
    assert match, f"no '{verb}' alert"
    return [line[2:] for line in match.group(0).splitlines()[1:]]


def test_summary_table_comes_first() -> None:
    md = markdown.render(full_plan(), now=NOW)
    lines = [line for line in md.splitlines() if line.strip()]
    assert lines[0] == "## azstate plan"
    assert lines[1] == "| Create | Update | Delete | Server |"
    assert lines[3] == f"| 6 | 4 | 4 | `{SERVER}` |"
    html = to_html(md)
    assert html.index("<table>") < html.index("<details")
    first_table = html[: html.index("</table>")]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", first_table)
    assert cells == ["6", "4", "4", f"<code>{SERVER}</code>"]


def test_deletions_are_listed_before_everything_else_after_the_summary() -> None:
    md = markdown.render(full_plan(), now=NOW)
    deleted = warning(md, "deletes")
    assert deleted == [
        "⚠️ **This plan deletes 3 resources:**",
        "",
        "- `project.old`",  # projects first: deleting one takes everything in it
        "- `project.billing.schedule.legacy`",
        "- `project.billing.permission.group.contractors`",
    ]
    assert md.index("| Create |") < md.index("> [!CAUTION]") < md.index("<details")
    assert warning(md, "deletes and re-creates")[2:] == ["- `project.billing.permission.user.bob`"]
    assert "> [!WARNING]\n> ⚠️ **This plan deletes and re-creates 1 resource:**" in md


def test_deletions_are_a_caution_box_on_github_and_their_sections_are_open() -> None:
    html = to_html(markdown.render(full_plan(), now=NOW))
    caution = re.search(r'<div class="markdown-alert markdown-alert-caution">.*?</div>', html, re.S)
    assert caution and "<li><code>project.old</code></li>" in caution.group(0)
    opened_sections = re.findall(r"<details open><summary>.*?</summary>", html)
    assert all("<strong>will be deleted" in s for s in opened_sections[1:])
    assert len(opened_sections) == 1 + 4  # the project table, then 3 deletes and 1 replace
    assert "<details><summary><code>+</code>" in html  # the rest of a long plan stay folded


def test_a_plan_over_many_projects_has_a_table_per_project() -> None:
    md = markdown.render(full_plan(), now=NOW)
    table = md[md.index("Changes by project (3)") : md.index("</details>")]
    assert "| `billing` |  | 4 | 1 | **2** |" in table
    assert "| `etl` | 5 |  |  |  |" in table
    assert "| `old` |  |  |  | **1** |" in table
    assert md.index("> [!CAUTION]") < md.index("Changes by project") < md.index("### Changes")
    plan = big_plan(500)
    projects = len({c.addr.project for c in plan.changes})
    big = markdown.render(plan, now=NOW)
    assert projects > 100
    assert f"<details><summary>Changes by project ({projects})</summary>" in big  # folded


def test_no_warning_without_deletions() -> None:
    assert "⚠️" not in markdown.render(one_change_plan(), now=NOW)


def test_one_collapsible_section_per_resource() -> None:
    plan = full_plan()
    md = markdown.render(plan, now=NOW)
    sections = len(plan.changes)
    assert len(re.findall(r"<details(?: open)?><summary><code>", md)) == sections
    assert md.count("</details>") == opened(md) == sections + 1  # and the project table
    assert opened(to_html(md)) == sections + 1


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
    assert "+ rules:\n+   " in created  # rules in the value's own (canonical) order
    assert "+   the flow must succeed within 2h: email" in created
    assert "+   job load must finish within 1h30m: kill" in created
    deleted = section(md, "project.old")
    assert '- description: "Retired"' in deleted
    assert "  # (deleting a project also removes its schedules and SLAs)\n```" in deleted


def test_a_plain_plan_lists_changes_without_claiming_who_made_them() -> None:
    md = markdown.render(full_plan(), now=NOW)
    assert "### Changes" in md
    assert "outside azstate" not in md and "### Drift" not in md and "### Conflicts" not in md
    assert "`-` is the value on the server, `+` the one in the configuration." in md
    assert md.count("<code>project.billing.schedule.hourly</code>") == 1


def test_a_three_way_plan_has_conflicts_first_in_a_caution_box() -> None:
    md = markdown.render(three_way_plan(), now=NOW)
    assert "compared with the last applied configuration at `release-41` (`0123456789ab`)" in md
    box = warning(md, "has conflicts on")
    assert box[0] == "⚠️ **This plan has conflicts on 1 resource:**"
    assert "- `project.billing.schedule.hourly`" in box
    assert box[-1].startswith("Each was changed both in the configuration and on the server")
    order = [md.index(h) for h in ("### Conflicts", "### This change", "### Drift on the server")]
    assert order == sorted(order)
    assert "### Changes" not in md and "outside azstate" not in md


def test_a_conflict_section_shows_baseline_configuration_and_server() -> None:
    md = markdown.render(three_way_plan(), now=NOW)
    assert "`#` the one at the baseline" in md
    hourly = section(md, "project.billing.schedule.hourly")
    assert "<details open>" in hourly
    assert '\n- cron: "0 0 4 ? * *"\n' in hourly and '\n+ cron: "0 30 3 ? * *"\n' in hourly
    assert '\n# cron: "0 0 1 ? * *"\n' in hourly
    assert "# failure_emails" not in hourly  # an edit: the baseline adds nothing
    assert "project.etl.schedule.weekly" in md.split("</details>")[-1]  # converged, at the end


def test_refresh_only_without_baseline_reports_every_difference() -> None:
    md = markdown.render(full_plan(refresh_only=True), now=NOW)
    assert md.startswith("## azstate plan (refresh only)")
    assert "🔍 **13 resources differ from the configuration.**" in md
    assert "### Differences" in md and "| Create |" not in md
    assert "is missing on the server" in section(md, "project.etl.schedule.daily_load")
    assert "will be updated" not in md and "outside azstate" not in md


def test_refresh_only_with_baseline_reports_drift_and_conflicts() -> None:
    findings = tuple(c for c in three_way_plan().changes if c.origin.value != "edit")
    md = markdown.render(three_way_plan(refresh_only=True, changes=findings), now=NOW)
    assert "🔍 **3 resources differ on the server since the baseline.**" in md
    assert "### Conflicts" in md and "### Drift on the server" in md
    assert "### This change" not in md
    assert warning(md, "has conflicts on")
    md = markdown.render(three_way_plan(refresh_only=True, changes=(), converged=()), now=NOW)
    assert "**No drift.** The server holds what the baseline applied." in md


def test_no_changes() -> None:
    md = markdown.render(empty_plan(), now=NOW)
    assert "**No changes.** The server matches the configuration." in md
    assert "<details>" not in md and "| Create |" not in md
    assert md.endswith(".\n") and not md.endswith("\n\n")


def test_one_change_reads_without_headings_or_cut_note() -> None:
    md = markdown.render(one_change_plan(), now=NOW)
    assert "#### Project" not in md and "not shown" not in md
    assert opened(md) == 1
    assert "<details open><summary>" in md  # nothing to click for a one-line change
    assert len(md) < 1_000


def test_a_2000_change_plan_is_cut_under_the_limit_with_a_note() -> None:
    plan = big_plan(2_000)
    md = markdown.render(plan, now=NOW)
    assert len(md) <= 60_000
    shown = len(re.findall(r"<details(?: open)?><summary><code>", md))
    match = re.search(r"\*\*([\d,]+) of 2,000 resources are not shown\*\*", md)
    assert match, md[-1_000:]
    assert int(match.group(1).replace(",", "")) == 2_000 - shown
    assert "azstate show PLANFILE" in md and "CI artifacts" in md
    assert md.rstrip().splitlines()[-1].startswith("> ✂️")
    deleted = warning(md, "deletes")
    for change in plan.changes:
        if change.action is Action.DELETE:
            assert f"- `{change.address}`" in deleted


@pytest.mark.parametrize("limit", [4_000, 10_000, 30_000, 65_536])
def test_any_limit_is_kept(limit: int) -> None:
    md = markdown.render(big_plan(500), limit=limit, now=NOW)
    assert len(md) <= limit
    assert "not shown" in md
    assert opened(md) == md.count("</details>")


def test_500_changes_stay_grouped_by_project() -> None:
    md = markdown.render(big_plan(500), now=NOW)
    assert "#### Project `team0000`" in md
    assert md.count("#### Project `team0000`") == 1
    assert opened(md) > 50


def test_deletion_list_of_a_huge_plan_is_itself_bounded() -> None:
    deletes = tuple(
        Change(address=f"project.p{i:05d}.schedule.flow_{i}", action=Action.DELETE)
        for i in range(5_000)
    )
    md = markdown.render(Plan(server=SERVER, timezone=TZ, changes=deletes), now=NOW)
    assert len(md) <= 60_000
    deleted = warning(md, "deletes")
    assert deleted[0] == "⚠️ **This plan deletes 5,000 resources:**"
    assert re.fullmatch(r"- and [\d,]+ more \(see the full plan\)", deleted[-1])
    assert len("\n".join(deleted)) <= 15_000


def test_user_text_cannot_break_out_of_html_or_fences() -> None:
    change = Change(
        address="project.etl.schedule.<b>x</b>",
        action=Action.UPDATE,
        before={"cron": "</details><script>alert(1)</script>"},
        after={"cron": "```\n<img src=x onerror=alert(1)>"},
        reason="*flow* [x](http://evil) <b>gone</b> & `done`",
    )
    md = markdown.render(Plan(server=SERVER, timezone=TZ, changes=(change,)), now=NOW)
    html = to_html(md)
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert opened(html) == html.count("</details>") == 1
    assert 'href="http://evil"' not in html and "<em>flow</em>" not in html
    assert "*flow* [x](http://evil) &lt;b&gt;gone&lt;/b&gt; &amp; `done`" in html


def test_cron_preview_is_omitted_for_an_invalid_expression() -> None:
    change = Change(address="project.a.schedule.f", action=Action.CREATE, after=schedule("nope"))
    md = markdown.render(Plan(server=SERVER, timezone=TZ, changes=(change,)), now=NOW)
    assert '+ cron: "nope"' in md and "next:" not in md


def five_hundred_changes() -> Plan:
    return big_plan(500)


SNAPSHOT_PLANS: dict[str, Callable[[], Plan]] = {
    "markdown-one.md": one_change_plan,
    "markdown-small.md": full_plan,
    "markdown-large.md": five_hundred_changes,
    "markdown-three-way.md": three_way_plan,
}


@pytest.mark.parametrize("name", sorted(SNAPSHOT_PLANS))
def test_markdown_snapshot(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins the comment's text, and so its structure (its HTML is that text rendered; the other
    tests here check the HTML); the cron module's wording is pinned by its own tests.

    Update with AZSTATE_UPDATE_SNAPSHOTS=1 after a deliberate change, and review the diff (and
    the screenshots test_screenshot then makes).
    """
    monkeypatch.setattr(cron, "describe", lambda expr: f"(described: {expr})")
    text = markdown.render(SNAPSHOT_PLANS[name](), now=NOW)
    path = SNAPSHOTS / name
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing snapshot {path}: run with AZSTATE_UPDATE_SNAPSHOTS=1"
    assert text == path.read_text(encoding="utf-8")


PAGE = """<!doctype html><meta charset="utf-8"><style>
body {{ font: 14px -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif;
  max-width: 880px; margin: 16px auto; color: #1f2328; line-height: 1.5; }}
code {{ font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; background: #eff1f3;
  padding: .2em .4em; border-radius: 6px; }}
pre {{ background: #f6f8fa; padding: 16px; border-radius: 6px; overflow: auto; }}
pre code {{ background: none; padding: 0; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #d1d9e0; padding: 6px 13px; }}
details {{ margin: 4px 0; }} summary {{ cursor: pointer; }}
blockquote {{ color: #59636e; border-left: .25em solid #d1d9e0; margin: 0; padding: 0 1em; }}
.markdown-alert {{ padding: 8px 16px; margin-bottom: 16px; border-left: .25em solid; }}
.markdown-alert-caution {{ border-color: #cf222e; }}
.markdown-alert-warning {{ border-color: #9a6700; }}
.markdown-alert-caution .markdown-alert-title {{ color: #d1242f; font-weight: 600; }}
.markdown-alert-warning .markdown-alert-title {{ color: #9a6700; font-weight: 600; }}
</style><body>{body}</body>"""


@pytest.mark.skipif(not UPDATE, reason="screenshots are made with AZSTATE_UPDATE_SNAPSHOTS=1")
@pytest.mark.parametrize("name", sorted(SNAPSHOT_PLANS))
def test_screenshot(name: str, tmp_path: Path) -> None:
    """A picture of the comment as GitHub shows it (its CSS, roughly), to look at in review."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium")
    page = tmp_path / "page.html"
    page.write_text(PAGE.format(body=to_html((SNAPSHOTS / name).read_text())), encoding="utf-8")
    png = SNAPSHOTS / name.replace(".md", ".png")
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--screenshot={png}", "--window-size=960,1400", page.as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    assert png.stat().st_size > 10_000
