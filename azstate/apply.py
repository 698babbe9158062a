"""Sends a plan's calls: projects in parallel, each project's changes in dependency order.

A failed call stops what depends on it in its project (and every deletion there: nothing is
removed once something went wrong) while the rest of the project and other projects go on.

A write whose reply was lost may or may not have happened. One that replaces a whole value
(``Call.idempotent``: scheduleCronFlow, setSla, changeDescription, changePermission) is simply
sent again. Any other (create, delete, upload, addPermission, removeSched) is checked by reads
for a while and never sent again: if no read shows it done, its outcome is unknown, apply stops
that project and the next plan decides from what the server holds. So within one apply nothing
is created, uploaded, deleted, granted or unscheduled twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from azstate.address import Address
from azstate.archive import ZipData
from azstate.errors import AzkabanError, AzstateError, SessionExpiredError, TransportError
from azstate.plan import Action, ApplyStatus, Call, Change, Plan
from azstate.refresh import NoProgress, Progress
from azstate.resources import apply_key, stops, unit_for, verify_reads
from azstate.state import ProjectState
from azstate.wire import replies
from azstate.wire.client import AzkabanClient, Reply

UploadHook = Callable[[int, int, str], None]


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
    artifacts: Mapping[str, ZipData],
    *,
    parallelism: int = 8,
    progress: Progress | None = None,
    on_done: Callable[[ChangeOutcome], None] | None = None,
    stop: threading.Event | None = None,
    on_upload: UploadHook | None = None,
) -> list[ChangeOutcome]:
    """Every change's outcome, in execution order.

    ``on_done`` hears of each change as it is settled (from worker threads, one at a time):
    the command prints a line per change where no progress bar can be shown.
    ``on_upload(project_id, version, zip_sha256)`` hears of each upload the server took, so
    that the digest of what was uploaded is known without downloading it back.

    ``stop`` set (the first Ctrl-C): no new call starts, the calls in flight finish, and what
    was not sent is reported not attempted (or interrupted, for a change half sent). A
    KeyboardInterrupt while waiting (the second): the calls in flight are not waited for and
    are reported as of unknown outcome.
    """
    progress = progress or NoProgress()
    run = _Run(client, artifacts, progress, stop or threading.Event(), on_done, on_upload)
    groups = execution_order(plan)
    progress.add(sum(len(c.calls) for g in groups for c in g))
    workers = max(1, min(parallelism, len(groups) or 1))
    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        for f in [pool.submit(run.group, g) for g in groups]:
            f.result()
    except KeyboardInterrupt:
        run.stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
        return run.abandon(groups)
    pool.shutdown()
    return [run.results[c.address] for g in groups for c in g]


_INTERRUPTED = "apply was interrupted before this change"


def _interrupted(outcome: ChangeOutcome) -> bool:
    return outcome.status is ApplyStatus.INTERRUPTED or outcome.message == _INTERRUPTED


def _applied(outcome: ChangeOutcome | None) -> bool:
    return outcome is not None and outcome.status is ApplyStatus.APPLIED


class _UnknownOutcome(AzstateError):
    """A write that may or may not have taken effect, and must not be sent again."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable  # not even the check reached the server


@dataclass
class _Run:
    """One apply's shared state: outcomes so far, the call each project has in flight."""

    client: AzkabanClient
    artifacts: Mapping[str, ZipData]
    progress: Progress
    stop: threading.Event
    on_done: Callable[[ChangeOutcome], None] | None
    on_upload: UploadHook | None = None
    breaker: _Breaker = field(default_factory=_Breaker)
    results: dict[Address, ChangeOutcome] = field(default_factory=dict)
    _in_flight: dict[Address, tuple[Call, int]] = field(default_factory=dict)  # call, calls sent
    _abandoned: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def group(self, group: list[Change]) -> None:
        """One project's changes in order. A failure stops what needs the change; an unknown
        outcome stops the rest of the project (what it would act on may or may not exist)."""
        stopped: list[ChangeOutcome] = []  # not done, or not known to be done
        unknown: ChangeOutcome | None = None
        unreachable = answered = False
        by_address = {c.address: c for c in group}
        # A change without calls is done by another's call (a schedule removed with its
        # project, an SLA sent with its schedule): settled last, once that one is known.
        for change in [c for c in group if c.calls] + [c for c in group if not c.calls]:
            blocker = next((s for s in stopped if stops(change, by_address[s.address])), None)
            if self.breaker.reason is not None and blocker is None:
                outcome = self._skipped(change, self.breaker.reason)
            elif blocker is not None:
                outcome = self._skipped(change, self._blocked(blocker))
            elif unknown is not None and change.calls:
                outcome = self._skipped(
                    change,
                    f"not sent: the outcome of {unknown.address} is unknown, so apply stopped "
                    "this project; run plan to see what the server holds",
                )
            elif change.calls and self.stop.is_set():
                outcome = self._skipped(change, _INTERRUPTED)
            else:
                outcome = self._change(change)
                unreachable = unreachable or outcome.unreachable
                answered = answered or outcome.status is ApplyStatus.APPLIED
            if outcome.status is not ApplyStatus.APPLIED:
                stopped.append(outcome)
            if outcome.status is ApplyStatus.UNKNOWN:
                unknown = outcome
            with self._lock:
                if not self._abandoned:
                    self.results[change.address] = outcome
                    if self.on_done is not None:
                        self.on_done(outcome)
        self.breaker.project_done(unreachable and not answered)

    def _blocked(self, blocker: ChangeOutcome) -> str:
        """Why a change that needs ``blocker`` is not attempted: the reason the whole apply
        stopped, when that is why the blocker was not done either."""
        if _interrupted(blocker):
            return _INTERRUPTED
        if blocker.message is not None and blocker.message == self.breaker.reason:
            return blocker.message
        if blocker.status is ApplyStatus.UNKNOWN:
            return f"needs {blocker.address}, whose outcome is unknown"
        return f"needs {blocker.address}, which did not happen"

    def _skipped(self, change: Change, why: str) -> ChangeOutcome:
        self.progress.advance(len(change.calls))
        return ChangeOutcome(change.address, change.action, ApplyStatus.NOT_ATTEMPTED, why)

    def _change(self, change: Change) -> ChangeOutcome:
        sent = 0
        total = len(change.calls)
        for call in change.calls:
            if sent and self.stop.is_set():
                self.progress.advance(total - sent)
                return ChangeOutcome(
                    change.address,
                    change.action,
                    ApplyStatus.INTERRUPTED,
                    f"apply was interrupted after {sent} of {total} calls",
                    sent,
                )
            with self._lock:
                self._in_flight[change.address] = (call, sent)
            try:
                reply = self._send(change, call)
                if reply is not None and call.upload is not None and self.on_upload is not None:
                    result = replies.upload_result(reply.json)
                    self.on_upload(result.project_id, result.version, call.upload.sha256)
            except _UnknownOutcome as exc:
                self.progress.advance(total - sent)
                return ChangeOutcome(
                    change.address,
                    change.action,
                    ApplyStatus.UNKNOWN,
                    str(exc),
                    sent + 1,
                    exc.unreachable,
                )
            except AzstateError as exc:
                self.progress.advance(total - sent)
                # A lost write whose check could not reach the server either counts too.
                unreachable = isinstance(exc, TransportError) or isinstance(
                    exc.__cause__, TransportError
                )
                sent += _reached_server(exc)
                return ChangeOutcome(
                    change.address,
                    change.action,
                    failure_status(exc),
                    str(exc),
                    sent,
                    unreachable,
                )
            finally:
                with self._lock:
                    self._in_flight.pop(change.address, None)
            sent += 1
            self.progress.advance()
        return ChangeOutcome(change.address, change.action, ApplyStatus.APPLIED, None, sent)

    def _send(self, change: Change, call: Call) -> Reply | None:
        """Send once; the reply, or None when a read showed a lost write done. A lost reply:
        an idempotent write is sent once more; any other is checked by reads and, unless they
        show it done, reported of unknown outcome."""
        data = None
        if call.upload is not None:
            data = self.artifacts.get(call.upload.sha256)
            if data is None:
                raise AzstateError(
                    f"the upload {call.upload.name} ({call.upload.sha256[:12]}) is not among "
                    "the sources read from the configuration"
                )
        try:
            return self.client.send(call, file_bytes=data)
        except TransportError as exc:
            if not exc.may_have_reached_server:
                raise
            if self.stop.is_set():
                raise _UnknownOutcome(
                    f"{exc}; apply was interrupted, so it was neither checked nor sent again"
                ) from exc
            if call.idempotent:
                return self.client.send(call, file_bytes=data)
            window = min(2 * self.client.timeout, _GRACE_CAP)
            try:
                if self._happened_soon(change, call, data, window):
                    return None
            except (AzkabanError, TransportError) as check:
                raise _UnknownOutcome(
                    f"{exc}; whether it took effect could not be checked, so it was not sent "
                    f"again: {check}",
                    unreachable=isinstance(check, TransportError),
                ) from check
            except AzstateError as moved:  # the unit found the server changed otherwise
                raise _UnknownOutcome(f"{exc}; {moved}") from moved
            if self.stop.is_set():
                raise _UnknownOutcome(
                    f"{exc}; apply was interrupted while checking whether it took effect, so "
                    "it was not sent again: run plan to see what the server holds"
                ) from exc
            raise _UnknownOutcome(
                f"{exc}; no read within {window:g} s showed it done, and it may still be: not "
                "sent again, run plan to see what the server holds"
            ) from exc

    def _happened_soon(
        self, change: Change, call: Call, data: ZipData | None, window: float
    ) -> bool:
        """Whether a read shows the write done within ``window`` seconds.

        A reply lost to a timeout or a reset does not mean the server stopped: Jetty finishes
        a request whose client went away. So the read is repeated for up to twice the
        client's timeout (at most 10 s); no for that long still does not mean it never will
        be, so a write not seen done is not sent again. An interrupt ends the looking.
        """
        deadline = time.monotonic() + window
        while True:
            if unit_for(change.address.kind).happened(self.client, change, call, data):
                return True
            if time.monotonic() >= deadline:
                return False
            if self.stop.wait(min(0.25, self.client.timeout / 4)):
                return False

    def abandon(self, groups: list[list[Change]]) -> list[ChangeOutcome]:
        """The outcomes when apply stops waiting: a change with a call in flight is of
        unknown outcome, a change not reached is not attempted."""
        with self._lock:
            self._abandoned = True
            results = dict(self.results)
            in_flight = dict(self._in_flight)
        outcomes = []
        for group in groups:
            for change in group:
                outcome = results.get(change.address)
                if outcome is None and change.address in in_flight:
                    call, sent = in_flight[change.address]
                    shown = " ".join(p for p in (call.method, call.path, call.action) if p)
                    outcome = ChangeOutcome(
                        change.address,
                        change.action,
                        ApplyStatus.UNKNOWN,
                        f"{shown} was in flight when apply was stopped at once: not waited "
                        "for; run plan to see what the server holds",
                        sent + 1,
                    )
                elif (
                    outcome is None
                    and not change.calls
                    and all(
                        _applied(results.get(other.address))
                        for other in group
                        if other is not change and stops(change, other)
                    )
                ):  # done by calls that were all answered
                    outcome = ChangeOutcome(change.address, change.action, ApplyStatus.APPLIED)
                elif outcome is None:
                    outcome = ChangeOutcome(
                        change.address, change.action, ApplyStatus.NOT_ATTEMPTED, _INTERRUPTED
                    )
                outcomes.append(outcome)
        return outcomes


_GRACE_CAP = 10.0  # seconds


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


Replan = Callable[[tuple[Address, ...], frozenset[str], Mapping[str, frozenset[Address]]], Plan]


def left_over(plan: Plan, desired: Mapping[str, ProjectState], replan: Replan) -> list[Change]:
    """What still differs after every call of ``plan`` was sent; empty means the apply
    succeeded. An apply succeeds only when a fresh plan (``replan(targets, projects, reads)``,
    read from the server again) is empty for the resources it touched.

    Only the touched projects are re-read, and of them only what the units say the apply may
    have changed (``reads``, by lower project name: each changed resource and what the server
    changes on its own as a consequence, resources.verify_reads, from the ``desired``
    projects); the rest of a touched project is taken as the plan saw it, as desired. So only
    their changes count: an untouched declared project is absent from that refresh and would
    otherwise look like one to create.
    """
    touched = frozenset(c.address.project.lower() for c in plan.changes)
    # Re-planned without targets: a targeted resource the apply deleted names nothing any more,
    # which a targeted plan refuses. What was not targeted is then left out here instead.
    check = replan((), touched, verify_reads(plan.changes, desired))
    planned = {c.address for c in plan.changes}

    def in_scope(address: Address) -> bool:
        if address.project.lower() not in touched:
            return False
        return (
            not plan.targets or address in planned or any(t.contains(address) for t in plan.targets)
        )

    return [c for c in check.changes if c.action is not Action.NO_OP and in_scope(c.address)]
