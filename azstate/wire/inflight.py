"""The requests waiting for a reply right now, so a command can name the one a server sits on.

A server that accepts the connection and never answers looks, from outside, exactly like a
busy one until the client's timeout (30 s by default, retried): minutes with nothing to read
in a CI log. The client registers each request here for as long as it waits; a command's
watcher asks which has waited longest and says so after a few seconds.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Waiting:
    """One request still without a reply: what it is, and since when (monotonic seconds)."""

    token: int
    what: str
    since: float

    def waited(self, now: float | None = None) -> float:
        return (time.monotonic() if now is None else now) - self.since


class InFlight:
    """Thread-safe: the client's worker threads begin and end requests concurrently."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens = itertools.count(1)
        self._waiting: dict[int, Waiting] = {}

    def begin(self, what: str) -> int:
        with self._lock:
            token = next(self._tokens)
            self._waiting[token] = Waiting(token, what, time.monotonic())
            return token

    def end(self, token: int) -> None:
        with self._lock:
            self._waiting.pop(token, None)

    def oldest(self) -> Waiting | None:
        """The request that has waited longest, or None when nothing is waiting."""
        with self._lock:
            return min(self._waiting.values(), key=lambda w: w.since, default=None)
