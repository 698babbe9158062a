"""azstate validate: check the configuration and its sources offline, with no credentials.

Everything plan would refuse before sending a request is checked here: the TOML, names, cron
expressions in the server's time zone, sources and the flows in them. Errors are raised (cli.py
prints them); on success a short summary and any warnings go to stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime

from rich.console import Console
from rich.markup import escape

from azstate import cron
from azstate.commands.workspace import add_var_arg, variables_of
from azstate.errors import CronError
from azstate.load import LoadedConfig, load_config
from azstate.resolved import render_resolved

NAME = "validate"
HELP = "check the configuration and sources offline"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        default="azstate.toml",
        metavar="PATH",
        help="a TOML file or a directory of them (default: ./azstate.toml)",
    )
    add_var_arg(parser)
    parser.add_argument(
        "--resolved",
        action="store_true",
        help="print the merged configuration as TOML, each value with the file that wrote it",
    )


def run(args: argparse.Namespace) -> int:
    loaded = load_config(args.config, variables=variables_of(args), require_values=False)
    if args.resolved:
        sys.stdout.write(render_resolved(loaded))
        return 0
    no_color = bool(getattr(args, "no_color", False)) or "NO_COLOR" in os.environ
    console = Console(no_color=no_color, highlight=False, soft_wrap=True)
    render_summary(loaded, console, now=datetime.now(UTC))
    return 0


def render_summary(loaded: LoadedConfig, console: Console, *, now: datetime) -> None:
    config = loaded.config
    zone = config.server.timezone
    schedules = sum(len(p.schedules) for p in config.projects.values())
    flows = sum(len(info.flows) for info in loaded.flows.values())
    files = ", ".join(str(f) for f in loaded.files)
    console.print(
        f"[bold]{escape(files)}[/]: {_count(len(config.projects), 'project')}, "
        f"{_count(flows, 'flow')} found, {_count(schedules, 'schedule')}"
    )
    for name in sorted(config.projects, key=str.lower):
        project = config.projects[name]
        info = loaded.flows.get(name)
        if info is None:
            found = "no source (files not managed)"
        else:
            listed = ", ".join(sorted(info.flows)) or "none"
            found = f"Flow {info.version}, flows: {listed}"
        marks = " (protected)" if project.protect else ""
        console.print(f"  [bold]{escape(name)}[/]{marks}: {escape(found)}")
        for flow in sorted(project.schedules):
            schedule = project.schedules[flow]
            console.print(
                f"    schedule {escape(flow)}: {escape(schedule.cron)}"
                f"{escape(_next_run(schedule.cron, zone, now))}"
                f"{' + SLA' if schedule.sla is not None else ''}"
            )
    for warning in loaded.warnings:
        console.print(f"[yellow]Warning:[/] {escape(warning)}")
    console.print("[green]The configuration is valid.[/]")


def _next_run(expr: str, zone: str, now: datetime) -> str:
    try:
        first = cron.parse(expr).next_after(now, zone)
    except CronError:
        return ""
    return f", next {first:%Y-%m-%d %H:%M %Z}" if first is not None else ""


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
