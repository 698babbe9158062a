"""azstate cron: check Quartz expressions as Azkaban would and show when they fire.

People write a schedule, wonder whether Azkaban will take it and when it will run; CI wants
the same answer as data. Each expression gets one verdict, the one `validate` gives a schedule:
valid when Quartz 2.2.1 (what Azkaban pins) and Quartz 2.3 and later all parse it and it fires
after --after in the time zone; then a plain-English reading and its next fire times follow.
Anything else is invalid with the one reason, no reading and no times, and makes the exit code
1: a text Quartz refuses, one only 2.2 accepts, one that never fires again, one on which
Quartz's own search fails. A verdict and its reasons never disagree, in text or in JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.console import Console
from rich.text import Text

from azstate import cron
from azstate.errors import AzstateError, CronError
from azstate.views.neutral import for_json, for_text

NAME = "cron"
HELP = "check Quartz cron expressions and show their next fire times"
DEFAULT_COUNT = 5


class CronArgumentError(AzstateError):
    """A bad --timezone, --after, --count or --file: the user can fix the command line."""


@dataclass(frozen=True)
class CronReport:
    """What the command says about one expression; the same fields in text and JSON."""

    expr: str
    valid: bool
    error: str | None
    description: str | None
    next: tuple[datetime, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "expr": self.expr,
            "valid": self.valid,
            "error": self.error,
            "description": self.description,
            "next": [moment.isoformat() for moment in self.next],
        }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "expressions",
        nargs="*",
        metavar="EXPRESSION",
        help="Quartz cron expressions (quote each one)",
    )
    parser.add_argument(
        "--file",
        metavar="FILE",
        help="read expressions one per line ('-' for stdin); blank lines and # lines skipped",
    )
    parser.add_argument(
        "--timezone",
        default="UTC",
        metavar="TZ",
        help="IANA time zone for fire times, e.g. America/Los_Angeles (default: UTC)",
    )
    parser.add_argument(
        "--after",
        metavar="ISO8601",
        help="list fire times after this moment (default: now; no offset means --timezone)",
    )
    parser.add_argument(
        "--count",
        type=int,
        default=DEFAULT_COUNT,
        metavar="N",
        help=f"how many fire times to list (default: {DEFAULT_COUNT})",
    )
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per expression per line"
    )


def run(args: argparse.Namespace) -> int:
    zone = parse_timezone(args.timezone)
    after = parse_after(args.after, zone)
    if args.count < 0:
        raise CronArgumentError(f"--count must be 0 or more, not {args.count}")
    expressions = list(args.expressions)
    if args.file is not None:
        expressions += read_expressions(args.file)
    if not expressions:
        raise CronArgumentError("no expression given: pass EXPRESSION... or --file FILE")
    reports = [report(expr, zone, after, args.count) for expr in expressions]
    no_color = bool(getattr(args, "no_color", False)) or "NO_COLOR" in os.environ
    out = Console(no_color=no_color, highlight=False, soft_wrap=True)
    if args.json:
        render_json(reports, out)
    else:
        render_text(reports, out, zone)
    return 0 if all(r.valid for r in reports) else 1


def parse_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CronArgumentError(
            f"unknown time zone {name!r} for --timezone (an IANA name such as "
            "America/Los_Angeles or UTC)"
        ) from None


def parse_after(text: str | None, zone: ZoneInfo) -> datetime:
    """The base moment; a time without an offset is read in ``zone``, as people mean it."""
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CronArgumentError(
            f"invalid --after {text!r}: expected ISO-8601 such as 2026-11-22T12:00:00+00:00"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def read_expressions(source: str) -> list[str]:
    """One expression per line; a line is kept as written apart from its line ending."""
    if source == "-":
        lines: Iterable[str] = sys.stdin.read().splitlines()
    else:
        try:
            lines = Path(source).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise CronArgumentError(f"cannot read --file {source}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CronArgumentError(f"cannot read --file {source}: not UTF-8 text") from None
    return [line for line in lines if line.strip() and not line.strip().startswith("#")]


def report(expr: str, zone: ZoneInfo, after: datetime, count: int) -> CronReport:
    """The verdict ``validate`` gives this cron; the reading and fire times only if it is valid.

    Fire times are those of the server's Quartz 2.2.1 (the same in 2.3 for any text both take).
    """
    try:
        parsed = cron.check_schedulable(expr, zone, after, quartz=cron.Quartz.V2_3)
    except CronError as exc:
        return CronReport(expr, False, str(exc), None, ())
    times = tuple(parsed.next_times(after, zone, count))
    return CronReport(expr, True, None, cron.describe(expr), times)


def render_json(reports: Sequence[CronReport], console: Console) -> None:
    for r in reports:
        console.out(for_json(json.dumps(r.to_json(), ensure_ascii=True)), highlight=False)


def render_text(reports: Sequence[CronReport], console: Console, zone: ZoneInfo) -> None:
    """One block per expression: verdict, reading, then fire times in ``zone``."""
    console.print(Text(f"Fire times in {zone.key}", style="dim"))
    for r in reports:
        console.print()
        console.print(Text(for_text(r.expr), style="bold"))  # a --file line is anyone's text
        if not r.valid:
            console.print(_row("invalid", r.error or "", "red"))
            continue
        console.print(_row("valid", r.description or "", "green"))
        for i, moment in enumerate(r.next):  # none only with --count 0: a valid cron fires
            console.print(_row("next" if i == 0 else "", _fire_time(moment), ""))


def _row(label: str, value: str, style: str) -> Text:
    line = Text("  ")
    line.append(f"{label:<9}", style=style or None)
    line.append(for_text(value))  # an error quotes the expression
    return line


def _fire_time(moment: datetime) -> str:
    return f"{moment:%a %Y-%m-%d %H:%M:%S} {moment.isoformat()[-6:]} {moment.tzname()}"
