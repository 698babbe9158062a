"""Shared fixtures: a real sandbox server on a free loopback port, a clean environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from azstate.sandbox.server import SandboxServer
from tests.forkserver import ForkServer

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_environ(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No test sees the developer's credentials, server or digest cache."""
    for name in list(os.environ):
        if name.startswith("AZKABAN_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AZSTATE_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    """A fresh emulator per test, with its own data directory."""
    server = SandboxServer(data_dir=tmp_path / "sandbox-data", port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def azkaban_env(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer) -> SandboxServer:
    """The environment a user sets to point azstate at the sandbox."""
    monkeypatch.setenv("AZKABAN_URL", sandbox.url)
    monkeypatch.setenv("AZKABAN_USERNAME", "azkaban")
    monkeypatch.setenv("AZKABAN_PASSWORD", "azkaban")
    return sandbox


@pytest.fixture(scope="session")
def azstate_forkserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForkServer]:
    """An `azstate` for PATH that starts in milliseconds (tests/forkserver.py), one per worker."""
    server = ForkServer(tmp_path_factory.mktemp("forkserver"))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(autouse=True)
def _quick_azstate(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a module marked ``quick_azstate`` (whose scripts run `azstate` many times), its
    ``BIN``, the directory put first on their PATH, starts with the quick-starting azstate."""
    if request.node.get_closest_marker("quick_azstate") is None:
        return
    server: ForkServer = request.getfixturevalue("azstate_forkserver")
    monkeypatch.setattr(request.module, "BIN", server.path(request.module.BIN))
