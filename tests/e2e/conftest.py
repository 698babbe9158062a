"""The workspace most end-to-end tests start from: a Flow 2.0 source with flows daily and
hourly, and the CLI pointed at a fresh sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from azstate.sandbox.server import SandboxServer
from tests.e2e.workspace import Workspace, flow20


@pytest.fixture
def ws(tmp_path: Path, azkaban_env: SandboxServer, capsys: pytest.CaptureFixture[str]) -> Workspace:
    flow20(tmp_path / "src" / "etl", {"daily": ["extract", "load"], "hourly": ["ping"]})
    return Workspace(tmp_path, azkaban_env, capsys)
