"""`--sandbox` across separate commands, as a user runs them: each command is a new process
with its own emulator, on the port the data directory remembers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from azstate.cli import main
from azstate.sandbox.server import SandboxServer
from tests.conftest import ROOT
from tests.e2e.workspace import azstate_process as azstate


def test_a_plan_saved_by_one_sandbox_command_applies_in_the_next(tmp_path: Path) -> None:
    work = tmp_path / "quickstart"
    # without the sandbox that the README's quick start leaves beside the example
    skipped = shutil.ignore_patterns(".azstate")
    shutil.copytree(ROOT / "examples" / "quickstart", work, ignore=skipped)
    saved = azstate(work, "plan", "--sandbox", "-c", ".", "--out", "tfplan")
    assert saved.returncode == 0, saved.stderr
    assert "Apply it with: azstate apply --sandbox tfplan" in saved.stderr
    applied = azstate(work, "apply", "--sandbox", "tfplan")
    assert applied.returncode == 0, applied.stderr + applied.stdout
    assert "4 applied, 0 failed" in applied.stdout
    again = azstate(work, "plan", "--sandbox", "--detailed-exitcode", "-c", ".")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes" in again.stdout


@pytest.mark.parametrize("example", ["quickstart", "flow1"])
def test_each_example_applies_and_then_plans_empty(
    example: str, azkaban_env: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(ROOT / "examples" / example)
    assert main(["apply", "--auto-approve", "-c", config]) == 0, capsys.readouterr()
    capsys.readouterr()
    assert main(["plan", "--detailed-exitcode", "-c", config]) == 0, capsys.readouterr().out
