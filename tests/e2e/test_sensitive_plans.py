"""A sensitive value never leaves azstate: not in any command's output in any format, not in a
saved plan, not in the -v log. Plans show `(sensitive)`; a saved plan keeps a digest salted per
plan, so a changed secret still shows as a change and a saved plan still applies exactly."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from pathlib import Path

import pytest

from azstate.cli import main
from azstate.sandbox.server import SandboxServer
from tests.e2e.workspace import flow20

SECRET = "Kn0wn-S3cret-Value-4711"
OTHER = "An0ther-S3cret-0815"
CONFIG = """
[server]
url = "{url}"
timezone = "America/Los_Angeles"

[variables]
db_password = {{ sensitive = true }}

[projects.etl]
description = "Nightly ETL"
source = "src/etl"

[projects.etl.schedules.daily]
parameters.env = "prod"
parameters.password = "${{var.db_password}}"
parameters.dsn = "db://etl:${{var.db_password}}@db"
cron = "0 0 2 ? * *"
"""


@pytest.fixture
def work(tmp_path: Path, sandbox: SandboxServer) -> Path:
    flow20(tmp_path / "src" / "etl", {"daily": ["extract", "load"]})
    (tmp_path / "azstate.toml").write_text(CONFIG.format(url=sandbox.url))
    return tmp_path


def run(work: Path, secret: str, *args: str, expect: int = 0) -> str:
    """One CLI run in-process, as from the shell in ``work``: stdout and stderr as the user sees
    them, the -v log included (it goes through azstate's own stderr handler and its redacting
    filter, as in a process of its own: pytest's handlers are set aside for the run)."""
    root = logging.getLogger()
    azstate_logger = logging.getLogger("azstate")
    level = azstate_logger.level
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith(("AZKABAN_", "AZSTATE_VAR")):
                mp.delenv(name)
        mp.setenv("AZKABAN_USERNAME", "azkaban")
        mp.setenv("AZKABAN_PASSWORD", "azkaban")
        mp.setenv("AZSTATE_VAR_db_password", secret)
        mp.setenv("NO_COLOR", "1")
        mp.chdir(work)
        out, err = io.StringIO(), io.StringIO()
        mp.setattr(sys, "stdout", out)
        mp.setattr(sys, "stderr", err)
        mp.setattr(root, "handlers", [])  # so that main's logging setup takes effect
        try:
            code = main(list(args))
        finally:
            azstate_logger.setLevel(level)
    assert code == expect, out.getvalue() + err.getvalue()
    return out.getvalue() + err.getvalue()


def assert_secret_free(text: str) -> None:
    for secret in (SECRET, OTHER):
        assert secret not in text
        assert secret[:8] not in text  # no prefix of it either


def test_a_secret_is_absent_from_every_output_saved_plan_and_log(work: Path) -> None:
    seen: list[str] = []
    seen.append(run(work, SECRET, "validate"))
    seen.append(run(work, SECRET, "validate", "--resolved"))
    for fmt in ("text", "json", "markdown"):
        out = run(work, SECRET, "plan", "--format", fmt, "-v", "--detailed-exitcode", expect=2)
        seen.append(out)
        assert "(sensitive" in out, fmt
    seen.append(run(work, SECRET, "plan", "--out", "plan"))
    saved = (work / "plan").read_text()
    seen.append(saved)
    for fmt in ("text", "json", "markdown"):
        seen.append(run(work, SECRET, "show", "plan", "--format", fmt))
    for fmt in ("text", "json"):
        seen.append(run(work, SECRET, "apply", "plan", "--dry-run", "--format", fmt))
    seen.append(run(work, SECRET, "-v", "apply", "plan", "--format", "json"))
    seen.append(run(work, SECRET, "plan", "--detailed-exitcode", "-v"))
    for text in seen:
        assert_secret_free(text)

    # the secret changes: the plan says so, without showing either value
    changed = run(work, OTHER, "plan", "--detailed-exitcode", "--out", "plan2", expect=2)
    assert "project.etl.schedule.daily" in changed and "(sensitive)" in changed
    assert_secret_free(changed + (work / "plan2").read_text())
    for fmt in ("markdown", "json"):
        assert_secret_free(run(work, OTHER, "show", "plan2", "--format", fmt))
    assert_secret_free(run(work, OTHER, "-v", "apply", "plan2"))
    run(work, OTHER, "plan", "--detailed-exitcode")  # converged on the new secret


def test_saved_plans_keep_a_digest_salted_per_plan(work: Path) -> None:
    run(work, SECRET, "plan", "--out", "a")
    run(work, SECRET, "plan", "--out", "b")
    a, b = (json.loads((work / p).read_text()) for p in ("a", "b"))
    marks = [json.dumps(p["changes"]).count("(sensitive") for p in (a, b)]
    assert marks[0] > 0 and marks[0] == marks[1]
    assert json.dumps(a["changes"]) != json.dumps(b["changes"]), "the same secret, other salt"
    # each saved plan applies as planned; the other secret makes it stale
    run(work, OTHER, "apply", "a", expect=1)
    run(work, SECRET, "apply", "a")
    run(work, SECRET, "plan", "--detailed-exitcode")
    # apply without a saved plan shows the plan it makes, sealed the same way
    assert_secret_free(run(work, OTHER, "-v", "apply", "--auto-approve"))
    run(work, OTHER, "plan", "--detailed-exitcode")
