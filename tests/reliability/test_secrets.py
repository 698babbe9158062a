"""Secrets: a known password and every session id the server hands out never appear in any
output, log record, saved plan or written file, whatever the command, format or error."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from azstate.cli import main
from azstate.sandbox import users
from azstate.sandbox.server import LateReply, SandboxServer
from azstate.sandbox.store import Store
from tests.e2e.workspace import flow20
from tests.reliability.matrix import QuickClock, quick_retries

PASSWORD = "Pw-7x!Q2#s3cr3t"
WRONG = "Wr0ng-Pa55!zz"
CONFIG = """
[server]
url = "{url}"
timezone = "UTC"
timeout = 2

[projects.etl]
description = "Nightly ETL"
source = "src/etl"

[projects.etl.permissions]
users = {{ reader = ["read"] }}

[projects.etl.schedules.daily]
cron = "0 0 2 ? * *"

[projects.etl.schedules.daily.sla]
emails = ["sla@example.com"]
rules = [{{ rule = "SUCCESS", duration = "2h", email = true }}]
"""


@pytest.fixture
def session_ids(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    issued: list[str] = []
    real = Store.add_session

    def record(self: Store, session_id: str, user: str) -> None:
        issued.append(session_id)
        real(self, session_id, user)

    monkeypatch.setattr(Store, "add_session", record)
    yield issued


@pytest.fixture
def deployer(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer) -> SandboxServer:
    monkeypatch.setitem(
        users.USERS, "deployer", users.User("deployer", PASSWORD, ("admin",), ("deployers",))
    )
    monkeypatch.setenv("AZKABAN_URL", sandbox.url)
    monkeypatch.setenv("AZKABAN_USERNAME", "deployer")
    monkeypatch.setenv("AZKABAN_PASSWORD", PASSWORD)
    return sandbox


@pytest.fixture
def clock() -> Iterator[QuickClock]:
    """Retry pauses are recorded, not waited for (quick_retries): the error paths retry a lot."""
    with quick_retries() as clock:
        yield clock


def test_no_command_format_or_error_shows_a_secret(
    deployer: SandboxServer,
    session_ids: list[str],
    clock: QuickClock,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    flow20(tmp_path / "src" / "etl", {"daily": ["extract", "load"]})
    config = tmp_path / "azstate.toml"
    config.write_text(CONFIG.format(url=deployer.url))
    c, plan_file, out_dir = str(config), str(tmp_path / "tfplan"), str(tmp_path / "imported")
    seen: list[str] = []

    def run(*args: str, expect: int | None = None) -> None:
        code = main(list(args))
        captured = capsys.readouterr()
        seen.extend([captured.out, captured.err])
        if expect is not None:
            assert code == expect, captured.out + captured.err

    run("validate", "-c", c, expect=0)
    for fmt in ("text", "json", "markdown"):
        run("-v", "plan", "-c", c, "--format", fmt, expect=0)
    run("plan", "-c", c, "--out", plan_file, expect=0)
    for fmt in ("text", "json", "markdown"):
        run("show", plan_file, "--format", fmt, expect=0)
    for fmt in ("text", "json"):
        run("-v", "apply", "-c", c, "--dry-run", "--format", fmt, expect=0)
    run("-v", "apply", plan_file, expect=0)
    run("-v", "import", "--all", "--out", out_dir, expect=0)

    # error paths: a server error, an error inside a 200, an expired session, a lost connection
    deployer.faults.add("http500", path="/index", action="fetchallprojects", times=None)
    run("-v", "plan", "-c", c, expect=1)
    deployer.faults.clear()
    deployer.faults.add("error200", path="/schedule", action="fetchSchedule")
    run("-v", "plan", "-c", c, "--refresh=full", expect=1)  # the token cache would skip it
    deployer.faults.add("expire_session", path="/schedule", action="fetchSchedules")
    run("-v", "plan", "-c", c, expect=0)
    deployer.faults.add("reset_after", path="/manager", action="changeDescription")
    config.write_text(CONFIG.format(url=deployer.url).replace("Nightly ETL", "Nightly"))
    run("-v", "apply", "-c", c, "--auto-approve")
    # a GET carries the session id in its query string: connections broken on one, and a
    # reply later than the timeout, every time until the retries run out
    deployer.faults.add("reset_before", path="/schedule", action="fetchSchedule", times=None)
    run("-v", "plan", "-c", c, "--refresh=full", expect=1)
    deployer.faults.clear()
    fast = tmp_path / "fast.toml"
    fast.write_text(CONFIG.format(url=deployer.url).replace("timeout = 2", "timeout = 0.2"))
    late = LateReply()
    deployer.faults.add("slow", path="/index", action="fetchallprojects", times=None, on_fire=late)
    run("-v", "plan", "-c", str(fast), expect=1)
    assert late.client_gave_up()
    deployer.faults.clear()
    # a wrong password, then no server at all
    monkeypatch.setenv("AZKABAN_PASSWORD", WRONG)
    run("-v", "plan", "-c", c, expect=1)
    monkeypatch.setenv("AZKABAN_PASSWORD", PASSWORD)
    monkeypatch.setenv("AZKABAN_URL", "http://127.0.0.1:9")
    run("-v", "plan", "-c", c, expect=1)
    assert len(clock.pauses) >= 12  # four error paths ran out of three retries each

    assert len(session_ids) >= 10
    texts = seen + [r.getMessage() for r in caplog.records]
    texts += [str(r.args) for r in caplog.records]
    texts += [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    texts += [p.read_text(errors="replace") for p in Path(out_dir).rglob("*.toml")]
    assert any("session.id=***" in r.getMessage() for r in caplog.records)  # logged, masked
    for secret in (PASSWORD, WRONG, *session_ids):
        leaks = [t[max(0, t.find(secret) - 80) : t.find(secret) + 80] for t in texts if secret in t]
        assert not leaks, f"{secret!r} leaked: {leaks[:3]}"


def test_the_password_is_never_a_command_line_flag(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["plan"], ["apply"], ["import", "--all"], ["plan", f"--password={PASSWORD}"]):
        if len(args) == 1 or args[0] == "import":
            args = [*args, "--password", PASSWORD]
        with pytest.raises(SystemExit) as refused:
            main(args)
        assert refused.value.code == 1
        err = capsys.readouterr().err
        assert "unrecognized arguments: --password" in err
        assert "from AZKABAN_PASSWORD only" in err and PASSWORD not in err
