"""The command line's common flags, and their values as one typed, frozen value.

argparse gives a Namespace whose attributes depend on the subcommand; reading it with getattr
deep inside (connect, consoles) hid which command offered what. Each command's ``run`` builds
Options first and passes it on; nothing below the commands sees a Namespace.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from azstate.address import Address
from azstate.boundary import ALLOW_ENV, ALLOW_FLAG, allowed_by_environment
from azstate.errors import AzstateError
from azstate.variables import parse_assignment
from azstate.views import Format


def add_config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        default=None,  # None: not given (apply PLANFILE refuses it); Options reads the default
        metavar="PATH",
        help="a TOML file or a directory of them (default: ./azstate.toml)",
    )
    parser.add_argument(
        ALLOW_FLAG,
        action="store_true",
        help="let sources and extends files lie outside the repository holding the "
        f"configuration (or set {ALLOW_ENV}=1); never settable in the configuration",
    )
    parser.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a [variables] value (also AZSTATE_VAR_NAME); repeatable",
    )


def add_server_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--parallelism",
        type=_positive,
        default=None,
        metavar="N",
        help="concurrent requests, at least 1 (default: server.parallelism)",
    )
    parser.add_argument(
        "--allow-http-downgrade",
        action="store_true",
        help="accept an AZKABAN_URL that points an https server.url at plain http",
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="run against the built-in Azkaban emulator (state in the nearest .azstate/sandbox/ "
        "at or above the configuration, else beside it)",
    )


def add_refresh_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--refresh",
        choices=("full",),
        default=None,
        help="full: read every project in full, trusting no cached change token (a scheduled "
        "drift check; see docs/performance.md)",
    )


def _positive(text: str) -> int:
    """argparse's type for counts: a number of at least 1, else one clear line."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_format_arg(parser: argparse.ArgumentParser, what: str = "the plan") -> None:
    parser.add_argument(
        "--format",
        choices=[f.value for f in Format],
        default=Format.TEXT.value,
        help=f"how to write {what}: text for people (default), json for scripts, markdown for "
        "a pull-request comment",
    )


ADDRESSES = """\
addresses (for --target; plans and reports name resources the same way):
  project.NAME                           the project: existence and description
  project.NAME.files                     the uploaded zip's content
  project.NAME.schedule.FLOW             a flow's cron schedule and its options
  project.NAME.sla.FLOW                  the SLA of that schedule
  project.NAME.permission.user.USER      one user's permissions
  project.NAME.permission.group.GROUP    one group's permissions
  a name other than letters, digits, _ and - goes in brackets as a JSON string:
  project.etl.permission.group["ops.team"]   project.etl.schedule["nightly load"]"""


def add_target_arg(parser: argparse.ArgumentParser) -> None:
    """--target, and the address grammar at the end of the command's help."""
    parser.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="limit the plan to this resource (and what it needs); repeatable; see addresses below",
    )
    parser.epilog = f"{parser.epilog}\n\n{ADDRESSES}" if parser.epilog else ADDRESSES


def add_baseline_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--baseline",
        metavar="REV",
        default=None,
        help="a git revision holding the configuration last applied: each change then says "
        "whether it is this change, drift on the server, or a conflict",
    )


@dataclass(frozen=True)
class Options:
    """What every command may have been given; a command without the flag gets the default."""

    verbose: bool = False
    no_color: bool = False  # --no-color, or NO_COLOR set in the environment
    config: str = "azstate.toml"
    sandbox: bool = False
    parallelism: int | None = None
    targets: tuple[Address, ...] = ()
    format: Format = Format.TEXT
    allow_http_downgrade: bool = False
    allow_outside_sources: bool = False  # --allow-outside-sources or its environment variable
    variables: Mapping[str, str] = field(default_factory=dict)  # --var NAME=VALUE
    full_refresh: bool = False  # --refresh=full: no cached change token is trusted

    @classmethod
    def from_args(
        cls, args: argparse.Namespace, *, environ: Mapping[str, str] | None = None
    ) -> Options:
        """The one place a Namespace is read: a bad --target fails here, before any request."""
        given: dict[str, Any] = vars(args)
        env: Mapping[str, str] = os.environ if environ is None else environ
        return cls(
            verbose=bool(given.get("verbose", False)),
            no_color=bool(given.get("no_color", False)) or "NO_COLOR" in env,
            config=str(given.get("config") or "azstate.toml"),
            sandbox=bool(given.get("sandbox", False)),
            parallelism=given.get("parallelism"),
            targets=tuple(Address.parse(t) for t in given.get("target") or ()),
            format=Format(given.get("format") or Format.TEXT),
            allow_http_downgrade=bool(given.get("allow_http_downgrade", False)),
            allow_outside_sources=bool(given.get("allow_outside_sources", False))
            or allowed_by_environment(env),
            variables=_variables(given.get("var") or ()),
            full_refresh=given.get("refresh") == "full",
        )


def _variables(assignments: Iterable[str]) -> dict[str, str]:
    """--var NAME=VALUE flags; the last one wins, as in Terraform."""
    values: dict[str, str] = {}
    for text in assignments:
        try:
            name, value = parse_assignment(text)
        except ValueError as exc:
            raise AzstateError(str(exc)) from None
        values[name] = value
    return values
