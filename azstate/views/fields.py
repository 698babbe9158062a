"""How the fields of a change read to people, shared by the text and markdown views.

A change's before and after are plan JSON (state.jsonable): strings, numbers, booleans, sorted
lists and small objects. People review them in a pull request, so this module turns them into
words: SLA minutes as durations, SLA rules as sentences, sets as what was added and removed,
a zip as its name and size, a cron expression with what it means and when it fires next. The
views only choose layout and markup; neither decides what a value looks like.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from azstate import cron
from azstate.errors import CronError
from azstate.state import duration

NEXT_FIRES = 3
NONE = "(none)"
_DIGEST_SHOWN = 12


@dataclass(frozen=True)
class FieldValue:
    """One field's value for display: a scalar text, or the items of a collection.

    ``block`` collections (SLA rules) read best one item a line; others fit on one line.
    """

    text: str
    items: tuple[str, ...] | None = None
    block: bool = False

    @property
    def is_collection(self) -> bool:
        return self.items is not None

    @property
    def is_empty(self) -> bool:
        return self.items is not None and not self.items


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size:,} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def sla_rule(rule: Mapping[str, Any]) -> str:
    """An SLA rule as a sentence: 'job load must finish within 1h30m: email, kill'."""
    job = str(rule.get("job") or "")
    who = f"job {job}" if job else "the flow"
    verb = {"SUCCESS": "succeed", "FINISH": "finish"}.get(
        str(rule.get("rule")), str(rule.get("rule"))
    )
    then = [name for name in ("email", "kill") if rule.get(name)]
    minutes = rule.get("minutes")
    within = duration(minutes) if isinstance(minutes, int) else str(minutes)
    return f"{who} must {verb} within {within}: {', '.join(then) or 'no action'}"


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


def _item(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and "rule" in value and "minutes" in value:
        return sla_rule(value)
    return scalar(value)


def field_value(name: str, value: Any) -> FieldValue:
    if name == "digest" and isinstance(value, str) and len(value) > _DIGEST_SHOWN + 4:
        return FieldValue(value[:_DIGEST_SHOWN] + "…")
    if name == "upload" and isinstance(value, str):
        return FieldValue(value)
    if isinstance(value, Mapping):
        items = tuple(f"{k}={v if isinstance(v, str) else scalar(v)}" for k, v in value.items())
        return FieldValue(", ".join(items) or NONE, items)
    if isinstance(value, list | tuple):
        items = tuple(_item(v) for v in value)
        block = name == "rules"
        return FieldValue(", ".join(items) or NONE, items, block)
    return FieldValue(scalar(value))


def display(data: Mapping[str, Any] | None) -> dict[str, Any]:
    """A before/after dict with the zip's name and size folded into one 'upload' field.

    The zip is named on the desired side only (it is what would be sent, not a compared
    value), so an update shows it as the new upload rather than as a change from nothing.
    """
    if data is None:
        return {}
    out = {k: v for k, v in data.items() if k not in ("zip", "size")}
    if data.get("zip"):
        size = data.get("size")
        out["upload"] = (
            f"{data['zip']}, {human_size(size)}" if isinstance(size, int) else data["zip"]
        )
    return out


def field_order(*values: Mapping[str, Any]) -> list[str]:
    """Fields in the model's own order (cron first, then options), not alphabetical."""
    seen: dict[str, None] = {}
    for value in values:
        for key in value:
            seen.setdefault(key, None)
    return list(seen)


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    return [k for k in field_order(before, after) if before.get(k) != after.get(k)]


def set_diff(old: Iterable[str], new: Iterable[str]) -> tuple[list[str], list[str]]:
    """(added, removed), each in display order: what a reviewer needs of a set change."""
    old_l, new_l = list(old), list(new)
    old_s, new_s = set(old_l), set(new_l)
    return [x for x in new_l if x not in old_s], [x for x in old_l if x not in new_s]


@dataclass(frozen=True)
class CronPreview:
    description: str | None
    next_times: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return self.description is None and not self.next_times


def cron_preview(
    expr: Any, timezone: str, now: datetime | None, *, with_times: bool = True
) -> CronPreview:
    """What a cron means and when it fires next in the server's zone.

    A preview is a courtesy: an expression the cron module refuses, or a zone this machine
    does not know, just leaves it out (validation reports bad crons before any plan).
    """
    if not isinstance(expr, str):
        return CronPreview(None, ())
    try:
        description: str | None = cron.describe(expr)
    except CronError:
        description = None
    if not with_times:
        return CronPreview(description, ())
    after = now or datetime.now(UTC)
    if after.tzinfo is None:
        after = after.replace(tzinfo=UTC)
    try:
        zone = ZoneInfo(timezone)
        fires = cron.parse(expr).next_times(after, timezone, NEXT_FIRES)
    except (CronError, ZoneInfoNotFoundError, ValueError):
        return CronPreview(description, ())
    return CronPreview(description, tuple(fire_time(t, zone) for t in fires))


def fire_time(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return local.strftime("%a %Y-%m-%d %H:%M %Z")
