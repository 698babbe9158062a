"""``azstate validate --resolved``: the merged configuration as TOML, each value with its origin.

With ``extends``, ``[defaults]`` and variables, the value a schedule ends up with may be written
in three files away from it; this answers "what will azstate use, and where does it come from"
without a server. Every value carries a trailing ``# from FILE:LINE`` comment (a variable's value
says ``--var``, ``AZSTATE_VAR_NAME`` or the line of its default). Sensitive values are printed
as ``"(sensitive)"``; a value that uses a variable with no value is printed as written, marked
``# unknown``. The output is TOML: ``${var.`` in a literal value is written ``$${var.`` so that
reading it back gives the same value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from azstate.export import comment_text
from azstate.export import quote as toml_quote
from azstate.layers import KeyPath
from azstate.load import LoadedConfig, render_key_path
from azstate.variables import escape

MASK = "(sensitive)"
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ORDER = ("variables", "defaults", "server", "azstate", "projects")


def render_resolved(loaded: LoadedConfig) -> str:
    """The merged configuration (extends laid over, variables set, defaults filled) as TOML."""
    writer = _Writer(loaded)
    document = dict(loaded.document)
    variables = document.pop("variables", None)
    header = [  # file names are anyone's text (a pull request adds a file to a directory)
        "# The configuration azstate uses, resolved from: "
        + comment_text(", ".join(t.shown for t in loaded.toml)),
        "# Sensitive values are shown as (sensitive); a relative path (source, ca_bundle) is",
        "# relative to the file that wrote it.",
    ]
    writer.lines.extend(header)
    if isinstance(variables, Mapping) and variables:
        writer.variables(variables)
    ordered = sorted(document, key=lambda k: (_ORDER.index(k) if k in _ORDER else -1, k))
    writer.table((), {k: document[k] for k in ordered})
    return "\n".join(writer.lines).rstrip("\n") + "\n"


class _Writer:
    def __init__(self, loaded: LoadedConfig) -> None:
        self.loaded = loaded
        self.unknown = loaded.unknown
        self.lines: list[str] = []

    def where(self, path: KeyPath) -> str:
        file, line = self.loaded.locate(render_key_path(path))
        return f"{file}:{line}" if line else file

    def comment(self, path: KeyPath) -> str:
        rendered = render_key_path(path)
        note = f"from {self.where(path)}"
        if any(
            u == rendered or u.startswith((f"{rendered}.", f"{rendered}[")) for u in self.unknown
        ):
            note += "; unknown: uses a variable with no value"
        return f"  # {comment_text(note)}"

    def variables(self, table: Mapping[str, Any]) -> None:
        self.lines += ["", "[variables]"]
        for name in table:
            variable = self.loaded.variables.get(name)
            if variable is None:
                continue
            key = _key(name)
            if variable.value is None:
                how = f"--var {name}=VALUE or AZSTATE_VAR_{name}"
                self.lines.append(f"# {comment_text(f'{key}: no value (set it with {how})')}")
                continue
            shown = _string(MASK if variable.sensitive else variable.value, escaped=False)
            spec = f"{{ default = {shown}, sensitive = true }}" if variable.sensitive else shown
            origin = variable.origin
            source = self.where(("variables", name, "default")) if origin == "default" else origin
            self.lines.append(f"{key} = {spec}  # from {comment_text(source)}")

    def table(self, path: KeyPath, table: Mapping[str, Any]) -> None:
        scalars = [(k, v) for k, v in table.items() if not isinstance(v, Mapping)]
        tables = [(k, v) for k, v in table.items() if isinstance(v, Mapping)]
        if path and (scalars or not tables):
            self.lines += ["", f"[{'.'.join(_key(str(part)) for part in path)}]"]
        for key, value in scalars:
            at = (*path, key)
            self.lines.append(f"{_key(key)} = {self.value(at, value)}{self.comment(at)}")
        for key, value in tables:
            self.table((*path, key), value)

    def value(self, path: KeyPath, value: Any) -> str:
        if self.loaded.is_sensitive(render_key_path(path)) and not isinstance(
            value, Mapping | list
        ):
            return _string(MASK, escaped=False)
        if isinstance(value, Mapping):
            inner = ", ".join(f"{_key(k)} = {self.value((*path, k), v)}" for k, v in value.items())
            return f"{{ {inner} }}" if inner else "{}"
        if isinstance(value, list):
            items = [self.value((*path, i), v) for i, v in enumerate(value)]
            if any(isinstance(v, Mapping) for v in value):
                return "[\n" + "".join(f"  {item},\n" for item in items) + "]"
            return "[" + ", ".join(items) + "]"
        if isinstance(value, str) and render_key_path(path) in self.unknown:
            return _string(value, escaped=False)  # still a reference, as written
        return _scalar(value)


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else toml_quote(key)


def _string(text: str, *, escaped: bool = True) -> str:
    # export.quote: JSON's escapes (TOML's too), and nothing invisible or able to act when the
    # output is printed in a CI log.
    return toml_quote(escape(text) if escaped else text)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return _string(str(value))
