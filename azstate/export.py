"""Writes live projects down as azstate TOML: the heart of `azstate import` (pure).

Only values that differ from the configuration defaults are written, so an imported file reads
like one a person wrote; the defaults are the server's own, so the plan after an import is
empty. The file always validates: a value the TOML cannot hold (a rule the loader refuses, a
job the source does not have, an option azstate does not manage) is left out or replaced, and
said in a note that is returned and also written as a comment where the value would be. The
plan after such an import shows exactly what an apply would change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import TypeAdapter, ValidationError

from azstate import cron
from azstate.config import (
    DESCRIPTION_MAX,
    AlerterName,
    AlerterValue,
    Email,
    NodeName,
    NonBlank,
    Principal,
    check_cron,
)
from azstate.errors import CronError
from azstate.flows import FlowInfo
from azstate.state import (
    Concurrent,
    FailureAction,
    ProjectState,
    ScheduleValue,
    SlaRuleValue,
    SlaValue,
    duration,
)
from azstate.variables import escape

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_DEFAULT = ScheduleValue(cron="")
_EMAIL: TypeAdapter[str] = TypeAdapter(Email)
_PRINCIPAL: TypeAdapter[str] = TypeAdapter(Principal)
_ALERTER_NAME: TypeAdapter[str] = TypeAdapter(AlerterName)
_ALERTER_VALUE: TypeAdapter[str] = TypeAdapter(AlerterValue)
_NON_BLANK: TypeAdapter[str] = TypeAdapter(NonBlank)
_NODE: TypeAdapter[str] = TypeAdapter(NodeName)
_WIDTH = 100
HEADER = (
    "# Written by `azstate import`. Review it, commit it, and `azstate plan` should show",
    "# no changes (a comment below says where it cannot).",
)


# Controls, and the characters that reorder or hide text (bidi, zero-width): views/neutral.py's
# list. The file is reviewed as text, so a server's value must not reorder what the reviewer
# reads (TOML's \u escapes keep it exact).
_UNSEEN = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    "\ufeff\ufff9-\ufffb\U000e0000-\U000e007f]"
)


def _escape_unseen(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        point = ord(match.group(0))
        return f"\\u{point:04x}" if point < 0x10000 else f"\\U{point:08x}"

    return _UNSEEN.sub(one, text)


def comment_text(text: str) -> str:
    """Text for a ``#`` comment: one line (a raw newline would end the comment and start TOML or
    a CI command), nothing invisible, no "##[" for a CI log that prints the file."""
    return _escape_unseen(text).replace("##", "#\\u0023")


def quote(text: str) -> str:
    """A TOML basic string. JSON's escapes are TOML's, but JSON leaves DEL, C1 controls and
    bidi or zero-width characters raw; TOML refuses DEL, and a reviewer cannot see the others.
    No "##" either: a CI log that prints the file would read "##[" as a command."""
    return _escape_unseen(json.dumps(text, ensure_ascii=False)).replace("##", "#\\u0023")


def toml_value(text: str) -> str:
    """A string value as TOML that the loader reads back to ``text``: quoted, and escaped where
    ``${var.`` interpolation would otherwise change it (keys are never interpolated)."""
    return quote(escape(text))


def key(text: str) -> str:
    return text if _BARE_KEY.match(text) else quote(text)


def strings(values: Iterable[str]) -> str:
    return "[" + ", ".join(toml_value(v) for v in sorted(values)) + "]"


@dataclass
class Exported:
    text: str
    notes: list[str] = field(default_factory=list)


Remarks = Mapping[tuple[str, str | None], Sequence[str]]


def export(
    projects: Iterable[ProjectState],
    *,
    url: str,
    timezone: str,
    sources: Mapping[str, str],
    schema: str | None = None,
    flows: Mapping[str, FlowInfo] | None = None,
    remarks: Remarks | None = None,
    cron_notes: Mapping[tuple[str, str], str] | None = None,
    now: datetime | None = None,
) -> Exported:
    """The TOML for these projects, in name order.

    ``flows`` (by project name) is what each unpacked source holds: schedules, disabled jobs
    and SLA jobs it does not have would make the file invalid, so they are left out.
    ``remarks`` are notes the caller found, by (project, flow) or (project, None); they are
    written in that table; ``cron_notes`` by (project, flow) say a live cron was rewritten to
    what it means. ``now`` is when crons must still fire (the loader's check).
    """
    writer = _Writer(timezone, flows or {}, remarks or {}, now, cron_notes or {})
    out: list[str] = [f"#:schema {schema}"] if schema else []
    out += [
        *HEADER,
        "",
        "[server]",
        f"url = {toml_value(url)}",
        f"timezone = {toml_value(timezone)}  # the server's default.timezone.id: check it",
    ]
    for project in sorted(projects, key=lambda p: (p.name.lower(), p.name)):
        out.append("")
        out.extend(writer.project(project, sources.get(project.name)))
    return Exported(text="\n".join(out) + "\n", notes=writer.notes)


@dataclass
class _Writer:
    timezone: str
    flows: Mapping[str, FlowInfo]
    remarks: Remarks
    now: datetime | None
    cron_notes: Mapping[tuple[str, str], str]
    notes: list[str] = field(default_factory=list)

    def note(self, lines: list[str], where: str, text: str) -> None:
        note = f"{where}: {text}"
        self.notes.append(note)
        lines.append(f"# {comment_text(note)}")

    def project(self, p: ProjectState, source: str | None) -> list[str]:
        name = p.name
        where = f"project {name}"
        lines = [f"[projects.{key(name)}]"]
        for remark in self.remarks.get((name, None), ()):
            self.note(lines, where, remark)
        description = p.description or ""
        if not description.strip():
            self.note(
                lines,
                where,
                "the server has no description and Azkaban requires one: a placeholder is "
                "written, and the plan will set it",
            )
            description = f"TODO: describe {name}"
        elif len(description) > DESCRIPTION_MAX:
            self.note(
                lines,
                where,
                f"the description is {len(description)} characters long and azstate allows "
                f"{DESCRIPTION_MAX}: it is cut there, and the plan will shorten it",
            )
            description = description[:DESCRIPTION_MAX]
        lines.append(f"description = {toml_value(description)}")
        if source is not None:
            lines.append(f"source = {toml_value(source)}")
        else:
            lines.append("# no files were ever uploaded to this project: no source")
        if p.permissions:
            lines += self.permissions(name, p)
        for flow, sched in sorted(p.schedules.items()):
            lines.append("")
            lines += self.schedule(name, flow, sched, p.slas.get(flow))
        return lines

    def permissions(self, name: str, p: ProjectState) -> list[str]:
        table = f"projects.{key(name)}.permissions"
        lines = ["", f"[{table}]"]
        tables: list[str] = []  # after every inline key, or TOML puts those keys in the table
        where = f"project {name}"
        for principal, label in (("user", "users"), ("group", "groups")):
            entries: dict[str, list[str]] = {}
            for k, value in sorted((p.permissions or {}).items()):
                kind, _, who = k.partition(".")
                if kind != principal:
                    continue
                if not value.perms:
                    self.note(
                        lines,
                        where,
                        f"{principal} {quote(who)} has an entry with no permission, which the "
                        "TOML cannot hold: left out, and the plan will remove the entry",
                    )
                    continue
                if not _valid(_PRINCIPAL, who):
                    self.note(
                        lines,
                        where,
                        f"{principal} name {quote(who)} is not one the TOML accepts: left out, "
                        "and the plan will remove the entry",
                    )
                    continue
                entries[who] = [v.value for v in value.perms]
            if not entries:
                continue
            body = ", ".join(f"{key(w)} = {strings(x)}" for w, x in entries.items())
            inline = f"{label} = {{ {body} }}"
            if len(inline) <= _WIDTH:
                lines.append(inline)
            else:
                tables += ["", f"[{table}.{label}]"]
                tables += [f"{key(w)} = {strings(x)}" for w, x in entries.items()]
        return lines + tables

    def schedule(
        self, project: str, flow: str, s: ScheduleValue, sla: SlaValue | None
    ) -> list[str]:
        where = f"project {project}, flow {flow}"
        table = f"projects.{key(project)}.schedules.{key(flow)}"
        lines: list[str] = []
        info = self.flows.get(project)
        problem = self.unschedulable(flow, s.cron, info)
        if problem is not None:
            self.note(
                lines,
                where,
                f"{problem}, so the TOML cannot declare this schedule: it is written as a "
                "comment, and the plan will delete the schedule",
            )
            quiet = _Writer(self.timezone, {}, {}, self.now, {})  # its notes would only repeat this
            body = quiet.schedule_body(project, flow, s, sla, None, table)
            return lines + [f"# {line}" if line else "#" for line in body]
        return self.schedule_body(project, flow, s, sla, info, table)

    def unschedulable(self, flow: str, expr: str, info: FlowInfo | None) -> str | None:
        if info is not None and flow not in info.flows:
            return f"the uploaded files have no flow {quote(flow)}"
        if info is not None and flow in info.triggered:
            return f"flow {quote(flow)} has a trigger, and azstate refuses cron schedules for it"
        try:
            check_cron(expr)
            cron.check_schedulable(expr, self.timezone, now=self.now)
        except (ValueError, CronError) as exc:
            return f"the cron {quote(expr)} is not one azstate accepts ({exc})"
        return None

    def schedule_body(
        self,
        project: str,
        flow: str,
        s: ScheduleValue,
        sla: SlaValue | None,
        info: FlowInfo | None,
        table: str,
    ) -> list[str]:
        where = f"project {project}, flow {flow}"
        lines = [f"[{table}]"]
        remarks = list(dict.fromkeys([*self.remarks.get((project, flow), ()), *s.cannot_repost]))
        if remarks:
            self.note(
                lines,
                where,
                "Azkaban itself cannot take back in a request what this schedule holds: "
                + "; ".join(remarks)
                + " (any apply that re-posts the schedule loses it, and the plan shows that)",
            )
        if s.no_options:
            self.note(
                lines,
                where,
                "the server holds this schedule without any options (a re-post it refused left "
                "executionOptions null): the plan will post it again with the ones written here",
            )
        if (project, flow) in self.cron_notes:
            self.note(lines, where, self.cron_notes[(project, flow)])
        lines.append(f"cron = {toml_value(s.cron)}")
        lines += self.concurrency(where, s)
        if s.failure_action is not FailureAction.FINISH_CURRENT:
            lines.append(f"failure_action = {toml_value(s.failure_action.value)}")
        if s.failure_action_override:
            lines.append("failure_action_override = true")
        for name, emails, override in (
            ("failure_emails", s.failure_emails, s.failure_emails_override),
            ("success_emails", s.success_emails, s.success_emails_override),
        ):
            kept = self.emails(lines, where, name, emails)
            if kept:
                lines.append(f"{name} = {strings(kept)}")
            if override != bool(kept):  # the TOML's default: override when there are some
                lines.append(f"{name}_override = {str(override).lower()}")
        if s.notify_on_first_failure != _DEFAULT.notify_on_first_failure:
            lines.append(f"notify_on_first_failure = {str(s.notify_on_first_failure).lower()}")
        if s.notify_on_last_failure != _DEFAULT.notify_on_last_failure:
            lines.append(f"notify_on_last_failure = {str(s.notify_on_last_failure).lower()}")
        if s.mail_creator != _DEFAULT.mail_creator:
            lines.append(f"mail_creator = {toml_value(s.mail_creator)}")
        if s.back_execute_once:
            lines.append("back_execute_once = true")
        jobs = None
        if info is not None:
            jobs = info.jobs.get(flow, frozenset()) | info.top_jobs.get(flow, frozenset())
        disabled = sorted(s.disabled_jobs)
        if jobs is not None:
            for job in [j for j in disabled if j not in jobs]:
                self.note(
                    lines,
                    where,
                    f"disabled job {quote(job)} is not a job of the flow: left out of "
                    "disabled_jobs, and the plan will drop it",
                )
            disabled = [j for j in disabled if j in jobs]
        if disabled:
            lines.append(f"disabled_jobs = {strings(disabled)}")
        parameters = self.properties(lines, where, "a flow parameter", s.parameters)
        if parameters:
            lines.append(f"parameters = {{ {', '.join(parameters)} }}")
        nodes: list[str] = []
        for node, props in s.runtime_properties:
            what = f"the runtime properties of job {quote(node)}"
            if jobs is not None and node not in jobs:
                self.note(
                    lines,
                    where,
                    f"{what}: the flow has no such job; left out, and the plan will drop them",
                )
                continue
            if not _valid(_NODE, node):
                self.note(
                    lines,
                    where,
                    f"{what}: not a node name the TOML accepts; left out, and the plan will "
                    "drop them",
                )
                continue
            what = f"a runtime property of job {quote(node)}"
            written = self.properties(lines, where, what, props)
            if written:
                nodes.append(f"{key(node)} = {{ {', '.join(written)} }}")
        if nodes:
            lines += ["", f"[{table}.runtime_properties]", *nodes]
        if sla is not None:
            lines += self.sla(where, flow, sla, info, table)
        return lines

    def concurrency(self, where: str, s: ScheduleValue) -> list[str]:
        lines: list[str] = []
        if s.concurrent not in {c.value for c in Concurrent}:
            self.note(
                lines,
                where,
                f"concurrent option {quote(s.concurrent)} cannot be written in azstate TOML: "
                'left as "skip", and the plan will change it',
            )
            return lines
        if s.concurrent != _DEFAULT.concurrent:
            lines.append(f"concurrent = {toml_value(s.concurrent)}")
        name, level, default = "", None, None
        if s.concurrent == Concurrent.PIPELINE.value:
            name, level = "pipeline_level", s.pipeline_level
        elif s.concurrent == Concurrent.QUEUE.value:
            name, level, default = "queue_level", s.queue_level, 1
        if not name:
            return lines
        if level is None or level < 0:
            self.note(
                lines,
                where,
                f"{name.replace('_', ' ')} {level} cannot be written in azstate TOML (0 or "
                "more): written as 1, and the plan will change it",
            )
            level = 1
        if level != default:
            lines.append(f"{name} = {level}")
        return lines

    def properties(
        self, lines: list[str], where: str, what: str, pairs: Iterable[tuple[str, str]]
    ) -> list[str]:
        written = []
        for name, value in pairs:
            if not name.strip():
                self.note(
                    lines,
                    where,
                    f"{what} with a blank name ({quote(name)} = {toml_value(value)}) cannot be "
                    "written: left out, and the plan will drop it",
                )
                continue
            written.append(f"{key(name)} = {toml_value(value)}")
        return written

    def emails(self, lines: list[str], where: str, name: str, emails: Iterable[str]) -> list[str]:
        kept = []
        for email in sorted(emails):
            if _valid(_EMAIL, email):
                kept.append(email)
            else:
                self.note(
                    lines,
                    where,
                    f"{name}: {quote(email)} is not an e-mail address azstate accepts: left "
                    "out, and the plan will drop it",
                )
        return kept

    def sla(
        self, where: str, flow: str, sla: SlaValue, info: FlowInfo | None, table: str
    ) -> list[str]:
        lines = ["", f"[{table}.sla]"]
        jobs = info.jobs.get(flow, frozenset()) if info is not None else None
        rules: list[SlaRuleValue] = []
        seen: set[tuple[str, str]] = set()
        for rule in sorted(sla.rules, key=lambda r: (r.job, r.rule.value, r.minutes)):
            what = f"SLA rule {{ {_rule_text(rule)} }}"
            if rule.minutes <= 0:
                problem = "its duration is not at least one minute"
            elif not (rule.email or rule.kill):
                problem = "it has no action (e-mail or kill)"
            elif rule.job and jobs is not None and rule.job not in jobs:
                problem = f"the flow has no job {quote(rule.job)}"
            elif (rule.job, rule.rule.value) in seen:
                problem = "azstate holds one rule per job and kind, and the shorter one is kept"
            else:
                seen.add((rule.job, rule.rule.value))
                rules.append(rule)
                continue
            self.note(lines, where, f"{what}: {problem}; left out, and the plan will drop it")
        if not rules:
            self.note(
                lines,
                where,
                "no SLA rule of this schedule can be written: the SLA is left out, and the plan "
                "will remove it",
            )
            return [line for line in lines if line.startswith("#")]
        emails = self.emails(lines, where, "SLA emails", sla.emails)
        if emails:
            lines.append(f"emails = {strings(emails)}")
        alerters = []
        for name, config in sla.alerters:
            settings = []
            for setting, values in config:
                kept = [v for v in values if _valid(_ALERTER_VALUE, v)]
                if len(kept) != len(values) or not _valid(_NON_BLANK, setting):
                    self.note(
                        lines,
                        where,
                        f"SLA alerter {quote(name)}: {key(setting)} = "
                        f"[{', '.join(quote(v) for v in values)}] holds a "
                        "value the TOML cannot (blank, or with ',' or ';'): left out, and the "
                        "plan will change it",
                    )
                    if not _valid(_NON_BLANK, setting):
                        continue
                settings.append(f"{key(setting)} = [{', '.join(toml_value(v) for v in kept)}]")
            if not _valid(_ALERTER_NAME, name):
                self.note(
                    lines,
                    where,
                    f"SLA alerter {quote(name)} has a name the TOML cannot hold: left out, and "
                    "the plan will drop it",
                )
            elif settings:
                alerters.append(f"{key(name)} = {{ {', '.join(settings)} }}")
        if alerters:
            lines.append(f"alerters = {{ {', '.join(alerters)} }}")
        lines.append("rules = [")
        lines += [f"  {{ {_rule_text(rule)} }}," for rule in rules]
        lines.append("]")
        return lines


def _rule_text(rule: SlaRuleValue) -> str:
    parts = [f"job = {toml_value(rule.job)}"] if rule.job else []
    parts.append(f"rule = {toml_value(rule.rule.value)}")
    parts.append(
        f"duration = {toml_value(duration(rule.minutes)) if rule.minutes > 0 else rule.minutes}"
    )
    if rule.email:
        parts.append("email = true")
    if rule.kill:
        parts.append("kill = true")
    return ", ".join(parts)


def _valid(adapter: TypeAdapter[str], value: str) -> bool:
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True
