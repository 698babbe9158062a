"""What apply did, change by change: applied, failed (with the server's words), not attempted.

``render_report`` writes apply's one stdout document in the ``--format`` asked for: the plan it
applied, then each change's outcome, then whether the server matched afterwards; text, JSON and
markdown carry the same facts. ``progress_line`` is the one stderr line per finished change an
apply prints where no progress bar can be shown (CI).

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
from azstate.plan import ApplyStatus, Plan
from azstate.views import markdown, text
from azstate.views.counts import count
from azstate.views.formats import Format, as_format
from azstate.views.neutral import for_json, for_text, md_cell
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


def render_report(
    plan: Plan,
    results: Sequence[ChangeOutcome],
    fmt: Format | str,
    console: Console,
    *,
    matches: bool | None,
    with_plan: bool = True,
) -> None:
    """Apply's stdout document. ``matches``: whether a fresh read found the server equal to the
    configuration (None: not checked, apply stopped first). ``with_plan`` False leaves the plan
    out of the text form only, when it is already on the same screen (both streams a terminal)."""
    match as_format(fmt, "report"):
        case Format.TEXT:
            if with_plan:
                text.render(plan, console)
                console.print()
            if results:
                render_apply_report(results, console)
            if matches is not None and results:
                with console.use_theme(THEME):
                    console.print(
                        complete_line(len(results)) if matches else differs_line(), soft_wrap=True
                    )
        case Format.JSON:
            console.out(
                apply_report_json(results, matches=matches, plan=plan), highlight=False
            )
        case Format.MARKDOWN:
            body = markdown.render(plan)
            if results:
                body += "\n" + report_markdown(results, matches=matches)
            console.out(body, highlight=False, end="")


def progress_line(result: ChangeOutcome) -> Text:
    """One finished change, as stderr shows it while apply runs without a terminal."""
    return report_line(result)


def render_apply_report(results: Sequence[ChangeOutcome], console: Console) -> None:
    """One line per change, never wrapped: apply mostly runs in CI, where a folded table cell
    splits an address or the server's message over lines nobody can grep."""
    with console.use_theme(THEME):
        if not results:
            console.print(Text("Nothing to apply.", style="plan.legend"))
            return
        console.print(Text("Apply results:", style="plan.header"), soft_wrap=True)
        for result in sorted(results, key=lambda r: r.address):
            console.print(report_line(result), soft_wrap=True)
        console.print(summary_line(results), soft_wrap=True)


def report_line(result: ChangeOutcome) -> Text:
    """'  failed         project.etl.files (create, 1 call sent): <the server's message>'.

    A failed call that reached the server counts as sent: it was answered (or its reply lost)."""
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


def rerun_hint(results: Sequence[ChangeOutcome]) -> str:
    """What a stopped apply tells its user to do: whether applying again can help.

    A refusal (an unknown user, a cron the server will not take) comes back the same on every
    re-run until the configuration changes; a transient failure (a connection, a lapsed
    session, a gateway) or an interrupted apply is repaired by running it again, and an
    outcome that is not known is shown by the next plan.
    """
    refused = _addresses(results, ApplyStatus.REFUSED)
    transient = _addresses(results, ApplyStatus.TRANSIENT, ApplyStatus.INTERRUPTED)
    unknown = _addresses(results, ApplyStatus.UNKNOWN)
    parts = []
    if refused:
        parts.append(
            f"the server refused {refused}: fix the configuration (applying it again sends the "
            "same values)"
        )
    if transient:
        parts.append(f"{transient} failed in a way a re-run repairs: apply again")
    if unknown:
        parts.append(f"whether {unknown} took effect is not known: plan shows it")
    if not parts:
        return "Run plan to see what is left."
    return "Run plan to see what is left; " + "; ".join(parts) + "."


def _addresses(results: Sequence[ChangeOutcome], *statuses: ApplyStatus) -> str:
    return ", ".join(sorted(str(r.address) for r in results if r.status in statuses))


def differs_line() -> Text:
    """The last line of an apply that sent every call but found the server still different."""
    return Text(
        "Apply sent every call, but the server still differs from the configuration.",
        style="report.failed",
    )


def report_markdown(results: Sequence[ChangeOutcome], *, matches: bool | None) -> str:
    """The outcomes as a pull-request comment's section: a table, then the counts."""
    lines = ["### Apply results", ""]
    if not results:
        return "\n".join([*lines, "Nothing to apply.", ""])
    lines += ["| Status | Address | Action | Calls sent | Message |", "|---|---|---|---|---|"]
    for r in sorted(results, key=lambda r: r.address):
        message = md_cell(r.message) if r.message else ""
        lines.append(
            f"| {r.status} | {md_cell(str(r.address))} | {r.action} | {r.calls_sent} | {message} |"
        )
    lines += ["", summary_line(results).plain]
    if matches is True:
        lines += ["", complete_line(len(results)).plain]
    elif matches is False:
        lines += ["", differs_line().plain]
    return "\n".join(lines) + "\n"


def apply_report_json(
    results: Sequence[ChangeOutcome], *, matches: bool | None, plan: Plan | None = None
) -> str:
    """The report as JSON for `apply --format json`: the plan applied (as `plan --format json`
    writes it), every change, the counts, and whether the server matched the configuration
    afterwards (None when apply stopped before checking)."""
    counts = _counts(results)
    stopped = any(r.status is not ApplyStatus.APPLIED for r in results)
    document = {
        "plan": plan.to_json() if plan is not None else None,
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
        "next_step": rerun_hint(results) if stopped else None,
    }
    return for_json(json.dumps(document, indent=2, ensure_ascii=True))


def _counts(results: Sequence[ChangeOutcome]) -> dict[ApplyStatus, int]:
    return {
        status: n
        for status in ApplyStatus
        if (n := sum(r.status is status for r in results)) or status in _ALWAYS
    }
