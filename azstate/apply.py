"""Sends a plan's calls: projects in parallel, each project's changes in dependency order.

A failed call stops what depends on it in its project (and every deletion there: nothing is
removed once something went wrong) while the rest of the project and other projects go on. A
write whose reply was lost may or may not have happened: it is checked by a read, and re-sent
only when the read shows it did not happen, so nothing is ever created or uploaded twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from azstate.address import Address
from azstate.errors import AzkabanError, AzstateError, SessionExpiredError, TransportError
from azstate.plan import Action, ApplyStatus, Call, Change, Plan
from azstate.refresh import NoProgress, Progress
from azstate.resources import apply_key, stops, unit_for
from azstate.wire.client import AzkabanClient


@dataclass(frozen=True)
class ChangeOutcome:
    address: Address
    action: Action
    status: ApplyStatus
    message: str | None = None
    calls_sent: int = 0
    unreachable: bool = False  # failed on a transport error: the server may be gone


def execution_order(plan: Plan) -> list[list[Change]]:
    """Changes grouped by project, each group in apply order; groups are independent."""
    groups: dict[str, list[Change]] = {}
    for change in plan.changes:
        if change.action is Action.NO_OP:
            continue
        groups.setdefault(change.address.project.lower(), []).append(change)
    return [sorted(g, key=apply_key) for _, g in sorted(groups.items())]


def ordered_calls(plan: Plan) -> list[Call]:
    """The exact calls apply sends, in order (projects one after another): the dry run."""
    return [call for group in execution_order(plan) for change in group for call in change.calls]


DEAD_AFTER = 3  # projects in a row whose calls could not reach the server


class _Breaker:
    """Stops an apply against a server that died: once DEAD_AFTER projects in a row ended on a
    transport failure (refused, reset, no reply), the changes not yet started are not
    attempted. Each would wait for its own timeout and retries to say what the first three
    already said; the report stays short and the rest is applied by the next run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_a_row = 0
        self.reason: str | None = None

    def project_done(self, unreachable: bool) -> None:
        with self._lock:
            self._in_a_row = self._in_a_row + 1 if unreachable else 0
            if self._in_a_row >= DEAD_AFTER and self.reason is None:
                self.reason = (
                    f"stopped early: the server could not be reached for {DEAD_AFTER} "
                    "projects in a row"
                )


def apply_plan(
    client: AzkabanClient,
    plan: Plan,
    artifacts: Mapping[str, bytes],
    *,
    parallelism: int = 8,
    progress: Progress | None = None,
    on_done: Callable[[ChangeOutcome], None] | None = None,
) -> list[ChangeOutcome]:
    """``on_done`` hears of each change as it is settled (from worker threads, one at a time):
    the command prints a line per change where no progress bar can be shown."""
    progress = progress or NoProgress()
    groups = execution_order(plan)
    progress.add(sum(len(c.calls) for g in groups for c in g))
    results: dict[Address, ChangeOutcome] = {}
    lock = threading.Lock()
    breaker = _Breaker()

    def run_group(group: list[Change]) -> None:
        stopped: list[Change] = []  # failed, or not attempted because of a failure
        unreachable = answered = False
        # A change without calls is done by another's call (a schedule removed with its
        # project, an SLA sent with its schedule): settled last, once that one is known.
        for change in [c for c in group if c.calls] + [c for c in group if not c.calls]:
            blocker = next((s for s in stopped if stops(change, s)), None)
            if breaker.reason is not None and blocker is None:
                outcome = ChangeOutcome(
                    change.address, change.action, ApplyStatus.NOT_ATTEMPTED, breaker.reason
                )
                progress.advance(len(change.calls))
            elif blocker is not None:
                outcome = ChangeOutcome(
                    change.address,
                    change.action,
                    ApplyStatus.NOT_ATTEMPTED,
                    f"needs {blocker.address}, which did not happen",
                )
                progress.advance(len(change.calls))
                stopped.append(change)
            else:
                outcome = _apply_change(client, change, artifacts, progress)
                unreachable = unreachable or outcome.unreachable
                answered = answered or outcome.status is ApplyStatus.APPLIED
                if outcome.status.failed:
                    stopped.append(change)
            with lock:
                results[change.address] = outcome
                if on_done is not None:
                    on_done(outcome)
        breaker.project_done(unreachable and not answered)

    workers = max(1, min(parallelism, len(groups) or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for f in [pool.submit(run_group, g) for g in groups]:
            f.result()
    return [results[c.address] for g in groups for c in g]


def _apply_change(
    client: AzkabanClient, change: Change, artifacts: Mapping[str, bytes], progress: Progress
) -> ChangeOutcome:
    sent = 0
    for call in change.calls:
        try:
            _send(client, change, call, artifacts)
        except AzstateError as exc:
            progress.advance(len(change.calls) - sent)
            # A lost write whose check could not reach the server either counts too.
            unreachable = isinstance(exc, TransportError) or isinstance(
                exc.__cause__, TransportError
            )
            sent += _reached_server(exc)
            return ChangeOutcome(
                change.address, change.action, failure_status(exc), str(exc), sent, unreachable
            )
        sent += 1
        progress.advance()
    return ChangeOutcome(change.address, change.action, ApplyStatus.APPLIED, None, sent)


def failure_status(exc: AzstateError) -> ApplyStatus:
    """TRANSIENT when a re-run can succeed (the connection failed, the session lapsed, a
    gateway or an overloaded server answered), REFUSED when the server refused the value
    itself (its answer will not change until the configuration does)."""
    if isinstance(exc, TransportError | SessionExpiredError):
        return ApplyStatus.TRANSIENT
    if isinstance(exc, AzkabanError) and exc.status in _TRANSIENT_HTTP:
        return ApplyStatus.TRANSIENT
    return ApplyStatus.REFUSED


_TRANSIENT_HTTP = frozenset({502, 503, 504})


def _reached_server(exc: AzstateError) -> bool:
    """Whether the failed call was sent (and so is counted): an answer, a reply lost on the
    way back, or a check after one; not a connection never made, nor a refusal before
    sending."""
    if isinstance(exc, TransportError):
        return exc.may_have_reached_server
    return isinstance(exc, AzkabanError) or exc.__cause__ is not None


def _send(
    client: AzkabanClient, change: Change, call: Call, artifacts: Mapping[str, bytes]
) -> None:
    data = None
    if call.upload is not None:
        data = artifacts.get(call.upload.sha256)
        if data is None:
            raise AzstateError(
                f"the upload {call.upload.name} ({call.upload.sha256[:12]}) is not among the "
                "sources read from the configuration"
            )
    try:
        client.send(call, file_bytes=data)
    except TransportError as exc:
        if not exc.may_have_reached_server:
            raise
        if not call.idempotent:
            try:
                if _happened_soon(client, change, call, data):
                    return
            except (AzkabanError, TransportError) as check:
                raise AzstateError(
                    f"{exc}; whether it took effect could not be checked, so it was not sent "
                    f"again: {check}"
                ) from check
        client.send(call, file_bytes=data)


_GRACE_CAP = 10.0  # seconds


def _happened_soon(client: AzkabanClient, change: Change, call: Call, data: bytes | None) -> bool:
    """Whether the write took effect, asked again for a while before answering no.

    A reply lost to a timeout or a reset does not mean the server stopped: Jetty finishes a
    request whose client went away. So the read is repeated for up to twice the client's
    timeout (at most 10 s) before the write is taken not to have happened and is sent again.
    """
    deadline = time.monotonic() + min(2 * client.timeout, _GRACE_CAP)
    while True:
        if _happened(client, change, call, data):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(0.25, client.timeout / 4))


def _happened(client: AzkabanClient, change: Change, call: Call, data: bytes | None) -> bool:
    """After a lost reply: did the write take effect? The change's unit knows how to read it."""
    return unit_for(change.address.kind).happened(client, change, call, data)


def left_over(
    plan: Plan, replan: Callable[[tuple[Address, ...], frozenset[str]], Plan]
) -> list[Change]:
    """What still differs after every call of ``plan`` was sent; empty means the apply
    succeeded. An apply succeeds only when a fresh plan (``replan(targets, projects)``, read
    from the server again) is empty for the resources it touched.

    Only the touched projects are re-read, so only their changes count: an untouched declared
    project is absent from that refresh and would otherwise look like one to create.
    """
    touched = frozenset(c.address.project.lower() for c in plan.changes)
    # Re-planned without targets: a targeted resource the apply deleted names nothing any more,
    # which a targeted plan refuses. What was not targeted is then left out here instead.
    check = replan((), touched)
    planned = {c.address for c in plan.changes}

    def in_scope(address: Address) -> bool:
        if address.project.lower() not in touched:
            return False
        return not plan.targets or address in planned or any(
            t.contains(address) for t in plan.targets
        )

    return [c for c in check.changes if c.action is not Action.NO_OP and in_scope(c.address)]
