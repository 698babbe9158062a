"""Table-driven scenarios of the pure diff: (desired, live, options) -> changes and calls.

Each file in tests/scenarios/diff/ is one case. States are written in a short form: a project
gets ids, versions and schedule ids filled in, and a desired source gets zip fields. A case
may give a ``baseline`` (the configuration last applied, in the desired form) and expect each
change's ``origins`` ([origin, field_origins]) and the ``converged`` addresses; ``findings``
are the addresses a refresh-only plan of the same case reports.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from azstate.address import Address
from azstate.diff import DiffOptions, diff
from azstate.errors import PlanError
from azstate.origins import Origin
from azstate.plan import Action, Baseline, Plan
from azstate.state import LiveIds, ProjectState, ServerState

CASES = sorted((Path(__file__).parent / "scenarios" / "diff").glob("*.json"))
USER = "azkaban"


def _project(name: str, data: dict[str, Any], *, live: bool, pid: int) -> ProjectState:
    data = dict(data)
    files = data.get("files")
    if files is not None and not live:
        files = {**files, "zip_name": f"{name}.zip", "zip_size": 100, "zip_sha256": "f" * 64}
    if files is not None:
        data["files"] = files
    if isinstance(data.get("permissions"), dict):
        data["permissions"] = {k: {"perms": v} for k, v in data["permissions"].items()}
    if live:
        data["ids"] = LiveIds(
            project_id=pid,
            version=1 if files and files.get("digest") else None,
            schedule_ids={
                f: 100 * pid + i for i, f in enumerate(sorted(data.get("schedules", {})))
            },
        )
    return ProjectState.model_validate({"name": name, **data})


def _state(projects: dict[str, Any], *, live: bool) -> ServerState:
    return ServerState(
        projects={
            n.lower(): _project(n, p, live=live, pid=i + 1)
            for i, (n, p) in enumerate(sorted(projects.items()))
        },
        user=USER,
    )


def run_case(
    path: Path, *, refresh_only: bool | None = None
) -> tuple[dict[str, Any], Plan | PlanError]:
    case = json.loads(path.read_text())
    opts = case.get("options", {})
    baseline = case.get("baseline")
    options = DiffOptions(
        server="http://azkaban.test",
        prune=tuple(opts.get("prune", ())),
        protect=tuple(opts.get("protect", ())),
        targets=tuple(Address.parse(t) for t in opts.get("targets", ())),
        refresh_only=opts.get("refresh_only", False) if refresh_only is None else refresh_only,
        baseline=Baseline(revision="HEAD~1", commit="0" * 40) if baseline is not None else None,
    )
    try:
        return case, diff(
            _state(case["desired"], live=False),
            _state(case["live"], live=True),
            options,
            _state(baseline, live=False) if baseline is not None else None,
        )
    except PlanError as exc:
        return case, exc


def summarize(plan: Plan) -> list[str]:
    out = []
    for change in plan.changes:
        line = f"{change.action.value} {change.address}"
        if change.calls:
            line += ": " + " ".join(c.action for c in change.calls)
        out.append(line)
    return out


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_diff_scenario(path: Path) -> None:
    case, result = run_case(path)
    if "error" in case:
        assert isinstance(result, PlanError), f"expected a PlanError, got {result}"
        assert case["error"] in str(result)
        return
    assert isinstance(result, Plan), str(result)
    assert summarize(result) == case["expect"]
    if "origins" in case:
        got = {str(c.address): [c.origin.value, dict(c.field_origins)] for c in result.changes}
        assert got == case["origins"]
    else:
        assert {c.origin for c in result.changes} <= {Origin.UNKNOWN}
    assert [str(a) for a in result.converged] == case.get("converged", [])
    if "findings" in case:
        _, found = run_case(path, refresh_only=True)
        assert isinstance(found, Plan) and not found.has_changes
        assert [str(c.address) for c in found.changes] == case["findings"]
        assert not found.calls


def test_at_least_forty_scenarios() -> None:
    assert len(CASES) >= 40


def _reversed(value: Any) -> Any:
    """The same value with every mapping's keys in the opposite order (lists kept)."""
    if isinstance(value, dict):
        return {k: _reversed(value[k]) for k in reversed(value)}
    if isinstance(value, list):
        return [_reversed(v) for v in value]
    return value


def test_plan_does_not_depend_on_the_order_of_its_inputs(tmp_path: Path) -> None:
    """Schedules, permissions, rules' maps and options listed in the opposite order give the
    same plan, byte for byte: the order of a TOML file or of a server's reply never shows."""
    compared = 0
    for path in CASES:
        case, first = run_case(path)
        flipped = tmp_path / path.name
        flipped.write_text(json.dumps({**case, "desired": _reversed(case["desired"]),
                                       "live": _reversed(case["live"])}))  # fmt: skip
        _, second = run_case(flipped)
        if isinstance(first, Plan):
            assert isinstance(second, Plan), f"{path.name}: {second}"
            assert first.dumps() == second.dumps(), path.name
            compared += 1
        else:
            assert str(first) == str(second), path.name
    assert compared >= 40


def test_schedule_call_carries_every_option_and_the_sla() -> None:
    _, plan = run_case(Path(__file__).parent / "scenarios/diff/new-project-with-sla.json")
    assert isinstance(plan, Plan)
    call = next(c for c in plan.calls if c.action == "scheduleCronFlow")
    params = dict(call.params)
    assert params["projectName"] == "etl" and params["flow"] == "f1"
    assert params["cronExpression"] == "0 0 2 ? * *"
    assert any(k.startswith("slaSettings[") for k in params)
    assert params["slaEmails"] == "ops@x.com"
    assert not any(k == "session.id" for k, _ in call.params)


def test_deleted_schedule_of_vanished_flow_sends_nothing() -> None:
    _, plan = run_case(
        Path(__file__).parent / "scenarios/diff/files-drop-flow-deletes-schedule.json"
    )
    assert isinstance(plan, Plan)
    dropped = next(c for c in plan.changes if str(c.address) == "project.etl.schedule.f2")
    assert dropped.action is Action.DELETE and dropped.calls == ()
    assert "flow f2 is gone" in (dropped.reason or "")


def test_a_scoped_plan_plans_only_the_projects_refresh_read() -> None:
    """--target and apply's verification read only some projects: the others are absent from
    the live state and must not turn into creations, whatever they hold."""
    desired = _state({"etl": {"description": "a"}, "reports": {"description": "b"}}, live=False)
    live = _state({"etl": {"description": "old"}}, live=True)
    scoped = diff(desired, live, DiffOptions(scope=frozenset({"etl"})))
    assert [str(c.address) for c in scoped.changes] == ["project.etl"]
    whole = diff(desired, live, DiffOptions())
    assert {str(c.address) for c in whole.changes} == {"project.etl", "project.reports"}


def test_a_target_naming_no_read_project_is_refused_with_the_declared_names() -> None:
    """A scoped desired state holds only the targeted projects; the hint for a mistyped one
    comes from every declared name."""
    desired = _state({}, live=False)
    options = DiffOptions(
        targets=(Address.parse("project.reprots"),),
        scope=frozenset({"reprots"}),
        declared=("etl", "reports"),
    )
    with pytest.raises(PlanError, match=r"matches nothing .*nearest: project\.reports"):
        diff(desired, _state({}, live=True), options)
