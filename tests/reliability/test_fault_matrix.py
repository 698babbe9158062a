"""Every kind of call plan and apply make, under every fault: see matrix.py for what a case
checks. The template server state is built once per test process."""

from __future__ import annotations

from pathlib import Path

import pytest

from azstate.sandbox.faults import KINDS
from tests.reliability.matrix import (
    CALLS,
    FAULTS,
    READS,
    Call,
    Fault,
    cases,
    clean_run,
    matching,
    prepare_template,
    run_case,
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return prepare_template(tmp_path_factory.mktemp("template"))


@pytest.mark.parametrize(("call", "fault"), cases(), ids=[f"{c[0]}-{f[0]}" for c, f in cases()])
def test_apply_survives(template: Path, tmp_path: Path, call: Call, fault: Fault) -> None:
    outcome = run_case(template, tmp_path, call, fault)
    assert not outcome.problems, outcome.err
    transient = fault[0] in ("500 once", "reset before", "reset after", "slow", "session expired")
    if call in READS and transient:
        assert outcome.code == 0, f"a read is retried, so this should have applied:\n{outcome.err}"
    if fault[0] == "session expired":
        assert outcome.code == 0, f"one re-login and the call again:\n{outcome.err}"


def test_the_matrix_covers_every_call_and_fault(template: Path, tmp_path: Path) -> None:
    """Every request a fault-free apply and plan send is one of the matrix's calls, every call
    is sent, and every fault the sandbox can inject is in the matrix: a new call apply starts
    making, or a new fault kind, fails here until the matrix covers it."""
    sent = clean_run(template, tmp_path)
    uncovered = sorted({(e.method, e.path, e.action) for e in sent if not any(
        matching(call, e) for call in CALLS
    )}, key=str)  # fmt: skip
    assert not uncovered, f"requests no matrix case faults: {uncovered}"
    never_sent = [call[0] for call in CALLS if not any(matching(call, e) for e in sent)]
    assert not never_sent, f"matrix calls a clean apply never makes: {never_sent}"
    assert {kind for _, kind, _ in FAULTS} == set(KINDS)
    assert len(cases()) >= 100
