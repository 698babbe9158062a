"""The plan as a pull-request comment: the counts first, deletions impossible to miss.

GitHub refuses comments over 65,536 characters, and a reviewer scrolls past a wall of text, so
every resource is a collapsed ``<details>`` section and a long plan is cut (under ``limit``) at a
section boundary with a note saying what was left out and where the whole plan is. Deleted
addresses are listed above everything else, in a GitHub alert box (``> [!CAUTION]``, a plain
quote elsewhere), and their sections are open, because they are what a reviewer must not miss.
A plan over several projects gets a table of counts per project, so 500 changes read as "which
teams, how much" before any detail. User strings are escaped for HTML inside summaries and
fenced with a longer fence in code.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from azstate.address import Address
from azstate.plan import Action, Change, Drift, Plan
from azstate.views.fields import (
    CronPreview,
    changed,
    cron_preview,
    display,
    field_order,
    field_value,
    set_diff,
)
from azstate.views.theme import action_phrase, action_symbol

LIMIT = 60000
PROJECT_TABLE_FROM = 10  # changes; below this the sections themselves are the overview
OPEN_SECTIONS_UP_TO = 5  # resources; a plan this short is shown unfolded
OPEN_TABLE_UP_TO = 15  # projects; a longer table is folded so the details stay near the top
_MD_SPECIAL = re.compile(r"([\\`*_\[\]!|<>~&])")
_NOTE_RESERVE = 700


@dataclass(frozen=True)
class _Section:
    """One resource's collapsible section, rendered only if it fits (cron previews cost)."""

    address: str
    action: Action | None  # None: a drift section
    project: str
    make: Callable[[], str]


def escape(text: str) -> str:
    """Plain text that markdown and HTML will show as typed (no links, emphasis or tags)."""
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", " ")


def code(text: str) -> str:
    """An inline code span that survives backticks inside the text."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def fenced(lines: Iterable[str], info: str = "diff") -> str:
    body = "\n".join(lines)
    longest = max((len(m) for m in re.findall(r"`{3,}", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{body}\n{fence}"


def render(plan: Plan, *, limit: int = LIMIT, now: datetime | None = None) -> str:
    changes = sorted(
        (c for c in plan.changes if c.action is not Action.NO_OP),
        key=lambda c: c.address,
    )
    drift = sorted(plan.drift, key=lambda d: d.address)
    if plan.refresh_only:
        changes = []
    head = _head(plan, changes, drift, limit)
    tz = plan.timezone
    few = len(drift) + len(changes) <= OPEN_SECTIONS_UP_TO
    sections = [
        _Section(str(d.address), None, d.address.project, partial(_drift_text, d, tz, now, few))
        for d in drift
    ]
    sections += [
        _Section(
            str(c.address), c.action, c.address.project, partial(_change_text, c, tz, now, few)
        )
        for c in changes
    ]
    if not sections:
        return head.rstrip("\n") + "\n"

    multi_project = len({s.project.lower() for s in sections}) > 1
    budget = limit - len(head) - _NOTE_RESERVE
    parts: list[str] = []
    used = 0
    shown = 0
    heading: tuple[bool, str] | None = None
    for section in sections:
        extra = ""
        key = (section.action is None, section.project.lower())
        if key != heading:
            extra = _group_heading(
                section, multi_project, first=heading is None or heading[0] != key[0]
            )
        piece = extra + section.make()
        if used + len(piece) > budget:
            break
        parts.append(piece)
        used += len(piece)
        shown += 1
        heading = key
    body = head + "".join(parts)
    if shown < len(sections):
        body += _cut_note(sections[shown:], len(sections), limit)
    return body.rstrip("\n") + "\n"


def _head(plan: Plan, changes: list[Change], drift: list[Drift], limit: int) -> str:
    title = "## azstate plan" + (" (refresh only)" if plan.refresh_only else "")
    out = [title, ""]
    scope = f"cron times in {code(plan.timezone)}"
    if plan.targets:
        scope += "; only the targeted resources: " + ", ".join(code(str(t)) for t in plan.targets)
    if plan.refresh_only and drift:
        drifted = _count(len(drift), "resource has", "resources have")
        out += [
            f"🔍 **{drifted} changed outside azstate.** "
            "This is a refresh-only plan: nothing will be changed to undo it.",
            "",
            f"Server {code(plan.server)}, {scope}.",
            "",
        ]
    elif not changes:
        out += [
            "✅ **No changes.** The server matches the configuration.",
            "",
            f"Server {code(plan.server)}, {scope}.",
            "",
        ]
    else:
        s = plan.summary
        server_cell = code(plan.server).replace("|", "\\|")
        out += [
            "| Create | Update | Replace | Delete | Server |",
            "|---:|---:|---:|---:|:---|",
            f"| {s.create:,} | {s.update:,} | {s.replace:,} | {s.delete:,} | {server_cell} |",
            "",
            scope[0].upper() + scope[1:] + ".",
            "",
        ]
        for action, alert, verb in (
            (Action.DELETE, "CAUTION", "deletes"),
            (Action.REPLACE, "WARNING", "deletes and re-creates"),
        ):
            hit = [str(c.address) for c in changes if c.action is action]
            if hit:
                out += [_warning(alert, verb, hit, limit // 4), ""]
        projects = {c.addr.project.lower() for c in changes}
        if len(projects) > 1 and len(changes) > PROJECT_TABLE_FROM:
            out += [_project_table(changes, limit // 5), ""]
    return "\n".join(out) + "\n"


def _warning(alert: str, verb: str, addresses: list[str], budget: int) -> str:
    """Every such address, projects first, one per line; only a plan too big for the comment
    is cut short."""
    ordered = sorted(
        addresses, key=lambda a: (Address.parse(a).kind != "project", Address.parse(a))
    )
    lines = [
        f"> [!{alert}]",
        f"> ⚠️ **This plan {verb} {_count(len(ordered), 'resource', 'resources')}:**",
        ">",
    ]
    size = sum(len(line) + 1 for line in lines)
    shown = 0
    for address in ordered:
        line = f"> - {code(address)}"
        if size + len(line) + 1 > budget:
            break
        lines.append(line)
        size += len(line) + 1
        shown += 1
    if shown < len(ordered):
        lines.append(f"> - and {len(ordered) - shown:,} more (see the full plan)")
    return "\n".join(lines)


def _project_table(changes: list[Change], budget: int) -> str:
    """Counts per project, so a big plan reads as "which projects, how much" first."""
    counts: dict[str, dict[Action, int]] = {}
    names: dict[str, str] = {}
    for change in changes:
        project = change.addr.project
        names.setdefault(project.lower(), project)
        row = counts.setdefault(project.lower(), {})
        row[change.action] = row.get(change.action, 0) + 1
    opening = "<details open>" if len(counts) <= OPEN_TABLE_UP_TO else "<details>"
    lines = [
        f"{opening}<summary>Changes by project ({len(counts):,})</summary>",
        "",
        "| Project | Create | Update | Replace | Delete |",
        "|:---|---:|---:|---:|---:|",
    ]
    size = sum(len(line) + 1 for line in lines)
    keys = sorted(counts)
    shown = 0
    for key in keys:
        row = counts[key]
        deleted = row.get(Action.DELETE, 0)
        cells = [
            str(row.get(action, "")) for action in (Action.CREATE, Action.UPDATE, Action.REPLACE)
        ]
        cells.append(f"**{deleted}**" if deleted else "")
        line = f"| {code(names[key]).replace('|', chr(92) + '|')} | " + " | ".join(cells) + " |"
        if size + len(line) + 1 > budget:
            break
        lines.append(line)
        size += len(line) + 1
        shown += 1
    if shown < len(keys):
        lines.append(f"| and {len(keys) - shown:,} more projects | | | | |")
    lines += ["", "</details>"]
    return "\n".join(lines)


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _group_heading(section: _Section, multi_project: bool, *, first: bool) -> str:
    out = ""
    if first:
        out += "### Changed outside azstate\n\n" if section.action is None else "### Changes\n\n"
        if section.action is None:
            out += "`-` is the value on the server, `+` the one in the configuration.\n\n"
    if multi_project:
        out += f"#### Project {code(section.project)}\n\n"
    return out


def _summary(
    symbol: str, address: str, phrase: str, *, alarming: bool = False, unfold: bool = False
) -> str:
    """A deletion's section is open and its phrase bold: it must be read, not just counted.
    The sections of a short plan are open too: folding three changes only costs clicks."""
    opening = "<details open>" if alarming or unfold else "<details>"
    shown = f"<strong>{phrase}</strong>" if alarming else phrase
    return (
        f"{opening}<summary><code>{html.escape(symbol)}</code> "
        f"<code>{html.escape(address)}</code> {shown}</summary>\n\n"
    )


def _change_text(change: Change, timezone: str, now: datetime | None, unfold: bool) -> str:
    before, after = display(change.before_json), display(change.after_json)
    lines: list[str] = []
    match change.action:
        case Action.CREATE:
            lines = _whole(after, "+", timezone, now, with_times=True)
        case Action.DELETE:
            lines = _whole(before, "-", timezone, now, with_times=False)
        case Action.UPDATE | Action.REPLACE:
            for name in changed(before, after):
                lines += _field_change(name, before, after, timezone, now)
        case Action.NO_OP:
            pass
    text = _summary(
        action_symbol(change.action),
        str(change.address),
        action_phrase(change.action),
        alarming=change.action in (Action.DELETE, Action.REPLACE),
        unfold=unfold,
    )
    if lines:
        text += fenced(lines) + "\n\n"
    if change.reason:
        text += f"_{escape(change.reason)}_\n\n"
    return text + "</details>\n\n"


def _whole(
    data: Mapping[str, Any], mark: str, timezone: str, now: datetime | None, *, with_times: bool
) -> list[str]:
    out: list[str] = []
    for name in field_order(data):
        value = data[name]
        shown = field_value(name, value)
        if value is None or shown.is_empty:
            continue
        if shown.block and shown.items:
            out.append(f"{mark} {name}:")
            out += [f"{mark}   {item}" for item in shown.items]
            continue
        out.append(f"{mark} {name}: {shown.text}")
        if name == "cron":
            out += _cron_notes(cron_preview(value, timezone, now, with_times=with_times), mark)
    return out


def _field_change(
    name: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    timezone: str,
    now: datetime | None,
) -> list[str]:
    if name not in before:
        return [f"+ {name}: {field_value(name, after[name]).text}"]
    old, new = field_value(name, before.get(name)), field_value(name, after.get(name))
    if old.is_collection and new.is_collection:
        added, removed = set_diff(old.items or (), new.items or ())
        return [
            f"  {name}:",
            *(f"-   {x}" for x in removed),
            *(f"+   {x}" for x in added),
        ]
    out = [f"- {name}: {old.text}"]
    if name == "cron":
        out += _cron_notes(cron_preview(before.get(name), timezone, now), "-")
    out.append(f"+ {name}: {new.text}")
    if name == "cron":
        out += _cron_notes(cron_preview(after.get(name), timezone, now), "+")
    return out


def _cron_notes(preview: CronPreview, mark: str) -> list[str]:
    out: list[str] = []
    if preview.description:
        out.append(f"{mark}   {preview.description}")
    if preview.next_times:
        out.append(f"{mark}   next: {', '.join(preview.next_times)}")
    return out


def _drift_text(drift: Drift, timezone: str, now: datetime | None, unfold: bool) -> str:
    lines: list[str] = []
    for name, sides in drift.fields.items():
        live, desired = (
            field_value(name, sides.get("live")),
            field_value(name, sides.get("desired")),
        )
        if live.is_collection and desired.is_collection:
            on_server, in_config = set_diff(desired.items or (), live.items or ())
            lines += [
                f"  {name}:",
                *(f"-   {x}" for x in on_server),
                *(f"+   {x}" for x in in_config),
            ]
            continue
        lines.append(f"- {name}: {live.text}")
        if name == "cron":
            lines += _cron_notes(
                cron_preview(sides.get("live"), timezone, now, with_times=False), "-"
            )
        lines.append(f"+ {name}: {desired.text}")
        if name == "cron":
            lines += _cron_notes(
                cron_preview(sides.get("desired"), timezone, now, with_times=False), "+"
            )
    text = _summary("~", str(drift.address), "changed outside azstate", unfold=unfold)
    if lines:
        text += fenced(lines) + "\n\n"
    return text + "</details>\n\n"


def _cut_note(left_out: list[_Section], total: int, limit: int) -> str:
    counts: dict[str, int] = {}
    for section in left_out:
        key = "changed outside azstate" if section.action is None else f"to {section.action.value}"
        counts[key] = counts.get(key, 0) + 1
    breakdown = ", ".join(f"{n:,} {key}" for key, n in counts.items())
    first = left_out[0].address
    return (
        f"> ✂️ **{len(left_out):,} of {total:,} resources are not shown** ({breakdown}), "
        f"from {code(first)} on: this comment is kept under {limit:,} characters. "
        "The full plan is in the saved plan file and the CI artifacts; "
        "run `azstate show PLANFILE` to see all of it.\n"
    )
