"""Views: pure functions of a Plan (or of apply's results) onto a console the command picked.

``plan`` and ``show PLANFILE`` both call render_plan, so a saved plan prints exactly like a
fresh one. Markdown and JSON are machine-read, so they go out raw: no markup, highlighting,
emoji codes or wrapping may touch them.
"""

from __future__ import annotations

from rich.console import Console

from azstate.plan import Plan
from azstate.views import json, markdown, text
from azstate.views.formats import Format, as_format

__all__ = ["Format", "render_plan"]


def render_plan(plan: Plan, fmt: Format | str, console: Console) -> None:
    match as_format(fmt, "plan"):
        case Format.TEXT:
            text.render(plan, console)
        case Format.MARKDOWN:
            console.out(markdown.render(plan), highlight=False, end="")
        case Format.JSON:
            console.out(json.render(plan), highlight=False, end="")
