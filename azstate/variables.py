"""``${var.NAME}`` in string values: parsing references, resolving them, tracking secrets.

Only ``${var.…}`` belongs to azstate; every other ``${…}`` is Azkaban's own property syntax
(``${azkaban.flow.start.timestamp}``) and is left exactly as written, so a flow parameter can
still hand Azkaban a property reference. ``$${`` writes a literal ``${`` (import uses it for text
that would otherwise read as a variable). Keys (table names, project names, flow ids) are never
interpolated: a name must not depend on the command line.

A string that uses a sensitive variable is sensitive as a whole: masking only the variable's
part would still show everything around it, and often the secret is most of the value.

This module is pure: load.py collects the values (``--var``, ``AZSTATE_VAR_NAME``, defaults)
and turns the problems returned here into ConfigErrors at the file and line of the value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from azstate.config import quoted, suggestion

KeyPath = tuple[str | int, ...]
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ENV_PREFIX = "AZSTATE_VAR_"
_MARK = re.compile(r"\$\$\{|\$\{var\.")
_REFERENCE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Variable:
    """A declared variable and the value this run gives it.

    ``origin`` says where the value came from, for ``validate --resolved``: ``--var``,
    ``AZSTATE_VAR_NAME`` or ``default``; ``value`` is None when nothing sets it.
    """

    name: str
    value: str | None
    sensitive: bool
    origin: str

    def __repr__(self) -> str:  # a secret must not reach a log or a traceback by repr()
        shown = "(sensitive)" if self.sensitive and self.value is not None else repr(self.value)
        return f"Variable(name={self.name!r}, value={shown}, origin={self.origin!r})"


@dataclass(frozen=True)
class Interpolated:
    """One string after interpolation and what it took to make it."""

    text: str
    used: frozenset[str] = frozenset()
    sensitive: bool = False
    unknown: bool = False  # uses a variable with no value (validate only)
    problems: tuple[str, ...] = ()


def interpolate(
    text: str, variables: Mapping[str, Variable], *, require_values: bool
) -> Interpolated:
    """``text`` with every ``${var.NAME}`` replaced and every ``$${`` made ``${``.

    A variable with no value is a problem when ``require_values`` (plan, apply); otherwise
    (validate, offline) the reference is kept as written and the string is marked unknown.
    """
    if "${" not in text:
        return Interpolated(text)
    out: list[str] = []
    used: set[str] = set()
    problems: list[str] = []
    sensitive = unknown = False
    pos = 0
    for mark in _MARK.finditer(text):
        if mark.start() < pos:
            continue
        out.append(text[pos : mark.start()])
        if mark.group() == "$${":
            out.append("${")
            pos = mark.end()
            continue
        reference = _REFERENCE.match(text, mark.end())
        if reference is None:
            end = text.find("}", mark.end())
            shown = text[mark.start() : end + 1] if end >= 0 else text[mark.start() :]
            problems.append(
                f"bad variable reference {quoted(shown[:40])}: write ${{var.NAME}} (NAME: "
                "letters, digits and '_'), or $${ for a literal ${"
            )
            out.append(text[mark.start() : mark.end()])
            pos = mark.end()
            continue
        name = reference.group(1)
        pos = reference.end()
        variable = variables.get(name)
        if variable is None:
            close = suggestion(name, sorted(variables))
            hint = f' (did you mean "{close}"?)' if close else ""
            declared = "" if variables else "; declare it in [variables]"
            problems.append(
                f"${{var.{name}}}: no variable {quoted(name)} is declared{hint}{declared}"
            )
            out.append(text[mark.start() : pos])
            continue
        used.add(name)
        sensitive = sensitive or variable.sensitive
        if variable.value is None:
            if require_values:
                problems.append(
                    f"${{var.{name}}}: variable {quoted(name)} has no value: set it with "
                    f"--var {name}=VALUE or {ENV_PREFIX}{name}, or give it a default"
                )
            unknown = True
            out.append(text[mark.start() : pos])
            continue
        out.append(variable.value)
    out.append(text[pos:])
    return Interpolated("".join(out), frozenset(used), sensitive, unknown, tuple(problems))


@dataclass
class Resolution:
    """What interpolating a whole document found, by merged key path."""

    sensitive: set[KeyPath] = field(default_factory=set)
    unknown: set[KeyPath] = field(default_factory=set)
    used: set[str] = field(default_factory=set)
    problems: list[tuple[KeyPath, str]] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)  # interpolated values that are sensitive


def interpolate_tree(
    node: Any,
    variables: Mapping[str, Variable],
    *,
    require_values: bool,
    resolution: Resolution,
    at: KeyPath = (),
) -> Any:
    """``node`` with every string value interpolated (keys are left alone); tables and arrays
    are changed in place. Only strings holding ``${`` are touched: a big fleet has no time to
    spare on the rest."""
    if isinstance(node, str):
        return _interpolate_one(node, variables, require_values, resolution, at)
    if not isinstance(node, dict | list):
        return node
    entries: Any = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in list(entries):
        if isinstance(value, str):
            if "${" in value:
                path = (*at, key)
                node[key] = _interpolate_one(value, variables, require_values, resolution, path)
        elif isinstance(value, dict | list):
            interpolate_tree(
                value,
                variables,
                require_values=require_values,
                resolution=resolution,
                at=(*at, key),
            )
    return node


def _interpolate_one(
    text: str,
    variables: Mapping[str, Variable],
    require_values: bool,
    resolution: Resolution,
    at: KeyPath,
) -> str:
    result = interpolate(text, variables, require_values=require_values)
    resolution.used |= result.used
    resolution.problems.extend((at, p) for p in result.problems)
    if result.sensitive:
        resolution.sensitive.add(at)
        if not result.unknown:  # else the text is the reference, not a secret
            resolution.secrets.add(result.text)
    if result.unknown:
        resolution.unknown.add(at)
    return result.text


_NEEDS_ESCAPE = re.compile(r"(?<=\$)\$\{|\$\{(?=var\.)")


def escape(text: str) -> str:
    """Text that interpolates back to itself (for import, and for --resolved's output).

    Only what interpolation would change gets a ``$`` more: ``${var.`` and a ``${`` after a
    ``$``; Azkaban's own ``${azkaban.flow.start.timestamp}`` stays as it reads.
    """
    return _NEEDS_ESCAPE.sub("$${", text)


def parse_assignment(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` from ``--var``; the value is never put in an error message."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not VARIABLE_NAME.fullmatch(name):
        shown = name if VARIABLE_NAME.fullmatch(name) else "NAME"
        raise ValueError(f"--var expects NAME=VALUE (e.g. --var {shown}=prod)")
    return name, value
