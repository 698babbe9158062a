"""Reads the configuration (a TOML file or a directory of them) and its sources.

Everything a user can get wrong in the file is reported here, before any request is sent, as
one ConfigError naming the file, the line and the dotted key path
(``azstate.toml:14: projects.etl.schedules.daily_load.cron: ...``); further problems follow on
the next lines. tomli gives no line numbers for keys, so KeyLocator re-reads the text for
them. Pydantic's ValidationError never leaves this module.

A configuration is layered before it is validated: the files it ``extends`` are laid under it
(layers.py), ``${var.NAME}`` is interpolated (variables.py) and [defaults] are filled in
(defaults.py), all on one merged document whose Origins remember the file and key that wrote
each value, so that every message names the line where the value was written, in a base file
or in [defaults] too, and a message about a sensitive value never shows it.

Sources are read here too: a directory is zipped (deterministically, archive.py), a ``.zip``
file is taken as it is; flows.py finds the flows in them, and schedules, disabled jobs and SLA
jobs that name a flow or job that is not there are errors at their own key.
"""

from __future__ import annotations

import hashlib
import os
import re
import types
import typing
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import tomli
from pydantic import BaseModel, ValidationError

from azstate import cron
from azstate.archive import (
    MAX_TOTAL,
    SKIPPED_DIRS,
    SKIPPED_FILES,
    ZipOnDisk,
    build_zip_file,
    digest_of,
    file_sha256,
    list_files,
    read_zip_safely,
    short_digests,
    upload_name,
    zip_digests,
)
from azstate.boundary import Confinement
from azstate.buildcache import BuildCache, Built, Discovered
from azstate.config import (
    Config,
    ProjectConfig,
    ServerConfig,
    describe_value,
    quoted,
    suggestion,
)
from azstate.defaults import apply_defaults
from azstate.errors import ConfigError, CronError, SourceError
from azstate.export import quote as toml_quote
from azstate.flows import FlowInfo, discover
from azstate.layers import KeyPath, Origin, Origins, copy_tree, lay_over
from azstate.state import SourceFiles
from azstate.variables import ENV_PREFIX, Resolution, Variable, interpolate_tree
from azstate.wire.replies import description_as_shown

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_MAX_SHOWN = 20
MAX_TOML = 64 * 1024 * 1024  # a file is checked before it is read: -c /dev/zero must not hang
_MAX_LISTED = 12


# Key paths ---------------------------------------------------------------------------------


def render_key_path(path: KeyPath) -> str:
    """``projects.etl.schedules.daily.sla.rules[1].duration``; odd keys quoted as in TOML."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        # export.quote escapes every control character, so parse_key_path reads any key back
        # (a key with a newline or DEL made tomli fail there, a traceback in --resolved).
        text = part if _BARE_KEY.fullmatch(part) else toml_quote(part)
        out += f".{text}" if out else text
    return out


def parse_key_path(text: str) -> KeyPath:
    """The inverse of render_key_path."""
    parts: list[str | int] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == ".":
            i += 1
        elif ch == "[":
            end = text.index("]", i)
            parts.append(int(text[i + 1 : end]))
            i = end + 1
        elif ch == '"':
            j = i + 1
            while j < len(text) and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            parts.append(tomli.loads(f"k = {text[i : j + 1]}")["k"])
            i = j + 1
        else:
            match = _BARE_KEY.match(text, i)
            if match is None:
                raise ValueError(f"bad key path {text!r}")
            parts.append(match.group())
            i = match.end()
    return tuple(parts)


# Line numbers of keys -------------------------------------------------------------------------


class KeyLocator:
    """Maps key paths of a (valid) TOML document to the line that defines them.

    Handles table headers, arrays of tables, dotted keys, inline tables and arrays (elements
    get their index), strings of every kind and comments. A path not found falls back to the
    nearest enclosing key that is, so a missing key points at its table.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self._lines: dict[KeyPath, int] = {}
        self._aot: dict[KeyPath, int] = {}
        self._parsed = False

    @property
    def lines(self) -> dict[KeyPath, int]:
        if not self._parsed:
            self._parsed = True
            self._parse()
        return self._lines

    def find(self, path: KeyPath) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one.

        The text is scanned on the first question only: a valid configuration never asks, and
        the scan costs as much as tomli's parse on a big fleet.
        """
        lines = self.lines
        for end in range(len(path), 0, -1):
            line = lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None

    # scanning

    def _peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def _advance(self, n: int = 1) -> None:
        chunk = self.text[self.pos : self.pos + n]
        self.line += chunk.count("\n")
        self.pos += len(chunk)

    def _skip_blank(self, *, newlines: bool) -> None:
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch in " \t" or (newlines and ch in "\r\n"):
                self._advance()
            elif ch == "#":
                end = self.text.find("\n", self.pos)
                self._advance((len(self.text) if end < 0 else end) - self.pos)
            else:
                return

    def _record(self, path: KeyPath, line: int) -> None:
        for end in range(1, len(path) + 1):
            self._lines.setdefault(tuple(path[:end]), line)

    def _parse(self) -> None:
        table: KeyPath = ()
        while True:
            self._skip_blank(newlines=True)
            if self.pos >= len(self.text):
                return
            line = self.line
            if self._peek(2) == "[[":
                self._advance(2)
                raw = self._key()
                self._skip_blank(newlines=False)
                self._advance(2)
                table = self._resolve(raw, array=True)
                self._record(table, line)
            elif self._peek() == "[":
                self._advance()
                raw = self._key()
                self._skip_blank(newlines=False)
                self._advance()
                table = self._resolve(raw, array=False)
                self._record(table, line)
            else:
                self._key_value(table)

    def _resolve(self, raw: tuple[str, ...], *, array: bool) -> KeyPath:
        """A header's key with the current index of every array of tables on its way."""
        out: KeyPath = ()
        for index, part in enumerate(raw):
            out = (*out, part)
            if array and index == len(raw) - 1:
                count = self._aot.get(out, 0)
                self._aot[out] = count + 1
                out = (*out, count)
            elif out in self._aot:
                out = (*out, self._aot[out] - 1)
        return out

    def _key(self) -> tuple[str, ...]:
        parts: list[str] = []
        while True:
            self._skip_blank(newlines=False)
            ch = self._peek()
            if ch in ('"', "'"):
                start = self.pos
                self._string()
                parts.append(tomli.loads(f"k = {self.text[start : self.pos]}")["k"])
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                if match is None:
                    return tuple(parts)
                parts.append(match.group())
                self._advance(match.end() - self.pos)
            self._skip_blank(newlines=False)
            if self._peek() != ".":
                return tuple(parts)
            self._advance()

    def _key_value(self, table: KeyPath) -> None:
        line = self.line
        key = self._key()
        if not key:
            self._advance()
            return
        path = (*table, *key)
        self._record(path, line)
        self._skip_blank(newlines=False)
        if self._peek() == "=":
            self._advance()
        self._skip_blank(newlines=False)
        self._value(path)

    def _value(self, path: KeyPath) -> None:
        ch = self._peek()
        if ch in ('"', "'"):
            self._string()
        elif ch == "[":
            self._array(path)
        elif ch == "{":
            self._inline_table(path)
        else:
            while self.pos < len(self.text) and self.text[self.pos] not in ",]}#\r\n":
                self._advance()

    def _string(self) -> None:
        quote = self._peek()
        if self._peek(3) == quote * 3:
            self._advance(3)
            while self.pos < len(self.text):
                if quote == '"' and self._peek() == "\\":
                    self._advance(2)
                elif self._peek(3) == quote * 3:
                    self._advance(3)
                    while self._peek() == quote:
                        self._advance()
                    return
                else:
                    self._advance()
            return
        self._advance()
        while self.pos < len(self.text) and self._peek() not in (quote, "\n"):
            self._advance(2 if quote == '"' and self._peek() == "\\" else 1)
        self._advance()

    def _array(self, path: KeyPath) -> None:
        self._advance()
        index = 0
        while self.pos < len(self.text):
            self._skip_blank(newlines=True)
            ch = self._peek()
            if ch == "]":
                self._advance()
                return
            if ch == ",":
                self._advance()
                continue
            item = (*path, index)
            self._record(item, self.line)
            self._value(item)
            index += 1

    def _inline_table(self, path: KeyPath) -> None:
        self._advance()
        while self.pos < len(self.text):
            self._skip_blank(newlines=True)
            ch = self._peek()
            if ch == "}":
                self._advance()
                return
            if ch == ",":
                self._advance()
                continue
            before = self.pos
            self._key_value(path)
            if self.pos == before:
                self._advance()


# The result -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TomlFile:
    """One file read: its name as shown to the user, its text's keys and their lines."""

    path: Path
    shown: str
    raw: Mapping[str, Any] = field(repr=False)  # may hold interpolated secrets once loaded
    locator: KeyLocator = field(repr=False)
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    files: tuple[Path, ...]  # the TOML files read, bases included
    sources: Mapping[str, SourceFiles]  # by project name as declared; projects with a source
    artifacts: Mapping[str, ZipOnDisk]  # zip sha256 -> the exact zip to upload, in a file
    digest: str  # over the TOML files' bytes, non-sensitive variables and sources' digests
    warnings: tuple[str, ...] = ()
    flows: Mapping[str, FlowInfo] = field(default_factory=dict)  # by project, as sources
    toml: tuple[TomlFile, ...] = ()
    # The merged document that was validated (extends laid over, variables interpolated,
    # defaults filled), and which file wrote each of its values.
    document: Mapping[str, Any] = field(default_factory=dict, repr=False)  # secrets in clear
    origins: Origins[TomlFile] | None = field(default=None, repr=False)
    variables: Mapping[str, Variable] = field(default_factory=dict)
    # Key paths (render_key_path) whose values must never be shown: strings that use a
    # sensitive variable, and the sensitive variables' own values.
    sensitive: frozenset[str] = frozenset()
    # validate only: values that use a variable with no value (left as written, not checked).
    unknown: frozenset[str] = frozenset()

    def locate(self, key_path: str) -> tuple[str, int | None]:
        """(file, line) of a dotted key path, for errors found after loading (e.g. by plan):
        the file and line that wrote the value, a base file or [defaults] included."""
        path = parse_key_path(key_path)
        if len(path) >= 2 and path[0] == "projects" and isinstance(path[1], str):
            wanted = path[1].lower()
            declared = next((n for n in self.config.projects if n.lower() == wanted), path[1])
            path = ("projects", declared, *path[2:])
        origin = self.origins.of(path) if self.origins is not None else None
        if origin is not None:
            return origin.file.shown, origin.file.locator.find(origin.path)
        fallback = self.toml[0].shown if self.toml else str(self.files[0]) if self.files else ""
        return fallback, None

    def is_sensitive(self, key_path: str) -> bool:
        """Whether the value at ``key_path``, or a part of it, must be masked."""
        return key_path in self.sensitive or any(
            s.startswith(key_path) and s[len(key_path) : len(key_path) + 1] in (".", "[")
            for s in self.sensitive
        )


@dataclass(frozen=True)
class _Problem:
    file: str
    line: int | None
    key: str | None
    message: str
    order: int = 0  # the file's place in reading order, to list problems file by file

    def __str__(self) -> str:
        return str(ConfigError(self.message, file=self.file, line=self.line, key=self.key))


def _fail(problems: list[_Problem]) -> typing.NoReturn:
    first, rest = problems[0], problems[1:]
    extra = [str(p) for p in rest[: _MAX_SHOWN - 1]]
    if len(rest) > _MAX_SHOWN - 1:
        extra.append(f"... and {len(rest) - _MAX_SHOWN + 1} more problems")
    message = first.message + "".join(f"\n{line}" for line in extra)
    raise ConfigError(message, file=first.file, line=first.line, key=first.key)


class _Context:
    """Where each merged value was written, what is secret or unknown, and the problems found.

    Every problem goes through ``add``: it is located at the file and line that wrote the
    value, dropped when the value uses a variable with no value (validate), and scrubbed of
    secrets when the value is sensitive.
    """

    def __init__(
        self,
        origins: Origins[TomlFile],
        files: tuple[TomlFile, ...],
        resolution: Resolution,
        secrets: set[str],
    ) -> None:
        self.origins = origins
        self.files = files
        self.order = {id(t): index for index, t in enumerate(files)}
        self.sensitive = resolution.sensitive
        self.unknown = resolution.unknown
        self.secrets = sorted((s for s in secrets if s), key=len, reverse=True)
        self.problems: list[_Problem] = []
        self._around_secrets: set[KeyPath] | None = None

    def origin(self, path: KeyPath) -> Origin[TomlFile]:
        origin = self.origins.of(path)
        assert origin is not None, "the root always has an origin"
        return origin

    def where(self, path: KeyPath) -> tuple[TomlFile, int | None]:
        origin = self.origin(path)
        return origin.file, origin.file.locator.find(origin.path)

    def is_unknown(self, path: KeyPath) -> bool:
        return any(path[:end] in self.unknown for end in range(len(path), 0, -1))

    def touches_secret(self, path: KeyPath) -> bool:
        if not self.sensitive:
            return False
        if self._around_secrets is None:
            self._around_secrets = {s[:end] for s in self.sensitive for end in range(len(s) + 1)}
        return path in self._around_secrets or any(
            path[:end] in self.sensitive for end in range(len(path))
        )

    def scrub(self, message: str) -> str:
        for secret in self.secrets:
            for form in {secret, secret[:60], quoted(secret)[1:-1], quoted(secret[:60])[1:-1]}:
                if form:
                    message = message.replace(form, "(sensitive)")
        return message

    def problem(self, path: KeyPath, message: str) -> _Problem:
        toml, line = self.where(path)
        if self.touches_secret(path):
            message = self.scrub(message)
        order = self.order.get(id(toml), 0)
        return _Problem(toml.shown, line, render_key_path(path) or None, message, order)

    def add(self, path: KeyPath, message: str) -> None:
        if not self.is_unknown(path):
            self.problems.append(self.problem(path, message))

    def fail_if_any(self) -> None:
        if self.problems:
            _fail(self.problems)


# Loading --------------------------------------------------------------------------------------


def load_config(
    path: Path | str = "azstate.toml",
    *,
    now: datetime | None = None,
    variables: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    require_values: bool = True,
    only: frozenset[str] | None = None,
    builds: BuildCache | None = None,
    undeclared_ok: bool = False,
    allow_outside: bool = False,
    boundary: Path | None = None,
) -> LoadedConfig:
    """Read, validate and resolve the configuration and its sources.

    ``now`` is when schedules must still fire after (tests pin it). ``variables`` are the
    ``--var`` values; ``environ`` (default: the process environment) holds AZSTATE_VAR_NAME.
    Without ``require_values`` (validate, offline) a variable with no value is unknown, not an
    error. Every source's file list and flows are checked; only the projects in ``only``
    (lower-cased names; None: all) are zipped and hashed, reusing ``builds`` where a tree is
    unchanged. With ``undeclared_ok`` (a --baseline configuration, evaluated with today's --var
    values) a --var the configuration does not declare is left out instead of refused.
    ``allow_outside`` (--allow-outside-sources) lets extended files and sources lie outside the
    repository of ``path`` (boundary.py); ``boundary`` names that repository's root where
    ``path`` is in no work tree (a --baseline tree). Raises ConfigError or SourceError, never
    anything from pydantic or tomli.
    """
    confinement = Confinement(Path(path), allow_outside=allow_outside, boundary=boundary)
    reader = _Reader(confinement)
    parts = reader.parts(Path(path))
    laid = {id(t): t for part in parts for t in part.files}  # in the order laid: bases first
    files = tuple(laid.values())
    document, origins = _combine(parts)
    given = dict(variables or {})
    if undeclared_ok:
        table = document.get("variables")
        given = {k: v for k, v in given.items() if isinstance(table, Mapping) and k in table}
    declared = _declared_variables(document, given, os.environ if environ is None else environ)
    resolution, secrets = _interpolate(document, declared, require_values=require_values)
    _fill_defaults(document, origins, resolution)
    ctx = _Context(origins, files, resolution, secrets)
    for at, message in resolution.problems:
        ctx.problems.append(ctx.problem(at, message))
    ctx.fail_if_any()
    config = _validate(document, ctx)
    for at in sorted(ctx.unknown, key=len):
        config = _as_written(config, at, _value_at(document, at))
    config = _resolve_paths(ctx, config, document)
    _check_schedulable(ctx, config, now)
    ctx.fail_if_any()
    warnings = _unused_variables(ctx, declared, resolution.used)
    warnings += _variables_without_value(ctx, declared, resolution.used)
    return _with_sources(
        ctx, config, document, declared, warnings, confinement, only=only, builds=builds
    )


def _interpolate(
    document: dict[str, Any], declared: Mapping[str, Variable], *, require_values: bool
) -> tuple[Resolution, set[str]]:
    """Every string value but the variables' own, interpolated in place; and every secret
    text (a sensitive variable's value or default, a string that uses one) to scrub."""
    resolution = Resolution()
    secrets: set[str] = set()
    for name, variable in declared.items():
        if variable.sensitive:
            resolution.sensitive.add(("variables", name, "default"))
            secrets.add(variable.value or "")
            default = document["variables"][name].get("default")
            secrets.add(default if isinstance(default, str) else "")
    for key in list(document):
        if key != "variables":
            document[key] = interpolate_tree(
                document[key],
                declared,
                require_values=require_values,
                resolution=resolution,
                at=(key,),
            )
    return resolution, secrets | resolution.secrets


def _fill_defaults(
    document: dict[str, Any], origins: Origins[TomlFile], resolution: Resolution
) -> None:
    """[defaults] into every schedule; a filled value keeps the origin, and the sensitive or
    unknown mark, of the [defaults] value it copies."""
    marked = [
        (marks, [m for m in marks if m[:1] == ("defaults",)])
        for marks in (resolution.sensitive, resolution.unknown)
    ]

    def filled(to: KeyPath, source: KeyPath) -> None:
        origin = origins.of(source)
        if origin is not None:
            origins.set(to, origin)
        size = len(source)
        for marks, in_defaults in marked:
            marks.update((*to, *m[size:]) for m in in_defaults if m[:size] == source)

    apply_defaults(document, filled)


def _toml_paths(path: Path) -> list[Path]:
    if path.is_dir():
        found = sorted(p for p in path.glob("*.toml") if p.is_file())
        if not found:
            raise ConfigError("no *.toml files in this directory", file=str(path))
        return found
    if not path.exists():
        hint = " (run azstate where it is, or pass -c PATH)" if path.name == "azstate.toml" else ""
        raise ConfigError(f"no such file or directory{hint}", file=str(path))
    return [path]


_TOML_ERROR = re.compile(
    r"^(?P<msg>.*?) \(at (?:line (?P<line>\d+), column (?P<col>\d+)|end of document)\)$"
)
_TOML_HINTS = (
    ("Cannot overwrite a value", "a key is set twice (each key may appear once)"),
    ("Cannot declare", "a table is declared twice (each [table] may appear once)"),
    ("Invalid value", "strings need quotes, booleans are true/false"),
    ("Expected '=' after a key", "keys are followed by '=' and a value"),
    ("Illegal character '\\n'", 'a "string" must be closed on the line it starts'),
)


def _read_toml(path: Path, shown: str) -> TomlFile:
    try:
        size = path.stat().st_size
        if not path.is_file() or size > MAX_TOML:
            what = f"{size} bytes, over the limit of {MAX_TOML}" if path.is_file() else "special"
            raise ConfigError(f"not a configuration file ({what})", file=shown)
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=shown) from exc
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError("not UTF-8 text (TOML files are UTF-8)", file=shown, line=line) from exc
    try:
        raw = tomli.loads(text)
        locator = KeyLocator(text)
    except tomli.TOMLDecodeError as exc:
        raise _syntax_error(exc, shown, text) from exc
    except RecursionError:
        raise ConfigError(
            "arrays or tables nested too deeply to read (a configuration needs a few levels)",
            file=shown,
        ) from None
    return TomlFile(path=path, shown=shown, raw=raw, locator=locator, data=data)


def _syntax_error(exc: tomli.TOMLDecodeError, shown: str, text: str) -> ConfigError:
    message = str(exc)
    match = _TOML_ERROR.match(message)
    line: int | None = None
    if match:
        message = match["msg"]
        if match["line"]:
            line = int(match["line"])
            message += f" (column {match['col']})"
        else:
            line = text.count("\n") + 1
    for start, hint in _TOML_HINTS:
        if message.startswith(start):
            message += f": {hint}"
            break
    return ConfigError(f"TOML syntax error: {message}", file=shown, line=line)


# Layers: extends ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    """One file of the configuration with everything it extends laid under it."""

    document: dict[str, Any]
    origins: Origins[TomlFile]
    files: tuple[TomlFile, ...]  # in the order they were laid: bases first


class _Reader:
    """Reads each file once (by its real path), however many files extend it."""

    def __init__(self, confinement: Confinement) -> None:
        self._read: dict[Path, TomlFile] = {}
        self._confinement = confinement

    def read(self, path: Path, shown: str) -> TomlFile:
        key = path.resolve()
        if key not in self._read:
            self._read[key] = _read_toml(path, shown)
        return self._read[key]

    def parts(self, path: Path) -> list[_Part]:
        """A file is one part; in a directory, every file that no other file there extends."""
        files = _toml_paths(path)
        for file in files:  # a link in a -c directory may lead out of the repository
            refusal = self._confinement.refusal(file, str(file))
            if refusal:
                raise ConfigError(refusal, file=str(file))
        tomls = [self.read(p, str(p)) for p in files]
        bases = {target.resolve() for t in tomls for _, target, _ in _extends(t)}
        entries = [t for t in tomls if t.path.resolve() not in bases] or tomls
        orders = [self._order(t) for t in entries]
        shared = Counter(id(t) for order in orders for t in order)
        return [_lay(order, copy=shared[id(order[0])] > 1) for order in orders]

    def _order(self, entry: TomlFile) -> list[TomlFile]:
        """The files to lay, bases first, each once; a cycle is refused with its chain."""
        order: list[TomlFile] = []
        done: set[Path] = set()

        def visit(toml: TomlFile, chain: tuple[TomlFile, ...]) -> None:
            key = toml.path.resolve()
            if key in done:
                return
            for index, target, shown in _extends(toml):
                cycle = [t.path.resolve() for t in (*chain, toml)]
                if target.resolve() in cycle:
                    start = cycle.index(target.resolve())
                    names = [t.shown for t in (*chain, toml)][start:]
                    raise ConfigError(
                        f"extends makes a cycle: {' -> '.join([*names, names[0]])}",
                        file=toml.shown,
                        line=toml.locator.find(("extends", index)),
                        key=render_key_path(("extends", index)),
                    )
                refusal = self._confinement.refusal(target, shown)
                if refusal:  # checked before it is read: a pull request names any file
                    raise ConfigError(
                        refusal,
                        file=toml.shown,
                        line=toml.locator.find(("extends", index)),
                        key=render_key_path(("extends", index)),
                    )
                visit(self.read(target, shown), (*chain, toml))
            done.add(key)
            order.append(toml)

        visit(entry, ())
        return order


def _lay(order: list[TomlFile], *, copy: bool) -> _Part:
    """The files laid over each other. The bottom one's tables become the document, changed in
    place later (variables, defaults), so they are copied only if another part lays it too."""
    origins: Origins[TomlFile] = Origins()
    origins.set((), Origin(order[0], ()))
    bottom = _file_document(order[0])
    document: dict[str, Any] = copy_tree(bottom) if copy else bottom
    for toml in order[1:]:
        overlay = _file_document(toml)
        _check_sensitivity_kept(toml, document, origins, overlay)
        lay_over(document, origins, overlay, toml)
    return _Part(document, origins, tuple(order))


def _extends(toml: TomlFile) -> list[tuple[int, Path, str]]:
    """(index, path, name as shown) of each file ``toml`` extends; a bad list is an error."""
    value = toml.raw.get("extends")
    if value is None:
        return []
    where: dict[str, Any] = {"file": toml.shown, "key": "extends"}
    if not isinstance(value, list):
        raise ConfigError(
            f'expected an array of paths, got {describe_value(value)} (write extends = '
            f'["{value if isinstance(value, str) else "../base.toml"}"])',
            line=toml.locator.find(("extends",)),
            **where,
        )
    out: list[tuple[int, Path, str]] = []
    for index, entry in enumerate(value):
        key = render_key_path(("extends", index))
        line = toml.locator.find(("extends", index))
        if not isinstance(entry, str) or not entry.strip():
            raise ConfigError(
                f"expected a path to a TOML file, got {describe_value(entry)}",
                file=toml.shown, line=line, key=key,
            )
        target = Path(os.path.normpath(toml.path.parent / entry))
        shown = os.path.normpath(os.path.join(os.path.dirname(toml.shown), entry))
        if not target.is_file():
            hint = (
                "; extends takes no variables"
                if "${" in entry
                else " (a path in extends is relative to the file that names it)"
            )
            raise ConfigError(f"no such file: {shown}{hint}", file=toml.shown, line=line, key=key)
        out.append((index, target, shown))
    return out


def _file_document(toml: TomlFile) -> dict[str, Any]:
    """The file's document as a layer: no extends, variables in their table form, so that an
    overlay's ``name = "value"`` sets only the default of a base's ``{ sensitive = true }``."""
    document = {k: v for k, v in toml.raw.items() if k != "extends"}
    variables = document.get("variables")
    if isinstance(variables, Mapping):
        document["variables"] = {
            name: {"default": value} if isinstance(value, str) else value
            for name, value in variables.items()
        }
    return document


def _check_sensitivity_kept(
    toml: TomlFile,
    document: Mapping[str, Any],
    origins: Origins[TomlFile],
    overlay: Mapping[str, Any],
) -> None:
    below, above = document.get("variables"), overlay.get("variables")
    if not isinstance(below, Mapping) or not isinstance(above, Mapping):
        return
    for name, declared in above.items():
        before = below.get(name)
        if not isinstance(declared, Mapping) or not isinstance(before, Mapping):
            continue
        if before.get("sensitive") is True and declared.get("sensitive") is False:
            origin = origins.of(("variables", name, "sensitive"))
            where = (
                f" in {origin.file.shown} (line {origin.file.locator.find(origin.path)})"
                if origin is not None
                else ""
            )
            path: KeyPath = ("variables", name, "sensitive")
            raise ConfigError(
                f"variable {quoted(name)} is sensitive{where}; an overlay cannot make a "
                "variable less sensitive (remove sensitive = false)",
                file=toml.shown,
                line=toml.locator.find(path),
                key=render_key_path(path),
            )


# Parts of a directory -------------------------------------------------------------------------

_ONCE = ("server", "azstate", "defaults")


def _combine(parts: list[_Part]) -> tuple[dict[str, Any], Origins[TomlFile]]:
    """One document from the parts of a directory: [server], [azstate] and [defaults] once,
    variables and projects (names unique ignoring case) from any part."""
    document: dict[str, Any] = {}
    origins: Origins[TomlFile] = Origins()
    origins.set((), Origin(parts[0].files[0], ()))
    sections: dict[str, list[_Problem]] = {key: [] for key in _ONCE}
    named: list[_Problem] = []
    seen: dict[str, tuple[Origin[TomlFile], str]] = {}
    declared: dict[str, Origin[TomlFile]] = {}

    def origin(part: _Part, path: KeyPath) -> Origin[TomlFile]:
        found = part.origins.of(path)
        assert found is not None
        return found

    for part in parts:
        for path, where in part.origins.items():
            if path:
                origins.set(path, where)
        for key, value in part.document.items():
            here = origin(part, (key,))
            if key in _ONCE and key in document:
                first = origins.of((key,))
                assert first is not None
                sections[key].append(
                    _Problem(
                        here.file.shown,
                        here.file.locator.find(here.path),
                        key,
                        f"[{key}] is already set in {first.file.shown} (line "
                        f"{first.file.locator.find(first.path)}); only one file of a directory "
                        "may set it",
                    )
                )
                continue
            if key in ("projects", "variables") and isinstance(value, Mapping):
                if key not in document:
                    origins.set((key,), here)
                table = document.setdefault(key, {})
                if not isinstance(table, dict):
                    continue
                for name, item in value.items():
                    at = origin(part, (key, name))
                    if key == "projects":
                        problem = _same_project(seen, name, at)
                    else:
                        problem = _same_variable(declared, name, at)
                    if problem is not None:
                        named.append(problem)
                        continue
                    table[name] = item
                    origins.set((key, name), at)
                continue
            document[key] = value
            origins.set((key,), here)
    problems = [p for key in _ONCE for p in sections[key]] + named
    if problems:
        _fail(problems)
    return document, origins


def _same_project(
    seen: dict[str, tuple[Origin[TomlFile], str]], name: str, here: Origin[TomlFile]
) -> _Problem | None:
    earlier = seen.setdefault(name.lower(), (here, name))
    if earlier[0] is here:
        return None
    first, first_name = earlier
    where = "" if first.file is here.file else f"{first.file.shown}, "
    same = "is already declared" if first_name == name else f"is the same as {quoted(first_name)}"
    return _Problem(
        here.file.shown,
        here.file.locator.find(here.path),
        render_key_path(("projects", name)),
        f"project {quoted(name)} {same} ({where}line {first.file.locator.find(first.path)}); "
        "Azkaban project names are unique ignoring case",
    )


def _same_variable(
    declared: dict[str, Origin[TomlFile]], name: str, here: Origin[TomlFile]
) -> _Problem | None:
    first = declared.setdefault(name, here)
    if first is here:
        return None
    return _Problem(
        here.file.shown,
        here.file.locator.find(here.path),
        render_key_path(("variables", name)),
        f"variable {quoted(name)} is already declared in {first.file.shown} (line "
        f"{first.file.locator.find(first.path)}); a directory declares each variable once",
    )


# Variables ------------------------------------------------------------------------------------


def _declared_variables(
    document: Mapping[str, Any], given: Mapping[str, str], environ: Mapping[str, str]
) -> dict[str, Variable]:
    """Each declared variable's value: --var, then AZSTATE_VAR_NAME, then its default."""
    declared: dict[str, Variable] = {}
    table = document.get("variables")
    if isinstance(table, Mapping):
        for name, spec in table.items():
            if not isinstance(spec, Mapping):
                continue
            default = spec.get("default")
            sensitive = spec.get("sensitive") is True
            env = f"{ENV_PREFIX}{name}"
            if name in given:
                declared[name] = Variable(name, given[name], sensitive, "--var")
            elif env in environ:
                declared[name] = Variable(name, environ[env], sensitive, env)
            elif isinstance(default, str):
                declared[name] = Variable(name, default, sensitive, "default")
            else:
                declared[name] = Variable(name, None, sensitive, "unset")
    for name in given:
        if name not in declared:
            close = suggestion(name, sorted(declared))
            hint = f' (did you mean "{close}"?)' if close else ""
            raise ConfigError(
                f"--var {name}: no variable {quoted(name)} is declared in [variables]{hint}"
            )
    return declared


def _unused_variables(
    ctx: _Context, declared: Mapping[str, Variable], used: set[str]
) -> list[str]:
    warnings: list[str] = []
    for name in declared:
        if name not in used:
            toml, line = ctx.where(("variables", name))
            warnings.append(
                f"{toml.shown}:{line}: variables.{name}: variable {quoted(name)} is declared "
                "but no value uses it"
            )
    return warnings


def _variables_without_value(
    ctx: _Context, declared: Mapping[str, Variable], used: set[str]
) -> list[str]:
    """validate only (plan and apply refuse them): say what could not be checked."""
    warnings: list[str] = []
    for name, variable in declared.items():
        if variable.value is None and name in used:
            toml, line = ctx.where(("variables", name))
            warnings.append(
                f"{toml.shown}:{line}: variables.{name}: variable {quoted(name)} has no value "
                f"here (--var {name}=VALUE or {ENV_PREFIX}{name}), so the values that use it "
                "are not checked; plan and apply need it"
            )
    return warnings


# Validation -----------------------------------------------------------------------------------

# What stands in for a value that uses a variable with no value (validate only), where the key
# is required; any other such value is left out, so its model default is checked instead.
_PLACEHOLDERS = {
    "cron": "0 0 2 ? * *",
    "duration": "1h",
    "rule": "SUCCESS",
    "description": "(unknown)",
}


def _validate(document: dict[str, Any], ctx: _Context) -> Config:
    """The Config; in validate, values with unknown variables get stand-ins in a copy, so the
    document keeps them as written (for --resolved)."""
    if ctx.unknown:
        document = copy_tree(document)
    for _ in range(10):
        try:
            return Config.model_validate(document)
        except ValidationError as exc:
            errors = _one_per_typo(exc.errors(include_url=False))
        problems: list[_Problem] = []
        unknown: list[KeyPath] = []
        for err in errors:
            loc: KeyPath = tuple(p for p in err["loc"] if p != "[key]")
            if ctx.is_unknown(loc):
                unknown.append(loc)
            else:
                problems.append(ctx.problem(loc, _message(err, loc)))
        if problems:
            problems.sort(key=lambda p: (p.order, p.line or 0, p.key or ""))
            # a bad [defaults] value is reported once, at its own key, not once per schedule
            unique = {(p.file, p.line, p.message): p for p in reversed(problems)}
            _fail(sorted(unique.values(), key=lambda p: (p.order, p.line or 0, p.key or "")))
        for loc in sorted(unknown, key=lambda p: [str(x) for x in p], reverse=True):
            _stand_in(document, loc, ctx)
    raise ConfigError("values that use variables with no value could not be checked")


def _stand_in(document: dict[str, Any], loc: KeyPath, ctx: _Context) -> None:
    path = next(loc[:end] for end in range(1, len(loc) + 1) if loc[:end] in ctx.unknown)
    parent: Any = document
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if isinstance(parent, list) and isinstance(last, int):
        emails = path[-2] in ("failure_emails", "success_emails", "emails")
        parent[last] = "unknown@example.invalid" if emails else "unknown"
    elif isinstance(parent, dict) and isinstance(last, str):
        if last in _PLACEHOLDERS:
            parent[last] = _PLACEHOLDERS[last]
        else:
            parent.pop(last, None)


def _value_at(document: Mapping[str, Any], path: KeyPath) -> Any:
    node: Any = document
    for part in path:
        node = node[part]
    return node


def _as_written(node: Any, path: KeyPath, value: Any) -> Any:
    """``node`` with the value at ``path`` put back as written (``${var.cron}``, not the
    stand-in that was validated), so that validate never shows a value azstate made up; a
    value the model left out (a stand-in was not needed) stays out."""
    if not path:
        return value if isinstance(value, str) else node
    head, rest = path[0], path[1:]
    if isinstance(node, BaseModel) and isinstance(head, str):
        current = getattr(node, head, None)
        if current is None:
            return node
        return node.model_copy(update={head: _as_written(current, rest, value)})
    if isinstance(node, dict) and head in node:
        return {**node, head: _as_written(node[head], rest, value)}
    if isinstance(node, tuple) and isinstance(head, int) and 0 <= head < len(node):
        return (*node[:head], _as_written(node[head], rest, value), *node[head + 1 :])
    return node


def _shown_path(toml: TomlFile, value: str) -> str:
    """A path from the file, as the user would type it from where they run azstate."""
    return os.path.normpath(os.path.join(os.path.dirname(toml.shown), value))


def _resolve_paths(ctx: _Context, config: Config, document: Mapping[str, Any]) -> Config:
    """Sources and the CA bundle are relative to the file that wrote them."""
    server = config.server
    if server.ca_bundle is not None:
        toml = ctx.origin(("server", "ca_bundle")).file
        bundle = (toml.path.parent / server.ca_bundle).absolute()
        if not bundle.is_file():
            ctx.add(
                ("server", "ca_bundle"),
                f"no such file: {_shown_path(toml, server.ca_bundle)}",
            )
        server = server.model_copy(update={"ca_bundle": str(bundle)})
    projects: dict[str, ProjectConfig] = {}
    folders: dict[Path, str] = {}  # each file's folder, worked out once
    for name, project in config.projects.items():
        if project.source is not None:
            toml = ctx.origin(("projects", name, "source")).file
            folder = folders.get(toml.path)
            if folder is None:
                folder = folders[toml.path] = os.path.dirname(toml.path)
            source = Path(os.path.abspath(os.path.join(folder, project.source)))
            project = project.model_copy(update={"source": source})
        projects[name] = project
    return config.model_copy(update={"server": server, "projects": projects})


def _check_schedulable(ctx: _Context, config: Config, now: datetime | None) -> None:
    zone = config.server.timezone
    for name, project in config.projects.items():
        for flow, schedule in project.schedules.items():
            try:
                cron.check_schedulable(schedule.cron, zone, now=now, quartz=cron.Quartz.V2_3)
            except CronError as exc:
                ctx.add(("projects", name, "schedules", flow, "cron"), str(exc))


# Sources ------------------------------------------------------------------------------------


def _with_sources(
    ctx: _Context,
    config: Config,
    document: Mapping[str, Any],
    declared: Mapping[str, Variable],
    warnings: list[str],
    confinement: Confinement,
    *,
    only: frozenset[str] | None = None,
    builds: BuildCache | None = None,
) -> LoadedConfig:
    sources: dict[str, SourceFiles] = {}
    artifacts = Artifacts()
    flows: dict[str, FlowInfo] = {}
    built: dict[tuple[Path, bool], _Read] = {}
    real_parents: dict[str, str] = {}
    for name, project in config.projects.items():
        _sla_email_warnings(ctx, name, project, warnings)
        if project.description != description_as_shown(project.description):
            where = ctx.problem(("projects", name, "description"), "")
            warnings.append(
                f"{where.file}:{where.line}: {where.key}: the project page shows <br>, <br/> and "
                "!NEWLINE! all as <br>, so a change between them cannot be seen or planned"
            )
        key: KeyPath = ("projects", name, "source")
        if project.source is None or ctx.is_unknown(key):
            continue
        toml = ctx.origin(key).file
        shown = _shown_path(toml, document["projects"][name]["source"])
        if ctx.touches_secret(key):
            shown = "(sensitive)"  # a path built from a secret is not shown either
        real = _real_path(project.source, real_parents)  # once, for every check below
        refusal = confinement.refusal(project.source, shown, real=real)
        if refusal:
            ctx.add(key, refusal)
            continue
        warnings.extend(_unreviewed(name, shown, project.source, confinement))
        wanted = only is None or name.lower() in only
        if (project.source, wanted) not in built:
            result = _read_source(project.source, shown, build=wanted, builds=builds, real=real)
            if isinstance(result, str):
                ctx.add(key, result)
                continue
            built[(project.source, wanted)] = result
        read = built[(project.source, wanted)]
        if read.files is not None:
            # a directory's zip is uploaded under its own project's name, shared or not
            zip_name = upload_name(name, project.source)
            sources[name] = read.files.model_copy(update={"zip_name": zip_name})
            artifacts.add(read.files.zip_sha256, read.zip)
        flows[name] = read.info
        warnings.extend(f"project {name} ({shown}): {w}" for w in read.info.warnings)
        _check_flows(ctx, name, project, read.info, shown)
    ctx.fail_if_any()
    if builds is not None:
        builds.save()
    tomls = ctx.files
    return LoadedConfig(
        config=config,
        files=tuple(t.path for t in tomls),
        sources=sources,
        artifacts=artifacts,
        digest=_digest(tomls, declared, sources),
        warnings=tuple(warnings),
        flows=flows,
        toml=tomls,
        document=document,
        origins=ctx.origins,
        variables=declared,
        sensitive=frozenset(render_key_path(p) for p in ctx.sensitive),
        unknown=frozenset(render_key_path(p) for p in ctx.unknown),
    )


class Artifacts(Mapping[str, ZipOnDisk]):
    """Zip sha256 -> the exact zip to upload, in a file, built when first asked for: a plan
    needs only their digests, and a reused build (buildcache.py) has no zip yet."""

    def __init__(self) -> None:
        self._makers: dict[str, typing.Callable[[], ZipOnDisk]] = {}
        self._made: dict[str, ZipOnDisk] = {}

    def add(self, sha256: str, make: typing.Callable[[], ZipOnDisk]) -> None:
        self._makers.setdefault(sha256, make)

    def __getitem__(self, sha256: str) -> ZipOnDisk:
        if sha256 not in self._made:
            self._made[sha256] = self._makers[sha256]()
        return self._made[sha256]

    def __iter__(self) -> typing.Iterator[str]:
        return iter(self._makers)

    def __len__(self) -> int:
        return len(self._makers)


@dataclass(frozen=True)
class _Read:
    """One source read: its flows always; its SourceFiles and zip only when built."""

    info: FlowInfo
    files: SourceFiles | None
    zip: typing.Callable[[], ZipOnDisk]
    from_directory: bool


def _unreviewed(name: str, shown: str, source: Path, confinement: Confinement) -> list[str]:
    untracked = confinement.unreviewed(source, skipped=SKIPPED_DIRS | SKIPPED_FILES)
    if not untracked:
        return []
    what = "the whole directory" if untracked == ["."] else _listed(set(untracked))
    return [
        f"project {name} ({shown}): git does not track {what}: it would be uploaded without "
        "review (commit it, or move it out of the source)"
    ]


def _real_path(path: Path, parents: dict[str, str]) -> str:
    """os.path.realpath(path), resolving each parent directory once per load: a fleet's
    sources share theirs, and realpath checks every component of the path anew."""
    parent, name = os.path.split(path)
    real_parent = parents.get(parent)
    if real_parent is None:
        real_parent = parents[parent] = os.path.realpath(parent)
    joined = os.path.join(real_parent, name)
    return os.path.realpath(joined) if os.path.islink(joined) else joined


def _read_source(
    source: Path,
    shown: str,
    *,
    build: bool = True,
    builds: BuildCache | None = None,
    real: str,
) -> _Read | str:
    """The source's flows, and when ``build`` its digests and zip; a message (for the source
    key) if it is not there. Files are sized before they are read, and hashed and zipped in
    chunks into a temporary file: memory does not grow with a source's size. ``real``: the
    source with every link resolved."""
    if source.is_dir():
        files = list_files(source, origin=shown, real_root=real)
        stamps = files.stamps() if builds is not None else ()
        hit = builds.lookup(real, stamps) if builds is not None else None
        if hit is not None and hit.discovered is not None:
            info = _flow_info(hit.discovered)
        else:
            info = discover(files, origin=shown)
        reused = hit.built if hit is not None else None
        made = reused
        if build and made is None:
            data, digests = build_zip_file(files)
            made = _built(digests, data)
        if builds is not None and (hit is None or hit.discovered is None or made is not reused):
            builds.put(real, stamps, made, _discovered(info))  # else it holds just this
        if not build or made is None:
            return _Read(info, None, _no_zip, from_directory=True)
        if reused is None:
            return _Read(info, _source_files(info, made, f"{source.name}.zip"), lambda: data, True)

        def rezip(files: Mapping[str, bytes] = files) -> ZipOnDisk:
            return build_zip_file(files)[0]

        return _Read(info, _source_files(info, made, f"{source.name}.zip"), rezip, True)
    if source.is_file() and source.suffix.lower() == ".zip":
        try:
            if source.stat().st_size > MAX_TOTAL:
                return f"{shown} is {source.stat().st_size} bytes, over the limit of {MAX_TOTAL}"
            sha256, size = file_sha256(source)
        except OSError as exc:
            return f"cannot read {shown}: {exc.strerror}"
        zipped = ZipOnDisk(source, size, sha256)
        try:
            digests = zip_digests(zipped)
        except SourceError as exc:
            raise _within(exc, shown) from exc
        info = discover(_FlowFilesOf(zipped, digests, shown), origin=shown)
        if not build:
            return _Read(info, None, _no_zip, from_directory=False)
        made = _built(digests, zipped)
        return _Read(info, _source_files(info, made, source.name), lambda: zipped, False)
    if source.exists():
        return f"{shown} is neither a directory nor a .zip file"
    return f"{shown} does not exist (a source is relative to the file that names it)"


_FLOW_SUFFIXES = (".job", ".properties", ".flow", ".project")  # what discovery reads


class _FlowFilesOf(Mapping[str, bytes]):
    """A zip source's files for flow discovery: names from its digests, and the bytes of
    only the files discovery asks for (flow and properties files), read in one pass when
    first asked for."""

    def __init__(self, zipped: ZipOnDisk, digests: Mapping[str, str], shown: str) -> None:
        self._zipped = zipped
        self._names = list(digests)
        self._shown = shown
        self._read: dict[str, bytes] | None = None

    def __getitem__(self, name: str) -> bytes:
        if name not in self._names:
            raise KeyError(name)
        try:
            if self._read is None:
                self._read = read_zip_safely(
                    self._zipped, wanted=lambda n: n.endswith(_FLOW_SUFFIXES)
                )
            if name not in self._read:  # not a file discovery was expected to ask for
                self._read.update(read_zip_safely(self._zipped, wanted=lambda n: n == name))
        except SourceError as exc:
            raise _within(exc, self._shown) from exc
        return self._read[name]

    def __iter__(self) -> typing.Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _within(exc: SourceError, shown: str) -> SourceError:
    """A zip's error named under the zip source as the user wrote it."""
    return SourceError(exc.message, file=f"{shown}/{exc.file}" if exc.file else shown)


def _built(digests: Mapping[str, str], data: ZipOnDisk) -> Built:
    return Built(
        content_digest=digest_of(digests),
        file_digests=short_digests(digests),
        zip_sha256=data.sha256,
        zip_size=data.size,
    )


def _discovered(info: FlowInfo) -> Discovered:
    return Discovered(
        version=info.version,
        flows=tuple(sorted(info.flows)),
        jobs={f: tuple(sorted(j)) for f, j in info.jobs.items()},
        top_jobs={f: tuple(sorted(j)) for f, j in info.top_jobs.items()},
        triggered=tuple(sorted(info.triggered)),
        warnings=info.warnings,
    )


def _flow_info(found: Discovered) -> FlowInfo:
    version: typing.Literal["1.0", "2.0"] = "1.0" if found.version == "1.0" else "2.0"
    return FlowInfo(
        version=version,
        flows=frozenset(found.flows),
        jobs={f: frozenset(j) for f, j in found.jobs.items()},
        top_jobs={f: frozenset(j) for f, j in found.top_jobs.items()},
        triggered=frozenset(found.triggered),
        warnings=found.warnings,
    )


def _no_zip() -> ZipOnDisk:
    raise AssertionError("a source outside the targets was never zipped")


def _source_files(info: FlowInfo, built: Built, zip_name: str) -> SourceFiles:
    return SourceFiles(
        content_digest=built.content_digest,
        flows=info.flows,
        jobs=info.jobs,
        zip_name=zip_name,
        zip_size=built.zip_size,
        zip_sha256=built.zip_sha256,
        file_digests=built.file_digests,
    )


def _listed(names: frozenset[str] | set[str]) -> str:
    ordered = sorted(names)
    text = ", ".join(ordered[:_MAX_LISTED])
    return text + (f", ... ({len(ordered)} in all)" if len(ordered) > _MAX_LISTED else "")


def _did_you_mean(word: str, names: frozenset[str]) -> str:
    close = suggestion(word, sorted(names))
    return f' (did you mean "{close}"?)' if close else ""


def _check_flows(
    ctx: _Context, name: str, project: ProjectConfig, info: FlowInfo, shown: str
) -> None:
    for flow, schedule in project.schedules.items():
        base: KeyPath = ("projects", name, "schedules", flow)
        if flow not in info.flows:
            ctx.add(base, _missing_flow(flow, info, shown))
            continue
        if flow in info.triggered:
            ctx.add(
                base,
                f"flow {quoted(flow)} has a trigger in its .flow file; Azkaban refuses cron "
                "schedules for triggered flows (remove the trigger or this schedule)",
            )
        jobs = info.jobs.get(flow, frozenset())
        nodes = jobs | info.top_jobs.get(flow, frozenset())
        for index, job in enumerate(schedule.disabled_jobs):
            if job not in nodes:
                message = (
                    f"no job {quoted(job)} in flow {quoted(flow)}{_did_you_mean(job, nodes)}; "
                    f"its jobs: {_listed(nodes)}"
                )
                ctx.add((*base, "disabled_jobs", index), message)
        for node in schedule.runtime_properties:
            if node not in nodes:
                message = (
                    f"no job {quoted(node)} in flow {quoted(flow)}{_did_you_mean(node, nodes)}; "
                    f"its jobs: {_listed(nodes)}"
                )
                ctx.add((*base, "runtime_properties", node), message)
        if schedule.sla is None:
            continue
        for index, rule in enumerate(schedule.sla.rules):
            if rule.job is None or rule.job in jobs:
                continue
            ctx.add(
                (*base, "sla", "rules", index, "job"),
                f"no job {quoted(rule.job)} in flow {quoted(flow)}"
                f"{_did_you_mean(rule.job, jobs)}; its jobs: {_listed(jobs)}",
            )


def _missing_flow(flow: str, info: FlowInfo, shown: str) -> str:
    if not info.flows:
        return f"no flow {quoted(flow)}: {shown} has no flows at all"
    parent = flow.split(":")[0]
    if ":" in flow and parent in info.flows:
        return (
            f"{quoted(flow)} is an embedded flow; Azkaban schedules only top-level flows "
            f"(schedule {quoted(parent)})"
        )
    kind = "a .flow file" if info.version == "2.0" else "a job no other job depends on"
    hidden = "; Azkaban ignores files whose names start with a dot" if flow[:1] == "." else ""
    return (
        f"no flow {quoted(flow)} in {shown}{_did_you_mean(flow, info.flows)}; its flows: "
        f"{_listed(info.flows)} (a flow is {kind}{hidden})"
    )


def _sla_email_warnings(
    ctx: _Context, name: str, project: ProjectConfig, warnings: list[str]
) -> None:
    for flow, schedule in project.schedules.items():
        sla = schedule.sla
        if sla is None or sla.emails or not any(r.email for r in sla.rules):
            continue
        where = ctx.problem(("projects", name, "schedules", flow, "sla"), "")
        warnings.append(
            f"{where.file}:{where.line}: {where.key}: a rule has email = true but sla.emails is "
            "empty, so nobody is told"
        )


def _digest(
    tomls: tuple[TomlFile, ...],
    variables: Mapping[str, Variable],
    sources: Mapping[str, SourceFiles],
) -> str:
    """Changes with any file, source or variable value, but a sensitive value stays out: the
    digest is saved in plan files, and a hash of a short secret is easily reversed. A changed
    secret still changes the plan's calls, which a saved plan is checked against."""
    digest = hashlib.sha256(b"azstate-config-1\0")
    for toml in tomls:
        digest.update(hashlib.sha256(toml.data).hexdigest().encode())
    for name in sorted(variables):
        variable = variables[name]
        if not variable.sensitive and variable.value is not None:
            digest.update(f"\0var\0{name}\0{variable.value}".encode())
    for name in sorted(sources, key=str.lower):
        digest.update(f"\0{name.lower()}\0{sources[name].content_digest}".encode())
    return digest.hexdigest()


# Pydantic errors as ConfigErrors --------------------------------------------------------------

_TYPE_NAMES = {
    "string_type": "a string",
    "bool_type": "true or false",
    "int_type": "an integer",
    "float_type": "a number",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
    "tuple_type": "an array",
    "list_type": "an array",
}
_MISSING = {
    "description": 'missing: every project needs description = "..." (Azkaban requires one)',
    "cron": 'missing: a schedule needs a Quartz cron, e.g. cron = "0 0 2 ? * *"',
    "rules": 'missing: an SLA needs rules, e.g. rules = [{ rule = "SUCCESS", duration = "2h", '
    "email = true }]",
    "rule": 'missing: rule = "SUCCESS" or rule = "FINISH"',
    "duration": 'missing: duration = "2h" (or "90m", "1h30m", "2:00", or minutes)',
}


def _one_per_typo(errors: list[Any]) -> list[Any]:
    """A misspelt required key (``crons =`` in a schedule) is one mistake, not two: the unknown
    key's "did you mean" names the fix, so the "missing" of the key it meant is left out."""
    meant: set[KeyPath] = set()
    for err in errors:
        if err["type"] == "extra_forbidden":
            loc: KeyPath = tuple(p for p in err["loc"] if p != "[key]")
            model = _model_at(loc[:-1])
            close = suggestion(str(loc[-1]), list(model.model_fields) if model else [])
            if close:
                meant.add((*loc[:-1], close))
    return [
        err
        for err in errors
        if err["type"] != "missing" or tuple(p for p in err["loc"] if p != "[key]") not in meant
    ]


def _message(err: Any, loc: KeyPath) -> str:
    kind: str = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return _MISSING.get(str(loc[-1]), "missing: this key is required")
    if kind == "extra_forbidden":
        return _unknown_key(loc, value)
    if kind in _TYPE_NAMES:
        hint = _type_hint(kind, value, loc)
        return f"expected {_TYPE_NAMES[kind]}, got {describe_value(value)}{hint}"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", err["msg"])).removeprefix("Value error, ")
    if kind == "too_short":
        return "must not be empty: give at least one"
    if kind in ("string_too_long", "too_long"):
        return f"is too long: at most {ctx['max_length']}"
    limits = {
        "greater_than": ("greater than", "gt"),
        "greater_than_equal": ("at least", "ge"),
        "less_than": ("less than", "lt"),
        "less_than_equal": ("at most", "le"),
    }
    if kind in limits:
        words, key = limits[kind]
        limit = ctx[key]
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        return f"must be {words} {limit}, got {quoted(value)}"
    return str(err["msg"])


def _type_hint(kind: str, value: Any, loc: KeyPath) -> str:
    table = render_key_path(loc)
    if _TYPE_NAMES[kind] == "a table" and isinstance(value, list):
        if value and all(isinstance(v, Mapping) for v in value):
            if loc[-1:] == ("schedules",):
                return f" (one table per flow: [{table}.FLOW], not [[{table}]])"
            return f" (write [{table}], not [[{table}]])"
        if loc[-1:] in (("users",), ("groups",)) and value and isinstance(value[0], str):
            return f' (write {loc[-1]} = {{ {render_key_path((value[0],))} = ["read"] }})'
        return " (write { key = value, ... })"
    if _TYPE_NAMES[kind] == "an array" and isinstance(value, Mapping):
        if loc[-1:] == ("rules",):
            return f" (write rules = [{{ ... }}, ...] or one [[{table}]] table per rule)"
        return " (write [ ... ])"
    if loc[:1] == ("variables",) and len(loc) == 2 and _TYPE_NAMES[kind] == "a table":
        return f' (write {render_key_path(loc[1:])} = "..." or {{ default = "...", ... }})'
    if kind == "bool_type" and isinstance(value, str) and value.lower() in ("true", "false"):
        return f" (write {value.lower()} without quotes)"
    numeric = isinstance(value, str) and re.fullmatch(r"\s*\d+(\.\d+)?\s*", value)
    if kind in ("int_type", "float_type") and numeric:
        return f" (write {value.strip()} without quotes)"
    if kind in ("tuple_type", "list_type") and isinstance(value, str):
        return f" (write [{quoted(value)}])"
    if kind == "int_type" and isinstance(value, float) and value.is_integer():
        return f" (write {int(value)})"
    return ""


def _unknown_key(loc: KeyPath, value: Any) -> str:
    key = str(loc[-1])
    if loc == ("defaults", "schedule", "sla"):
        return (
            "unknown key: a default never creates an SLA; [defaults.sla] fills the sla tables "
            "that schedules have"
        )
    model = _model_at(loc[:-1])
    allowed = list(model.model_fields) if model is not None else []
    close = suggestion(key, allowed)
    home = _home_of(key)
    if close and home:
        return f'unknown key here; "{key}" belongs in {home} (or did you mean "{close}"?)'
    if close:
        return f'unknown key; did you mean "{close}"?'
    if model is Config and isinstance(value, Mapping) and "description" in value:
        return f"unknown key; a project goes in [projects.{render_key_path((key,))}]"
    if model is ProjectConfig and isinstance(value, Mapping) and "cron" in value:
        project = render_key_path(loc[:-1])
        return f"unknown key; a schedule goes in [{project}.schedules.{render_key_path((key,))}]"
    if home is not None:
        return f'unknown key here; "{key}" belongs in {home}'
    listed = ", ".join(allowed)
    return f"unknown key; allowed here: {listed}" if listed else "unknown key"


def _home_of(key: str) -> str | None:
    """Where a key that is valid elsewhere in the file goes, for one put in the wrong table."""
    from azstate.config import (
        AzstateSettings,
        PermissionsConfig,
        ScheduleConfig,
        SlaConfig,
        SlaRuleConfig,
    )

    homes: tuple[tuple[type[BaseModel], str], ...] = (
        (ServerConfig, "[server]"),
        (AzstateSettings, "[azstate]"),
        (ProjectConfig, "[projects.NAME]"),
        (ScheduleConfig, "[projects.NAME.schedules.FLOW]"),
        (SlaConfig, "[projects.NAME.schedules.FLOW.sla]"),
        (SlaRuleConfig, "an SLA rule (sla.rules = [{ ... }])"),
        (PermissionsConfig, "[projects.NAME.permissions]"),
    )
    for model, home in homes:
        if key in model.model_fields:
            return home
    return None


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = options[0]
        else:
            return annotation


def _model_at(loc: KeyPath) -> type[BaseModel] | None:
    """The model class whose table is at ``loc``, to list the keys allowed there."""
    current: Any = Config
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            if not isinstance(part, str) or part not in current.model_fields:
                return None
            current = current.model_fields[part].annotation
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        elif typing.get_origin(current) is tuple:
            current = typing.get_args(current)[0]
        else:
            return None
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None
