"""What apply did, change by change: applied, failed (with the server's words), not attempted.

The apply engine's result type belongs to apply.py; this view only needs the fields below, so
it states them as a Protocol instead of importing the engine (views sit above it, style.md).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Protocol

from rich.console import Console
from rich.text import Text

from azstate.address import Address
from azstate.plan import ApplyStatus
from azstate.views.counts import count
from azstate.views.neutral import for_text
from azstate.views.theme import THEME

_STATUS_STYLE = {
    ApplyStatus.APPLIED: "report.applied",
    ApplyStatus.REFUSED: "report.failed",
    ApplyStatus.TRANSIENT: "report.failed",
    ApplyStatus.UNKNOWN: "report.failed",
    ApplyStatus.NOT_ATTEMPTED: "report.not_attempted",
    ApplyStatus.INTERRUPTED: "report.not_attempted",
}
# Always counted in the summary; the other statuses only when they occur.
_ALWAYS = (ApplyStatus.APPLIED, ApplyStatus.REFUSED, ApplyStatus.NOT_ATTEMPTED)


class ChangeOutcome(Protocol):
    """One change's result as apply reports it; apply.ChangeOutcome satisfies it."""

    @property
    def address(self) -> Address: ...

    @property
    def action(self) -> str: ...

    @property
    def status(self) -> ApplyStatus: ...

    @property
    def message(self) -> str | None: ...

    @property
    def calls_sent(self) -> int: ...


def render_apply_report(results: Sequence[ChangeOutcome], console: Console) -> None:
    """One line per change, never wrapped: apply mostly runs in CI, where a folded table cell
    splits an address or the server's message over lines nobody can grep."""
    with console.use_theme(THEME):
        if not results:
            console.print(Text("Nothing to apply.", style="plan.legend"))
            return
        console.print(Text("Apply results:", style="plan.header"))
        for result in sorted(results, key=lambda r: r.address):
            console.print(report_line(result), soft_wrap=True)
        console.print(summary_line(results))


def report_line(result: ChangeOutcome) -> Text:
    """'  failed         project.etl.files (create, 0 calls sent): <the server's message>'."""
    width = max(len(s) for s in _STATUS_STYLE)
    calls = count(result.calls_sent, "call")
    line = Text.assemble(
        "  ",
        (result.status.ljust(width), _STATUS_STYLE.get(result.status, "")),
        "  ",
        for_text(str(result.address)),
        f" ({result.action}, {calls} sent)",
    )
    if result.message:
        line.append(": ")
        line.append(
            for_text(result.message), style="report.message" if result.status.failed else ""
        )
    return line


def summary_line(results: Sequence[ChangeOutcome]) -> Text:
    counts = _counts(results)
    line = Text()
    for i, (status, n) in enumerate(counts.items()):
        if i:
            line.append(", ")
        line.append(f"{n} {status}", style=_STATUS_STYLE[status] if n else "")
    line.append(".")
    return line


def complete_line(applied: int) -> Text:
    """The last line of an apply that sent every call and found nothing left to change."""
    return Text(
        f"Apply complete: {count(applied, 'change')} applied; "
        "the server matches the configuration.",
        style="report.applied",
    )


def apply_report_json(results: Sequence[ChangeOutcome], *, matches: bool | None) -> str:
    """The report as JSON for `apply --format json`: every change, the counts, and whether the
    server matched the configuration afterwards (None when apply stopped before checking)."""
    counts = _counts(results)
    document = {
        "changes": [
            {
                "address": str(r.address),
                "action": r.action,
                "status": r.status,
                "message": r.message,
                "calls_sent": r.calls_sent,
            }
            for r in sorted(results, key=lambda r: r.address)
        ],
        "summary": {k.value.replace(" ", "_"): v for k, v in counts.items()},
        "server_matches_configuration": matches,
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def _counts(results: Sequence[ChangeOutcome]) -> dict[ApplyStatus, int]:
    return {
        status: n
        for status in ApplyStatus
        if (n := sum(r.status is status for r in results)) or status in _ALWAYS
    }
