"""azstate import never overwrites work: a DIR that already holds a configuration is refused,
unless --force (written anew, each imported project's directory replaced) or --merge (the new
projects appended, the file's text kept, names it declares refused); --project repeats."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from azstate.sandbox.server import SandboxServer
from tests.e2e.workspace import Workspace, flow20

BIN = str(Path(sys.executable).parent)
pytestmark = pytest.mark.quick_azstate  # BIN: conftest puts the quick-starting azstate first


THREE = """
[projects.etl]
description = "Nightly ETL"
source = "src/etl"
schedules.daily.cron = "0 0 2 ? * *"

[projects.reports]
description = "Reports"
source = "src/reports"

[projects.audit]
description = "Audit"
source = "src/audit"
"""


@pytest.fixture
def ws(tmp_path: Path, azkaban_env: SandboxServer, capsys: pytest.CaptureFixture[str]) -> Workspace:
    for name in ("etl", "reports", "audit"):
        flow20(tmp_path / "src" / name, {"daily": ["extract", "load"]})
    made = Workspace(tmp_path, azkaban_env, capsys)
    made.write(THREE)
    made.apply()
    return made


def declared(out: Path) -> set[str]:
    return set(tomllib.loads((out / "azstate.toml").read_text())["projects"])


def plans_empty(ws: Workspace, out: Path) -> None:
    plan = ws.run("plan", "--detailed-exitcode", "-c", str(out))
    assert plan.code == 0, plan.out + plan.err


def test_a_directory_holding_a_configuration_is_refused_and_left_as_it_was(ws: Workspace) -> None:
    out = ws.root / "d"
    assert ws.run("import", "--all", "--out", str(out)).code == 0
    before = (out / "azstate.toml").read_text()
    assert declared(out) == {"etl", "reports", "audit"}

    again = ws.run("import", "--project", "etl", "--out", str(out))
    assert again.code == 1
    (line,) = again.err.strip().splitlines()
    assert str(out) in line and "--merge" in line and "--force" in line, line
    assert "Traceback" not in again.err
    assert (out / "azstate.toml").read_text() == before

    # a directory of other *.toml files is a configuration too (-c DIR reads them all)
    other = ws.root / "multi"
    other.mkdir()
    (other / "server.toml").write_text('[server]\nurl = "http://x"\n')
    assert ws.run("import", "--all", "--out", str(other)).code == 1
    assert not (other / "azstate.toml").exists() and not (other / "projects").exists()


def test_force_writes_anew_and_replaces_each_imported_project_directory(ws: Workspace) -> None:
    out = ws.root / "d"
    assert ws.run("import", "--all", "--out", str(out)).code == 0
    stale = out / "projects" / "etl" / "removed.flow"
    stale.write_text("nodes: []\n")
    forced = ws.run("import", "--project", "etl", "--out", str(out), "--force")
    assert forced.code == 0, forced.err
    assert not stale.exists()
    assert declared(out) == {"etl"}
    plans_empty(ws, out)


def test_merge_appends_new_projects_and_keeps_the_file_s_text(ws: Workspace) -> None:
    out = ws.root / "d"
    assert ws.run("import", "--project", "etl", "--out", str(out)).code == 0
    config = out / "azstate.toml"
    edited = config.read_text().replace("[server]", "# kept: my own comment\n[server]")
    config.write_text(edited.rstrip("\n"))  # even without a final newline

    merged = ws.run("import", "--project", "reports", "audit", "--out", str(out), "--merge")
    assert merged.code == 0, merged.err
    text = config.read_text()
    assert text.startswith(edited.rstrip("\n") + "\n")
    assert text.count("[server]") == 1 and text.count("#:schema") == 1
    assert declared(out) == {"etl", "reports", "audit"}
    assert (out / "projects" / "reports" / "daily.flow").exists()
    plans_empty(ws, out)


def test_merge_refuses_a_project_the_file_declares_and_writes_nothing(ws: Workspace) -> None:
    out = ws.root / "d"
    assert ws.run("import", "--project", "etl", "--out", str(out)).code == 0
    before = (out / "azstate.toml").read_text()
    refused = ws.run("import", "--project", "ETL", "--project", "audit", "--out", str(out),
                     "--merge")
    assert refused.code == 1
    (line,) = refused.err.strip().splitlines()
    assert "already declares etl" in line and "--merge" in line, line
    assert (out / "azstate.toml").read_text() == before
    assert not (out / "projects" / "audit").exists()

    nothing = ws.run("import", "--all", "--out", str(ws.root / "empty"), "--merge")
    assert nothing.code == 1 and "no configuration to merge into" in nothing.err


def test_project_may_repeat(ws: Workspace) -> None:
    out = ws.root / "d"
    done = ws.run("import", "--project", "etl", "--project", "audit", "--out", str(out))
    assert done.code == 0, done.err
    assert declared(out) == {"etl", "audit"}
    assert "Imported 2 projects" in done.out


def test_the_hint_after_a_sandbox_import_keeps_sandbox(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZKABAN_")}
    env["PATH"] = BIN + os.pathsep + env.get("PATH", "")

    def azstate(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["azstate", *args], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=120,
        )

    done = azstate("import", "--sandbox", "--all", "--out", "imported")
    assert done.returncode == 0, done.stderr
    (hint,) = [line for line in done.stdout.splitlines() if "run `" in line]
    command = hint.split("`")[1]
    assert command == "azstate plan -c imported --sandbox"
    again = azstate(*command.split()[1:], "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr


def test_text_that_would_read_as_a_variable_is_imported_escaped(ws: Workspace) -> None:
    """The server's own `${var.x}` must not become a variable of the imported file."""
    cron = 'schedules.daily.cron = "0 0 2 ? * *"'
    ws.write(
        THREE.replace('"Reports"', '"Reports for $${var.team}, ${azkaban.flow.start.year}"')
        .replace(cron, cron + '\nschedules.daily.parameters = { day = "$${var.day}" }')
    )
    ws.apply()
    out = ws.root / "d"
    done = ws.run("import", "--all", "--out", str(out))
    assert done.code == 0, done.err
    text = (out / "azstate.toml").read_text()
    assert '"Reports for $${var.team}, ${azkaban.flow.start.year}"' in text
    assert 'day = "$${var.day}"' in text
    plans_empty(ws, out)
