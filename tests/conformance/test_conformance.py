"""One test per recorded scenario: the sandbox must answer as the real Azkaban server did.

Each scenario runs against its own fresh SandboxServer on a free port. A failing test prints
every differing field of every differing step, with a JSON pointer, as the replayer does; the
last test prints the overall ``conformance: N/M steps agree`` line.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from azstate.sandbox.server import SandboxServer
from tests.conformance.replay import (
    StepResult,
    on_fresh_sandbox,
    report,
    run_scenario,
    scenario_names,
    summary,
)

_RESULTS: dict[str, list[StepResult]] = {}


@pytest.fixture
def fresh_sandbox(tmp_path: Path) -> Iterator[SandboxServer]:
    server = SandboxServer(data_dir=tmp_path / "sandbox", port=0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("name", scenario_names())
def test_scenario(name: str, fresh_sandbox: SandboxServer) -> None:
    results = run_scenario(fresh_sandbox.url, name)
    _RESULTS[name] = results
    differing = [r for r in results if r.compared and not r.agrees]
    assert not differing, f"{name}: {len(differing)} step(s) differ\n{report(results)}"


def test_every_scenario_has_its_golden() -> None:
    names = scenario_names()
    assert len(names) >= 56
    for name in names:
        scenario = Path(__file__).parent / "scenarios" / f"{name}.golden.json"
        assert scenario.exists(), name


def test_summary_line(capsys: pytest.CaptureFixture[str]) -> None:
    """The overall line, over every scenario (those another worker ran are run again here)."""
    results: list[StepResult] = []
    for name in scenario_names():
        results.extend(_RESULTS.get(name) or on_fresh_sandbox(name))
    line = summary(results)
    with capsys.disabled():
        print("\n" + line)
    assert all(r.agrees for r in results if r.compared), report(results)
