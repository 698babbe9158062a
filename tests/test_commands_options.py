"""The command line read once into a typed, frozen Options value."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from azstate.address import Address
from azstate.cli import build_parser
from azstate.commands.options import Options
from azstate.errors import AzstateError
from azstate.views import Format


def parse(*argv: str) -> argparse.Namespace:
    parser = build_parser(only=argv[0])
    return parser.parse_args(list(argv))


def test_plan_flags_become_typed_options() -> None:
    args = parse(
        "plan",
        "--sandbox",
        "--parallelism",
        "3",
        "--format",
        "markdown",
        "--target",
        "project.etl",
        "-c",
        "x.toml",
        "--no-color",
    )
    options = Options.from_args(args, environ={})
    assert options == Options(
        no_color=True,
        config="x.toml",
        sandbox=True,
        parallelism=3,
        targets=(Address.parse("project.etl"),),
        format=Format.MARKDOWN,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.sandbox = False  # type: ignore[misc]


def test_a_command_without_a_flag_gets_its_default() -> None:
    options = Options.from_args(parse("validate"), environ={})
    assert options == Options()
    assert Options.from_args(parse("validate"), environ={"NO_COLOR": "1"}).no_color


def test_a_bad_target_fails_when_read() -> None:
    with pytest.raises(AzstateError, match="invalid address"):
        Options.from_args(parse("plan", "--target", "nonsense"), environ={})


def test_every_format_flag_offers_the_one_list() -> None:
    for command in ("plan", "show", "apply"):
        parser = build_parser(only=command)
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        fmt = next(a for a in sub.choices[command]._actions if a.dest == "format")
        assert list(fmt.choices or ()) == [f.value for f in Format]
        assert fmt.help
