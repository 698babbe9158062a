"""The terminal plan, read like Terraform's so its users need no new habits.

Only changed fields are shown for an update, everything for a create or a delete; a cron reads
as words and its next fire times in the server's zone, because "0 0 2 ? * 1" is not what a
reviewer should have to decode. Every user string goes into a rich Text, never into markup.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.text import Text

from azstate.plan import Action, Change, Drift, Plan
from azstate.views.fields import (
    NONE,
    CronPreview,
    changed,
    cron_preview,
    display,
    field_order,
    field_value,
    set_diff,
)
from azstate.views.theme import THEME, action_phrase, action_style, action_symbol, legend_phrase

_FIELD_INDENT = "      "
_NOTE_INDENT = _FIELD_INDENT + "  "
_LEGEND_ORDER = (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE)
ARROW = " → "


def render(plan: Plan, console: Console, *, now: datetime | None = None) -> None:
    """Lines are never folded by the console: in a CI log a fire time or an address split over
    two lines, without its indent, reads as a new line of the plan."""
    with console.use_theme(THEME):
        console.print(Text("\n").join(lines(plan, now=now)), soft_wrap=True)


def lines(plan: Plan, *, now: datetime | None = None) -> list[Text]:
    """The whole plan as lines: pure, so tests and other views can look at it without I/O."""
    out: list[Text] = [_header(plan)]
    if plan.targets:
        out.append(
            Text.assemble(
                ("Only the targeted resources are planned: ", "plan.warning"),
                ", ".join(map(str, plan.targets)),
            )
        )
    changes = sorted(
        (c for c in plan.changes if c.action is not Action.NO_OP),
        key=lambda c: c.address,
    )
    drift = sorted(plan.drift, key=lambda d: d.address)
    if drift:
        out += _drift_section(plan, drift, now)
    if plan.refresh_only:
        out.append(Text())
        if drift:
            out.append(
                Text(
                    "This is a refresh-only plan: azstate will not change anything to undo these.",
                    style="plan.legend",
                )
            )
            n = len(drift)
            noun = "resource has" if n == 1 else "resources have"
            out.append(Text(f"Drift: {n} {noun} changed outside azstate.", style="plan.summary"))
        else:
            out.append(_no_changes())
        return out
    if not changes:
        out += [Text(), _no_changes()]
        return out
    out += _legend(changes)
    out += [Text(), Text("azstate will perform the following actions:", style="plan.header")]
    for change in changes:
        out.append(Text())
        out += change_block(change, plan.timezone, now)
    s = plan.summary
    out += [
        Text(),
        Text(
            f"Plan: {s.create} to create, {s.update} to update, {s.replace} to replace, "
            f"{s.delete} to delete.",
            style="plan.summary",
        ),
    ]
    return out


def _header(plan: Plan) -> Text:
    kind = "Refresh-only plan" if plan.refresh_only else "Plan"
    return Text.assemble(
        (f"{kind} for ", "plan.header"),
        (plan.server, "plan.header"),
        (f" (times in {plan.timezone})", "plan.legend"),
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
    return out


def change_block(change: Change, timezone: str, now: datetime | None) -> list[Text]:
    """One resource: its symbol and address, the fields that matter, and why, dimmed."""
    style = action_style(change.action)
    out = [
        Text.assemble(
            (f"{action_symbol(change.action):>5} ", style),
            (str(change.address), f"{style}.address"),
            f" {action_phrase(change.action)}",
        )
    ]
    before, after = display(change.before_json), display(change.after_json)
    match change.action:
        case Action.CREATE:
            out += _whole(after, "plan.new", timezone, now, with_times=True)
        case Action.DELETE:
            out += _whole(before, "plan.old", timezone, now, with_times=False)
        case Action.UPDATE | Action.REPLACE:
            for name in changed(before, after):
                out += _field_change(name, before, after, timezone, now)
        case Action.NO_OP:
            pass
    if change.reason:
        out.append(Text(f"{_FIELD_INDENT}({change.reason})", style="plan.reason"))
    return out


def _field_label(name: str) -> Text:
    return Text.assemble(_FIELD_INDENT, (name, "plan.field"), ": ")


def _block_label(name: str) -> Text:
    return Text.assemble(_FIELD_INDENT, (name, "plan.field"), ":")


def _whole(
    data: Mapping[str, Any], style: str, timezone: str, now: datetime | None, *, with_times: bool
) -> list[Text]:
    out: list[Text] = []
    for name in field_order(data):
        value = data[name]
        shown = field_value(name, value)
        if value is None or shown.is_empty:
            continue
        if shown.block and shown.items:
            out.append(_block_label(name))
            out += [Text(f"{_NOTE_INDENT}{item}", style=style) for item in shown.items]
            continue
        out.append(_field_label(name).append(shown.text, style=style))
        if name == "cron":
            out += _cron_notes(cron_preview(value, timezone, now, with_times=with_times), "")
    return out


def _field_change(
    name: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    timezone: str,
    now: datetime | None,
) -> list[Text]:
    if name not in before:
        return [_field_label(name).append(field_value(name, after[name]).text, style="plan.new")]
    old, new = field_value(name, before.get(name)), field_value(name, after.get(name))
    if old.is_collection and new.is_collection:
        added, removed = set_diff(old.items or (), new.items or ())
        if old.block or new.block:
            return [
                _block_label(name),
                *(Text(f"{_NOTE_INDENT}+ {x}", style="plan.added") for x in added),
                *(Text(f"{_NOTE_INDENT}- {x}", style="plan.removed") for x in removed),
            ]
        line = _field_label(name)
        parts = [("+ " + x, "plan.added") for x in added] + [
            ("- " + x, "plan.removed") for x in removed
        ]
        for i, (text, style) in enumerate(parts):
            if i:
                line.append(", ")
            line.append(text, style=style)
        if not parts:
            line.append(NONE)
        return [line]
    line = _field_label(name).append(old.text, style="plan.old").append(ARROW)
    line.append(new.text, style="plan.new")
    out = [line]
    if name == "cron":
        old_preview = cron_preview(before.get(name), timezone, now)
        new_preview = cron_preview(after.get(name), timezone, now)
        out += _cron_notes(old_preview, "was: ") + _cron_notes(new_preview, "now: ")
    return out


def _cron_notes(preview: CronPreview, label: str) -> list[Text]:
    if preview.empty:
        return []
    pad = " " * len(label)
    out: list[Text] = []
    if preview.description:
        out.append(Text(f"{_NOTE_INDENT}{label}{preview.description}", style="plan.cron"))
    if preview.next_times:
        lead = label if not preview.description else pad
        out.append(
            Text(f"{_NOTE_INDENT}{lead}next: {', '.join(preview.next_times)}", style="plan.legend")
        )
    return out


def _drift_section(plan: Plan, drift: list[Drift], now: datetime | None) -> list[Text]:
    out = [
        Text(),
        Text("Objects have changed outside of azstate", style="plan.header"),
        Text(),
        Text("azstate found these live values that differ from the configuration:"),
    ]
    for item in drift:
        out.append(Text())
        out += drift_block(item, plan.timezone, now)
    if not plan.refresh_only:
        out += [
            Text(),
            Text(
                "Unless the configuration was changed to match, the actions below undo them.",
                style="plan.legend",
            ),
        ]
    return out


def drift_block(drift: Drift, timezone: str, now: datetime | None) -> list[Text]:
    out = [
        Text.assemble(
            ("    ~ ", "plan.drift"),
            (str(drift.address), "plan.drift.address"),
            " changed outside azstate",
        )
    ]
    for name, sides in drift.fields.items():
        live, desired = (
            field_value(name, sides.get("live")),
            field_value(name, sides.get("desired")),
        )
        line = _field_label(name)
        if live.is_collection and desired.is_collection:
            on_server, in_config = set_diff(desired.items or (), live.items or ())
            line.append("only on the server: ").append(
                ", ".join(on_server) or NONE, style="plan.old"
            )
            line.append("; only in the configuration: ")
            line.append(", ".join(in_config) or NONE, style="plan.new")
        else:
            line.append("server ").append(live.text, style="plan.old")
            line.append(", configuration ").append(desired.text, style="plan.new")
        out.append(line)
        if name == "cron":
            out += _cron_notes(
                cron_preview(sides.get("live"), timezone, now, with_times=False), "server: "
            )
            out += _cron_notes(
                cron_preview(sides.get("desired"), timezone, now, with_times=False),
                "configuration: ",
            )
    return out
