"""Fault and latency injection, and the log of requests the sandbox answered.

Tests and the benchmark use these to make the sandbox misbehave the ways a real server and
network do (a 500, a reset before or after the work, a slow reply, an expired session, an error
reply with HTTP 200) and to count what a client sent (``mutating`` tells whether a request was
of a kind that changes state, whatever came of it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("http500", "reset_before", "reset_after", "slow", "expire_session", "error200")

# (path, action) pairs whose requests change state when they succeed.
MUTATING: frozenset[tuple[str, str]] = frozenset(
    [("/manager", a) for a in (
        "create", "delete", "upload", "purge", "changeDescription", "addPermission",
        "changePermission", "addProxyUser", "removeProxyUser", "setJobOverrideProperty",
        "setFlowLock", "changeUploadSetting",
    )]
    + [("/schedule", a) for a in ("scheduleCronFlow", "scheduleFlow", "setSla", "removeSched")]
    + [("/executor", a) for a in (
        "executeFlow", "cancelFlow", "pauseFlow", "resumeFlow", "retryFailedJobs",
    )]
)  # fmt: skip


@dataclass
class Fault:
    kind: str
    path: str | None = None
    action: str | None = None
    times: int | None = 1
    delay: float = 0.0
    method: str | None = None
    # Run on the server thread when the fault fires, before the request is answered: a test
    # makes something else happen exactly between a request and its lost reply.
    on_fire: Callable[[], None] | None = field(default=None, compare=False, repr=False)

    def matches(self, path: str, action: str | None, method: str | None = None) -> bool:
        """``action`` None matches any request on the path; ``""`` only one with no action
        (the project page, say). ``method`` tells a HEAD of the download from its GET."""
        return (
            (self.path is None or self.path == path)
            and (self.action is None or self.action == (action or ""))
            and (self.method is None or method is None or self.method == method.upper())
        )


class Faults:
    """Faults waiting for a matching request, and a latency added to every request."""

    def __init__(self) -> None:
        self.latency = 0.0
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(
        self,
        kind: str,
        path: str | None = None,
        action: str | None = None,
        times: int | None = 1,
        delay: float = 0.0,
        method: str | None = None,
        on_fire: Callable[[], None] | None = None,
    ) -> Fault:
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(KINDS)}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1, or None for always")
        fault = Fault(kind, path, action, times, float(delay), method and method.upper(), on_fire)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
        self.latency = 0.0

    def take(self, path: str, action: str | None, method: str | None = None) -> Fault | None:
        """The first fault matching this request, used up by one if it is counted."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(path, action, method):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    action: str | None
    params: dict[str, str]
    status: int
    mutating: bool
    bytes: int = 0
    # "ok", or the fault that was applied
    fault: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog(list[LoggedRequest]):
    """The requests answered so far, oldest first (appends are safe across threads)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._added = threading.Condition(self._lock)

    def record(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.append(entry)
            self._added.notify_all()

    def snapshot(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self)

    def wait_for(self, wanted: Callable[[LoggedRequest], bool], timeout: float) -> bool:
        """Whether a request ``wanted`` is logged, waiting up to ``timeout`` s for one: a
        request whose client gave up is still being worked on, and tests wait for the work
        rather than sleep for a guessed time."""
        with self._lock:
            return self._added.wait_for(lambda: any(wanted(e) for e in self), timeout)

    def clear(self) -> None:
        with self._lock:
            super().clear()
