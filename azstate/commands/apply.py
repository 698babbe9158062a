"""azstate apply: make the plan's changes, then check that the server now matches.

Streams, the same rule in every format: stdout carries exactly one document, the report in
the ``--format`` asked for (the plan it applied, each change's outcome, whether the server
matched afterwards); the plan shown before the prompt, the prompt, progress and errors go to
stderr. Without a terminal there is no prompt (``--auto-approve`` or a saved PLANFILE is
needed) and stderr gets one line per finished change, so a CI log shows an apply as it goes.
"""

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
from azstate.apply import ChangeOutcome, apply_plan, left_over, ordered_calls
from azstate.cli import INTERRUPTED
from azstate.commands.options import (
    Options,
    add_baseline_arg,
    add_config_arg,
    add_format_arg,
    add_refresh_arg,
    add_server_args,
    add_target_arg,
)
from azstate.commands.progress import progress_for
from azstate.commands.workspace import Workspace, consoles, open_workspace
from azstate.errors import ApplyError, AzstateError
from azstate.plan import Action, ApplyStatus, Plan
from azstate.views import Format, text
from azstate.views.json import render_calls
from azstate.views.neutral import for_text
from azstate.views.report import progress_line, render_report, rerun_hint
from azstate.views.theme import THEME

# Flags that shape a new plan: beside a PLANFILE (applied whole, as saved) they would be
# silently ignored, so they are refused. dest -> the flag as typed.
_PLAN_SHAPING = {
    "config": "-c/--config",
    "target": "--target",
    "var": "--var",
    "baseline": "--baseline",
    "refresh_only": "--refresh-only",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "planfile",
        nargs="?",
        metavar="PLANFILE",
        help="a plan saved by plan --out, applied whole (no -c or --target with it)",
    )
    add_config_arg(parser)
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the exact calls apply would send, and send nothing that changes the server",
    )
    parser.add_argument(
        "--auto-approve",
        action="store_true",
        help="apply without asking (needed without a terminal, unless applying a PLANFILE)",
    )
    add_format_arg(parser, "the report on stdout (the plan shown before it goes to stderr)")
    add_target_arg(parser)
    add_baseline_arg(parser)
    add_server_args(parser)
    add_refresh_arg(parser)


def check_planfile_flags(args: argparse.Namespace) -> None:
    """A saved plan is applied whole, from the configuration it was made with: a flag that
    would make a different plan is an error, not silently dropped."""
    given = [flag for dest, flag in _PLAN_SHAPING.items() if getattr(args, dest, None)]
    if given:
        raise AzstateError(
            f"{', '.join(given)} cannot be used with a PLANFILE: a saved plan is applied whole, "
            "as it was made; make a new plan with these flags instead"
        )


def run(args: argparse.Namespace) -> int:
    if args.planfile:
        check_planfile_flags(args)
    options = Options.from_args(args)
    out, err = consoles(options)
    if args.planfile:
        saved = planfile.load(Path(args.planfile))
        ws = open_workspace(
            options, err, config_path=saved.config or options.config, targets=saved.targets
        )
        planfile.check_server(saved, ws.url)
        planfile.check_user(saved, ws.client.username)
        fresh = ws.plan(
            targets=saved.targets, refresh_only=saved.refresh_only, salt=saved.sensitive_salt
        )
        planfile.check_fresh(saved, fresh)
        plan = saved
    else:
        ws = open_workspace(options, err)
        plan = ws.plan(targets=options.targets, baseline=args.baseline)

    if args.dry_run:
        fmt = Format.JSON if options.format is Format.JSON else Format.TEXT
        render_calls(ordered_calls(plan), fmt, out)
        return 0
    if not plan.has_changes:
        render_report(plan, [], options.format, out, matches=True)
        return 0
    # The plan is for the person at the prompt or reading the CI log: text, on stderr.
    text.render(plan, err)
    if not args.planfile and not args.auto_approve and not _confirm(err, plan, ws):
        err.print("Apply cancelled.")
        return 1
    return _apply(ws, plan, out, err, options.format)


def prompt_text(plan: Plan, user: str) -> str:
    """The question before apply, naming where and as whom: the plan's header has scrolled
    off by the time a long plan ends."""
    changes = sum(c.action is not Action.NO_OP for c in plan.changes)
    noun = "this change" if changes == 1 else f"these {changes:,} changes"
    return (
        f"Do you want to apply {noun} to {for_text(plan.server)} as {for_text(user)}? "
        "Only 'yes' will be accepted."
    )


def _confirm(err: Console, plan: Plan, ws: Workspace) -> bool:
    if not sys.stdin.isatty():
        raise AzstateError(
            "apply needs --auto-approve when not run from a terminal (or apply a saved plan)"
        )
    err.print()
    err.print(Text(prompt_text(plan, ws.client.username)), soft_wrap=True)
    return err.input("  Enter a value: ").strip() == "yes"


def _apply(ws: Workspace, plan: Plan, out: Console, err: Console, fmt: Format) -> int:
    lock = threading.Lock()

    def finished(outcome: ChangeOutcome) -> None:
        # Without a terminal there is no bar: a CI log gets a line per change as it settles.
        if not err.is_terminal:
            with lock, err.use_theme(THEME):
                err.print(progress_line(outcome), soft_wrap=True)

    stop = threading.Event()
    with (
        progress_for(err, "Applying", client=ws.client) as progress,
        _first_interrupt_stops(stop, err, ws.client.timeout),
    ):
        # The plan shown and saved holds digests for sensitive values; the calls carry them.
        outcomes = apply_plan(
            ws.client,
            ws.unsealed(plan),
            ws.loaded.artifacts,
            parallelism=ws.parallelism,
            progress=progress,
            on_done=finished,
            stop=stop,
            on_upload=ws.uploaded,
        )
    # The text report repeats the plan unless it is on the same screen already.
    with_plan = not (out.is_terminal and err.is_terminal)
    if stop.is_set():
        render_report(plan, outcomes, fmt, out, matches=None, with_plan=with_plan)
        err.print(
            Text(
                "Interrupted: apply stopped before it was done; the report says what was "
                "applied and what was not. Run plan to see what is left; applying again "
                "repairs it."
            ),
            soft_wrap=True,
        )
        return INTERRUPTED
    complete = all(o.status is ApplyStatus.APPLIED for o in outcomes)
    left = (
        left_over(
            plan,
            ws.desired().projects,
            lambda targets, only, reads: ws.plan(targets=targets, only=only, reads=reads),
        )
        if complete
        else []
    )
    matches = (not left) if complete else None
    render_report(plan, outcomes, fmt, out, matches=matches, with_plan=with_plan)
    if not complete:
        raise ApplyError(
            f"apply did not complete: {sum(o.status.failed for o in outcomes):,} failed, "
            f"{sum(o.status is ApplyStatus.NOT_ATTEMPTED for o in outcomes):,} not attempted. "
            + rerun_hint(outcomes)
        )
    if left:
        raise ApplyError(
            "apply sent every call, but the server still differs from the configuration: "
            + ", ".join(str(c.address) for c in left)
        )
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
