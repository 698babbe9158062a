"""Apply's verification reads what the apply changed and what the server changed because of it.

After every call of a plan was sent, apply re-reads the resources its changes touched and those
the server changes on its own as a consequence (an upload removes the schedules of vanished
flows; a schedule re-post drops the SLA), and succeeds only if they hold the desired values.
These tests count the verification's requests (the sandbox's request log after the apply's last
write), make the server misbehave between the apply and its verification, and check that a
deletion is verified gone.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter
from collections.abc import Callable

from azstate.address import Address
from azstate.plan import Action, Change
from azstate.resources import verify_reads
from azstate.sandbox.faults import LoggedRequest
from azstate.sandbox.server import SandboxServer
from azstate.state import (
    FilesValue,
    Perm,
    PermissionValue,
    ProjectState,
    ScheduleValue,
    SlaValue,
)
from tests.e2e.workspace import Result, Workspace, flow20

FLOWS = ("a", "b", "c", "d", "e")


def fleet(cron_of_c: str = "0 0 3 ? * *", *, other: bool = True) -> str:
    """Project big: five scheduled flows, each with an SLA; project small: one flow."""
    body = '[projects.big]\ndescription = "five schedules"\nsource = "src/big"\n'
    for i, flow in enumerate(FLOWS):
        cron = cron_of_c if flow == "c" else f"0 0 {i} ? * *"
        body += f'\n[projects.big.schedules.{flow}]\ncron = "{cron}"\n'
        body += (
            f"[projects.big.schedules.{flow}.sla]\n"
            'emails = ["ops@example.com"]\n'
            'rules = [{ rule = "SUCCESS", duration = "2h", email = true }]\n'
        )
    if other:
        body += '\n[projects.small]\ndescription = "one flow"\nsource = "src/small"\n'
        body += '[projects.small.schedules.only]\ncron = "0 0 5 ? * *"\n'
    return body


def sources(ws: Workspace) -> None:
    flow20(ws.root / "src" / "big", {f: [f"{f}1"] for f in FLOWS})
    flow20(ws.root / "src" / "small", {"only": ["x"]})


def verification(log: list[LoggedRequest]) -> list[LoggedRequest]:
    """The requests after the apply's last write: its verification."""
    last = max(i for i, e in enumerate(log) if e.mutating)
    return log[last + 1 :]


def endpoints(entries: list[LoggedRequest]) -> Counter[str]:
    def name(e: LoggedRequest) -> str:
        if e.path == "/manager" and "download" in e.params:
            return f"{e.method} download"
        return f"{e.method} {e.action or e.path}"

    return Counter(name(e) for e in entries)


def apply_logged(ws: Workspace) -> tuple[Result, Counter[str], list[LoggedRequest]]:
    ws.sandbox.log.clear()
    result = ws.run("apply", "--auto-approve", "-c", str(ws.config))
    checked = verification(ws.sandbox.log.snapshot())
    return result, endpoints(checked), checked


def converged(ws: Workspace) -> None:
    sources(ws)
    ws.write(fleet())
    ws.apply()
    ws.assert_converged()


def test_mixed_apply_verifies_only_what_changed(ws: Workspace) -> None:
    """One schedule of five re-posted in one project, new files in another: the verification
    reads that schedule and its SLA and the other project's schedule (an upload's consequence),
    never a zip (the upload's digest is known), and none of the other four schedules."""
    converged(ws)
    (ws.root / "src" / "small" / "only.flow").write_text(
        "nodes:\n  - name: y\n    type: command\n    config:\n      command: echo y\n"
    )
    ws.write(fleet("0 30 3 ? * *"))
    result, seen, checked = apply_logged(ws)
    assert result.code == 0, result.out + result.err
    assert seen["GET download"] == 0 and seen["HEAD download"] == 1, seen  # small's version
    read = [e.params.get("flowId") for e in checked if e.action == "fetchSchedule"]
    assert sorted(read) == ["c", "only"], read
    assert seen["GET slaInfo"] == 1, seen  # big's c (small's schedule has no SLA)
    # small's reads cover what the token cache keeps (files, schedules, SLAs): its token is read
    # first and cached; big's do not, so its token is neither read nor cached
    tokens = [e.params.get("project") for e in checked if e.action == "fetchProjectLogs"]
    assert tokens == ["small"], tokens
    assert sum(seen.values()) == 3 + 1 + 2 + 1 + 1, seen  # listings, token, 2 schedules, SLA, HEAD
    ws.assert_converged()


def test_description_change_costs_no_read_of_its_own(ws: Workspace) -> None:
    """A description and a permission come from the listings every plan reads anyway."""
    converged(ws)
    ws.write(fleet().replace('"five schedules"', '"five schedules, edited"'))
    result, seen, _ = apply_logged(ws)
    assert result.code == 0, result.out + result.err
    assert set(seen) == {"GET /index", "GET fetchallprojects", "GET fetchSchedules"}, seen


def test_the_next_plan_is_warm_for_what_the_verification_read_whole(ws: Workspace) -> None:
    """A new project's verification reads all of it, its token first, and caches the token:
    the next plan reads no schedule of it. A project of which the verification read a part is
    read in full by the next plan, once (a token cached with values not read again could hide
    a change made meanwhile)."""
    sources(ws)
    ws.write(fleet())
    ws.apply()
    ws.sandbox.log.clear()
    ws.assert_converged()
    seen = endpoints(ws.sandbox.log.snapshot())
    assert seen["GET fetchSchedule"] == 0 and seen["HEAD download"] == 0, seen
    ws.write(fleet("0 30 3 ? * *"))
    ws.apply()
    ws.sandbox.log.clear()
    ws.assert_converged()
    read = [
        e.params.get("flowId") for e in ws.sandbox.log.snapshot() if e.action == "fetchSchedule"
    ]
    assert sorted(read) == sorted(FLOWS), read  # big, once, in full
    ws.sandbox.log.clear()
    ws.assert_converged()
    assert endpoints(ws.sandbox.log.snapshot())["GET fetchSchedule"] == 0


def _on_verification(
    server: SandboxServer, path: str, write: str, then: Callable[[], None]
) -> None:
    """Run ``then`` on the server once the apply's next ``write`` is done, before any of the
    verification's listings (sent at once) is answered: the server changed something by itself
    between that write and the verification."""
    lock = threading.Lock()
    done: list[bool] = []

    def once() -> None:
        with lock:  # a listing that arrives meanwhile waits for it
            if not done:
                then()
                done.append(True)

    def arm() -> None:
        server.faults.add("slow", path="/index", times=2, on_fire=once)  # index, fetchallprojects
        server.faults.add("slow", path="/schedule", action="fetchSchedules", on_fire=once)

    server.faults.add("slow", path=path, action=write, on_fire=arm)


def _drop_sla(ws: Workspace, flow: str) -> Callable[[], None]:
    """What a server that loses the SLA of ``flow``'s schedule does."""
    store = ws.sandbox.store

    def drop() -> None:
        with store.lock:
            for schedule in store.schedules.values():
                if schedule.flow == flow and schedule.options is not None:
                    schedule.options["slaOptions"] = []

    return drop


def test_a_dropped_sla_is_caught(ws: Workspace) -> None:
    """A server that drops the SLA of a re-posted schedule (though apply sent it in the same
    call): the verification reads that SLA and reports the server still differs."""
    converged(ws)

    _on_verification(ws.sandbox, "/schedule", "scheduleCronFlow", _drop_sla(ws, "c"))
    ws.write(fleet("0 30 3 ? * *", other=False))
    result, _, _ = apply_logged(ws)
    assert result.code == 1, result.out + result.err
    assert "server still differs" in result.err and "project.big.sla.c" in result.err, result.err


def test_a_schedule_removed_with_an_upload_is_caught(ws: Workspace) -> None:
    """A server that removes a surviving flow's schedule on upload: the verification sees it
    gone (the listing every read starts with) and reports the server still differs."""
    converged(ws)
    store = ws.sandbox.store

    def drop_schedule() -> None:
        with store.lock:
            for schedule in list(store.schedules.values()):
                if schedule.flow == "only":
                    store.remove_schedule(schedule)

    _on_verification(ws.sandbox, "/manager", "upload", drop_schedule)
    (ws.root / "src" / "small" / "only.flow").write_text(
        "nodes:\n  - name: y\n    type: command\n    config:\n      command: echo y\n"
    )
    result, _, _ = apply_logged(ws)
    assert result.code == 1, result.out + result.err
    assert "server still differs" in result.err, result.err
    assert "project.small.schedule.only" in result.err, result.err


def test_an_upload_that_drops_a_flow_verifies_its_schedule_gone(ws: Workspace) -> None:
    """The planned consequence: the upload removes the vanished flow's schedule; verified."""
    converged(ws)
    flow20(ws.root / "src" / "big", {f: [f"{f}1"] for f in FLOWS if f != "e"})
    body = fleet()
    cut = body.index("[projects.big.schedules.e]")
    ws.write(body[:cut] + body[body.index("[projects.small]") :])
    result, seen, _ = apply_logged(ws)
    assert result.code == 0, result.out + result.err
    assert seen["GET download"] == 0, seen
    ws.assert_converged()


def test_a_deleted_schedule_is_verified_gone(ws: Workspace) -> None:
    """A schedule removed from the configuration: gone from the listing, no read of its own;
    a server that keeps it is caught."""
    converged(ws)
    body = fleet()
    start = body.index("[projects.small.schedules.only]")
    ws.write(body[:start])
    result, seen, _ = apply_logged(ws)
    assert result.code == 0, result.out + result.err
    assert seen["GET fetchSchedule"] == 0 and seen["GET slaInfo"] == 0, seen
    ws.assert_converged()


def test_a_deletion_the_server_ignores_is_caught(ws: Workspace) -> None:
    """removeSched answered, but the schedule is back by the verification: reported."""
    converged(ws)
    store = ws.sandbox.store
    with store.lock:
        kept = [copy.deepcopy(s) for s in store.schedules.values() if s.flow == "only"]
    restored: list[bool] = []

    def restore() -> None:
        with store.lock:
            for schedule in kept:
                store.put_schedule(schedule)
        restored.append(True)

    _on_verification(ws.sandbox, "/schedule", "removeSched", restore)
    body = fleet()
    ws.write(body[: body.index("[projects.small.schedules.only]")])
    result, seen, _ = apply_logged(ws)
    assert restored, "the server put the schedule back"
    assert result.code == 1, result.out + result.err
    assert "server still differs" in result.err, result.err
    assert "project.small.schedule.only" in result.err, result.err
    assert seen["GET fetchSchedule"] == 1, seen  # a schedule not wanted is read, to show it


def test_a_pruned_project_is_verified_gone(ws: Workspace) -> None:
    """A project deleted by prune: the verification sees it gone from the listing."""
    converged(ws)
    body = fleet(other=False)
    ws.write(body.replace("[projects.big]", '[azstate]\nprune = ["small"]\n\n[projects.big]'))
    result, seen, _ = apply_logged(ws)
    assert result.code == 0, result.out + result.err
    assert seen["GET fetchSchedule"] == 0 and seen["HEAD download"] == 0, seen
    ws.assert_converged()


def test_an_sla_dropped_after_an_upload_is_caught(ws: Workspace) -> None:
    """An upload's consequences include the project's schedules and SLAs: a server that drops
    a surviving flow's SLA on upload is caught."""
    converged(ws)

    _on_verification(ws.sandbox, "/manager", "upload", _drop_sla(ws, "a"))
    (ws.root / "src" / "big" / "readme.txt").write_text("new file\n")
    result, seen, _ = apply_logged(ws)
    assert result.code == 1, result.out + result.err
    assert "server still differs" in result.err and "project.big.sla.a" in result.err, result.err
    assert seen["GET fetchSchedule"] == len(FLOWS) and seen["GET download"] == 0, seen


# -- the declarations, without a server ------------------------------------------------------


def _desired() -> ProjectState:
    schedule = ScheduleValue(cron="0 0 1 ? * *")
    return ProjectState(
        name="etl",
        description="d",
        files=FilesValue(digest="x"),
        schedules={"a": schedule, "b": schedule},
        slas={"a": SlaValue(emails=frozenset({"o@example.com"}), rules=frozenset())},
        permissions={"user.bob": PermissionValue(perms=frozenset({Perm.READ}))},
    )


def _reads(address: str, action: Action) -> frozenset[str]:
    change = Change(address=Address.parse(address), action=action, fingerprint="f")
    found = verify_reads([change], {"etl": _desired()})
    return frozenset(str(a) for a in found.get("etl", frozenset()))


def test_each_unit_declares_what_its_changes_may_have_changed() -> None:
    assert _reads("project.etl.schedule.a", Action.UPDATE) == {
        "project.etl.schedule.a",
        "project.etl.sla.a",  # a re-post wipes the SLA
    }
    assert _reads("project.etl.schedule.a", Action.DELETE) == {"project.etl.schedule.a"}
    assert _reads("project.etl.sla.a", Action.UPDATE) == {"project.etl.sla.a"}
    assert _reads("project.etl.files", Action.UPDATE) == {  # an upload removes schedules
        "project.etl.files",
        "project.etl.schedule.a",
        "project.etl.schedule.b",
        "project.etl.sla.a",
    }
    assert _reads("project.etl", Action.UPDATE) == {"project.etl"}
    assert _reads("project.etl", Action.DELETE) == {"project.etl"}
    assert _reads("project.etl", Action.CREATE) == {  # all of a new project
        "project.etl",
        "project.etl.files",
        "project.etl.schedule.a",
        "project.etl.schedule.b",
        "project.etl.sla.a",
        "project.etl.permission.user.bob",
    }
    assert _reads("project.etl.permission.user.bob", Action.CREATE) == {
        "project.etl.permission.user.bob"
    }
    assert _reads("project.etl.schedule.a", Action.NO_OP) == frozenset()
