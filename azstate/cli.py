"""Command line entry: parse, dispatch, turn AzstateError into one line and exit code 1.

This is the only place that exits. Each subcommand lives in azstate/commands/<module>.py and
exposes ``add_arguments(parser)`` and ``run(args) -> int`` (which first reads args into
commands/options.Options); its name and help are in COMMANDS below, so modules are imported
only when their command runs and ``azstate --version`` stays fast.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from azstate import __version__
from azstate.errors import AzstateError, describe

COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("validate", "validate", "check the configuration and sources offline"),
    ("plan", "plan", "show what apply would change on the server"),
    ("apply", "apply", "make the changes of a plan on the server"),
    ("show", "show", "render a saved plan"),
    ("import", "import_", "write an existing server down as configuration"),
    ("cron", "cron", "check Quartz cron expressions and show their next fire times"),
    ("schema", "schema", "print the JSON Schema of the configuration or the plan"),
    ("sandbox", "sandbox", "run the built-in Azkaban emulator"),
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
        print(f"Error: {message}", file=sys.stderr)
        raise SystemExit(1)


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # Accepted before or after the command name; SUPPRESS keeps the top-level value.
    default = False if top else argparse.SUPPRESS
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=default,
        help="log every AJAX call (secrets redacted) to stderr",
    )
    parser.add_argument(
        "--no-color", action="store_true", default=default, help="plain output without colour"
    )


def _load(module: str) -> ModuleType:
    return importlib.import_module(f"azstate.commands.{module}")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="azstate", description="Terraform for the Azkaban workflow scheduler."
    )
    parser.add_argument("--version", action="version", version=f"azstate {__version__}")
    _common(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, module, help_text in COMMANDS:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _common(p, top=False)
        if only == name:
            _load(module).add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def _command_name(argv: Sequence[str]) -> str | None:
    names = {name for name, _, _ in COMMANDS}
    return next((a for a in argv if a in names), None)


def _configure_logging(*, verbose: bool) -> None:
    """-v shows azstate's own call log (already redacted); urllib3's request lines carry the
    session id in the URL, so they stay off, and every line passes a redacting filter too."""
    from azstate.redaction import RedactingFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(RedactingFilter())
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    logging.getLogger("azstate").setLevel(logging.DEBUG if verbose else logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    logging.getLogger("azstate.sandbox").setLevel(logging.WARNING)  # the server side of --sandbox


def tune_gc() -> None:
    """A plan of a large fleet allocates millions of small long-lived objects; with CPython's
    default thresholds the full collections that keep rescanning them make the core grow
    faster than linearly (x16 instead of x10 from 1,000 to 10,000 schedules)."""
    gc.set_threshold(100_000, 50, 100)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(only=_command_name(args_list))
    args = parser.parse_args(args_list)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 1
    _configure_logging(verbose=args.verbose)
    tune_gc()
    try:
        code: int = _load(args._module).run(args)
    except AzstateError as exc:
        # One line, nothing in it able to act on a terminal or a CI log: a message may quote
        # a server's reply or a value from the configuration.
        from azstate.views.neutral import for_text

        print(f"Error: {for_text(describe(exc))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 1
    return code
