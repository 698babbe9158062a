"""Fault filters by method and fault hooks: what the fault matrix and the lost-reply tests
rely on to fault the HEAD of a download apart from its GET, and to act between a request and
its lost reply."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from azstate.sandbox.server import SandboxServer
from tests.test_sandbox import Az


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SandboxServer]:
    with SandboxServer(data_dir=tmp_path / "data") as srv:
        yield srv


def test_a_fault_for_one_method_leaves_the_other_alone(server: SandboxServer) -> None:
    az = Az(server.url)
    az.create("p")
    az.upload("p")
    server.faults.add("http500", path="/manager", action="download", method="head", times=None)
    assert az.get("/manager", project="p", download="true").status_code == 200
    assert az.head("/manager", project="p", download="true").status_code == 500
    faulted = [(e.method, e.fault) for e in server.log.snapshot() if e.action == "download"]
    assert faulted == [("GET", None), ("HEAD", "http500")]


def test_a_hook_runs_before_the_faulted_request_is_answered(server: SandboxServer) -> None:
    az = Az(server.url)
    seen: list[int] = []
    server.faults.add(
        "reset_before",
        path="/manager",
        action="create",
        on_fire=lambda: seen.append(len(server.log.snapshot())),
    )
    with pytest.raises(requests.ConnectionError):
        az.create("p")
    assert seen == [1]  # the login only: the hook ran before this request was logged
    assert not server.faults.pending()


def test_the_control_endpoint_takes_a_method(server: SandboxServer) -> None:
    url = server.url + "/__sandbox__/faults"
    fault = {"kind": "http500", "path": "/manager", "action": "download", "method": "HEAD"}
    assert requests.post(url, json=fault).json() == {"ok": True}
    server.faults.add("slow", on_fire=lambda: None)
    listed = requests.get(url).json()["faults"]
    assert [f["method"] for f in listed] == ["HEAD", None]
    assert all("on_fire" not in f for f in listed)
