"""azstate apply: make the plan's changes, then check that the server now matches."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.text import Text

from azstate import planfile
from azstate.apply import apply_plan, left_over, ordered_calls
from azstate.cli import INTERRUPTED
from azstate.commands.options import (
    Options,
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
        plan = ws.plan(targets=options.targets)

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
    stop = threading.Event()
    with (
        progress_for(err, "Applying") as progress,
        _first_interrupt_stops(stop, err, ws.client.timeout),
    ):
        outcomes = apply_plan(
            ws.client,
            plan,
            ws.loaded.artifacts,
            parallelism=ws.parallelism,
            progress=progress,
            stop=stop,
        )
    human = err if as_json else out
    human.print()
    render_apply_report(outcomes, human)

    def report(matches: bool | None) -> None:
        if as_json:
            out.print(apply_report_json(outcomes, matches=matches), soft_wrap=True, markup=False)

    if stop.is_set():
        report(None)
        err.print(
            Text(
                "Interrupted: apply stopped before it was done; the report above says what "
                "was applied and what was not. Run plan to see what is left; applying again "
                "repairs it."
            ),
            soft_wrap=True,
        )
        return INTERRUPTED
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


@contextmanager
def _first_interrupt_stops(stop: threading.Event, err: Console, timeout: float) -> Iterator[None]:
    """While apply sends calls, the first Ctrl-C or SIGTERM sets ``stop``: no new call starts
    and the ones in flight finish, so the report can say what was done. The second raises
    KeyboardInterrupt, which apply_plan answers by no longer waiting for them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        err.print(
            Text(
                f"\n{name}: no new call starts; waiting for the calls in flight (about "
                f"{timeout:g} s at most). Press Ctrl-C again to stop at once."
            ),
            soft_wrap=True,
        )

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
