"""The sandbox's test hooks and lifecycle: persistence, faults, latency, the request log, the
control endpoints, HTTPS, the time zone, ``ensure_local_sandbox`` and ``azstate sandbox serve``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from azstate.sandbox.server import SandboxServer, ensure_local_sandbox
from tests.test_sandbox import FLOW20_BASIC, Az


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SandboxServer]:
    srv = SandboxServer(data_dir=tmp_path / "data", port=0)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def az(server: SandboxServer) -> Az:
    return Az(server.url)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- persistence ----------------------------------------------------------------------------------


def test_state_survives_a_restart_but_sessions_do_not(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with SandboxServer(data_dir=data) as first:
        az = Az(first.url)
        az.create("kept", "kept across restarts")
        az.upload("kept", filename="kept.zip")
        az.permission("addPermission", "kept", "reader", read=True)
        schedule_id = az.schedule("kept", "basic").json()["scheduleId"]
        az.set_sla(schedule_id, ",SUCCESS,1:00,true,false")
        exec_id = az.post("/executor", ajax="executeFlow", project="kept", flow="basic").json()[
            "execid"
        ]
        az.create("gone")
        az.get("/manager", project="gone", delete="true")
        old_sid, pid = az.sid, az.project_id("kept")
    with SandboxServer(data_dir=data) as second:
        stale = requests.get(
            second.url + "/index", params={"ajax": "fetchallprojects", "session.id": old_sid}
        )
        assert stale.json() == {"error": "session"}
        az = Az(second.url)
        assert az.project_id("kept") == pid
        assert "kept across restarts" in az.get("/manager", project="kept").text
        download = az.get("/manager", project="kept", download="true")
        assert download.headers["version"] == "1"
        assert 'filename="kept.zip"' in download.headers["Content-Disposition"]
        users = az.get("/manager", ajax="getPermissions", project="kept").json()["permissions"]
        assert {u["username"] for u in users} == {"azkaban", "reader"}
        assert az.sla_info(schedule_id)["settings"][0]["duration"] == "60m"
        assert az.get("/executor", ajax="fetchexecflow", execid=exec_id).json()["execid"] == exec_id
        names = [p["projectName"] for p in az.get("/index", ajax="fetchallprojects").json()[
            "projects"]]  # fmt: skip
        assert names == ["kept"]
        az.create("fresh")
        assert az.project_id("fresh") > az.project_id("kept") + 1
        assert az.upload("kept").json()["version"] == "2"


def test_state_files_are_json_written_atomically(server: SandboxServer, az: Az) -> None:
    az.create("files")
    pid = az.project_id("files")
    project_file = server.data_dir / "projects" / f"{pid}.json"
    assert json.loads(project_file.read_text())["name"] == "files"
    assert not list(server.data_dir.rglob(".tmp-*"))


def test_reads_write_nothing(server: SandboxServer, az: Az) -> None:
    az.create("ro")
    stamps = {p: p.stat().st_mtime_ns for p in server.data_dir.rglob("*.json")}
    for _ in range(5):
        az.get("/index", ajax="fetchallprojects")
        az.get("/manager", ajax="fetchprojectflows", project="ro")
    assert {p: p.stat().st_mtime_ns for p in server.data_dir.rglob("*.json")} == stamps


def test_concurrent_creates_get_unique_ids(az: Az) -> None:
    errors: list[Exception] = []

    def create(index: int) -> None:
        try:
            assert az.create(f"c{index}").json()["status"] == "success"
        except Exception as exc:  # surfaced below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    ids = [p["projectId"] for p in az.get("/index", ajax="fetchallprojects").json()["projects"]]
    assert sorted(ids) == list(range(1, 25))


# -- faults and latency ---------------------------------------------------------------------------


def test_latency_is_added_to_every_request(server: SandboxServer, az: Az) -> None:
    server.faults.latency = 0.2
    start = time.monotonic()
    az.get("/index", ajax="fetchallprojects")
    assert time.monotonic() - start >= 0.2


def test_http500_does_nothing_and_is_used_up(server: SandboxServer, az: Az) -> None:
    server.faults.add("http500", path="/manager", action="create")
    reply = az.create("later")
    assert reply.status_code == 500 and "HTTP ERROR 500" in reply.text
    assert az.get("/manager", ajax="getProjectId", project="later").json()["error"]
    assert az.create("later").json()["status"] == "success"


def test_reset_before_drops_the_connection_and_does_nothing(server: SandboxServer, az: Az) -> None:
    server.faults.add("reset_before", path="/manager", action="create")
    with pytest.raises(requests.ConnectionError):
        az.create("never")
    assert "error" in az.get("/manager", ajax="getProjectId", project="never").json()


def test_reset_after_does_the_work_then_drops(server: SandboxServer, az: Az) -> None:
    server.faults.add("reset_after", action="create")
    with pytest.raises(requests.ConnectionError):
        az.create("done")
    assert az.project_id("done") >= 1
    assert [e.status for e in server.log if e.action == "create"] == [0]


def test_slow_delays_the_reply(server: SandboxServer, az: Az) -> None:
    server.faults.add("slow", path="/index", delay=0.3)
    start = time.monotonic()
    assert "projects" in az.get("/index", ajax="fetchallprojects").json()
    assert time.monotonic() - start >= 0.3


def test_expire_session_answers_in_the_method_shape(server: SandboxServer, az: Az) -> None:
    server.faults.add("expire_session", path="/schedule")
    assert az.get("/schedule", ajax="fetchSchedules").json() == {"error": "session"}
    assert az.get("/index", ajax="fetchallprojects").json() == {"error": "session"}
    other = Az(server.url)
    server.faults.add("expire_session", action="changeDescription")
    reply = other.post("/manager", ajax="changeDescription", project="p", description="d")
    assert reply.json()["message"] == "Invalid Session. Need to re-login"
    third = Az(server.url)
    server.faults.add("expire_session", action="upload")
    assert third.upload("p").text == "Login error. Need username and password"


def test_error200_answers_an_azkaban_error_and_does_nothing(server: SandboxServer, az: Az) -> None:
    server.faults.add("error200", action="create", times=None)
    for _ in range(2):
        reply = az.create("x")
        assert reply.status_code == 200 and reply.json()["status"] == "error"
    server.faults.clear()
    assert az.create("x").json()["status"] == "success"
    az.upload("x", FLOW20_BASIC)
    server.faults.add("error200", path="/schedule", action="scheduleCronFlow")
    assert az.schedule("x", "basic").json()["status"] == "error"
    assert az.fetch_schedule(az.project_id("x"), "basic") == {}
    server.faults.add("error200", action="upload")
    upload = az.upload("x")
    assert upload.status_code == 200 and "error" in upload.json()


def test_faults_match_delete_download_and_login(server: SandboxServer, az: Az) -> None:
    az.create("m")
    server.faults.add("http500", action="delete")
    assert az.get("/manager", project="m", delete="true").status_code == 500
    server.faults.add("http500", action="download")
    assert az.get("/manager", project="m", download="true").status_code == 500
    server.faults.add("http500", action="login")
    with pytest.raises(ValueError):
        Az(server.url)
    assert az.get("/manager", project="m", delete="true").status_code == 302


def test_unknown_fault_kind_is_refused(server: SandboxServer) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        server.faults.add("explode")


# -- the request log ------------------------------------------------------------------------------


def test_request_log_records_without_secrets(server: SandboxServer, az: Az) -> None:
    server.log.clear()
    az.create("logged")
    az.upload("logged")
    az.get("/manager", ajax="fetchprojectflows", project="logged")
    az.get("/manager", project="logged", download="true")
    login = requests.post(
        server.url + "/", data={"action": "login", "username": "azkaban", "password": "azkaban"}
    )
    assert login.status_code == 200
    entries = list(server.log)
    assert [(e.method, e.path, e.action, e.mutating) for e in entries] == [
        ("POST", "/manager", "create", True),
        ("POST", "/manager", "upload", True),
        ("GET", "/manager", "fetchprojectflows", False),
        ("GET", "/manager", "download", False),
        ("POST", "/", "login", False),
    ]
    assert all("password" not in e.params and "session.id" not in e.params for e in entries)
    assert entries[1].params["file"] == "project.zip"
    assert entries[3].status == 200 and entries[3].bytes > 0
    server.log.clear()
    assert list(server.log) == []


def test_reads_and_failed_forms_are_not_mutating(server: SandboxServer, az: Az) -> None:
    server.log.clear()
    az.post("/schedule", ajax="removeSched", scheduleId=1)
    az.get("/schedule", action="removeSched", scheduleId=1)
    az.get("/schedule", ajax="fetchSchedules")
    assert not any(e.mutating for e in server.log)


# -- the control endpoints ------------------------------------------------------------------------


def test_control_endpoints(server: SandboxServer, az: Az) -> None:
    url = server.url + "/__sandbox__"
    assert requests.post(url + "/faults", json={"latency": 0.05}).json() == {"ok": True}
    assert server.faults.latency == 0.05
    fault = {"kind": "http500", "path": "/index", "times": 2}
    assert requests.post(url + "/faults", json=fault).status_code == 200
    assert requests.get(url + "/faults").json()["faults"][0]["times"] == 2
    assert az.get("/index", ajax="fetchallprojects").status_code == 500
    log = requests.get(url + "/log").json()
    assert log[-1]["path"] == "/index" and log[-1]["status"] == 500
    assert requests.delete(url + "/faults").json() == {"ok": True}
    assert server.faults.latency == 0.0
    assert az.get("/index", ajax="fetchallprojects").status_code == 200
    assert requests.delete(url + "/log").json() == {"ok": True}
    assert requests.get(url + "/log").json() == []
    assert requests.post(url + "/faults", json={"kind": "nope"}).status_code == 400
    assert requests.post(url + "/faults", data="not json").status_code == 400


# -- server lifecycle -----------------------------------------------------------------------------


def test_server_zone_is_configurable(tmp_path: Path) -> None:
    with SandboxServer(data_dir=tmp_path / "utc", timezone="UTC") as srv:
        az = Az(srv.url)
        az.create("z")
        az.upload("z")
        az.schedule("z", "basic", "0 30 2 15 6 ? 2031")
        schedule = az.fetch_schedule(az.project_id("z"), "basic")["schedule"]
        assert schedule["nextExecTime"] == "2031-06-15 02:30:00"
        logs = az.get("/manager", ajax="fetchProjectLogs", project="z").json()["logData"]
        assert logs[0][3].endswith("and timezone UTC has been added.")
        assert "+00:00" not in logs[0][3] and "Z with CronExpression" in logs[0][3]


def test_spring_forward_gap_depends_on_the_zone(tmp_path: Path) -> None:
    with SandboxServer(data_dir=tmp_path / "berlin", timezone="Europe/Berlin") as srv:
        az = Az(srv.url)
        az.create("dst")
        az.upload("dst")
        reply = az.schedule("dst", "basic", "0 30 2 ? 3 1L 2027")
        assert reply.json() == {
            "error": "This expression <0 30 2 ? 3 1L 2027> can not be parsed to quartz cron."
        }


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_https_sandbox(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        capture_output=True,
    )  # fmt: skip
    if made.returncode != 0:
        pytest.skip("openssl could not make a test certificate")
    srv = SandboxServer(data_dir=tmp_path / "tls", ssl_context=(str(cert), str(key)))
    srv.start()
    try:
        assert srv.url.startswith("https://")
        reply = requests.post(
            srv.url + "/",
            data={"action": "login", "username": "azkaban", "password": "azkaban"},
            verify=False,
        )
        assert reply.json()["status"] == "success"
    finally:
        srv.stop()


def test_stop_frees_the_port(tmp_path: Path) -> None:
    port = _free_port()
    first = SandboxServer(data_dir=tmp_path / "a", port=port).start()
    first.stop()
    second = SandboxServer(data_dir=tmp_path / "b", port=port).start()
    try:
        assert second.url == f"http://127.0.0.1:{port}"
    finally:
        second.stop()


def test_ensure_local_sandbox_is_one_per_data_dir(tmp_path: Path) -> None:
    url = ensure_local_sandbox(tmp_path / "local")
    assert ensure_local_sandbox(tmp_path / "local") == url
    assert ensure_local_sandbox(tmp_path / "other") != url
    assert Az(url).sid


def test_cli_serve_prints_the_url_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "azstate", "sandbox", "serve", "--port", str(port),
         "--data-dir", str(tmp_path / "cli"), "--latency-ms", "10"],
        stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        assert process.stderr is not None
        banner = [process.stderr.readline() for _ in range(2)]
        assert banner[0].strip() == f"Azkaban sandbox listening on http://127.0.0.1:{port}"
        assert "user azkaban, password azkaban" in banner[1]
        control = requests.get(f"http://127.0.0.1:{port}/__sandbox__/faults").json()
        assert control["latency"] == pytest.approx(0.01)
        assert Az(f"http://127.0.0.1:{port}").sid
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=10)
    assert code == 0
    assert (tmp_path / "cli" / "projects").is_dir()


def test_cli_refuses_a_bad_port(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "azstate", "sandbox", "serve", "--port", "70000",
         "--data-dir", str(tmp_path / "x")],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 1 and "--port" in result.stderr
