"""A saved plan is computed for the user who will apply it, and only that user may apply it.

The plan job of a GitOps pipeline logs in with a read-only account, while the apply job logs in
as the deploy account. `plan --plan-for USER` computes ownership (the applying user's own
permission entry, which Azkaban grants the creator of a project) for USER, and records USER in
the saved plan; `apply PLANFILE` logged in as anyone else is refused before anything changes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from azstate import __version__
from azstate.sandbox.server import SandboxServer
from tests.e2e.workspace import flow20

BIN = str(Path(sys.executable).parent)
pytestmark = pytest.mark.quick_azstate  # BIN: conftest puts the quick-starting azstate first


CONFIG = """
[server]
url = "{url}"
timezone = "America/Los_Angeles"

[projects.etl]
description = "Nightly ETL"
source = "src/etl"
permissions.groups = {{ readers = ["read"] }}
"""


@pytest.fixture
def work(tmp_path: Path, sandbox: SandboxServer) -> Path:
    flow20(tmp_path / "src" / "etl", {"daily": ["extract", "load"]})
    (tmp_path / "azstate.toml").write_text(CONFIG.format(url=sandbox.url))
    return tmp_path


def azstate(work: Path, user: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZKABAN_")}
    env.update(
        PATH=BIN + os.pathsep + env.get("PATH", ""),
        AZKABAN_USERNAME=user,
        AZKABAN_PASSWORD=user,
        NO_COLOR="1",
    )
    return subprocess.run(
        ["azstate", *args], cwd=work, env=env, capture_output=True, text=True, timeout=120
    )


def test_a_read_only_plan_for_the_deploy_user_applies_as_that_user_and_converges(
    work: Path,
) -> None:
    planned = azstate(work, "reader", "plan", "--plan-for", "azkaban", "--out", "plan")
    assert planned.returncode == 0, planned.stderr
    saved = json.loads((work / "plan").read_text())
    assert saved["user"] == "azkaban"
    assert saved["azstate_version"] == __version__  # the build that made it
    addresses = {c["address"] for c in saved["changes"]}
    assert "project.etl.permission.user.azkaban" not in addresses, "the deploy user's own entry"

    applied = azstate(work, "azkaban", "apply", "plan")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    again = azstate(work, "azkaban", "plan", "--detailed-exitcode")
    assert again.returncode == 0, again.stdout + again.stderr
    # and the read-only account sees the same: nothing to do for the deploy user
    seen = azstate(work, "reader", "plan", "--plan-for", "azkaban", "--detailed-exitcode")
    assert seen.returncode == 0, seen.stdout + seen.stderr
    # planned for itself, the read-only account would remove the deploy user's own entry,
    # the project's only ADMIN: the lock-out rule refuses that plan (issue 15, item 3)
    unaware = azstate(work, "reader", "plan", "--detailed-exitcode")
    assert unaware.returncode == 1, unaware.stdout + unaware.stderr
    assert "etl: no entry would hold ADMIN" in unaware.stderr


def test_a_plan_made_for_one_user_is_refused_when_applied_as_another(work: Path) -> None:
    planned = azstate(work, "reader", "plan", "--out", "plan")
    assert planned.returncode == 0, planned.stderr
    assert json.loads((work / "plan").read_text())["user"] == "reader"

    refused = azstate(work, "azkaban", "apply", "plan")
    assert refused.returncode == 1
    (line,) = refused.stderr.strip().splitlines()
    assert "reader" in line and "azkaban" in line and "--plan-for" in line, line
    still = azstate(work, "azkaban", "plan", "--detailed-exitcode", "--format", "json")
    assert still.returncode == 2, still.stderr
    created = {c["address"] for c in json.loads(still.stdout)["changes"] if c["action"] == "create"}
    assert "project.etl" in created, "nothing was applied"
