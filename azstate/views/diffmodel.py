"""The display-diff model: what each change means to a reviewer, built once, walked by views.

As Terraform's differ builds the tree its renderers walk, ``build`` turns a change into fields,
each a scalar change, a map change (``key: old → new``), a set change (what was added and
removed) or a keyed list (SLA rules keyed by job and rule, so a new duration reads as one rule
changed, not one removed and one added), with the number of unchanged attributes. Everything
that depends on what a field *is* (a cron's meaning and next fire times, SLA minutes as
durations, a zip as its name and size, a digest shortened) is decided here and nowhere else:
the text and markdown views only choose layout and markup, so they cannot disagree.

Items within a field come removed first, then changed, then added (``-`` before ``+``).
Strings in the model are raw: every renderer passes them through views/neutral.py.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from azstate import cron
from azstate.errors import CronError
from azstate.plan import Action, Change, Drift
from azstate.state import duration

NEXT_FIRES = 3
NONE = "(none)"
ARROW = " → "
_DIGEST_SHOWN = 12
_RULE_VERBS = {"SUCCESS": "succeed", "FINISH": "finish"}
# A files change's digest is of the content (the files' paths and bytes), not of the zip: the
# dry run's zip_sha256 is another hash of the same upload, so the plan names which this is.
CONTENT_DIGEST = "content digest"
_LABELS = {"digest": CONTENT_DIGEST}


class Sign(StrEnum):
    """An item's part in a collection change, in the order items are listed."""

    REMOVED = "-"
    CHANGED = "~"
    ADDED = "+"


_SIGN_ORDER = {Sign.REMOVED: 0, Sign.CHANGED: 1, Sign.ADDED: 2}


class Shape(StrEnum):
    SCALAR = "scalar"
    SET = "set"  # unordered elements: emails, jobs, flows, permissions
    MAP = "map"  # key -> value: parameters
    KEYED = "keyed"  # elements with an identity: SLA rules by (job, rule)


@dataclass(frozen=True)
class CronNote:
    """What a cron means and when it fires next; empty when it cannot be worked out."""

    description: str | None
    next_times: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return self.description is None and not self.next_times


@dataclass(frozen=True)
class Side:
    """A field's whole value on one side: one line of text, a collection's elements as lines,
    and a cron's meaning."""

    text: str
    items: tuple[str, ...] | None = None
    cron: CronNote | None = None

    @property
    def is_empty(self) -> bool:
        return self.items is not None and not self.items


@dataclass(frozen=True)
class Item:
    """One element of a collection change. ``key`` names a changed element; ``old`` and
    ``new`` are its two values (an added element has only ``new``, a removed only ``old``)."""

    sign: Sign
    old: str | None = None
    new: str | None = None
    key: str | None = None

    @property
    def text(self) -> str:
        """'- x', '+ y' and, for a changed entry, 'key: old → new'."""
        if self.sign is Sign.CHANGED:
            return f"{self.key}: {self.old}{ARROW}{self.new}"
        return (self.new if self.sign is Sign.ADDED else self.old) or ""


@dataclass(frozen=True)
class FieldDiff:
    """One field. ``before``/``after`` is None where the field is absent on that side (a
    create has no before). ``items`` is the element-wise difference when both sides are
    collections. ``block``: one item a line (maps and rules), else the items fit on a line."""

    name: str
    shape: Shape
    before: Side | None
    after: Side | None
    items: tuple[Item, ...] = ()
    block: bool = False

    @property
    def is_collection_change(self) -> bool:
        return self.shape is not Shape.SCALAR and self.before is not None and self.after is not None


@dataclass(frozen=True)
class ChangeView:
    """A change as the views show it: for an update the changed fields and how many are not
    shown; for a create or delete every field that has a value."""

    address: str
    action: Action
    fields: tuple[FieldDiff, ...]
    unchanged: int = 0
    reason: str | None = None


@dataclass(frozen=True)
class DriftView:
    """Drift as the same fields: ``before`` is the server's value, ``after`` the
    configuration's."""

    address: str
    fields: tuple[FieldDiff, ...]


def _json_of(change: Change) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The change's before and after as plan JSON: the one place the model reads a change's
    values, so the views show exactly what the JSON plan holds."""
    return change.before_json, change.after_json


def build(change: Change, timezone: str, now: datetime | None = None) -> ChangeView:
    before_json, after_json = _json_of(change)
    before, after = _display(before_json), _display(after_json)
    fields: list[FieldDiff] = []
    unchanged = 0
    match change.action:
        case Action.CREATE:
            fields = _whole(after, timezone, now, side="after", with_times=True)
        case Action.DELETE:
            fields = _whole(before, timezone, now, side="before", with_times=False)
        case Action.UPDATE | Action.REPLACE:
            for name in _field_order(before, after):
                if name in before and name in after and before[name] == after[name]:
                    unchanged += 1
                    continue
                field = _field_diff(name, before, after, timezone, now, with_times=True)
                if field.is_collection_change and not field.items:
                    unchanged += 1  # the same elements in another order
                    continue
                fields.append(field)
        case Action.NO_OP:
            pass
    return ChangeView(str(change.address), change.action, tuple(fields), unchanged, change.reason)


def build_drift(drift: Drift, timezone: str, now: datetime | None = None) -> DriftView:
    fields = []
    for key, sides in drift.fields.items():
        name = _LABELS.get(key, key)
        live, desired = {name: sides.get("live")}, {name: sides.get("desired")}
        fields.append(_field_diff(name, live, desired, timezone, now, with_times=False))
    return DriftView(str(drift.address), tuple(fields))


# What a field's values look like ------------------------------------------------------------


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size:,} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def scalar(value: Any) -> str:
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _is_rule(value: Any) -> bool:
    return isinstance(value, Mapping) and "rule" in value and "minutes" in value


def _rule_within(rule: Mapping[str, Any]) -> str:
    minutes = rule.get("minutes")
    return duration(minutes) if isinstance(minutes, int) else str(minutes)


def _rule_actions(rule: Mapping[str, Any]) -> str:
    return ", ".join(name for name in ("email", "kill") if rule.get(name)) or "no action"


def sla_rule(rule: Mapping[str, Any]) -> str:
    """An SLA rule as a sentence: 'job load must finish within 1h30m: email, kill'."""
    job = str(rule.get("job") or "")
    who = f"job {job}" if job else "the flow"
    verb = _RULE_VERBS.get(str(rule.get("rule")), str(rule.get("rule")))
    return f"{who} must {verb} within {_rule_within(rule)}: {_rule_actions(rule)}"


def _rule_key(rule: Mapping[str, Any]) -> tuple[str, str]:
    return str(rule.get("job") or ""), str(rule.get("rule"))


def _rule_label(key: tuple[str, str]) -> str:
    job, kind = key
    return f"job {job} {kind}" if job else f"the flow {kind}"


def _rule_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Each part of a rule that differs, old and new: ('1h', '2h'), ('email', 'email, kill')."""
    out = []
    if old.get("minutes") != new.get("minutes"):
        out.append((_rule_within(old), _rule_within(new)))
    if _rule_actions(old) != _rule_actions(new):
        out.append((_rule_actions(old), _rule_actions(new)))
    return out


def _entry(value: Any) -> str:
    """A map entry's value: plain unless quoting is needed to see where it starts and ends."""
    if isinstance(value, str) and value and value.strip() == value:
        return value
    return scalar(value)


def _element(value: Any) -> str:
    if isinstance(value, str):
        return value
    if _is_rule(value):
        return sla_rule(value)
    return scalar(value)


def _shape(value: Any) -> Shape:
    if isinstance(value, Mapping):
        return Shape.MAP
    if isinstance(value, list | tuple):
        return Shape.KEYED if value and all(_is_rule(v) for v in value) else Shape.SET
    return Shape.SCALAR


def _side(name: str, value: Any, timezone: str, now: datetime | None, *, with_times: bool) -> Side:
    if name == CONTENT_DIGEST and isinstance(value, str) and len(value) > _DIGEST_SHOWN + 4:
        return Side(value[:_DIGEST_SHOWN] + "…")
    if name == "upload" and isinstance(value, str):
        return Side(value)
    if isinstance(value, Mapping):
        items = tuple(f"{k}={v if isinstance(v, str) else scalar(v)}" for k, v in value.items())
        return Side(", ".join(items) or NONE, items)
    if isinstance(value, list | tuple):
        items = tuple(_element(v) for v in value)
        return Side(", ".join(items) or NONE, items)
    note = cron_note(value, timezone, now, with_times=with_times) if name == "cron" else None
    return Side(scalar(value), None, note if note is not None and not note.empty else None)


def _display(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """A before/after value with the zip's name and size folded into one 'upload' field.

    The zip is named on the desired side only (it is what would be sent, not a compared
    value), so an update shows it as the new upload rather than as a change from nothing.
    """
    if data is None:
        return {}
    out = {_LABELS.get(k, k): v for k, v in data.items() if k not in ("zip", "size")}
    if data.get("zip"):
        size = data.get("size")
        out["upload"] = (
            f"{data['zip']}, {human_size(size)}" if isinstance(size, int) else data["zip"]
        )
    return out


def _field_order(*values: Mapping[str, Any]) -> list[str]:
    """Fields in the model's own order (cron first, then options), not alphabetical."""
    seen: dict[str, None] = {}
    for value in values:
        for key in value:
            seen.setdefault(key, None)
    return list(seen)


# Options that almost every schedule leaves at Azkaban's default: a whole value (a create or a
# delete) lists them only when they hold something else, so the options that matter stay visible.
QUIET_DEFAULTS: Mapping[str, Any] = {
    "failure_action_override": False,
    "failure_emails_override": False,
    "success_emails_override": False,
    "mail_creator": "default",
    "back_execute_once": False,
    "no_options": False,
}

# A schedule whose options the server lost (live only): shown in words, never as a flag.
_OPTIONS_FLAG = "no_options"
_OPTIONS_FIELD = "options"
_OPTIONS_LOST = "lost on the server (executionOptions null)"
_OPTIONS_KEPT = "set again by the re-post"


def _options_field(before: Any, after: Any) -> FieldDiff:
    """``no_options`` as a reviewer reads it: the options were lost, and the re-post (whose
    option fields are listed beside) sets them again."""
    old = Side(_OPTIONS_LOST if before else _OPTIONS_KEPT) if before is not None else None
    new = Side(_OPTIONS_LOST if after else _OPTIONS_KEPT) if after is not None else None
    return FieldDiff(_OPTIONS_FIELD, Shape.SCALAR, old, new)


def _whole(
    data: Mapping[str, Any], timezone: str, now: datetime | None, *, side: str, with_times: bool
) -> list[FieldDiff]:
    out = []
    for name in _field_order(data):
        value = data[name]
        if value is None or (name in QUIET_DEFAULTS and QUIET_DEFAULTS[name] == value):
            continue
        if name == _OPTIONS_FLAG:
            lost = (value, None) if side == "before" else (None, value)
            out.append(_options_field(*lost))
            continue
        shown = _side(name, value, timezone, now, with_times=with_times)
        if shown.is_empty:
            continue
        shape = _shape(value)
        block = shape is Shape.KEYED
        if side == "after":
            out.append(FieldDiff(name, shape, None, shown, block=block))
        else:
            out.append(FieldDiff(name, shape, shown, None, block=block))
    return out


def _field_diff(
    name: str,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    timezone: str,
    now: datetime | None,
    *,
    with_times: bool,
) -> FieldDiff:
    old = before.get(name)
    new = after.get(name)
    if name == _OPTIONS_FLAG:
        return _options_field(old if name in before else None, new if name in after else None)
    old_side = _side(name, old, timezone, now, with_times=with_times) if name in before else None
    new_side = _side(name, new, timezone, now, with_times=with_times) if name in after else None
    shape = _shape(new if name in after and new not in (None, [], {}) else old)
    if old_side is None or new_side is None:
        return FieldDiff(name, shape, old_side, new_side, block=shape is Shape.KEYED)
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        return FieldDiff(name, Shape.MAP, old_side, new_side, _map_items(old, new), block=True)
    if isinstance(old, list | tuple) and isinstance(new, list | tuple):
        if shape is Shape.KEYED and all(_is_rule(v) for v in (*old, *new)):
            return FieldDiff(name, Shape.KEYED, old_side, new_side, _rule_items(old, new), True)
        return FieldDiff(name, Shape.SET, old_side, new_side, _set_items(old, new))
    return FieldDiff(name, Shape.SCALAR, old_side, new_side)


def _map_items(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[Item, ...]:
    items = [
        Item(Sign.CHANGED, _entry(old[k]), _entry(new[k]), str(k))
        for k in old
        if k in new and old[k] != new[k]
    ]
    items += [
        Item(Sign.REMOVED, old=f"{k}: {_entry(v)}", key=str(k))
        for k, v in old.items()
        if k not in new
    ]
    items += [
        Item(Sign.ADDED, new=f"{k}: {_entry(v)}", key=str(k))
        for k, v in new.items()
        if k not in old
    ]
    return tuple(sorted(items, key=lambda i: _SIGN_ORDER[i.sign]))


def _set_items(old: Sequence[Any], new: Sequence[Any]) -> tuple[Item, ...]:
    olds, news = [_element(v) for v in old], [_element(v) for v in new]
    old_set, new_set = set(olds), set(news)
    return tuple(
        [Item(Sign.REMOVED, old=x) for x in olds if x not in new_set]
        + [Item(Sign.ADDED, new=x) for x in news if x not in old_set]
    )


def _rule_items(old: Sequence[Any], new: Sequence[Any]) -> tuple[Item, ...]:
    """SLA rules keyed by (job, rule): Azkaban holds one rule per key, so the same key on both
    sides with other values is that rule changed, one item per part that changed (its
    duration, its actions), each reading 'old → new'."""
    olds = {_rule_key(r): r for r in old}
    news = {_rule_key(r): r for r in new}
    removed = [Item(Sign.REMOVED, old=sla_rule(r)) for k, r in olds.items() if k not in news]
    changed = []
    for key, rule in olds.items():
        if key in news and news[key] != rule:
            changed += [
                Item(Sign.CHANGED, was, now, _rule_label(key))
                for was, now in _rule_changes(rule, news[key])
            ]
    added = [Item(Sign.ADDED, new=sla_rule(r)) for k, r in news.items() if k not in olds]
    return tuple(removed + changed + added)


# Cron ----------------------------------------------------------------------------------------


def cron_note(
    expr: Any, timezone: str, now: datetime | None, *, with_times: bool = True
) -> CronNote:
    """What a cron means and when it fires next in the server's zone.

    A preview is a courtesy: an expression the cron module refuses, or a zone this machine
    does not know, just leaves it out (validation reports bad crons before any plan).
    """
    if not isinstance(expr, str):
        return CronNote(None)
    try:
        description: str | None = cron.describe(expr)
    except CronError:
        description = None
    if not with_times:
        return CronNote(description)
    after = now or datetime.now(UTC)
    if after.tzinfo is None:
        after = after.replace(tzinfo=UTC)
    try:
        zone = ZoneInfo(timezone)
        fires = cron.parse(expr).next_times(after, timezone, NEXT_FIRES)
    except (CronError, ZoneInfoNotFoundError, ValueError):
        return CronNote(description)
    return CronNote(description, tuple(fire_time(t, zone) for t in fires))


def fire_time(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z")


def unchanged_note(n: int) -> str:
    """Terraform's wording, so its users read it at a glance."""
    return f"# ({n} unchanged {'attribute' if n == 1 else 'attributes'} hidden)"
