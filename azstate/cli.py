"""Command line entry: parse, dispatch, turn AzstateError into one line and exit code 1, and
Ctrl-C or SIGTERM into exit code 130.

This is the only place that exits. Each subcommand lives in azstate/commands/<module>.py and
exposes ``add_arguments(parser)`` and ``run(args) -> int`` (which first reads args into
commands/options.Options); its name and help are in COMMANDS below, so modules are imported
only when their command runs and ``azstate --version`` stays fast.
"""

from __future__ import annotations

import argparse
import difflib
import gc
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import NoReturn

from azstate import GC_THRESHOLDS, __version__
from azstate.errors import AzstateError, describe


@dataclass(frozen=True)
class Command:
    """One subcommand: where it lives, what it is for, whether it talks to a server (only then
    is -v offered), and an example shown at the end of its --help."""

    name: str
    module: str
    help: str
    calls: bool
    example: str


ENVIRONMENT = """\
environment:
  AZKABAN_URL       the server (overrides server.url)
  AZKABAN_USERNAME  the user to log in as
  AZKABAN_PASSWORD  its password (never a flag or in the TOML; prompted for on a terminal)"""

COMMANDS: tuple[Command, ...] = (
    Command(
        "validate", "validate", "check the configuration and sources offline", False,
        "  azstate validate\n  azstate validate -c config/ --var env=prod --resolved",
    ),
    Command(
        "plan", "plan", "show what apply would change on the server", True,
        "  azstate plan\n"
        "  azstate plan --out plan.json        # save it, then: azstate apply plan.json\n"
        "  azstate plan --format markdown > plan.md\n"
        "  azstate plan --target project.etl.schedule.daily",
    ),
    Command(
        "apply", "apply", "make the changes of a plan on the server", True,
        "  azstate apply                       # shows the plan, asks, then applies\n"
        "  azstate apply plan.json             # a plan saved by plan --out, applied whole\n"
        "  azstate apply --auto-approve --format json > report.json\n"
        "  azstate apply --dry-run             # the exact calls, nothing sent\n"
        "\n"
        "without a terminal (CI), apply does not ask: it needs --auto-approve or a saved\n"
        "PLANFILE, writes the report to stdout, and prints one line on stderr per finished\n"
        "change; a call the server is slow to answer is named after a few seconds.",
    ),
    Command(
        "show", "show", "render a saved plan", False,
        "  azstate show plan.json\n  azstate show plan.json --format markdown",
    ),
    Command(
        "import", "import_", "write an existing server down as configuration", True,
        "  azstate import --project etl reports --out infra/\n"
        "  azstate import --all --timezone America/Los_Angeles",
    ),
    Command(
        "cron", "cron", "check Quartz cron expressions and show their next fire times", False,
        "  azstate cron '0 0 2 ? * *' --timezone America/Los_Angeles\n"
        "  azstate cron --file crons.txt --json",
    ),
    Command(
        "schema", "schema", "print the JSON Schema of the configuration or the plan", False,
        "  azstate schema > azstate.schema.json\n  azstate schema plan",
    ),
    Command(
        "sandbox", "sandbox", "run the built-in Azkaban emulator", False,
        "  azstate sandbox serve               # user azkaban, password azkaban\n"
        "  azstate sandbox serve --port 9000 --latency-ms 50",
    ),
)


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on a bad flag; azstate's contract is 1 for every user error."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        prefix = "unrecognized arguments: "
        if message.startswith(prefix):
            # Name the flags only: a value typed after one (--password ...) is not echoed.
            flags = [a.split("=")[0] for a in message[len(prefix) :].split() if a.startswith("-")]
            message = prefix + (" ".join(flags) if flags else "(values not shown)")
            if any(f in ("--password", "-p") for f in flags):
                message += "; azstate reads the password from AZKABAN_PASSWORD only"
            elif hint := _nearest(flags, self._option_strings()):
                message += f"; did you mean {hint}?"
        elif message.startswith("argument COMMAND: invalid choice: "):
            typed = message.split("'")[1] if "'" in message else ""
            if hint := _nearest([typed], [c.name for c in COMMANDS]):
                message = f"unknown command {typed!r}; did you mean {hint}?"
        from azstate.views.neutral import for_text

        print(f"Error: {for_text(message)}", file=sys.stderr)
        raise SystemExit(1)

    def _option_strings(self) -> list[str]:
        return [s for a in self._actions for s in a.option_strings if s.startswith("--")]


def _nearest(typed: Sequence[str], known: Sequence[str]) -> str | None:
    """The known word closest to the first typed one that is close to any (difflib's ratio)."""
    for word in typed:
        match = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
        if match:
            return match[0]
    return None


def _verbose(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # Accepted before or after the command name; SUPPRESS keeps the top-level value.
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=False if top else argparse.SUPPRESS,
        help="log every AJAX call of plan, apply and import (secrets redacted) to stderr"
        if top else "log every AJAX call (secrets redacted) to stderr",
    )


def _no_color(parser: argparse.ArgumentParser, *, top: bool) -> None:
    parser.add_argument(
        "--no-color", action="store_true", default=False if top else argparse.SUPPRESS,
        help="plain output without colour (also when NO_COLOR is set)",
    )


def _load(module: str) -> ModuleType:
    return importlib.import_module(f"azstate.commands.{module}")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="azstate",
        description="Terraform for the Azkaban workflow scheduler.",
        epilog="run `azstate COMMAND --help` for a command's flags and examples.\n\n"
        + ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"azstate {__version__}")
    _verbose(parser, top=True)
    _no_color(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for command in COMMANDS:
        epilog = "examples:\n" + command.example
        if command.calls:
            epilog += "\n\n" + ENVIRONMENT
        p = sub.add_parser(
            command.name,
            help=command.help,
            description=command.help,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if command.calls:
            _verbose(p, top=False)
        _no_color(p, top=False)
        if only == command.name:
            _load(command.module).add_arguments(p)
        p.set_defaults(_module=command.module)
    return parser


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser | None = action.choices.get(name)
            return found
    return None


def _command_name(argv: Sequence[str]) -> str | None:
    names = {c.name for c in COMMANDS}
    return next((a for a in argv if a in names), None)


def _configure_logging(*, verbose: bool) -> None:
    """-v shows azstate's own call log (already redacted); urllib3's request lines carry the
    session id in the URL, so they stay off, and every line passes a redacting filter too."""
    from azstate.redaction import RedactingFilter
    from azstate.views.neutral import NeutralFormatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(NeutralFormatter("%(message)s"))  # a logged parameter is a value
    handler.addFilter(RedactingFilter())
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    logging.getLogger("azstate").setLevel(logging.DEBUG if verbose else logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    logging.getLogger("azstate.sandbox").setLevel(logging.WARNING)  # the server side of --sandbox


def tune_gc() -> None:
    """A plan of a large fleet allocates millions of small long-lived objects; with CPython's
    default thresholds the full collections that keep rescanning them make the core grow
    faster than linearly (x16 instead of x10 from 1,000 to 10,000 schedules; still x13-x15
    with (100_000, 50, 100)). A run lasts seconds and builds few cycles: young collections
    every million allocations, older ones practically never, measure x10-x11. The package
    sets them when imported; this sets them again for a caller that changed them."""
    gc.set_threshold(*GC_THRESHOLDS)


def entry() -> NoReturn:
    """The process's entry point (the console script and ``python -m azstate``). Everything a
    run built is freed at exit anyway: frozen first, it spares the interpreter's final
    collection a walk over every object (50 ms after a plan of a thousand projects). Not in
    main(), which tests call many times in one process."""
    code = main()
    gc.freeze()
    raise SystemExit(code)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(only=_command_name(args_list))
    args, unknown = parser.parse_known_args(args_list)
    if unknown:
        # Reported by the command's own parser: its usage, and the nearest of its flags.
        command = getattr(args, "command", None)
        owner = (_subparser(parser, command) if command else None) or parser
        owner.error("unrecognized arguments: " + " ".join(unknown))
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 1
    _configure_logging(verbose=args.verbose)
    tune_gc()
    try:
        with _sigterm_as_interrupt():
            code: int = _load(args._module).run(args)
    except AzstateError as exc:
        # One line, nothing in it able to act on a terminal or a CI log: a message may quote
        # a server's reply or a value from the configuration.
        from azstate.views.neutral import for_text

        print(f"Error: {for_text(describe(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if argv is None:  # exiting now: another Ctrl-C must not print a traceback instead
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, signal.SIG_IGN)
        print("Interrupted.", file=sys.stderr)
        code = INTERRUPTED
    if code == INTERRUPTED and argv is None:
        _exit_now(code)
    return code


INTERRUPTED = 130  # 128 + SIGINT, as shells report a process stopped by Ctrl-C


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI job cancelled, a container stopped) is handled as Ctrl-C is: by default
    it would kill the process without a word, in the middle of an apply, with no report."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit_now(code: int) -> NoReturn:
    """Exit without waiting for calls still in flight on worker threads (the interpreter
    would join them at exit): an interrupted command has printed all it will say."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
