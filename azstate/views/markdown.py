"""The plan as a pull-request comment: the counts first, deletions impossible to miss.

GitHub refuses comments over 65,536 characters, and a reviewer scrolls past a wall of text, so
every resource is a collapsed ``<details>`` section and a long plan is cut (under ``limit``) at a
section boundary with a note saying what was left out and where the whole plan is. Deleted
addresses are listed above everything else, in a GitHub alert box (``> [!CAUTION]``, a plain
quote elsewhere), and their sections are open, because they are what a reviewer must not miss.
A plan over several projects gets a table of counts per project, so 500 changes read as "which
teams, how much" before any detail. What each change shows comes from views/diffmodel.py; every
value goes out through views/neutral.py (code spans and fences it cannot close, HTML-escaped in
summaries); a change's reason, which quotes names, is a comment line inside its fence.

A three-way plan (``--baseline``) groups its changes by origin: conflicts first, announced in
a caution box and showing all three values, then "This change", then "Drift on the server".
A plain plan cannot know who moved a value and lists its changes as changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from azstate.address import Address
from azstate.origins import Origin
from azstate.plan import Action, Change, Plan
from azstate.views import diffmodel
from azstate.views.counts import count
from azstate.views.diffmodel import CronNote, FieldDiff, Side, Sign, unchanged_note
from azstate.views.neutral import fenced, md_cell, md_html
from azstate.views.neutral import md_code as code
from azstate.views.theme import action_phrase, action_symbol

LIMIT = 60000
PROJECT_TABLE_FROM = 10  # changes; below this the sections themselves are the overview
OPEN_SECTIONS_UP_TO = 5  # resources; a plan this short is shown unfolded
OPEN_TABLE_UP_TO = 15  # projects; a longer table is folded so the details stay near the top
_NOTE_RESERVE = 700


@dataclass(frozen=True)
class _Section:
    """One resource's collapsible section, rendered only if it fits (cron previews cost)."""

    address: str
    action: Action
    origin: Origin
    project: str
    make: Callable[[], str]


def render(plan: Plan, *, limit: int = LIMIT, now: datetime | None = None) -> str:
    changes = sorted(
        (c for c in plan.changes if c.action is not Action.NO_OP),
        key=lambda c: c.address,
    )
    head = _head(plan, changes, limit)
    tz = plan.timezone
    few = len(changes) <= OPEN_SECTIONS_UP_TO
    sections = [
        _Section(
            str(c.address),
            c.action,
            group.origin,
            c.address.project,
            partial(_change_text, c, tz, now, few, plan.refresh_only),
        )
        for group in diffmodel.origin_groups(changes)
        for c in group.changes
    ]
    revision = code(plan.baseline.revision) if plan.baseline else ""
    titles = {g.origin: (g.title, g.described(revision)) for g in diffmodel.origin_groups(changes)}
    if not sections:
        return head.rstrip("\n") + "\n"

    multi_project = len({s.project.lower() for s in sections}) > 1
    budget = limit - len(head) - _NOTE_RESERVE
    parts: list[str] = []
    used = 0
    shown = 0
    heading: tuple[Origin, str] | None = None
    for section in sections:
        extra = ""
        key = (section.origin, section.project.lower())
        if key != heading:
            extra = _group_heading(
                section,
                titles[section.origin],
                multi_project,
                first=heading is None or heading[0] != key[0],
                refresh_only=plan.refresh_only,
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
    body += _converged(plan)
    return body.rstrip("\n") + "\n"


def _converged(plan: Plan) -> str:
    if not plan.converged:
        return ""
    listed = ", ".join(code(str(a)) for a in plan.converged)
    return (
        f"_Already on the server (the configuration changed since the baseline, and the server "
        f"holds the new value):_ {listed}\n"
    )


def _server_warning(plan: Plan) -> str:
    """Beside the server line, first thing in the comment: a mis-set AZKABAN_URL secret
    would otherwise plan against another server without anyone reviewing it noticing."""
    return (
        f"> [!WARNING]\n> `AZKABAN_URL` points at {code(plan.server)}, not at `server.url` "
        f"{code(plan.configured_server or '')}."
    )


def _head(plan: Plan, changes: list[Change], limit: int) -> str:
    title = "## azstate plan" + (" (refresh only)" if plan.refresh_only else "")
    out = [title, ""]
    if plan.configured_server is not None:
        out += [_server_warning(plan), ""]
    scope = f"cron times in {code(plan.timezone)}"
    if plan.baseline is not None:
        scope += (
            f"; compared with the last applied configuration at {code(plan.baseline.revision)} "
            f"({code(plan.baseline.commit[:12])})"
        )
    if plan.targets:
        scope += "; only the targeted resources: " + ", ".join(code(str(t)) for t in plan.targets)
    if plan.refresh_only and changes:
        found = count(len(changes), "resource differs", "resources differ")
        what = "on the server since the baseline" if plan.baseline else "from the configuration"
        out += [
            f"🔍 **{found} {what}.** "
            "This is a refresh-only plan: nothing will be changed to undo it.",
            "",
            f"Server {code(plan.server)}, {scope}.",
            "",
        ]
        out += _conflict_box(changes, limit)
    elif not changes:
        out += [
            "✅ **No changes.** The server matches the configuration."
            if not plan.refresh_only or plan.baseline is None
            else "✅ **No drift.** The server holds what the baseline applied.",
            "",
            f"Server {code(plan.server)}, {scope}.",
            "",
        ]
    else:
        s = plan.summary
        server_cell = md_cell(plan.server)
        out += [
            "| Create | Update | Delete | Server |",
            "|---:|---:|---:|:---|",
            f"| {s.create:,} | {s.update:,} | {s.delete:,} | {server_cell} |",
            "",
            scope[0].upper() + scope[1:] + ".",
            "",
        ]
        out += _conflict_box(changes, limit)
        for action, alert, verb in (
            (Action.DELETE, "CAUTION", "deletes"),
            (Action.REPLACE, "WARNING", "deletes and re-creates"),
        ):
            hit = [str(c.address) for c in changes if c.action is action]
            if hit:
                out += [_warning(alert, verb, hit, limit // 4), ""]
        projects = {c.address.project.lower() for c in changes}
        if len(projects) > 1 and len(changes) > PROJECT_TABLE_FROM:
            out += [_project_table(changes, limit // 5), ""]
    return "\n".join(out) + "\n"


def _conflict_box(changes: list[Change], limit: int) -> list[str]:
    """Conflicts are shown, not blocking: apply makes the server match the configuration, so
    what someone changed on the server is lost unless the reviewer keeps it."""
    hit = [str(c.address) for c in changes if c.origin is Origin.CONFLICT]
    if not hit:
        return []
    box = _warning("CAUTION", "has conflicts on", hit, limit // 4)
    lines = [
        *box.split("\n"),
        ">",
        "> Each was changed both in the configuration and on the server since the baseline; "
        "apply makes the server match the configuration.",
    ]
    return ["\n".join(lines), ""]


def _warning(alert: str, verb: str, addresses: list[str], budget: int) -> str:
    """Every such address, projects first, one per line; only a plan too big for the comment
    is cut short."""
    ordered = sorted(
        addresses, key=lambda a: (Address.parse(a).kind != "project", Address.parse(a))
    )
    lines = [
        f"> [!{alert}]",
        f"> ⚠️ **This plan {verb} {count(len(ordered), 'resource', 'resources')}:**",
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
        project = change.address.project
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
        line = f"| {md_cell(names[key])} | " + " | ".join(cells) + " |"
        if size + len(line) + 1 > budget:
            break
        lines.append(line)
        size += len(line) + 1
        shown += 1
    if shown < len(keys):
        lines.append(f"| and {count(len(keys) - shown, 'more project')} | | | | |")
    lines += ["", "</details>"]
    return "\n".join(lines)


def _group_heading(
    section: _Section,
    title: tuple[str, str],
    multi_project: bool,
    *,
    first: bool,
    refresh_only: bool,
) -> str:
    out = ""
    if first:
        name, note = title
        if section.origin is Origin.UNKNOWN and refresh_only:
            name = "Differences"
        out += f"### {name}\n\n"
        if section.origin is not Origin.UNKNOWN:
            out += f"{note[0].upper() + note[1:]}. "  # fixed words, the revision a code span
        out += "`-` is the value on the server, `+` the one in the configuration"
        if section.origin is Origin.CONFLICT:
            out += ", `#` the one at the baseline"
        out += ".\n\n"
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
        f"{opening}<summary><code>{md_html(symbol)}</code> "
        f"<code>{md_html(address)}</code> {shown}</summary>\n\n"
    )


_FOUND_PHRASE = {
    Action.CREATE: "is missing on the server",
    Action.DELETE: "is on the server and not in the configuration",
    Action.UPDATE: "differs on the server",
    Action.REPLACE: "differs on the server",
}


def _change_text(
    change: Change, timezone: str, now: datetime | None, unfold: bool, refresh_only: bool = False
) -> str:
    view = diffmodel.build(change, timezone, now)
    lines: list[str] = []
    base = dict(view.base)
    for field in view.fields:
        lines += _field_lines(field)
        if field.name in base:
            lines.append(f"# {field.name}: {base.pop(field.name).text}")
    for name, side in base.items():  # a whole resource in conflict: the baseline's value
        lines.append(f"# {name}: {side.text}" if name else f"# {side.text}")
    if view.unchanged:
        lines.append("  " + unchanged_note(view.unchanged))
    if view.reason:
        # Inside the fence, like the unchanged note: a reason quotes names (a flow's), and in
        # prose a name could still be a link, a mention or an emoji.
        lines.append(f"  # ({view.reason})")
    phrase = _FOUND_PHRASE.get(view.action, "") if refresh_only else action_phrase(view.action)
    text = _summary(
        action_symbol(view.action),
        view.address,
        phrase,
        alarming=view.action in (Action.DELETE, Action.REPLACE) or view.origin is Origin.CONFLICT,
        unfold=unfold,
    )
    if lines:
        text += fenced(lines) + "\n\n"
    return text + "</details>\n\n"


def _side_lines(name: str, side: Side, mark: str, *, block: bool) -> list[str]:
    if block and side.items:
        return [f"{mark} {name}:", *(f"{mark}   {item}" for item in side.items)]
    return [f"{mark} {name}: {side.text}", *_cron_notes(side.cron, mark)]


_ITEM_MARK = {Sign.REMOVED: "-", Sign.CHANGED: "!", Sign.ADDED: "+"}


def _field_lines(field: FieldDiff) -> list[str]:
    """A field in a ``diff`` fence: ``-`` lines (the old value, or the server's) before ``+``
    lines; a changed map entry or SLA rule is one ``!`` line (GitHub highlights it too)."""
    if field.is_collection_change:
        return [f"  {field.name}:", *(f"{_ITEM_MARK[i.sign]}   {i.text}" for i in field.items)]
    out: list[str] = []
    if field.before is not None:
        out += _side_lines(field.name, field.before, "-", block=field.block)
    if field.after is not None:
        out += _side_lines(field.name, field.after, "+", block=field.block)
    return out


def _cron_notes(note: CronNote | None, mark: str) -> list[str]:
    out: list[str] = []
    if note is not None and note.description:
        out.append(f"{mark}   {note.description}")
    if note is not None and note.next_times:
        out.append(f"{mark}   next: {', '.join(note.next_times)}")
    return out


def _cut_note(left_out: list[_Section], total: int, limit: int) -> str:
    counts: dict[str, int] = {}
    for section in left_out:
        key = f"to {section.action.value}"
        counts[key] = counts.get(key, 0) + 1
    breakdown = ", ".join(f"{n:,} {key}" for key, n in counts.items())
    first = left_out[0].address
    return (
        f"> ✂️ **{len(left_out):,} of {count(total, 'resource')} "
        f"{'is' if len(left_out) == 1 else 'are'} not shown** ({breakdown}), "
        f"from {code(first)} on: this comment is kept under {limit:,} characters. "
        "The full plan is in the saved plan file and the CI artifacts; "
        "run `azstate show PLANFILE` to see all of it.\n"
    )
