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
from azstate.plan import FORMAT_VERSION, Plan

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
    """Plan.to_json()'s shape: the model's schema, with calls as to_json writes them."""
    schema = Plan.model_json_schema(mode="serialization")
    call = schema["$defs"]["Call"]
    properties = call["properties"]
    properties.pop("mutating", None)
    properties["params"] = {
        "description": (
            "Request parameters by name; a list of [name, value] pairs when a name repeats."
        ),
        "anyOf": [
            {"type": "object", "additionalProperties": {"type": "string"}},
            {
                "type": "array",
                "items": {
                    "type": "array",
                    "prefixItems": [{"type": "string"}, {"type": "string"}],
                    "minItems": 2,
                    "maxItems": 2,
                },
            },
        ],
    }
    properties["multipart"] = {"const": True, "description": "Present on uploads only."}
    properties["upload"] = {"$ref": "#/$defs/UploadFile", "description": "Present on uploads only."}
    call["required"] = ["method", "path", "params"]
    schema["properties"]["format_version"] = {"const": FORMAT_VERSION, "type": "string"}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "azstate plan"
    schema["description"] = (
        "The output of `azstate plan --format json` and the content of a saved plan file."
    )
    return schema
