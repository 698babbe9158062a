"""azstate apply: make the plan's changes, then check that the server now matches."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from azstate import planfile
from azstate.apply import apply_plan, left_over, ordered_calls
from azstate.commands.options import (
    Options,
    add_baseline_arg,
    add_config_arg,
    add_format_arg,
    add_server_args,
    add_target_arg,
)
from azstate.commands.workspace import (
    Workspace,
    consoles,
    open_workspace,
    progress_for,
)
from azstate.errors import ApplyError, AzstateError
from azstate.plan import ApplyStatus, Plan
from azstate.views import Format, render_plan
from azstate.views.json import render_calls
from azstate.views.report import apply_report_json, complete_line, render_apply_report
from azstate.views.theme import THEME


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "planfile", nargs="?", metavar="PLANFILE", help="a plan saved by plan --out"
    )
    add_config_arg(parser)
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the exact calls apply would send, and send nothing that changes the server",
    )
    parser.add_argument("--auto-approve", action="store_true", help="apply without asking")
    add_format_arg(parser, "the plan and the report")
    add_target_arg(parser)
    add_baseline_arg(parser)
    add_server_args(parser)


def run(args: argparse.Namespace) -> int:
    options = Options.from_args(args)
    out, err = consoles(options)
    if args.planfile:
        saved = planfile.load(Path(args.planfile))
        ws = open_workspace(options, err, config_path=saved.config or options.config)
        planfile.check_server(saved, ws.url)
        fresh = ws.plan(targets=saved.targets, refresh_only=saved.refresh_only)
        planfile.check_fresh(saved, fresh)
        plan = saved
    else:
        ws = open_workspace(options, err)
        plan = ws.plan(targets=options.targets, baseline=args.baseline)

    as_json = options.format is Format.JSON
    if args.dry_run:
        render_calls(ordered_calls(plan), Format.JSON if as_json else Format.TEXT, out)
        return 0
    if not plan.has_changes:
        render_plan(plan, options.format, out)
        return 0
    if not args.planfile:
        render_plan(plan, options.format, out if options.format is Format.TEXT else err)
        if not args.auto_approve and not _confirm(err):
            err.print("Apply cancelled.")
            return 1
    return _apply(ws, plan, out, err, as_json=as_json)


def _confirm(err: Console) -> bool:
    if not sys.stdin.isatty():
        raise AzstateError(
            "apply needs --auto-approve when not run from a terminal (or apply a saved plan)"
        )
    err.print("\nDo you want to perform these actions? Only 'yes' will be accepted.")
    return err.input("  Enter a value: ").strip() == "yes"


def _apply(ws: Workspace, plan: Plan, out: Console, err: Console, *, as_json: bool) -> int:
    """With --format json the report goes to stdout as JSON, and the text report to stderr."""
    with progress_for(err, "Applying") as progress:
        outcomes = apply_plan(
            ws.client, plan, ws.loaded.artifacts, parallelism=ws.parallelism, progress=progress
        )
    human = err if as_json else out
    human.print()
    render_apply_report(outcomes, human)

    def report(matches: bool | None) -> None:
        if as_json:
            out.print(apply_report_json(outcomes, matches=matches), soft_wrap=True, markup=False)

    if any(o.status is not ApplyStatus.APPLIED for o in outcomes):
        report(None)
        raise ApplyError(
            f"apply did not complete: {sum(o.status.failed for o in outcomes):,} failed, "
            f"{sum(o.status is ApplyStatus.NOT_ATTEMPTED for o in outcomes):,} not attempted. "
            "Run plan to see what is left; applying again repairs it."
        )
    left = left_over(plan, lambda targets, only: ws.plan(targets=targets, only=only))
    report(not left)
    if left:
        names = ", ".join(str(c.address) for c in left)
        raise ApplyError(
            f"apply sent every call, but the server still differs from the configuration: {names}"
        )
    with human.use_theme(THEME):
        human.print(complete_line(len(outcomes)), soft_wrap=True)
    return 0
