"""azstate validate: check the configuration and its sources offline, with no credentials.

Everything plan would refuse before sending a request is checked here: the TOML, names, cron
expressions in the server's time zone, sources and the flows in them. Errors are raised (cli.py
prints them); on success views/validate.py writes a short summary and any warnings to stdout.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from rich.console import Console

from azstate.commands.options import Options, add_config_arg
from azstate.load import load_config
from azstate.views.validate import render_summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arg(parser)


def run(args: argparse.Namespace) -> int:
    options = Options.from_args(args)
    loaded = load_config(options.config)
    console = Console(no_color=options.no_color, highlight=False, soft_wrap=True)
    render_summary(loaded, console, now=datetime.now(UTC))
    return 0
