"""Hardened inputs (issue 15, items 2, 4 and 7): which server, what azstate writes, which files
it reads, and odd input. Every case runs the CLI in-process against a real sandbox over HTTP and
checks what the user sees, the exit code and, where it matters, what is on disk."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from azstate.cli import main
from azstate.sandbox.server import SandboxServer
from azstate.wire.client import AzkabanClient
from tests.e2e.workspace import ETL, Result, Workspace, flow20

ELSEWHERE = "http://azkaban.example.com:8081"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _one_line_error(result: Result) -> str:
    """The run failed as azstate promises: exit 1, one line, no traceback."""
    assert result.code == 1, (result.out, result.err)
    assert "Traceback" not in result.err and "Traceback" not in result.out
    errors = [line for line in result.err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.err
    return errors[0]


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root, check=True, capture_output=True,
    )  # fmt: skip


# Item 2: the target ------------------------------------------------------------------------


def _configured_elsewhere(ws: Workspace, body: str = ETL) -> None:
    """server.url names another server than AZKABAN_URL (the sandbox), as CI files do."""
    ws.write(body)
    text = ws.config.read_text().replace(ws.sandbox.url, ELSEWHERE)
    ws.config.write_text(text)


def test_every_plan_says_when_azkaban_url_is_not_server_url(ws: Workspace) -> None:
    _configured_elsewhere(ws)
    sentence = f"AZKABAN_URL points at {ws.sandbox.url}, not at server.url {ELSEWHERE}"
    text = ws.run("plan", "-c", str(ws.config), "--out", str(ws.root / "plan.json"))
    assert text.code == 0, text.err
    assert sentence in text.err  # the run's own warning
    lines = text.out.splitlines()
    assert lines[0] == f"Plan for {ws.sandbox.url} (times in America/Los_Angeles)"
    assert lines[1] == f"Warning: {sentence}"  # beside the server line
    md = ws.run("plan", "-c", str(ws.config), "--format", "markdown")
    words = f"`AZKABAN_URL` points at `{ws.sandbox.url}`, not at `server.url` `{ELSEWHERE}`"
    assert words in md.out
    assert md.out.index("AZKABAN_URL") < md.out.index("| Create |")
    html = MarkdownIt("commonmark").render(md.out)  # as the pull-request comment shows it
    quote = html[html.index("<blockquote>") : html.index("</blockquote>")]
    assert f"<code>AZKABAN_URL</code> points at <code>{ws.sandbox.url}</code>" in quote
    assert f"<code>server.url</code> <code>{ELSEWHERE}</code>" in quote
    as_json = json.loads(ws.run("plan", "-c", str(ws.config), "--format", "json").out)
    assert as_json["server"] == ws.sandbox.url and as_json["configured_server"] == ELSEWHERE
    # The saved plan keeps it: show and apply PLANFILE print it too.
    saved = json.loads((ws.root / "plan.json").read_text())
    assert saved["configured_server"] == ELSEWHERE
    shown = ws.run("show", str(ws.root / "plan.json"))
    assert f"Warning: {sentence}" in shown.out
    shown_md = ws.run("show", str(ws.root / "plan.json"), "--format", "markdown")
    assert "`AZKABAN_URL` points at" in shown_md.out


def test_no_warning_when_they_agree(ws: Workspace) -> None:
    ws.write(ETL)
    result = ws.run("plan", "-c", str(ws.config))
    assert result.code == 0 and "AZKABAN_URL" not in result.out + result.err
    plan = json.loads(ws.run("plan", "-c", str(ws.config), "--format", "json").out)
    assert "configured_server" not in plan  # plans of format version 1 stay as they were


def test_credentials_in_a_url_are_refused_and_never_shown(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.write(ETL)
    host = ws.sandbox.url.removeprefix("http://")
    monkeypatch.setenv("AZKABAN_URL", f"http://ci:hunter2secret@{host}")
    line = _one_line_error(ws.run("plan", "-c", str(ws.config)))
    assert "holds credentials" in line and "AZKABAN_PASSWORD" in line
    assert "hunter2secret" not in line
    # In the configuration too: a pull request cannot smuggle them into plans and caches.
    monkeypatch.setenv("AZKABAN_URL", ws.sandbox.url)
    ws.config.write_text(
        ws.config.read_text().replace(ws.sandbox.url, f"http://ci:hunter2secret@{host}")
    )
    result = ws.run("plan", "-c", str(ws.config))
    line = _one_line_error(result)
    assert "server.url" in line and "hunter2secret" not in result.err + result.out


def test_an_https_server_url_is_not_downgraded_unless_meant(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.write(ETL)
    https = ws.sandbox.url.replace("http://", "https://")
    ws.config.write_text(ws.config.read_text().replace(ws.sandbox.url, https))
    line = _one_line_error(ws.run("plan", "-c", str(ws.config)))
    assert "downgrades server.url" in line and "--allow-http-downgrade" in line
    allowed = ws.run("plan", "-c", str(ws.config), "--allow-http-downgrade")
    assert allowed.code == 0, allowed.err
    assert "Plan: 2 to create" in allowed.out
    # apply takes the flag too, and converges
    ws.apply("--allow-http-downgrade")
    again = ws.run("plan", "-c", str(ws.config), "--allow-http-downgrade", "--detailed-exitcode")
    assert again.code == 0, again.out


def test_plain_http_off_loopback_warns_on_every_run(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    _offline(ws, monkeypatch, "http://scheduler.invalid:8081")
    result = ws.run("plan", "-c", str(ws.config))
    assert "Warning: plain HTTP to scheduler.invalid" in result.err
    line = _one_line_error(result)  # and the unknown host is one line too
    assert "scheduler.invalid" in line


@pytest.fixture
def misbehaving() -> Iterator[dict[str, int]]:
    """Loopback ports that reset every connection, or answer bytes that are not HTTP."""
    servers: list[socket.socket] = []
    ports: dict[str, int] = {}

    def serve(listener: socket.socket, mode: str) -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            if mode == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
            else:
                conn.recv(65536)
                conn.sendall(b"\x00\x01\x1b[31mgarbage\r\n\r\n")
            conn.close()

    for mode in ("reset", "garbage"):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        servers.append(listener)
        ports[mode] = listener.getsockname()[1]
        threading.Thread(target=serve, args=(listener, mode), daemon=True).start()
    yield ports
    for listener in servers:
        listener.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _no_pause(client: AzkabanClient, info: object, attempt: int, why: str) -> None:
    """A retry without the backoff sleep: the tries and the final message stay the same."""


def _offline(ws: Workspace, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """The ETL configuration pointed at ``url``, a server that does not answer."""
    ws.write(ETL)
    monkeypatch.setattr(AzkabanClient, "_pause", _no_pause)  # the retries' sleeps only
    monkeypatch.setenv("AZKABAN_URL", url)


def test_no_transport_error_prints_a_traceback(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch, misbehaving: dict[str, int]
) -> None:
    ws.write(ETL)
    # The reads are retried; the pauses between tries do not change the final message.
    monkeypatch.setattr(AzkabanClient, "_pause", _no_pause)
    tls_to_plain = ws.sandbox.url.replace("http://", "https://")
    # A peer that closes the connection at once is reported as the socket saw it: a reset when
    # its RST arrives while the request is sent or read, or a close without a reply when the
    # reply read finds the connection already at its end (which of the two is a race).
    closed = ("Connection reset by peer", "Remote end closed connection without response")
    cases: dict[str, tuple[str, ...]] = {
        f"http://127.0.0.1:{_free_port()}": ("Connection refused",),
        "http://no-such-host.invalid": ("no-such-host.invalid",),
        tls_to_plain: ("TLS",),
        f"http://127.0.0.1:{misbehaving['reset']}": closed,
        f"http://127.0.0.1:{misbehaving['garbage']}": ("127.0.0.1",),
        "http://[::1": ("not a valid URL",),
        "http://localhost:99999": ("not a valid URL",),
        "ftp://azkaban.example.com": ("http:// or https://",),
    }
    for url, any_of in cases.items():
        monkeypatch.setenv("AZKABAN_URL", url)
        result = ws.run("plan", "-c", str(ws.config), "--allow-http-downgrade")
        line = _one_line_error(result)
        assert any(words in line for words in any_of), (url, line)
        assert "\x1b" not in result.err  # the peer's bytes are escaped


def test_a_proxy_that_is_down_is_named_as_the_proxy(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    _offline(ws, monkeypatch, "http://azkaban.example.com:8081")
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{_free_port()}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    line = _one_line_error(ws.run("plan", "-c", str(ws.config)))
    assert "the proxy http://127.0.0.1:" in line and "HTTP_PROXY" in line


# Item 2: what azstate writes is its owner's only ---------------------------------------------


@pytest.fixture
def wide_umask() -> Iterator[None]:
    """Files created with the usual umask would be world-readable (0644, 0755)."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_saved_plans_and_the_digest_cache_are_0600(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch, wide_umask: None
) -> None:
    cache = ws.root / "new-cache" / "azstate"
    monkeypatch.setenv("AZSTATE_CACHE_DIR", str(cache))
    ws.write(ETL)
    ws.apply()
    plan = ws.root / "plan.json"
    plan.write_text("old")
    os.chmod(plan, 0o644)  # an existing file's mode does not carry over
    result = ws.run("plan", "-c", str(ws.config), "--out", str(plan))
    assert result.code == 0, result.err
    assert _mode(plan) == 0o600
    assert (cache / "digests.json").exists()
    assert _mode(cache / "digests.json") == 0o600
    assert _mode(cache) == 0o700 and _mode(cache.parent) == 0o700
    assert not list(ws.root.glob("*.tmp")) and not list(ws.root.glob(".plan.json.*"))


def test_import_output_is_0600_and_0700(ws: Workspace, wide_umask: None) -> None:
    ws.write(ETL)
    ws.apply()
    out = ws.root / "imported"
    result = ws.run("import", "--all", "--out", str(out))
    assert result.code == 0, result.err
    written = [p for p in out.rglob("*")]
    assert any(p.name == "daily.flow" for p in written)
    assert _mode(out) == 0o700
    for path in written:
        assert _mode(path) == (0o700 if path.is_dir() else 0o600), path


def test_sandbox_data_is_0600_and_0700(tmp_path: Path, wide_umask: None) -> None:
    from pydantic import SecretStr

    from azstate.archive import build_zip
    from azstate.wire import calls

    data = tmp_path / "fresh" / "sandbox"
    with SandboxServer(data_dir=data, port=0) as server:
        client = AzkabanClient(server.url, "azkaban", SecretStr("azkaban"))
        client.login()
        client.send(calls.create_project("etl", "d"))
        flows = flow20(tmp_path / "src", {"daily": ["a"]})
        client.upload("etl", build_zip(flows), filename="etl.zip")
    written = list(data.rglob("*"))
    assert any(p.suffix == ".zip" for p in written) and any(p.suffix == ".json" for p in written)
    assert _mode(data) == 0o700 and _mode(data.parent) == 0o700
    for path in written:
        assert _mode(path) == (0o700 if path.is_dir() else 0o600), path


def test_the_local_sandbox_directory_is_0700(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wide_umask: None
) -> None:
    from azstate.sandbox.server import ensure_local_sandbox

    monkeypatch.chdir(tmp_path)
    ensure_local_sandbox(Path(".azstate/sandbox"))
    assert _mode(tmp_path / ".azstate") == 0o700
    assert _mode(tmp_path / ".azstate" / "sandbox") == 0o700
    for path in (tmp_path / ".azstate").rglob("*"):
        assert _mode(path) == (0o700 if path.is_dir() else 0o600), path


# Item 4: sources stay inside the repository ------------------------------------------------


def _flows(root: Path) -> Path:
    return flow20(root, {"daily": ["extract"]})


def test_a_source_outside_the_configurations_directory_is_refused(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = ws.root.parent / f"{ws.root.name}-outside" / "flows"
    _flows(outside)
    ws.write(ETL.replace('"src/etl"', json.dumps(str(outside))))
    line = _one_line_error(ws.run("validate", "-c", str(ws.config)))
    assert "projects.etl.source" in line and "resolves outside" in line
    assert "--allow-outside-sources" in line and "AZSTATE_ALLOW_OUTSIDE_SOURCES=1" in line
    plan = ws.run("plan", "-c", str(ws.config))
    assert "resolves outside" in _one_line_error(plan)
    assert ws.sandbox.store.projects == {}  # nothing was sent
    assert ws.run("validate", "-c", str(ws.config), "--allow-outside-sources").code == 0
    monkeypatch.setenv("AZSTATE_ALLOW_OUTSIDE_SOURCES", "1")
    assert ws.run("plan", "-c", str(ws.config)).code == 0
    # The configuration cannot opt out: a pull request could change it.
    monkeypatch.delenv("AZSTATE_ALLOW_OUTSIDE_SOURCES")
    ws.config.write_text(ws.config.read_text() + "\n[azstate]\nallow_outside_sources = true\n")
    assert "allow_outside_sources" in _one_line_error(ws.run("validate", "-c", str(ws.config)))


def test_etc_and_dot_dot_out_of_the_repository_are_refused_inside_git(
    tmp_path: Path, ws: Workspace
) -> None:
    repo = tmp_path / "repo"
    _flows(repo / "flows" / "etl")
    env = repo / "envs" / "staging"
    env.mkdir(parents=True)
    config = env / "azstate.toml"
    body = f'[server]\nurl = "{ws.sandbox.url}"\n\n[projects.etl]\ndescription = "d"\n'
    config.write_text(body + 'source = "../../flows/etl"\n')
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "x")
    fine = ws.run("validate", "-c", str(config))
    assert fine.code == 0, fine.err  # ../ inside the same repository is allowed
    assert "git does not track" not in fine.out + fine.err
    for source in ("/etc", "../../..", "../../../outside"):
        config.write_text(body + f"source = {json.dumps(source)}\n")
        line = _one_line_error(ws.run("validate", "-c", str(config)))
        assert "resolves outside" in line and str(repo) in line, source
    # A symbolic link inside the repository that leads out of it is followed, and refused.
    (repo / "flows" / "link").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    _flows(tmp_path / "elsewhere")
    config.write_text(body + 'source = "../../flows/link"\n')
    assert "resolves outside" in _one_line_error(ws.run("validate", "-c", str(config)))


def test_files_git_does_not_track_are_warned_about(tmp_path: Path, ws: Workspace) -> None:
    repo = tmp_path / "repo"
    flows = _flows(repo / "flows")
    (repo / ".gitignore").write_text("*.secret\n")
    config = repo / "azstate.toml"
    config.write_text(
        f'[server]\nurl = "{ws.sandbox.url}"\n\n[projects.etl]\ndescription = "d"\n'
        'source = "flows"\n'
    )
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "x")
    (flows / "key.secret").write_text("ignored by git\n")
    (flows / "new.sh").write_text("echo not committed\n")
    (flows / "tmp").mkdir()
    (flows / "tmp" / "a.txt").write_text("a whole untracked directory\n")
    result = ws.run("validate", "-c", str(config))
    assert result.code == 0, result.err
    shown = result.out + result.err
    assert "git does not track" in shown
    for name in ("key.secret", "new.sh", "tmp/"):
        assert name in shown
    plan = ws.run("plan", "-c", str(config))
    assert "git does not track" in plan.out + plan.err


def test_a_huge_file_is_refused_by_its_size_not_read(ws: Workspace) -> None:
    big = ws.root / "src" / "etl" / "huge.bin"
    with open(big, "wb") as handle:  # sparse: 3 GB on paper, nothing on disk
        handle.truncate(3 * 1024**3)
    ws.write(ETL)
    started = time.monotonic()
    line = _one_line_error(ws.run("validate", "-c", str(ws.config)))
    assert time.monotonic() - started < 10
    assert "over the limit" in line and "src/etl" in line


def test_a_huge_zip_source_is_refused_by_its_size(ws: Workspace) -> None:
    big = ws.root / "etl.zip"
    with open(big, "wb") as handle:
        handle.truncate(3 * 1024**3)
    ws.write(ETL.replace('"src/etl"', '"etl.zip"'))
    started = time.monotonic()
    line = _one_line_error(ws.run("validate", "-c", str(ws.config)))
    assert time.monotonic() - started < 10
    assert "over the limit" in line and "etl.zip" in line


# Item 7: odd input ---------------------------------------------------------------------------


def test_toml_nested_500_levels_deep_is_one_line(ws: Workspace) -> None:
    for text in ("a = " + "[" * 500 + "]" * 500, "a = " + "{b = " * 500 + "1" + "}" * 500):
        ws.config.write_text(text + "\n")
        for command in ("validate", "plan"):
            line = _one_line_error(ws.run(command, "-c", str(ws.config)))
            assert str(ws.config) in line


def test_a_special_file_as_configuration_is_one_line(ws: Workspace) -> None:
    line = _one_line_error(ws.run("validate", "-c", "/dev/zero"))
    assert "/dev/zero" in line


def test_a_damaged_saved_plan_is_one_line_naming_the_file(ws: Workspace) -> None:
    ws.write(ETL)
    good = ws.root / "plan.json"
    assert ws.run("plan", "-c", str(ws.config), "--out", str(good)).code == 0
    plan = json.loads(good.read_text())
    damaged = {
        "server.json": {**plan, "server": 3},
        "changes.json": {**plan, "changes": [{"address": "project.x", "action": "explode"}]},
        "address.json": {**plan, "changes": [{"address": "no..such", "action": "create"}]},
        "calls.json": {
            **plan,
            "changes": [{"address": "project.x", "action": "create", "calls": [{"params": 5}]}],
        },
    }
    for name, data in damaged.items():
        path = ws.root / name
        path.write_text(json.dumps(data))
        for command in (("show", str(path)), ("apply", "--auto-approve", str(path))):
            line = _one_line_error(ws.run(*command))
            assert line.startswith(f"Error: {path}: the saved plan is damaged"), line
            assert "pydantic" not in line and "\\n" not in line
    deep = ws.root / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    assert "nested too deeply" in _one_line_error(ws.run("show", str(deep)))
    assert "a directory" in _one_line_error(ws.run("show", str(ws.root)))


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_parallelism_below_one_is_refused(ws: Workspace, value: str) -> None:
    """Refused by the command line itself (it used to be ignored for 0), before any request."""
    ws.write(ETL)
    config = str(ws.config)
    for command in (["plan", "-c", config], ["apply", "-c", config], ["import", "--all"]):
        ws.capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main([*command, f"--parallelism={value}"])
        err = ws.capsys.readouterr().err
        assert exited.value.code == 1 and "Traceback" not in err
        errors = [line for line in err.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and "--parallelism" in errors[0], err
    assert ws.sandbox.store.projects == {}


def test_extends_stays_inside_the_repository(tmp_path: Path, ws: Workspace) -> None:
    repo = tmp_path / "repo"
    _flows(repo / "flows" / "etl")
    (repo / "base.toml").write_text(
        f'[server]\nurl = "{ws.sandbox.url}"\n\n[projects.etl]\ndescription = "d"\n'
        'source = "flows/etl"\n'
    )
    env = repo / "envs" / "staging"
    env.mkdir(parents=True)
    config = env / "azstate.toml"
    config.write_text('extends = ["../../base.toml"]\n')
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    assert ws.run("validate", "-c", str(config)).code == 0  # ../../ inside the repository
    secret = tmp_path / "elsewhere.toml"
    secret.write_text('[server]\ntimeout = 5\n')
    for target in (str(secret), "../../../elsewhere.toml", "/etc/hostname"):
        config.write_text(f"extends = [{json.dumps(target)}]\n")
        line = _one_line_error(ws.run("validate", "-c", str(config)))
        assert f"{config}:1: extends[0]:" in line and "resolves outside" in line, line
    config.write_text(f"extends = [{json.dumps(str(secret))}]\n")
    allowed = ws.run("validate", "-c", str(config), "--allow-outside-sources")
    assert "resolves outside" not in allowed.err


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ('[server]\ntimeout = inf\n', "server.timeout: Input should be a finite number"),
        ('[server]\ntimeout = nan\n', "server.timeout"),
        ('[projects.etl]\ndescription = "d"\nsource = "a\\u0000b"\n', "NUL"),
        ('extends = ["a\\u0000"]\n', "extends[0]"),
    ],
)
def test_values_no_path_or_clock_can_hold_are_one_line(
    ws: Workspace, body: str, words: str
) -> None:
    ws.config.write_text(body)
    for command in ("validate", "plan"):
        line = _one_line_error(ws.run(command, "-c", str(ws.config)))
        assert words in line and str(ws.config) in line, line
