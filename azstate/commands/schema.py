"""azstate schema [config|plan]: the JSON Schema of the configuration or of a plan.

schema/azstate.schema.json and schema/plan.schema.json are this command's output, committed so
that editors can check TOML files offline (the examples point at it with a ``#:schema``
comment, which taplo / Even Better TOML and tombi read) and scripts can check plan JSON. A test
fails when they are out of date; regenerate them with::

    azstate schema config > schema/azstate.schema.json
    azstate schema plan > schema/plan.schema.json
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from azstate.config import json_schema as config_schema
from azstate.plan import Plan

KINDS = ("config", "plan")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "kind",
        nargs="?",
        choices=KINDS,
        default="config",
        help="config: the TOML file (default); plan: plan JSON and saved plans",
    )


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(render(args.kind))
    return 0


def render(kind: str) -> str:
    """The schema as the committed file holds it: stable key order, two-space indent."""
    schema = config_schema() if kind == "config" else plan_schema()
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def plan_schema() -> dict[str, Any]:
    """Plan.to_json()'s shape: the model's own serialisation schema (plan.py)."""
    return Plan.model_json_schema(mode="serialization")
