"""What apply did, change by change: applied, failed (with the server's words), not attempted.

The apply engine's result type belongs to apply.py; this view only needs the fields below, so
it states them as a Protocol instead of importing the engine (views sit above it, style.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from rich.console import Console
from rich.table import Table
from rich.text import Text

from azstate.address import Address
from azstate.views.theme import THEME

APPLIED = "applied"
FAILED = "failed"
NOT_ATTEMPTED = "not attempted"

_STATUS_STYLE = {
    APPLIED: "report.applied",
    FAILED: "report.failed",
    NOT_ATTEMPTED: "report.not_attempted",
}


class ChangeOutcome(Protocol):
    """One change's result as apply reports it; apply.ChangeOutcome satisfies it."""

    @property
    def address(self) -> str: ...

    @property
    def action(self) -> str: ...

    @property
    def status(self) -> str: ...  # "applied" | "failed" | "not attempted"

    @property
    def message(self) -> str | None: ...

    @property
    def calls_sent(self) -> int: ...


def render_apply_report(results: Sequence[ChangeOutcome], console: Console) -> None:
    with console.use_theme(THEME):
        if not results:
            console.print(Text("Nothing to apply.", style="plan.legend"))
            return
        console.print(report_table(results))
        console.print(summary_line(results))


def report_table(results: Sequence[ChangeOutcome]) -> Table:
    table = Table(title="Apply results", title_justify="left", show_lines=False, expand=False)
    table.add_column("Resource", overflow="fold")
    table.add_column("Action")
    table.add_column("Result")
    table.add_column("Calls", justify="right")
    table.add_column("Message", overflow="fold")
    for result in sorted(results, key=lambda r: Address.parse(r.address)):
        style = _STATUS_STYLE.get(result.status, "")
        table.add_row(
            Text(result.address),
            Text(result.action),
            Text(result.status, style=style),
            Text(str(result.calls_sent)),
            Text(result.message or "", style="report.message" if result.status == FAILED else ""),
        )
    return table


def summary_line(results: Sequence[ChangeOutcome]) -> Text:
    counts = {status: sum(r.status == status for r in results) for status in _STATUS_STYLE}
    line = Text()
    for i, (status, n) in enumerate(counts.items()):
        if i:
            line.append(", ")
        line.append(f"{n} {status}", style=_STATUS_STYLE[status] if n else "")
    line.append(".")
    return line
