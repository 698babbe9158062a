"""azstate validate: check the configuration and its sources offline, with no credentials.

Everything plan would refuse before sending a request is checked here: the TOML, names, cron
expressions in the server's time zone, sources and the flows in them. Errors are raised (cli.py
prints them); on success views/validate.py writes a short summary and any warnings to stdout.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from rich.console import Console

from azstate.commands.options import Options, add_config_arg
from azstate.load import LoadedConfig, load_config
from azstate.resolved import render_resolved
from azstate.views.validate import ProjectLine, ScheduleLine, ValidateSummary, render_summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arg(parser)
    parser.add_argument(
        "--resolved",
        action="store_true",
        help="print the merged configuration as TOML, each value with the file that wrote it",
    )


def run(args: argparse.Namespace) -> int:
    options = Options.from_args(args)
    loaded = load_config(
        options.config,
        variables=options.variables,
        require_values=False,
        allow_outside=options.allow_outside_sources,
    )
    if args.resolved:
        sys.stdout.write(render_resolved(loaded))
        return 0
    console = Console(no_color=options.no_color, highlight=False, soft_wrap=True)
    render_summary(summary_of(loaded), console, now=datetime.now(UTC))
    return 0


def summary_of(loaded: LoadedConfig) -> ValidateSummary:
    """The plain values the view prints, read off the loaded configuration."""
    config = loaded.config
    projects = []
    for name in sorted(config.projects, key=str.lower):
        project = config.projects[name]
        info = loaded.flows.get(name)
        projects.append(
            ProjectLine(
                name=name,
                protected=project.protect,
                flow_version=info.version if info is not None else None,
                flows=tuple(sorted(info.flows)) if info is not None else (),
                schedules=tuple(
                    ScheduleLine(
                        flow, project.schedules[flow].cron, project.schedules[flow].sla is not None
                    )
                    for flow in sorted(project.schedules)
                ),
            )
        )
    return ValidateSummary(
        files=tuple(str(f) for f in loaded.files),
        timezone=config.server.timezone,
        projects=tuple(projects),
        flows_found=sum(len(info.flows) for info in loaded.flows.values()),
        warnings=loaded.warnings,
    )
