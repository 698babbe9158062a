"""azstate plan: read the server, diff it against the configuration, show the changes."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from rich.text import Text

from azstate import planfile
from azstate.commands.options import (
    Options,
    add_config_arg,
    add_format_arg,
    add_server_args,
    add_target_arg,
)
from azstate.commands.workspace import consoles, open_workspace
from azstate.views import Format, render_plan
from azstate.views.neutral import for_text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arg(parser)
    parser.add_argument(
        "--out",
        metavar="PLANFILE",
        help="also save the plan (JSON) for `azstate apply PLANFILE`, which applies exactly it",
    )
    add_format_arg(parser)
    parser.add_argument(
        "--detailed-exitcode",
        action="store_true",
        help="exit 0 with no changes, 2 with changes, 1 on error",
    )
    parser.add_argument(
        "--refresh-only",
        action="store_true",
        help="show only what changed on the server outside azstate (drift); change nothing",
    )
    add_target_arg(parser)
    add_server_args(parser)


def save_hint(sandbox: bool, config: str | None) -> str:
    """Said on stderr after a text plan with changes and no --out: `apply` alone plans again,
    and may apply something other than what was just reviewed."""
    flag = "--sandbox " if sandbox else ""
    if config:
        flag += f"-c {shlex.quote(for_text(config))} "
    return (
        "Note: this plan was not saved. To apply exactly these changes, save it with "
        f"`azstate plan {flag}--out plan.json`, then run `azstate apply {flag}plan.json`."
    )


def run(args: argparse.Namespace) -> int:
    options = Options.from_args(args)
    out, err = consoles(options)
    ws = open_workspace(options, err)
    plan = ws.plan(targets=options.targets, refresh_only=args.refresh_only)
    render_plan(plan, options.format, out)
    if args.out:
        planfile.save(plan, Path(args.out))
        # soft_wrap: a path broken over two lines cannot be copied; Text: no markup in paths.
        err.print(
            Text(
                f"Saved the plan to {for_text(args.out)}. Apply it with: azstate apply "
                f"{'--sandbox ' if options.sandbox else ''}{for_text(args.out)}"
            ),
            soft_wrap=True,
        )
    elif plan.has_changes and options.format is Format.TEXT:
        err.print(Text(save_hint(options.sandbox, args.config)), soft_wrap=True)
    changed = plan.has_changes or (args.refresh_only and bool(plan.drift))
    return 2 if args.detailed_exitcode and changed else 0
