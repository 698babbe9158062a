"""The terminal plan, read like Terraform's so its users need no new habits.

Only changed fields are shown for an update, everything for a create or a delete; a cron reads
as words and its next fire times in the server's zone, because "0 0 2 ? * 1" is not what a
reviewer should have to decode; how many fields are not shown is counted, as Terraform does.
What a field shows is decided by views/diffmodel.py; this module only lays it out. Every value
goes through views/neutral.for_text into a rich Text, never into markup.
"""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.text import Text

from azstate.origins import Origin
from azstate.plan import Action, Change, Plan
from azstate.views import diffmodel
from azstate.views.counts import count
from azstate.views.diffmodel import (
    ARROW,
    NONE,
    CronNote,
    FieldDiff,
    Item,
    Side,
    Sign,
    unchanged_note,
)
from azstate.views.neutral import for_text
from azstate.views.theme import THEME, action_phrase, action_style, action_symbol, legend_phrase

_FIELD_INDENT = "      "
_NOTE_INDENT = _FIELD_INDENT + "  "
_LEGEND_ORDER = (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE)


def render(plan: Plan, console: Console, *, now: datetime | None = None) -> None:
    """Lines are never folded by the console: in a CI log a fire time or an address split over
    two lines, without its indent, reads as a new line of the plan."""
    with console.use_theme(THEME):
        console.print(Text("\n").join(lines(plan, now=now)), soft_wrap=True)


def lines(plan: Plan, *, now: datetime | None = None) -> list[Text]:
    """The whole plan as lines: pure, so tests and other views can look at it without I/O."""
    out: list[Text] = [_header(plan)]
    if plan.server_warning:
        out.append(Text.assemble(("Warning: ", "plan.warning"), for_text(plan.server_warning)))
    if plan.targets:
        out.append(
            Text.assemble(
                ("Only the targeted resources are planned: ", "plan.warning"),
                for_text(", ".join(str(t) for t in plan.targets)),
            )
        )
    changes = sorted(
        (c for c in plan.changes if c.action is not Action.NO_OP),
        key=lambda c: c.address,
    )
    if plan.baseline is not None:
        out.append(_baseline_line(plan))
    if plan.refresh_only:
        return out + _refresh_only(plan, changes, now)
    if not changes:
        out += [Text(), _no_changes()]
        return out + _converged(plan)
    out += _legend(changes)
    out += [Text(), Text("azstate will perform the following actions:", style="plan.header")]
    out += _grouped(plan, changes, now)
    s = plan.summary
    out += _converged(plan)
    out += [
        Text(),
        Text(
            f"Plan: {s.create} to create, {s.update} to update, {s.delete} to delete.",
            style="plan.summary",
        ),
    ]
    return out


def _baseline_line(plan: Plan) -> Text:
    assert plan.baseline is not None
    return Text.assemble(
        ("Compared with the configuration at ", "plan.legend"),
        (for_text(plan.baseline.revision), "plan.header"),
        (f" (commit {for_text(plan.baseline.commit[:12])}), the last applied", "plan.legend"),
    )


def _grouped(
    plan: Plan, changes: list[Change], now: datetime | None, *, refresh_only: bool = False
) -> list[Text]:
    """A three-way plan's changes under their origins (conflicts first); a plain plan's as
    one list: without a baseline nobody knows who moved a value."""
    out: list[Text] = []
    revision = plan.baseline.revision if plan.baseline else ""
    for group in diffmodel.origin_groups(changes):
        if group.origin is not Origin.UNKNOWN:
            out += [
                Text(),
                Text.assemble(
                    (f"{group.title} ({len(group.changes)})", "plan.header"),
                    (f": {for_text(group.described(revision))}", "plan.legend"),
                ),
            ]
        for change in group.changes:
            out.append(Text())
            out += change_block(change, plan.timezone, now, refresh_only=refresh_only)
    return out


def _refresh_only(plan: Plan, changes: list[Change], now: datetime | None) -> list[Text]:
    """The findings of a refresh-only plan: every difference without a baseline, the drift
    and the conflicts with one; nothing is changed to undo them."""
    out: list[Text] = []
    if changes:
        lead = (
            "azstate found these changes on the server since the baseline:"
            if plan.baseline is not None
            else "The server differs from the configuration here:"
        )
        out += [Text(), Text(lead)]
        out += _grouped(plan, changes, now, refresh_only=True)
    out.append(Text())
    if not changes:
        out.append(
            Text("No drift. The server holds what the baseline applied.", style="plan.no_changes")
            if plan.baseline is not None
            else _no_changes()
        )
        return out + _converged(plan)
    out.append(
        Text(
            "This is a refresh-only plan: azstate will not change anything to undo these.",
            style="plan.legend",
        )
    )
    out += _converged(plan)
    found = count(len(changes), "resource differs", "resources differ")
    what = "from the baseline on the server" if plan.baseline else "from the configuration"
    out.append(Text(f"Found: {found} {what}.", style="plan.summary"))
    return out


def _converged(plan: Plan) -> list[Text]:
    if not plan.converged:
        return []
    return [
        Text(),
        Text(
            "Already on the server (the configuration changed since the baseline, and the "
            "server holds the new value): "
            + ", ".join(for_text(str(a)) for a in plan.converged),
            style="plan.legend",
        ),
    ]


def _header(plan: Plan) -> Text:
    kind = "Refresh-only plan" if plan.refresh_only else "Plan"
    return Text.assemble(
        (f"{kind} for ", "plan.header"),
        (for_text(plan.server), "plan.header"),
        (f" (times in {for_text(plan.timezone)})", "plan.legend"),
    )


def _no_changes() -> Text:
    return Text("No changes. The server matches the configuration.", style="plan.no_changes")


def _legend(changes: list[Change]) -> list[Text]:
    used = [a for a in _LEGEND_ORDER if any(c.action is a for c in changes)]
    out = [Text(), Text("Resource actions are indicated with the following symbols:")]
    for action in used:
        out.append(
            Text.assemble(
                (f"{action_symbol(action):>5} ", action_style(action)), legend_phrase(action)
            )
        )
    if Action.UPDATE in used or Action.REPLACE in used:
        out.append(
            Text.assemble(
                ("  a → b ", "plan.legend"),
                "the value on the server → the one in the configuration",
            )
        )
    return out


_FOUND_PHRASE = {
    Action.CREATE: "is missing on the server",
    Action.DELETE: "is on the server and not in the configuration",
    Action.UPDATE: "differs on the server",
    Action.REPLACE: "differs on the server",
}


def change_block(
    change: Change, timezone: str, now: datetime | None, *, refresh_only: bool = False
) -> list[Text]:
    """One resource: its symbol and address, the fields that matter, and why, dimmed. The
    old value is the server's, the new one the configuration's; a conflict also shows the
    baseline's."""
    view = diffmodel.build(change, timezone, now)
    style = action_style(view.action)
    phrase = _FOUND_PHRASE.get(view.action, "") if refresh_only else action_phrase(view.action)
    out = [
        Text.assemble(
            (f"{action_symbol(view.action):>5} ", style),
            (for_text(view.address), f"{style}.address"),
            f" {phrase}",
        )
    ]
    whole = view.action in (Action.CREATE, Action.DELETE)
    base = dict(view.base)
    for field in view.fields:
        if field.before is None and field.after is not None:
            out += _whole(field, field.after, "plan.new")
        elif field.after is None and field.before is not None:
            out += _whole(field, field.before, "plan.old", gone=not whole)
        else:
            out += _field_change(field)
        if field.name in base:
            out.append(_at_baseline(base.pop(field.name)))
    if base:
        out.append(Text(f"{_FIELD_INDENT}at the baseline:", style="plan.legend"))
        for name, side in base.items():
            line = Text(_NOTE_INDENT)
            if name:
                line.append(for_text(name), style="plan.field").append(": ")
            out.append(line.append(for_text(side.text)))
    if view.unchanged:
        out.append(Text(_FIELD_INDENT + unchanged_note(view.unchanged), style="plan.legend"))
    if view.reason:
        out.append(Text(f"{_FIELD_INDENT}({for_text(view.reason)})", style="plan.reason"))
    return out


def _at_baseline(side: Side) -> Text:
    """A conflict's third value, under the field's server → configuration line."""
    return Text.assemble(
        (f"{_NOTE_INDENT}at the baseline: ", "plan.legend"), for_text(side.text)
    )


def _field_label(name: str) -> Text:
    return Text.assemble(_FIELD_INDENT, (for_text(name), "plan.field"), ": ")


def _block_label(name: str) -> Text:
    return Text.assemble(_FIELD_INDENT, (for_text(name), "plan.field"), ":")


def _whole(field: FieldDiff, side: Side, style: str, *, gone: bool = False) -> list[Text]:
    """A field of a created or deleted resource, or one on one side only of an update
    (``gone``: the field itself disappears)."""
    if field.block and side.items:
        return [
            _block_label(field.name),
            *(Text(f"{_NOTE_INDENT}{for_text(item)}", style=style) for item in side.items),
        ]
    line = _field_label(field.name).append(for_text(side.text), style=style)
    if gone:
        line.append(ARROW).append(NONE, style="plan.new")
    return [line, *_cron_notes(side.cron, "")]


_ITEM_STYLE = {Sign.REMOVED: "plan.removed", Sign.CHANGED: "plan.update", Sign.ADDED: "plan.added"}


def _item(item: Item) -> Text:
    if item.sign is Sign.CHANGED:
        return Text.assemble(
            ("~ ", _ITEM_STYLE[item.sign]),
            for_text(item.key or ""),
            ": ",
            (for_text(item.old or ""), "plan.old"),
            ARROW,
            (for_text(item.new or ""), "plan.new"),
        )
    return Text(f"{item.sign.value} {for_text(item.text)}", style=_ITEM_STYLE[item.sign])


def _field_change(field: FieldDiff) -> list[Text]:
    assert field.before is not None and field.after is not None
    if field.is_collection_change:
        if field.block:
            return [
                _block_label(field.name),
                *(Text(_NOTE_INDENT).append_text(_item(i)) for i in field.items),
            ]
        line = _field_label(field.name)
        for i, item in enumerate(field.items):
            if i:
                line.append(", ")
            line.append_text(_item(item))
        if not field.items:
            line.append(NONE)
        return [line]
    line = _field_label(field.name).append(for_text(field.before.text), style="plan.old")
    line.append(ARROW).append(for_text(field.after.text), style="plan.new")
    out = [line]
    if field.before.cron or field.after.cron:
        out += _cron_notes(field.before.cron, "was: ") + _cron_notes(field.after.cron, "now: ")
    return out


def _cron_notes(note: CronNote | None, label: str) -> list[Text]:
    if note is None or note.empty:
        return []
    pad = " " * len(label)
    out: list[Text] = []
    if note.description:
        out.append(Text(f"{_NOTE_INDENT}{label}{for_text(note.description)}", style="plan.cron"))
    if note.next_times:
        lead = label if not note.description else pad
        out.append(
            Text(f"{_NOTE_INDENT}{lead}next: {', '.join(note.next_times)}", style="plan.legend")
        )
    return out
