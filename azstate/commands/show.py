"""azstate show PLANFILE: render a saved plan exactly as plan rendered it."""

from __future__ import annotations

import argparse
from pathlib import Path

from azstate import planfile
from azstate.commands.workspace import consoles
from azstate.plan import Format
from azstate.views import render_plan

NAME = "show"
HELP = "render a saved plan"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("planfile", metavar="PLANFILE")
    parser.add_argument("--format", choices=tuple(Format), type=Format, default="text")


def run(args: argparse.Namespace) -> int:
    out, _ = consoles(args)
    render_plan(planfile.load(Path(args.planfile)), args.format, out)
    return 0
