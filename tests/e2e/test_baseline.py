"""`plan --baseline REV` and `apply --baseline REV` end to end: a git repository with two
commits, the first applied, the server then changed over AJAX, the second under review.

The first commit is the baseline B, the work tree (the second commit) the configuration C, the
sandbox the server S. Every origin is reached: an edit (new sources and a new schedule), drift
(a permission and a schedule option changed on the server), a conflict (a cron changed on both
sides), and a converged description (changed alike on both sides).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from azstate.state import Perm, ScheduleValue
from azstate.wire import calls
from tests.e2e.workspace import DAILY, ETL, HOURLY, Workspace, flow20, plan, plan_json
from tests.test_baseline import git

READER = """
[projects.etl.permissions]
users = { reader = ["read"] }
"""
BASE = ETL + DAILY + READER
# The change under review: a new description, a new cron and e-mails for daily, new sources
# with a second flow and its schedule.
REVIEWED = (
    ETL.replace("Nightly ETL", "Nightly ETL v2")
    + DAILY.replace("0 0 2", "0 0 4")
    + 'failure_emails = ["ops@example.com"]\n'
    + HOURLY
    + READER
)


def commit(ws: Workspace, message: str) -> str:
    git(ws.root, "add", "-A")
    git(ws.root, "commit", "-q", "-m", message)
    return git(ws.root, "rev-parse", "HEAD")


def by_address(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["address"]: c for c in data["changes"]}


@pytest.fixture
def repo(ws: Workspace) -> Workspace:
    """Commit 1 applied, the server changed since, commit 2 (sources too) in the work tree."""
    git(ws.root, "init", "-q", "-b", "main")
    (ws.root / ".gitignore").write_text(".azstate/\n")
    flow20(ws.root / "src" / "etl", {"daily": ["extract", "load"]})
    ws.write(BASE)
    commit(ws, "applied")
    ws.apply()
    client = ws.client()
    client.send(
        calls.schedule_cron_flow(
            "etl", "daily", ScheduleValue(cron="0 30 5 ? * *", concurrent="ignore"), None
        )
    )
    client.send(calls.change_permission("etl", "user", "reader", frozenset({Perm.WRITE})))
    client.send(calls.change_description("etl", "Nightly ETL v2"))
    flow20(ws.root / "src" / "etl", {"daily": ["extract", "load"], "hourly": ["ping"]})
    ws.write(REVIEWED)
    commit(ws, "under review")
    return ws


def test_every_origin_per_change_and_per_field(repo: Workspace) -> None:
    data = plan_json(repo, "--baseline", "HEAD~1")
    assert data["format_version"] == "2"
    first = git(repo.root, "rev-parse", "HEAD~1")
    assert data["baseline"] == {"revision": "HEAD~1", "commit": first}
    changes = by_address(data)
    assert {a: (c["action"], c["origin"]) for a, c in changes.items()} == {
        "project.etl.files": ("update", "edit"),
        "project.etl.schedule.daily": ("update", "conflict"),
        "project.etl.schedule.hourly": ("create", "edit"),
        "project.etl.permission.user.reader": ("update", "drift"),
    }
    assert changes["project.etl.schedule.daily"]["field_origins"] == {
        "concurrent": "drift",
        "cron": "conflict",
        "failure_emails": "edit",
        "failure_emails_override": "edit",
    }
    assert changes["project.etl.schedule.daily"]["base"]["cron"] == "0 0 2 ? * *"
    assert changes["project.etl.permission.user.reader"]["field_origins"] == {"perms": "drift"}
    assert changes["project.etl.schedule.hourly"]["field_origins"] == {"": "edit"}
    assert changes["project.etl.files"]["field_origins"] == {"digest": "edit"}
    assert data["converged"] == ["project.etl"]
    assert "base" not in changes["project.etl.files"]


def test_text_groups_conflicts_first_and_shows_three_values(repo: Workspace) -> None:
    result = plan(repo, "--baseline", "HEAD~1", "--detailed-exitcode")
    assert result.code == 2, result.err
    out = result.out
    assert "Compared with the configuration at HEAD~1" in out
    order = [out.index(h) for h in ("Conflicts (1)", "This change (2)", "Drift on the server (1)")]
    assert order == sorted(order)
    assert 'cron: "0 30 5 ? * *" → "0 0 4 ? * *"' in out
    assert 'at the baseline: "0 0 2 ? * *"' in out
    assert "Already on the server" in out and "project.etl," not in out
    assert "outside" not in out


def test_markdown_has_the_conflict_box_and_sections(repo: Workspace) -> None:
    md = plan(repo, "--baseline", "HEAD~1", "--format", "markdown").out
    assert "> [!CAUTION]\n> ⚠️ **This plan has conflicts on 1 resource:**" in md
    assert "- `project.etl.schedule.daily`" in md
    order = [md.index(h) for h in ("### Conflicts", "### This change", "### Drift on the server")]
    assert order == sorted(order)
    assert '# cron: "0 0 2 ? * *"' in md


def test_refresh_only_with_a_baseline_is_the_drift_check(repo: Workspace) -> None:
    result = plan(repo, "--refresh-only", "--baseline", "HEAD~1", "--detailed-exitcode")
    assert result.code == 2
    data = plan_json(repo, "--refresh-only", "--baseline", "HEAD~1")
    assert {c["address"]: c["origin"] for c in data["changes"]} == {
        "project.etl.schedule.daily": "conflict",
        "project.etl.permission.user.reader": "drift",
    }
    assert all(c["calls"] == [] for c in data["changes"])

    # Only edits left: the drift check is quiet, a plain refresh-only plan is not.
    repo.client().send(
        calls.schedule_cron_flow("etl", "daily", ScheduleValue(cron="0 0 2 ? * *"), None)
    )
    repo.client().send(calls.change_permission("etl", "user", "reader", frozenset({Perm.READ})))
    quiet = plan(repo, "--refresh-only", "--baseline", "HEAD~1", "--detailed-exitcode")
    assert quiet.code == 0, quiet.out
    assert "No drift. The server holds what the baseline applied." in quiet.out
    assert plan(repo, "--refresh-only", "--detailed-exitcode").code == 2


def test_apply_with_a_baseline_makes_the_server_match_the_configuration(
    repo: Workspace,
) -> None:
    """Conflicts are shown, not blocking."""
    result = repo.apply("--baseline", "HEAD~1")
    assert "Conflicts (1)" in result.out
    repo.assert_converged()
    data = plan_json(repo, "--baseline", "HEAD~1")
    assert data["changes"] == []
    assert data["converged"] == [
        "project.etl",
        "project.etl.files",
        "project.etl.schedule.daily",
        "project.etl.schedule.hourly",
    ]


def test_the_baseline_is_read_from_git_not_the_work_tree(repo: Workspace) -> None:
    """Sources and TOML changed (uncommitted) in the work tree: the baseline stays HEAD~1's."""
    flow20(repo.root / "src" / "etl", {"daily": ["extract"], "hourly": ["ping"], "x": ["y"]})
    data = plan_json(repo, "--baseline", "HEAD")
    files = by_address(data)["project.etl.files"]
    assert files["origin"] == "conflict"  # HEAD's sources were never uploaded either
    data = plan_json(repo, "--baseline", "HEAD~1")
    assert by_address(data)["project.etl.files"]["origin"] == "edit"
    status = git(repo.root, "status", "--porcelain")  # the work tree is left as it was
    assert "M src/etl/daily.flow" in status and "?? src/etl/x.flow" in status


def test_a_baseline_error_names_the_path_and_the_revision(ws: Workspace, tmp_path: Path) -> None:
    ws.write(BASE)
    outside = plan(ws, "--baseline", "HEAD")
    assert outside.code == 1 and "Traceback" not in outside.err
    assert "--baseline HEAD needs a git repository" in outside.err
    assert str(ws.config) in outside.err

    git(ws.root, "init", "-q", "-b", "main")
    (ws.root / "README").write_text("first commit without the configuration\n")
    git(ws.root, "add", "README")
    git(ws.root, "commit", "-q", "-m", "first")
    commit(ws, "second")
    unknown = plan(ws, "--baseline", "no-such-tag")
    assert unknown.code == 1 and "no-such-tag: unknown revision" in unknown.err
    assert str(ws.config) in unknown.err
    missing = plan(ws, "--baseline", "HEAD~1")
    assert missing.code == 1 and "Traceback" not in missing.err
    assert str(ws.config) in missing.err and "does not exist at HEAD~1" in missing.err
    option = plan(ws, "--baseline=--output=x")
    assert option.code == 1 and "is not a git revision" in option.err
    assert len(missing.err.strip().splitlines()) == 1


def test_a_broken_configuration_at_the_baseline_names_the_revision(repo: Workspace) -> None:
    repo.config.write_text(repo.config.read_text() + "\n[projects.etl.nonsense]\n")
    commit(repo, "broken")
    repo.write(REVIEWED)
    commit(repo, "fixed")
    result = plan(repo, "--baseline", "HEAD~1")
    assert result.code == 1 and "Traceback" not in result.err
    assert "the configuration at HEAD~1: HEAD~1:azstate.toml:" in result.err
    assert "azstate-baseline-" not in result.err  # the temporary tree is not shown


def test_the_baseline_is_evaluated_with_the_same_variables(ws: Workspace) -> None:
    """--var values apply to the baseline too (else its description would read as the default
    and the server's edit as a conflict); one the baseline does not declare yet is left out."""
    git(ws.root, "init", "-q", "-b", "main")
    (ws.root / ".gitignore").write_text(".azstate/\n")
    variables = '[variables]\ndesc = "plain"\n'
    described = ETL.replace('"Nightly ETL"', '"${var.desc}"')
    ws.write(variables + described + DAILY)
    commit(ws, "applied")
    ws.apply("--var", "desc=Nightly")
    ws.client().send(calls.change_description("etl", "edited in the UI"))
    ws.write(
        variables + "owner = {}\n" + described + DAILY + 'parameters = { owner = "${var.owner}" }\n'
    )
    commit(ws, "under review")
    data = plan_json(ws, "--baseline", "HEAD~1", "--var", "desc=Nightly", "--var", "owner=me")
    changes = by_address(data)
    assert changes["project.etl"]["origin"] == "drift"
    assert changes["project.etl"]["before"] == {"description": "edited in the UI"}
    assert changes["project.etl.schedule.daily"]["field_origins"] == {"parameters": "edit"}


def test_a_version_1_plan_file_is_refused_in_one_line(ws: Workspace) -> None:
    ws.write(ETL + DAILY)
    saved = ws.root / "plan.json"
    assert plan(ws, "--out", str(saved)).code == 0
    data = json.loads(saved.read_text())
    assert data["format_version"] == "2"
    data["format_version"] = "1"
    data["drift"] = []
    saved.write_text(json.dumps(data))
    ws.sandbox.log.clear()
    for command in ("apply", "show"):
        result = ws.run(command, str(saved))
        assert result.code == 1 and "Traceback" not in result.err
        assert len(result.err.strip().splitlines()) == 1, result.err
        assert "a plan of format version 1" in result.err and "make a new plan" in result.err
    assert [e for e in ws.sandbox.log.snapshot() if e.mutating] == []
