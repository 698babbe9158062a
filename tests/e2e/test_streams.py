"""What goes to stdout and what to stderr, in every format, with and without a terminal.

One rule: stdout carries exactly one document in the ``--format`` asked for (for apply, the
report, which embeds the plan it applied); the plan shown before the prompt, the prompt, the
progress and the errors go to stderr. In CI (no terminal) an apply prints one stderr line per
finished change as it goes, a request the server sits on is named after a few seconds, and an
apply against a server that died stops early.
"""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from azstate.commands import progress
from azstate.sandbox.server import SandboxServer
from azstate.wire.client import AzkabanClient
from tests.e2e.workspace import DAILY, ETL, HOURLY, SLA, Workspace, flow20

ROOT = Path(__file__).resolve().parents[2]
AZSTATE = (sys.executable, "-m", "azstate")
FLOWS = {"daily": ["extract", "load"], "hourly": ["ping"]}


def _env(sandbox: SandboxServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZKABAN_", "FORCE_COLOR"))}
    env.update(
        AZKABAN_URL=sandbox.url,
        AZKABAN_USERNAME="azkaban",
        AZKABAN_PASSWORD="azkaban",
        PYTHONPATH=str(ROOT),
        NO_COLOR="1",
        COLUMNS="200",
    )
    return env


def _projects(ws: Workspace, names: list[str]) -> None:
    body = ""
    for name in names:
        flow20(ws.root / "src" / name, FLOWS)
        body += f'\n[projects.{name}]\ndescription = "{name}"\nsource = "src/{name}"\n'
        body += f'\n[projects.{name}.schedules.daily]\ncron = "0 0 2 ? * *"\n'
    ws.write(body)


# -- one document on stdout, in every format --------------------------------------------------


def test_apply_text_report_on_stdout_plan_and_progress_on_stderr(ws: Workspace) -> None:
    ws.write(ETL + DAILY + SLA)
    result = ws.run("apply", "--auto-approve", "-c", str(ws.config))
    assert result.code == 0, result.err
    out = result.out
    # stdout: the plan it applied, the outcomes, the verdict; once each
    assert out.startswith(f"Plan for {ws.sandbox.url}")
    assert out.count("Apply results:") == 1 and out.count("Plan: 4 to create") == 1
    assert out.rstrip().endswith(
        "Apply complete: 4 changes applied; the server matches the configuration."
    )
    # stderr: the plan (for the log), then one line per finished change, nothing else
    err = result.err.splitlines()
    assert err[0] == f"Plan for {ws.sandbox.url} (times in America/Los_Angeles)"
    progress_lines = [line for line in err if line.startswith("  applied ")]
    assert sorted(line.split()[1] for line in progress_lines) == [
        "project.etl",
        "project.etl.files",
        "project.etl.schedule.daily",
        "project.etl.sla.daily",
    ]
    assert "Apply results:" not in result.err and "Apply complete" not in result.err


def test_apply_json_stdout_is_one_json_document_embedding_the_plan(ws: Workspace) -> None:
    ws.write(ETL + DAILY)
    result = ws.run("apply", "--auto-approve", "--format", "json", "-c", str(ws.config))
    assert result.code == 0, result.err
    report = json.loads(result.out)  # the whole of stdout, or this raises
    assert set(report) == {
        "plan",
        "changes",
        "summary",
        "server_matches_configuration",
        "next_step",
    }
    assert report["next_step"] is None  # everything applied
    assert report["plan"]["server"] == ws.sandbox.url
    assert [c["address"] for c in report["plan"]["changes"]] == [
        c["address"] for c in report["changes"]
    ]
    assert report["summary"] == {"applied": 3, "failed": 0, "not_attempted": 0}
    # the plan on stderr is text, never JSON
    assert "{" not in result.err and result.err.startswith("Plan for ")


def test_apply_markdown_stdout_is_the_plan_then_the_results(ws: Workspace) -> None:
    ws.write(ETL + DAILY)
    result = ws.run("apply", "--auto-approve", "--format", "markdown", "-c", str(ws.config))
    assert result.code == 0, result.err
    out = result.out
    plan_part, results_part = out.split("### Apply results\n")
    assert "project.etl.schedule.daily" in plan_part and "<details" in plan_part
    assert "| Status | Address | Action | Calls sent | Message |" in results_part
    assert "| applied | `project.etl.files` | create | 1 |  |" in results_part
    assert results_part.rstrip().endswith("the server matches the configuration.")
    assert "<details" not in result.err and "|" not in result.err  # stderr: text only


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_an_apply_with_nothing_to_do_still_writes_one_document(ws: Workspace, fmt: str) -> None:
    ws.write(ETL)
    ws.apply()
    result = ws.run("apply", "--auto-approve", "--format", fmt, "-c", str(ws.config))
    assert result.code == 0, result.err
    if fmt == "json":
        report = json.loads(result.out)
        assert report["changes"] == [] and report["server_matches_configuration"] is True
    else:
        assert "No changes." in result.out
    assert "Plan for" not in result.err  # nothing to confirm, nothing shown


def test_plan_writes_its_document_to_stdout_and_the_save_hint_to_stderr(ws: Workspace) -> None:
    ws.write(ETL)
    text = ws.run("plan", "-c", str(ws.config))
    assert text.out.startswith("Plan for ") and "Note:" not in text.out
    assert text.err.strip() == (
        f"Note: this plan was not saved. To apply exactly these changes, save it with "
        f"`azstate plan -c {ws.config} --out plan.json`, then run "
        f"`azstate apply -c {ws.config} plan.json`."
    )
    as_json = ws.run("plan", "--format", "json", "-c", str(ws.config))
    json.loads(as_json.out)
    assert as_json.err == ""  # a script's stderr stays quiet
    saved = ws.run("plan", "-c", str(ws.config), "--out", str(ws.root / "p.json"))
    assert "not saved" not in saved.err and "Saved the plan" in saved.err


def test_dry_run_prints_only_calls_on_stdout(ws: Workspace) -> None:
    ws.write(ETL)
    result = ws.run("apply", "--dry-run", "-c", str(ws.config))
    assert result.code == 0
    assert [line.split()[0] for line in result.out.splitlines()] == ["POST", "POST"]


# -- without a terminal (CI) --------------------------------------------------------------------


def test_ci_apply_prints_a_line_per_change_while_it_runs(
    ws: Workspace, azkaban_env: SandboxServer
) -> None:
    _projects(ws, ["a1", "a2", "a3"])
    # One write the server sits on: the lines before it must be out before it is answered.
    azkaban_env.faults.add("slow", path="/schedule", action="scheduleCronFlow", delay=0.8, times=1)
    proc = subprocess.Popen(
        [*AZSTATE, "apply", "--auto-approve", "--parallelism", "1", "-c", str(ws.config)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(azkaban_env),
        cwd=ws.root,
        text=True,
    )
    seen: list[tuple[float, str]] = []
    assert proc.stderr is not None
    for line in proc.stderr:
        seen.append((time.monotonic(), line.rstrip("\n")))
    out = proc.stdout.read() if proc.stdout else ""
    ended = time.monotonic()
    assert proc.wait() == 0, out + "\n".join(line for _, line in seen)
    changes = [(t, line) for t, line in seen if line.startswith("  applied ")]
    assert len(changes) == 9  # 3 projects x (project, files, schedule)
    # streamed, not held until the end: the first line came well before the last
    assert changes[-1][0] - changes[0][0] > 0.5
    assert ended - changes[0][0] > 0.5
    assert "Apply complete: 9 changes applied" in out


def test_ci_apply_without_auto_approve_says_what_it_needs(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.write(ETL)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # no terminal, as stdin=/dev/null
    done = ws.run("apply", "-c", str(ws.config))
    assert done.code == 1 and done.out == ""
    assert not [e for e in ws.sandbox.log.snapshot() if e.mutating]
    assert done.err.splitlines()[-1] == (
        "Error: apply needs --auto-approve when not run from a terminal (or apply a saved plan)"
    )


def test_a_server_that_does_not_answer_is_named_while_waited_for(
    ws: Workspace, azkaban_env: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A shorter threshold and poll than the defaults (the default is checked below): the notice
    # is due after at most 0.15 s, the reply comes after 0.75 s.
    monkeypatch.setattr(progress, "WAIT_NOTICE", 0.1)
    monkeypatch.setattr(progress, "_POLL", 0.05)
    ws.write(ETL)
    azkaban_env.faults.add("slow", path="/index", action="fetchallprojects", delay=0.75)
    started = time.monotonic()
    result = ws.run("plan", "-c", str(ws.config))
    assert result.code == 0, result.err
    assert time.monotonic() - started >= 0.75
    (line,) = [line for line in result.err.splitlines() if line.startswith("Still waiting")]
    assert line.startswith(
        f"Still waiting for {azkaban_env.url} (GET /index fetchallprojects): no reply after "
    )
    assert line.endswith("s; each try times out after 30 s")


def test_the_waiting_notice_is_printed_off_a_terminal_in_a_separate_process(
    ws: Workspace, azkaban_env: SandboxServer
) -> None:
    """Off a terminal, in a subprocess: a login the server sits on is named. The threshold is
    shortened in that interpreter (the default is held to the README below)."""
    ws.write(ETL)
    azkaban_env.faults.add("slow", path="/", action="login", delay=1.6)
    shortened = (
        "import sys; from azstate.commands import progress; progress.WAIT_NOTICE = 1.0; "
        "from azstate.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", shortened, "plan", "-c", str(ws.config)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=_env(azkaban_env),
        cwd=ws.root,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"Still waiting for {azkaban_env.url} (POST / login): no reply after 1 s" in (
        done.stderr
    )


def test_the_readme_states_the_waiting_notice_threshold() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    stated = re.search(r"has not answered after (\d+)\s+seconds is named on stderr", readme)
    assert stated is not None and float(stated.group(1)) == progress.WAIT_NOTICE == 5.0


def test_an_apply_against_a_server_that_died_stops_early(
    ws: Workspace, azkaban_env: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Reads are still retried against the dead server, without the backoff sleeps between.
    monkeypatch.setattr(AzkabanClient, "_pause", lambda *args: None)
    names = [f"p{i}" for i in range(6)]
    _projects(ws, names)
    ws.config.write_text(ws.config.read_text().replace("[server]\n", "[server]\ntimeout = 1\n", 1))

    def die() -> None:
        threading.Thread(target=azkaban_env.stop, daemon=True).start()

    # The first write is answered by nobody: the server goes away while it is being sent.
    azkaban_env.faults.add("reset_before", path="/manager", action="create", on_fire=die)
    started = time.monotonic()
    result = ws.run("apply", "--auto-approve", "--parallelism", "1", "-c", str(ws.config))
    elapsed = time.monotonic() - started
    assert result.code == 1
    line_re = re.compile(
        r"  (failed|transient failure|outcome unknown|not attempted) +(\S+) "
        r"\(create, \d+ calls? sent\): "
    )
    rows = {m[2]: m[1] for m in map(line_re.match, result.out.splitlines()) if m}
    assert len(rows) == 18  # 6 projects x 3 changes, every one reported
    # The first three were tried (the first write's outcome cannot be known: the server went
    # away while it was sent), the rest not attempted.
    tried = [rows[f"project.{p}"] for p in names]
    assert "not attempted" not in tried[:3] and tried[3:] == ["not attempted"] * 3
    stopped = [line for line in result.out.splitlines() if "stopped early" in line]
    assert {line.split()[2] for line in stopped} == {
        f"project.{p}{suffix}" for p in names[3:] for suffix in ("", ".files", ".schedule.daily")
    }
    assert all("could not be reached for 3 projects in a row" in line for line in stopped)
    assert "apply did not complete: 3 failed, 15 not attempted." in result.err
    assert elapsed < 30


# -- on a terminal: the prompt -----------------------------------------------------------------


def test_the_prompt_names_the_server_and_the_user(
    ws: Workspace, azkaban_env: SandboxServer
) -> None:
    ws.write(ETL + HOURLY)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*AZSTATE, "apply", "-c", str(ws.config)],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=slave,
        env=_env(azkaban_env),
        cwd=ws.root,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 30
    while b"Enter a value:" not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if ready:
            try:
                seen += os.read(master, 4096)
            except OSError:
                break
    os.write(master, b"no\n")
    out, _ = proc.communicate(timeout=30)
    os.close(master)
    text = " ".join(seen.decode("utf-8", "replace").split())
    assert (
        f"Do you want to apply these 3 changes to {azkaban_env.url} as azkaban? "
        "Only 'yes' will be accepted."
    ) in text
    assert proc.returncode == 1 and out == b""  # cancelled: no report, nothing applied
    assert not [e for e in azkaban_env.log.snapshot() if e.mutating]


# -- the sandbox says how to log in ------------------------------------------------------------


def test_sandbox_serve_names_its_credentials_and_the_try_line_sets_them(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZKABAN_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.Popen(
        [*AZSTATE, "sandbox", "serve", "--port", "0", "--data-dir", str(tmp_path / "data")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
        text=True,
    )
    try:
        assert proc.stderr is not None
        lines = []
        for line in proc.stderr:
            lines.append(line.rstrip("\n"))
            if line.startswith("Press Ctrl-C"):
                break
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    url = lines[0].removeprefix("Azkaban sandbox listening on ")
    assert "  log in as user azkaban, password azkaban (also reader/reader, metrics/metrics)" in (
        lines
    )
    try_line = next(line for line in lines if line.startswith("  try: "))
    assert try_line == (
        f"  try: AZKABAN_URL={url} AZKABAN_USERNAME=azkaban AZKABAN_PASSWORD=azkaban azstate plan"
    )
