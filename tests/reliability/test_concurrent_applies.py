"""Two applies started at once against one server, as two CI jobs would run them: each either
sees the other's result or stops with a clear report (a saved plan fails its stale check), and
the server is left whole: one project, one schedule with its SLA, and a plan that a single
apply afterwards brings to empty. The runs that overlap are separate processes, as CI jobs
are; a run alone (before or after them) runs in this process, which spares an interpreter
start and changes nothing it checks."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
from pathlib import Path

import pytest
from pydantic import SecretStr

from azstate.cli import main
from azstate.sandbox.server import SandboxServer
from azstate.wire.client import AzkabanClient
from tests.e2e.workspace import flow20, spawn_azstate

CONFIG = """
[server]
url = "{url}"
timezone = "UTC"

[projects.etl]
description = "{description}"
source = "src/etl"

[projects.etl.permissions]
users = {{ reader = ["read"] }}

[projects.etl.schedules.daily]
cron = "0 0 2 ? * *"

[projects.etl.schedules.daily.sla]
emails = ["sla@example.com"]
rules = [{{ rule = "SUCCESS", duration = "2h", email = true }}]
"""


def start(cwd: Path, url: str, *args: str) -> subprocess.Popen[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AZKABAN_")},
        "AZKABAN_URL": url,
        "AZKABAN_USERNAME": "azkaban",
        "AZKABAN_PASSWORD": "azkaban",
    }
    return spawn_azstate(cwd, *args, env=env)


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out + err


def alone(monkeypatch: pytest.MonkeyPatch, cwd: Path, url: str, *args: str) -> tuple[int, str]:
    """A run with nothing else running: in this process, with what ``start`` gives a job."""
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("AZKABAN_URL", url)
    monkeypatch.setenv("AZKABAN_USERNAME", "azkaban")
    monkeypatch.setenv("AZKABAN_PASSWORD", "azkaban")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue() + err.getvalue()


def assert_whole(server: SandboxServer) -> None:
    client = AzkabanClient(server.url, "azkaban", SecretStr("azkaban"))
    client.login()
    projects = [p for p in client.fetch_all_projects() if p.name.lower() == "etl"]
    assert len(projects) == 1
    schedules = [s for s in client.fetch_schedules() if s.project_name == "etl"]
    assert [s.flow for s in schedules] == ["daily"]
    assert client.sla_info(schedules[0].schedule_id) is not None


@pytest.fixture
def server(sandbox: SandboxServer, tmp_path: Path) -> SandboxServer:
    flow20(tmp_path / "src" / "etl", {"daily": ["extract", "load"]})
    # One repository (a/ and b/ reach ../src/etl inside it), its source tracked.
    for step in (["init", "-q"], ["add", "src"]):
        subprocess.run(["git", *step], cwd=tmp_path, check=True, capture_output=True)
    sandbox.faults.latency = 0.01  # widen the window in which the two overlap
    return sandbox


@pytest.mark.parametrize("round_", range(3))
def test_two_applies_of_a_configuration_at_once(
    server: SandboxServer, tmp_path: Path, round_: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a", "b"):
        (tmp_path / f"{name}.toml").write_text(
            CONFIG.format(url=server.url, description=f"applied by {name}")
        )
    jobs = [start(tmp_path, server.url, "apply", "--auto-approve", "-c", f"{n}.toml") for n in "ab"]
    results = [finish(job) for job in jobs]
    for code, output in results:
        assert code in (0, 1) and "Traceback" not in output, output
        if code == 1:
            assert "Error" in output
    # One of them made the project; the other lost the create race and stopped. The one that
    # made it can still exit 1: its read-back may find the other's description.
    assert any("applied" in out and "0 applied" not in out for _, out in results)
    assert_whole(server)
    code, output = alone(
        monkeypatch, tmp_path, server.url, "apply", "--auto-approve", "-c", "b.toml"
    )
    assert code == 0, output
    code, output = alone(
        monkeypatch, tmp_path, server.url, "plan", "--detailed-exitcode", "-c", "b.toml"
    )
    assert code == 0, output


def test_of_two_saved_plans_applied_at_once_one_stops_with_a_report(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "azstate.toml").write_text(CONFIG.format(url=server.url, description="v1"))
    code, output = alone(monkeypatch, tmp_path, server.url, "apply", "--auto-approve", "-c", ".")
    assert code == 0, output
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "azstate.toml").write_text(
            CONFIG.format(url=server.url, description=f"v2 by {name}").replace(
                "src/etl", "../src/etl"
            )
        )
    # both plans are made before either is applied (one after the other: they only read)
    for name in "ab":
        code, output = alone(
            monkeypatch, tmp_path / name, server.url, "plan", "-c", ".", "--out", "tfplan"
        )
        assert code == 0, output
    jobs = [start(tmp_path / n, server.url, "apply", "tfplan") for n in "ab"]
    results = [finish(job) for job in jobs]
    codes = sorted(code for code, _ in results)
    outputs = "\n".join(out for _, out in results)
    assert codes in ([0, 1], [0, 0]), outputs
    if codes == [0, 1]:
        # Refused as stale when it read after the other wrote; otherwise both wrote, and the
        # read-back of the one that wrote first found the other's description.
        loser = next(out for code, out in results if code == 1)
        assert "project.etl" in loser, loser
        assert "changed" in loser or "still differs" in loser, loser
    assert_whole(server)
    client = AzkabanClient(server.url, "azkaban", SecretStr("azkaban"))
    client.login()
    assert client.project_description("etl") in ("v2 by a", "v2 by b")
