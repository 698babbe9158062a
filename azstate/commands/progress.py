"""What a command shows on stderr while it waits: a bar on a terminal, lines in a CI log.

Refresh and apply report to a Progress (refresh.py); on a terminal it is a rich bar, cleared
when done. Without one (CI), a bar would be invisible or a mess of carriage returns, so apply
prints one line per finished change instead (commands/apply.py), and both print a line when a
request has waited WAIT_NOTICE seconds for its reply, naming it: a server that accepts the
connection and never answers otherwise shows nothing until every retry timed out (minutes).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from rich.text import Text

from azstate.refresh import NoProgress, Progress
from azstate.views.neutral import for_text
from azstate.views.theme import THEME
from azstate.wire.client import AzkabanClient
from azstate.wire.inflight import InFlight

WAIT_NOTICE = 5.0  # seconds without a reply before a line names the request
WAIT_REPEAT = 15.0  # seconds between further lines about the same request
_POLL = 0.5


class BarProgress:
    """A rich progress bar on stderr; the refresh and apply engines only see Progress."""

    def __init__(self, bar: RichProgress, label: str) -> None:
        self._bar = bar
        self._task = bar.add_task(label, total=0)

    def add(self, total: int) -> None:
        task = self._bar.tasks[0]
        self._bar.update(self._task, total=(task.total or 0) + total)

    def advance(self, n: int = 1) -> None:
        self._bar.advance(self._task, n)


@contextmanager
def progress_for(
    err: Console, label: str, *, client: AzkabanClient | None = None
) -> Iterator[Progress]:
    """A bar on a terminal, nothing otherwise; with ``client``, slow requests are named too."""
    with watch_waits(err, client):
        if not err.is_terminal:
            yield NoProgress()
            return
        bar = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        with bar:
            yield BarProgress(bar, label)


@contextmanager
def watch_waits(err: Console, client: AzkabanClient | None) -> Iterator[None]:
    """While inside, a request of ``client`` left without a reply for WAIT_NOTICE seconds is
    named on stderr (on a terminal too: a stuck bar does not say what it waits for)."""
    if client is None:
        yield
        return
    watcher = _Watcher(err, client.in_flight, client.url, client.timeout)
    watcher.start()
    try:
        yield
    finally:
        watcher.stop()


def waiting_line(what: str, server: str, waited: float, timeout: float | None) -> Text:
    """'Still waiting for http://host (GET /manager fetchprojectflows project=etl): no reply
    after 5 s; the client gives up after 30 s and retries reads.'"""
    line = Text.assemble(
        ("Still waiting", "warning"),
        f" for {for_text(server)} ({for_text(what)}): no reply after {waited:.0f} s",
    )
    if timeout is not None:
        line.append(f"; each try times out after {timeout:g} s")
    return line


class _Watcher:
    """A daemon thread polling the client's in-flight requests; one line per slow request at
    WAIT_NOTICE seconds, then every WAIT_REPEAT seconds while it still waits."""

    def __init__(
        self, err: Console, in_flight: InFlight, server: str, timeout: float | None
    ) -> None:
        self._err = err
        self._in_flight = in_flight
        self._server = server
        self._timeout = timeout
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="azstate-wait-notice", daemon=True)
        self._told: dict[int, float] = {}  # token -> seconds waited when last told

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stopped.wait(_POLL):
            oldest = self._in_flight.oldest()
            if oldest is None:
                continue
            waited = oldest.waited()
            last = self._told.get(oldest.token)
            due = WAIT_NOTICE if last is None else last + WAIT_REPEAT
            if waited < due:
                continue
            self._told[oldest.token] = waited
            with self._err.use_theme(THEME):
                self._err.print(
                    waiting_line(oldest.what, self._server, waited, self._timeout), soft_wrap=True
                )
