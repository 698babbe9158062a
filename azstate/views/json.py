"""Machine-readable output: the plan's versioned JSON, and the dry run's exact calls.

The plan JSON is Plan.dumps() itself, so ``--format json`` and a saved plan can never drift
apart. The dry run prints the very Call values apply sends (design section 4): one line per call
for people, or a JSON array for scripts.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence

from rich.console import Console
from rich.text import Text

from azstate.plan import Call, Plan
from azstate.views.formats import Format, as_format
from azstate.views.neutral import for_json, for_text
from azstate.views.theme import THEME


def render(plan: Plan) -> str:
    return plan.dumps()


def call_line(call: Call) -> str:
    """'POST /schedule ajax=scheduleCronFlow projectName=etl ...', values shell-quoted.

    Quoting keeps a value with spaces (a description) unambiguous on one line; an upload names
    the exact bytes by file name, size and the SHA-256 of the zip (``zip_sha256``: a hash of
    the zip's bytes, unlike the plan's content digest, a hash of the files in it).
    """
    parts = [call.method, call.path]
    parts += [f"{key}={shlex.quote(value)}" for key, value in call.params]
    if call.upload is not None:
        parts += [
            f"file={shlex.quote(call.upload.name)}",
            f"size={call.upload.size}",
            f"zip_sha256={call.upload.sha256}",
        ]
    return " ".join(parts)


def render_calls(calls: Sequence[Call], fmt: Format | str, console: Console) -> None:
    """fmt is text or json (apply's --format; markdown asks for text)."""
    match as_format(fmt, "calls"):
        case Format.JSON:
            console.out(
                for_json(json.dumps([c.to_json() for c in calls], indent=2, ensure_ascii=True)),
                highlight=False,
            )
        case Format.TEXT:
            with console.use_theme(THEME):
                if not calls:
                    console.print(
                        Text("No calls: the server matches the configuration.", style="plan.legend")
                    )
                for call in calls:
                    console.print(_styled(call), soft_wrap=True)
        case _:
            raise ValueError(f"unknown calls format {fmt!r}: expected text or json")


def _styled(call: Call) -> Text:
    line = Text(for_text(call_line(call)))
    line.stylize("call.method", 0, len(call.method))
    start = len(call.method) + 1
    line.stylize("call.path", start, start + len(call.path))
    if call.upload is not None:
        line.stylize("call.upload", line.plain.rfind(" file=") + 1)
    return line
