"""Reads the configuration (a TOML file or a directory of them) and its sources.

Everything a user can get wrong in the file is reported here, before any request is sent, as
one ConfigError naming the file, the line and the dotted key path
(``azstate.toml:14: projects.etl.schedules.daily_load.cron: ...``); further problems follow on
the next lines. tomllib gives no line numbers for keys, so KeyLocator re-reads the text for
them. Pydantic's ValidationError never leaves this module.

Sources are read here too: a directory is zipped (deterministically, archive.py), a ``.zip``
file is taken as it is; flows.py finds the flows in them, and schedules, disabled jobs and SLA
jobs that name a flow or job that is not there are errors at their own key.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from azstate import cron
from azstate.archive import (
    MAX_TOTAL,
    SKIPPED_DIRS,
    SKIPPED_FILES,
    collect_files,
    content_digest,
    read_zip_safely,
    zip_files,
)
from azstate.boundary import Confinement
from azstate.config import (
    Config,
    ProjectConfig,
    ServerConfig,
    describe_value,
    quoted,
    suggestion,
)
from azstate.errors import ConfigError, CronError, SourceError
from azstate.flows import FlowInfo, discover
from azstate.state import SourceFiles

KeyPath = tuple[str | int, ...]
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
        text = part if _BARE_KEY.fullmatch(part) else quoted(part)
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
            parts.append(tomllib.loads(f"k = {text[i : j + 1]}")["k"])
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
        the scan costs as much as tomllib's parse on a big fleet.
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
                parts.append(tomllib.loads(f"k = {self.text[start : self.pos]}")["k"])
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
    raw: Mapping[str, Any]
    locator: KeyLocator
    data: bytes

    def declares(self, path: KeyPath) -> bool:
        node: Any = self.raw
        for part in path[:2]:
            if not isinstance(node, Mapping):
                return False
            if part not in node:
                return False
            node = node[part]
        return True


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    files: tuple[Path, ...]  # the TOML files read
    sources: Mapping[str, SourceFiles]  # by project name as declared; projects with a source
    artifacts: Mapping[str, bytes]  # zip sha256 -> the exact zip bytes to upload
    digest: str  # over the TOML files' bytes and every source's content digest
    warnings: tuple[str, ...] = ()
    flows: Mapping[str, FlowInfo] = field(default_factory=dict)  # by project, as sources
    toml: tuple[TomlFile, ...] = ()

    def locate(self, key_path: str) -> tuple[str, int | None]:
        """(file, line) of a dotted key path, for errors found after loading (e.g. by plan)."""
        path = parse_key_path(key_path)
        fallback = self.toml[0].shown if self.toml else str(self.files[0]) if self.files else ""
        return _locate(self.toml, path) or (fallback, None)


def _locate(files: tuple[TomlFile, ...], path: KeyPath) -> tuple[str, int | None] | None:
    if len(path) >= 2 and path[0] == "projects" and isinstance(path[1], str):
        name = path[1].lower()
        for toml in files:
            projects = toml.raw.get("projects")
            if isinstance(projects, Mapping):
                for declared in projects:
                    if declared.lower() == name:
                        return toml.shown, toml.locator.find(("projects", declared, *path[2:]))
    for toml in files:
        if path and path[0] in toml.raw:
            return toml.shown, toml.locator.find(path)
    return None


@dataclass(frozen=True)
class _Problem:
    file: str
    line: int | None
    key: str | None
    message: str

    def __str__(self) -> str:
        return str(ConfigError(self.message, file=self.file, line=self.line, key=self.key))


def _fail(problems: list[_Problem]) -> typing.NoReturn:
    first, rest = problems[0], problems[1:]
    extra = [str(p) for p in rest[: _MAX_SHOWN - 1]]
    if len(rest) > _MAX_SHOWN - 1:
        extra.append(f"... and {len(rest) - _MAX_SHOWN + 1} more problems")
    message = first.message + "".join(f"\n{line}" for line in extra)
    raise ConfigError(message, file=first.file, line=first.line, key=first.key)


# Loading --------------------------------------------------------------------------------------


def load_config(
    path: Path | str = "azstate.toml",
    *,
    now: datetime | None = None,
    allow_outside: bool = False,
) -> LoadedConfig:
    """Read, validate and resolve the configuration and its sources.

    ``now`` is when schedules must still fire after (tests pin it). ``allow_outside``
    (--allow-outside-sources) lets files and sources lie outside the repository of ``path``.
    Raises ConfigError or SourceError, never anything from pydantic or tomllib.
    """
    confinement = Confinement(Path(path), allow_outside=allow_outside)
    files = _toml_paths(Path(path))
    _check_inside(files, confinement)
    tomls = tuple(_read_toml(p, str(p)) for p in files)
    _check_across_files(tomls)
    configs = [_validate(t) for t in tomls]
    config = _merge(tomls, configs)
    problems: list[_Problem] = []
    config = _resolve_paths(tomls, config, problems)
    _check_schedulable(tomls, config, problems, now)
    if problems:
        _fail(problems)
    return _with_sources(tomls, config, confinement)


def _check_inside(files: Iterable[Path], confinement: Confinement) -> None:
    """Every TOML file read (extended ones included) lies inside the boundary: a pull request
    must not make CI read a file from elsewhere on the runner."""
    for file in files:
        refusal = confinement.refusal(file, str(file))
        if refusal:
            raise ConfigError(refusal, file=str(file))


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
        raw = tomllib.loads(text)
        locator = KeyLocator(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(exc, shown, text) from exc
    except RecursionError:
        raise ConfigError(
            "arrays or tables nested too deeply to read (a configuration needs a few levels)",
            file=shown,
        ) from None
    return TomlFile(path=path, shown=shown, raw=raw, locator=locator, data=data)


def _syntax_error(exc: tomllib.TOMLDecodeError, shown: str, text: str) -> ConfigError:
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


def _check_across_files(tomls: tuple[TomlFile, ...]) -> None:
    """What no single file can see: [server]/[azstate] once, project names unique ignoring case."""
    problems: list[_Problem] = []
    for section in ("server", "azstate"):
        having = [t for t in tomls if section in t.raw]
        for other in having[1:]:
            first = having[0]
            problems.append(
                _Problem(
                    other.shown,
                    other.locator.find((section,)),
                    section,
                    f"[{section}] is already set in {first.shown} (line "
                    f"{first.locator.find((section,))}); only one file of a directory may set it",
                )
            )
    seen: dict[str, tuple[TomlFile, str]] = {}
    for toml in tomls:
        projects = toml.raw.get("projects")
        if not isinstance(projects, Mapping):
            continue
        for name in projects:
            earlier = seen.setdefault(name.lower(), (toml, name))
            if earlier[0] is toml and earlier[1] == name:
                continue
            first, first_name = earlier
            where = "" if first is toml else f"{first.shown}, "
            same = (
                "is already declared"
                if first_name == name
                else f"is the same as {quoted(first_name)}"
            )
            problems.append(
                _Problem(
                    toml.shown,
                    toml.locator.find(("projects", name)),
                    render_key_path(("projects", name)),
                    f"project {quoted(name)} {same} ({where}line "
                    f"{first.locator.find(('projects', first_name))}); Azkaban project names are "
                    "unique ignoring case",
                )
            )
    if problems:
        _fail(problems)


def _validate(toml: TomlFile) -> Config:
    try:
        return Config.model_validate(dict(toml.raw))
    except ValidationError as exc:
        problems = [_translate(err, toml) for err in exc.errors(include_url=False)]
    problems.sort(key=lambda p: (p.line or 0, p.key or ""))
    _fail(problems)


def _merge(tomls: tuple[TomlFile, ...], configs: list[Config]) -> Config:
    if len(configs) == 1:
        return configs[0]
    server = next(
        (c.server for t, c in zip(tomls, configs, strict=True) if "server" in t.raw), None
    )
    settings = next(
        (c.azstate for t, c in zip(tomls, configs, strict=True) if "azstate" in t.raw), None
    )
    projects: dict[str, ProjectConfig] = {}
    for config in configs:
        projects.update(config.projects)
    return Config(
        server=server or ServerConfig(),
        azstate=settings or configs[0].azstate,
        projects=projects,
    )


def _owner(tomls: tuple[TomlFile, ...], path: KeyPath) -> TomlFile:
    for toml in tomls:
        if toml.declares(path):
            return toml
    return tomls[0]


def _problem_at(tomls: tuple[TomlFile, ...], path: KeyPath, message: str) -> _Problem:
    toml = _owner(tomls, path)
    return _Problem(toml.shown, toml.locator.find(path), render_key_path(path), message)


def _shown_path(toml: TomlFile, value: str) -> str:
    """A path from the file, as the user would type it from where they run azstate."""
    return os.path.normpath(os.path.join(os.path.dirname(toml.shown), value))


def _resolve_paths(tomls: tuple[TomlFile, ...], config: Config, problems: list[_Problem]) -> Config:
    """Sources and the CA bundle are relative to the file that names them."""
    server = config.server
    if server.ca_bundle is not None:
        toml = _owner(tomls, ("server",))
        bundle = (toml.path.parent / server.ca_bundle).absolute()
        if not bundle.is_file():
            problems.append(
                _problem_at(
                    tomls,
                    ("server", "ca_bundle"),
                    f"no such file: {_shown_path(toml, server.ca_bundle)}",
                )
            )
        server = server.model_copy(update={"ca_bundle": str(bundle)})
    projects: dict[str, ProjectConfig] = {}
    for name, project in config.projects.items():
        if project.source is not None:
            toml = _owner(tomls, ("projects", name))
            source = Path(os.path.normpath((toml.path.parent / project.source).absolute()))
            project = project.model_copy(update={"source": source})
        projects[name] = project
    return config.model_copy(update={"server": server, "projects": projects})


def _check_schedulable(
    tomls: tuple[TomlFile, ...], config: Config, problems: list[_Problem], now: datetime | None
) -> None:
    zone = config.server.timezone
    for name, project in config.projects.items():
        for flow, schedule in project.schedules.items():
            try:
                cron.check_schedulable(schedule.cron, zone, now=now, quartz=cron.Quartz.V2_3)
            except CronError as exc:
                path: KeyPath = ("projects", name, "schedules", flow, "cron")
                problems.append(_problem_at(tomls, path, str(exc)))


# Sources ------------------------------------------------------------------------------------


def _with_sources(
    tomls: tuple[TomlFile, ...], config: Config, confinement: Confinement
) -> LoadedConfig:
    problems: list[_Problem] = []
    warnings: list[str] = []
    sources: dict[str, SourceFiles] = {}
    artifacts: dict[str, bytes] = {}
    flows: dict[str, FlowInfo] = {}
    built: dict[Path, tuple[SourceFiles, bytes, FlowInfo]] = {}
    for name, project in config.projects.items():
        _sla_email_warnings(name, project, tomls, warnings)
        if project.source is None:
            continue
        toml = _owner(tomls, ("projects", name))
        raw_source = toml.raw["projects"][name]["source"]
        shown = _shown_path(toml, raw_source)
        key: KeyPath = ("projects", name, "source")
        refusal = confinement.refusal(project.source, shown)
        if refusal:
            problems.append(_problem_at(tomls, key, refusal))
            continue
        warnings.extend(_unreviewed(name, shown, project.source, confinement))
        if project.source not in built:
            result = _read_source(project.source, shown, name)
            if isinstance(result, str):
                problems.append(_problem_at(tomls, key, result))
                continue
            built[project.source] = result
        files, zip_bytes, info = built[project.source]
        sources[name] = files
        artifacts[files.zip_sha256] = zip_bytes
        flows[name] = info
        warnings.extend(f"project {name} ({shown}): {w}" for w in info.warnings)
        _check_flows(tomls, name, project, info, shown, problems)
    if problems:
        _fail(problems)
    return LoadedConfig(
        config=config,
        files=tuple(t.path for t in tomls),
        sources=sources,
        artifacts=artifacts,
        digest=_digest(tomls, sources),
        warnings=tuple(warnings),
        flows=flows,
        toml=tomls,
    )


def _unreviewed(name: str, shown: str, source: Path, confinement: Confinement) -> list[str]:
    untracked = confinement.unreviewed(source, skipped=SKIPPED_DIRS | SKIPPED_FILES)
    if not untracked:
        return []
    what = "the whole directory" if untracked == ["."] else _listed(set(untracked))
    return [
        f"project {name} ({shown}): git does not track {what}: it would be uploaded without "
        "review (commit it, or move it out of the source)"
    ]


def _read_source(
    source: Path, shown: str, project: str
) -> tuple[SourceFiles, bytes, FlowInfo] | str:
    """The source's files, zip and flows; a message (for the source key) if it is not there."""
    if source.is_dir():
        files = collect_files(source, origin=shown)
        data = zip_files(files)
        zip_name = f"{project}.zip"
    elif source.is_file() and source.suffix.lower() == ".zip":
        try:
            if source.stat().st_size > MAX_TOTAL:
                return f"{shown} is {source.stat().st_size} bytes, over the limit of {MAX_TOTAL}"
            data = source.read_bytes()
        except OSError as exc:
            return f"cannot read {shown}: {exc.strerror}"
        try:
            files = read_zip_safely(data)
        except SourceError as exc:
            file = f"{shown}/{exc.file}" if exc.file else shown
            raise SourceError(exc.message, file=file) from exc
        zip_name = source.name
    elif source.exists():
        return f"{shown} is neither a directory nor a .zip file"
    else:
        return f"{shown} does not exist (a source is relative to the file that names it)"
    info = discover(files, origin=shown)
    sha = hashlib.sha256(data).hexdigest()
    value = SourceFiles(
        content_digest=content_digest(files),
        flows=info.flows,
        jobs=info.jobs,
        zip_name=zip_name,
        zip_size=len(data),
        zip_sha256=sha,
    )
    return value, data, info


def _listed(names: frozenset[str] | set[str]) -> str:
    ordered = sorted(names)
    text = ", ".join(ordered[:_MAX_LISTED])
    return text + (f", ... ({len(ordered)} in all)" if len(ordered) > _MAX_LISTED else "")


def _did_you_mean(word: str, names: frozenset[str]) -> str:
    close = suggestion(word, sorted(names))
    return f' (did you mean "{close}"?)' if close else ""


def _check_flows(
    tomls: tuple[TomlFile, ...],
    name: str,
    project: ProjectConfig,
    info: FlowInfo,
    shown: str,
    problems: list[_Problem],
) -> None:
    for flow, schedule in project.schedules.items():
        base: KeyPath = ("projects", name, "schedules", flow)
        if flow not in info.flows:
            problems.append(_problem_at(tomls, base, _missing_flow(flow, info, shown)))
            continue
        if flow in info.triggered:
            problems.append(
                _problem_at(
                    tomls,
                    base,
                    f"flow {quoted(flow)} has a trigger in its .flow file; Azkaban refuses cron "
                    "schedules for triggered flows (remove the trigger or this schedule)",
                )
            )
        jobs = info.jobs.get(flow, frozenset())
        nodes = jobs | info.top_jobs.get(flow, frozenset())
        for index, job in enumerate(schedule.disabled_jobs):
            if job not in nodes:
                message = (
                    f"no job {quoted(job)} in flow {quoted(flow)}{_did_you_mean(job, nodes)}; "
                    f"its jobs: {_listed(nodes)}"
                )
                problems.append(_problem_at(tomls, (*base, "disabled_jobs", index), message))
        for node in schedule.runtime_properties:
            if node not in nodes:
                message = (
                    f"no job {quoted(node)} in flow {quoted(flow)}{_did_you_mean(node, nodes)}; "
                    f"its jobs: {_listed(nodes)}"
                )
                problems.append(_problem_at(tomls, (*base, "runtime_properties", node), message))
        if schedule.sla is None:
            continue
        for index, rule in enumerate(schedule.sla.rules):
            if rule.job is None or rule.job in jobs:
                continue
            problems.append(
                _problem_at(
                    tomls,
                    (*base, "sla", "rules", index, "job"),
                    f"no job {quoted(rule.job)} in flow {quoted(flow)}"
                    f"{_did_you_mean(rule.job, jobs)}; its jobs: {_listed(jobs)}",
                )
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
    name: str, project: ProjectConfig, tomls: tuple[TomlFile, ...], warnings: list[str]
) -> None:
    for flow, schedule in project.schedules.items():
        sla = schedule.sla
        if sla is None or sla.emails or not any(r.email for r in sla.rules):
            continue
        where = _problem_at(tomls, ("projects", name, "schedules", flow, "sla"), "")
        warnings.append(
            f"{where.file}:{where.line}: {where.key}: a rule has email = true but sla.emails is "
            "empty, so nobody is told"
        )


def _digest(tomls: tuple[TomlFile, ...], sources: Mapping[str, SourceFiles]) -> str:
    digest = hashlib.sha256(b"azstate-config-1\0")
    for toml in tomls:
        digest.update(hashlib.sha256(toml.data).hexdigest().encode())
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


def _translate(err: Any, toml: TomlFile) -> _Problem:
    loc: KeyPath = tuple(p for p in err["loc"] if p != "[key]")
    message = _message(err, loc)
    return _Problem(toml.shown, toml.locator.find(loc), render_key_path(loc) or None, message)


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
