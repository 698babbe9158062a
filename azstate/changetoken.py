"""A project's change token: what its event log says about whether anything changed (s.14).

Every mutation azstate manages posts a project event, stamped with the epoch millisecond of its
insert; `fetchProjectLogs` returns them ordered by that time only. Events of one millisecond
happen (an upload that drops a scheduled flow logs `UPLOADED` and the removal 1-2 ms apart, and
sometimes in the same one) and come back in no fixed order, so "the first row" is not a token:
two reads of an unchanged log may disagree on it. The token is instead the newest time plus the
multiset of every entry stamped with it. Any later event either has a newer time or joins that
multiset, so the token differs; a multiset, not a set, because the same user can post the same
text twice in one millisecond.

Tokens are compared for equality only, never ordered: a server whose clock stepped back could
stamp a new event below the newest one, and "older" must not be read as "nothing new" (that
case is documented as caught only by a full read, `--refresh=full`).

The log is read with `size=k`; while every row returned shares the newest millisecond there may
be more of them beyond the page, so k doubles until a row with an older time, or a short page,
shows that the newest millisecond is complete.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pydantic import BaseModel, ConfigDict

from azstate.wire.replies import ProjectLogEntry

FIRST_PAGE = 4
"""Rows asked for first: one call almost always suffices, and a reply this small costs the
server nothing more than size=1 would."""

MAX_PAGE = 1 << 16
"""A log whose newest millisecond holds more events than this is treated as unreadable."""


class ChangeToken(BaseModel):
    """The newest event time and every entry stamped with it, sorted (a canonical multiset)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    newest: int
    entries: tuple[tuple[str, str, str], ...]  # (user, type, message), sorted, repeats kept

    def to_json(self) -> dict[str, object]:
        return {"newest": self.newest, "entries": [list(e) for e in self.entries]}

    @classmethod
    def from_json(cls, data: object) -> ChangeToken:
        """Raises ValueError (or pydantic's ValidationError, a ValueError) on any other shape."""
        if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
            raise ValueError("a change token is an object with a list of entries")
        return cls.model_validate(data)


def _entry(row: ProjectLogEntry) -> tuple[str, str, str]:
    # "" and None are different messages to the server but never both for one event type;
    # keeping None distinct anyway costs nothing.
    message = "\x00null" if row.message is None else row.message
    return (row.user or "", row.type, message)


def token_from_page(rows: Sequence[ProjectLogEntry], size: int) -> ChangeToken | None:
    """The token, if this page of `size` rows (newest first) is enough to know it; else None.

    Enough means: a row with an older time follows the newest ones, or the page came back
    shorter than asked (the log ended). An empty log (no CREATED event: never seen on a live
    project) gets a token of time -1 with no entries, so that it still compares.
    """
    if not rows:
        return ChangeToken(newest=-1, entries=())
    times = [-1 if r.time is None else r.time for r in rows]
    newest = max(times)
    complete = len(rows) < size or any(t != newest for t in times)
    if not complete:
        return None
    tied = sorted(_entry(r) for r, t in zip(rows, times, strict=True) if t == newest)
    return ChangeToken(newest=newest, entries=tuple(tied))


def read_token(
    read: Callable[[int], Sequence[ProjectLogEntry]], *, first: int = FIRST_PAGE
) -> ChangeToken:
    """Read pages of `first`, then twice as many rows, until the newest millisecond is whole.

    `read(size)` is one fetchProjectLogs call with that size (skip 0): re-reading from the top
    rather than skipping keeps the page consistent with itself if an event lands meanwhile.
    """
    size = max(1, first)
    while True:
        token = token_from_page(read(size), size)
        if token is not None:
            return token
        if size >= MAX_PAGE:
            raise ValueError(f"more than {MAX_PAGE} events share the newest millisecond")
        size *= 2
