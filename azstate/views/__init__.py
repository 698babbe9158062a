"""Views: pure functions of a Plan (or of apply's results) onto a console the command picked.

``plan`` and ``show PLANFILE`` both call render_plan, so a saved plan prints exactly like a
fresh one. Markdown and JSON are machine-read, so they go out raw: no markup, highlighting,
emoji codes or wrapping may touch them.
"""

from __future__ import annotations

from rich.console import Console

from azstate.plan import Format, Plan
from azstate.views import json, markdown, text

FORMATS = tuple(Format)


def render_plan(plan: Plan, fmt: str, console: Console) -> None:
    match fmt:
        case "text":
            text.render(plan, console)
        case "markdown":
            console.out(markdown.render(plan), highlight=False, end="")
        case "json":
            console.out(json.render(plan), highlight=False, end="")
        case _:
            raise ValueError(f"unknown plan format {fmt!r}: expected one of {', '.join(FORMATS)}")
