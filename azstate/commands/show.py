"""azstate show PLANFILE: render a saved plan exactly as plan rendered it."""

from __future__ import annotations

import argparse
from pathlib import Path

from azstate import planfile
from azstate.commands.options import Options, add_format_arg
from azstate.commands.workspace import consoles
from azstate.views import render_plan


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("planfile", metavar="PLANFILE", help="a plan saved by `azstate plan --out`")
    add_format_arg(parser)


def run(args: argparse.Namespace) -> int:
    options = Options.from_args(args)
    out, _ = consoles(options)
    render_plan(planfile.load(Path(args.planfile)), options.format, out)
    return 0
