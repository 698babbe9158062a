"""Writes live projects down as azstate TOML: the heart of `azstate import` (pure).

Only values that differ from the configuration defaults are written, so an imported file reads
like one a person wrote; the defaults are the server's own, so the plan after an import is
empty. Whatever the TOML cannot express is returned as a note and written as a comment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from azstate.state import (
    Concurrent,
    FailureAction,
    ProjectState,
    ScheduleValue,
    SlaValue,
)

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_DEFAULT = ScheduleValue(cron="")


def quote(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def key(text: str) -> str:
    return text if _BARE_KEY.match(text) else quote(text)


def strings(values: Iterable[str]) -> str:
    return "[" + ", ".join(quote(v) for v in sorted(values)) + "]"


def duration(minutes: int) -> str:
    hours, mins = divmod(minutes, 60)
    if hours and mins:
        return f"{hours}h{mins}m"
    return f"{hours}h" if hours else f"{mins}m"


@dataclass
class Exported:
    text: str
    notes: list[str] = field(default_factory=list)


def export(
    projects: Iterable[ProjectState],
    *,
    url: str,
    timezone: str,
    sources: Mapping[str, str],
    schema: str | None = None,
) -> Exported:
    notes: list[str] = []
    out: list[str] = []
    if schema:
        out.append(f"#:schema {schema}")
    out += [
        "# Written by `azstate import`. Review it, commit it, and `azstate plan` should show",
        "# no changes.",
        "",
        "[server]",
        f"url = {quote(url)}",
        f"timezone = {quote(timezone)}  # the server's default.timezone.id: check it",
    ]
    for project in sorted(projects, key=lambda p: p.name.lower()):
        out.append("")
        out.extend(_project(project, sources.get(project.name), notes))
    return Exported(text="\n".join(out) + "\n", notes=notes)


def _project(p: ProjectState, source: str | None, notes: list[str]) -> list[str]:
    name = p.name
    lines = [f"[projects.{key(name)}]"]
    if p.description is None or not p.description.strip():
        note = f"project {name}: the description could not be read back (Azkaban requires one)"
        notes.append(note)
        lines.append(f"# {note}")
        lines.append(f"description = {quote(p.description or 'TODO: describe ' + name)}")
    else:
        lines.append(f"description = {quote(p.description)}")
    if source is not None:
        lines.append(f"source = {quote(source)}")
    else:
        lines.append("# no files were ever uploaded to this project: no source")
    if p.permissions is not None and p.permissions:
        lines += ["", f"[projects.{key(name)}.permissions]"]
        for principal, label in (("user", "users"), ("group", "groups")):
            entries = {
                k.partition(".")[2]: v
                for k, v in p.permissions.items()
                if k.partition(".")[0] == principal
            }
            if entries:
                body = ", ".join(
                    f"{key(n)} = {strings(x.value for x in v.perms)}"
                    for n, v in sorted(entries.items())
                )
                lines.append(f"{label} = {{ {body} }}")
    for flow, sched in sorted(p.schedules.items()):
        lines += ["", f"[projects.{key(name)}.schedules.{key(flow)}]"]
        lines += _schedule(name, flow, sched, notes)
        sla = p.slas.get(flow)
        if sla is not None:
            lines += ["", f"[projects.{key(name)}.schedules.{key(flow)}.sla]"]
            lines += _sla(sla)
    return lines


def _schedule(project: str, flow: str, s: ScheduleValue, notes: list[str]) -> list[str]:
    lines = [f"cron = {quote(s.cron)}"]
    if s.concurrent not in {c.value for c in Concurrent}:
        note = (
            f"project {project}, flow {flow}: concurrent option {s.concurrent!r} cannot be "
            'written in azstate TOML; written as "skip"'
        )
        notes.append(note)
        lines.append(f"# {note}")
    elif s.concurrent != _DEFAULT.concurrent:
        lines.append(f"concurrent = {quote(s.concurrent)}")
        if s.concurrent == Concurrent.PIPELINE.value:
            level = s.pipeline_level or 1
            if level not in (1, 2):
                note = (
                    f"project {project}, flow {flow}: pipeline level {level} cannot be written "
                    "in azstate TOML (1 or 2); written as 2"
                )
                notes.append(note)
                lines.append(f"# {note}")
                level = 2
            lines.append(f"pipeline_level = {level}")
    if s.failure_action is not FailureAction.FINISH_CURRENT:
        lines.append(f"failure_action = {quote(s.failure_action.value)}")
    if s.failure_emails:
        lines.append(f"failure_emails = {strings(s.failure_emails)}")
    if s.success_emails:
        lines.append(f"success_emails = {strings(s.success_emails)}")
    if s.notify_on_first_failure != _DEFAULT.notify_on_first_failure:
        lines.append(f"notify_on_first_failure = {str(s.notify_on_first_failure).lower()}")
    if s.notify_on_last_failure != _DEFAULT.notify_on_last_failure:
        lines.append(f"notify_on_last_failure = {str(s.notify_on_last_failure).lower()}")
    if s.disabled_jobs:
        lines.append(f"disabled_jobs = {strings(s.disabled_jobs)}")
    if s.parameters:
        body = ", ".join(f"{quote(k)} = {quote(v)}" for k, v in s.parameters)
        lines.append(f"parameters = {{ {body} }}")
    return lines


def _sla(sla: SlaValue) -> list[str]:
    lines = []
    if sla.emails:
        lines.append(f"emails = {strings(sla.emails)}")
    lines.append("rules = [")
    for rule in sorted(sla.rules, key=lambda r: (r.job, r.rule.value, r.minutes)):
        parts = []
        if rule.job:
            parts.append(f"job = {quote(rule.job)}")
        parts.append(f"rule = {quote(rule.rule.value)}")
        parts.append(f"duration = {quote(duration(rule.minutes))}")
        if rule.email:
            parts.append("email = true")
        if rule.kill:
            parts.append("kill = true")
        lines.append("  { " + ", ".join(parts) + " },")
    lines.append("]")
    return lines
