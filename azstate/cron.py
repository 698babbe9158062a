"""Quartz 2.2.1 cron expressions: validate, find fire times, describe (pure).

Azkaban hands cron strings to Quartz 2.2.1 and refuses a schedule when Quartz does, or when it
would never fire again. No Python library follows Quartz's rules (croniter and friends are Unix
cron; cron-descriptor only describes), so this module reimplements them from Quartz's
documentation and from behaviour observed on Quartz itself: Quartz 2.2.1's answers in
../shared/testdata/quartz-vectors.jsonl, azkaban-api.md section 9, and Quartz run as a black box
on generated expressions (tests/data/cron/README.md). Quartz is lenient in ways a strict grammar
would reject, and the server's verdict is what counts, so the quirks are kept on purpose:

- only spaces and tabs separate fields; tokens after the 7th are ignored; the year is optional;
- junk after a number or a three-letter name is ignored (``12x``, ``MONDAY``, ``1-5W``);
- ``/5`` means ``*/5``; a step of 0 means the start value alone (``*/0`` means every value);
- reversed ranges wrap (``22-2``, ``FRI-MON``) except in the year, where they are an error;
- ``99`` stands for ``*`` in every field and ``98`` for ``?`` in the day fields;
- ``L`` alone in day-of-week is Saturday; ``0#n`` is the n-th Saturday, ``8#n`` never fires;
- an ``L`` item in the second, minute, hour or month field adds nothing, and an empty field
  makes Quartz's own search fail, as does a ``W`` day before the 1st (``0W``, ``L-30W`` in
  February): such expressions parse but cannot be scheduled;
- the search stops after the current year + 100.

Quartz 2.3 and later differ in one rule only: they refuse an ``N/S`` item (numeric start, numeric
step) whose step exceeds the field's largest value, which 2.2.1 reads as the single value N
(../shared/testdata/quartz23-vectors.jsonl, run on Quartz 2.3.2). ``parse(..., quartz=Quartz.V2_3)``
adds that rule; fire times are the same in both, so the search has one version.

Fire times are searched field by field on the wall clock of the zone, the way Quartz walks a
lenient ``java.util.Calendar``: every time the search moves a field on, the wall time it lands
on is placed in the zone, so one in a spring-forward gap moves forward by the gap and is then
checked again (a skipped 02:30 is skipped, not moved), and one that occurs twice means its
second (standard time) occurrence.
"""

from __future__ import annotations

import bisect
import calendar
import dataclasses
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import IntEnum, StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from azstate.errors import CronError

__all__ = [
    "CronExpression",
    "CronParseError",
    "CronSearchError",
    "Quartz",
    "canonical",
    "check_schedulable",
    "describe",
    "normalize",
    "parse",
    "quartz22_equivalent",
    "quartz22_note",
    "quartz_equivalent",
]


class Quartz(StrEnum):
    """Which Quartz's parser to follow.

    Azkaban pins 2.2.1, so a live schedule is read and fires as 2.2.1 reads it; some server
    builds ship 2.3, which refuses a few texts 2.2.1 took, so configuration must suit both.
    """

    V2_2 = "2.2"
    V2_3 = "2.3"


class CronParseError(CronError):
    """Quartz refuses the text. ``quartz_message`` is Quartz's own ParseException message."""

    def __init__(
        self, quartz_message: str, *, hint: str | None = None, message: str | None = None
    ) -> None:
        self.quartz_message = quartz_message
        self.hint = hint
        if message is None:
            message = f"{quartz_message} ({hint})" if hint else quartz_message
        super().__init__(message)


class Quartz23Refusal(CronParseError):
    """Quartz 2.2 takes the text but 2.3 and later refuse it: an ``N/S`` step past the top.

    ``quartz22_reading`` is the whole expression as 2.2 reads it (None if 2.2 refuses it too),
    so the message can say what to write instead.
    """

    def __init__(
        self, quartz_message: str, *, problem: str, quartz22_reading: str | None = None
    ) -> None:
        self.problem = problem
        self.quartz22_reading = quartz22_reading
        text = f"refused by Quartz 2.3 and later: {problem}"
        if quartz22_reading is not None:
            text += f" (the whole expression as Quartz 2.2 reads it: {quartz22_reading!r})"
        super().__init__(quartz_message, message=text)


class CronSearchError(CronError):
    """Quartz accepts the text but its search for fire times fails or never returns.

    ``found`` holds the fire times Quartz would still have produced before failing.
    """

    def __init__(self, message: str, *, found: Sequence[datetime] = ()) -> None:
        self.found = tuple(found)
        super().__init__(message)


class _Field(IntEnum):
    SECOND = 0
    MINUTE = 1
    HOUR = 2
    DAY_OF_MONTH = 3
    MONTH = 4
    DAY_OF_WEEK = 5
    YEAR = 6


@dataclass(frozen=True)
class _Limits:
    low: int
    high: int
    wrap: int
    range_message: str
    step_limit: int
    step_message: str


_LIMITS: dict[_Field, _Limits] = {
    _Field.SECOND: _Limits(
        0, 59, 60, "Minute and Second values must be between 0 and 59", 59, "Increment > 60 : "
    ),
    _Field.MINUTE: _Limits(
        0, 59, 60, "Minute and Second values must be between 0 and 59", 59, "Increment > 60 : "
    ),
    _Field.HOUR: _Limits(
        0, 23, 24, "Hour values must be between 0 and 23", 23, "Increment > 24 : "
    ),
    _Field.DAY_OF_MONTH: _Limits(
        1, 31, 31, "Day of month values must be between 1 and 31", 31, "Increment > 31 : "
    ),
    _Field.MONTH: _Limits(
        1, 12, 12, "Month values must be between 1 and 12", 12, "Increment > 12 : "
    ),
    _Field.DAY_OF_WEEK: _Limits(
        1, 7, 7, "Day-of-Week values must be between 1 and 7", 7, "Increment > 7 : "
    ),
    _Field.YEAR: _Limits(1970, 0, 0, "", 0, ""),
}

# How messages name a field, and one value of it ("only second 0").
_FIELD_WORDS: dict[_Field, tuple[str, str]] = {
    _Field.SECOND: ("seconds", "second"),
    _Field.MINUTE: ("minutes", "minute"),
    _Field.HOUR: ("hours", "hour"),
    _Field.DAY_OF_MONTH: ("day-of-month", "day"),
    _Field.MONTH: ("month", "month"),
    _Field.DAY_OF_WEEK: ("day-of-week", "weekday"),
    _Field.YEAR: ("year", "year"),
}

_ALL = 99
_NO_SPEC = 98
_YEAR_HORIZON = 100
_SEARCH_STEPS = 5_000_000

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1
    )
}
_DAYS = {
    name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)
}
_LAST_DAY_ITEM = re.compile(r"L-[0-9]*W?")
_SEPARATORS = re.compile(r"[ \t]+")
_JAVA_INT_MAX = 2**31 - 1


def _wrapped(exception: str, detail: str | None = None) -> CronParseError:
    """Quartz reports a Java runtime exception it hit while parsing inside its own message."""
    inner = f"{exception}: {detail}" if detail is not None else exception
    return CronParseError(f"Illegal cron expression format ({inner})")


def _java_int(text: str) -> int:
    """Integer.parseInt: optional sign, decimal digits, 32-bit; else NumberFormatException."""
    if re.fullmatch(r"[+-]?[0-9]+", text) and -(2**31) <= int(text) <= _JAVA_INT_MAX:
        return int(text)
    raise _wrapped("java.lang.NumberFormatException", f'For input string: "{text}"')


def _substring(text: str, begin: int, end: int) -> str:
    """String.substring with Java's bounds failure, which Quartz lets through on short names."""
    if end > len(text):
        raise _wrapped(
            "java.lang.StringIndexOutOfBoundsException",
            f"begin {begin}, end {end}, length {len(text)}",
        )
    return text[begin:end]


@dataclass(frozen=True)
class _YearRange:
    start: int
    stop: int | None
    step: int

    def first_at_or_after(self, year: int) -> int | None:
        if year <= self.start:
            candidate = self.start
        else:
            candidate = self.start + -(-(year - self.start) // self.step) * self.step
        if self.stop is not None and candidate > self.stop:
            return None
        return candidate


class _FieldBuilder:
    """One field's values as Quartz collects them, ``99`` and ``98`` markers included.

    Quartz keeps a field as a set of numbers and reads ``99`` as "all" and ``98`` as "no
    value"; which marker a set holds decides later checks, so they are kept as numbers here.
    """

    def __init__(self, field: _Field, max_year: int, quartz: Quartz) -> None:
        self.field = field
        self.max_year = max_year
        self.quartz = quartz
        self.values: set[int] = set()
        self.years: list[_YearRange] = []
        self.last_day = False
        self.weekday = False
        self.last_offset = 0
        self.last_weekday_of_month = False
        self.nth = 0

    def add(self, start: int, stop: int | None, step: int | None) -> None:
        """A value (``step`` None), a range (step 1 unless written) or ``start/step``."""
        f = self.field
        if f is _Field.YEAR:
            self._add_year(start, stop, step)
            return
        lim = _LIMITS[f]
        day_field = f in (_Field.DAY_OF_MONTH, _Field.DAY_OF_WEEK)
        marker = start == _ALL or (day_field and start == _NO_SPEC)
        out_of_range = start < lim.low or start > lim.high or (stop is not None and stop > lim.high)
        if out_of_range and not marker:
            raise CronParseError(lim.range_message)
        incr = step or 0
        if day_field and start == _NO_SPEC and incr <= 0:
            self.values.add(_NO_SPEC)
            return
        if start == _ALL:
            if incr <= 0:
                self.values.add(_ALL)
                incr = 1
            start = lim.low
            if stop is None:
                stop = lim.high
        elif stop is None:
            stop = lim.high if step is not None else start
        if incr <= 0:
            self.values.add(start)
            return
        wrapped = stop < start
        if wrapped:
            stop += lim.wrap
        for i in range(start, stop + 1, incr):
            self.values.add(i % lim.wrap if wrapped and i > lim.high else i)

    def _add_year(self, start: int, stop: int | None, step: int | None) -> None:
        incr = step or 0
        if start == _ALL:
            start = _LIMITS[_Field.YEAR].low
            incr = max(incr, 1)
        elif incr <= 0:
            self.years.append(_YearRange(start, start, 1))
            return
        if (self.max_year if stop is None else stop) < start:
            raise _wrapped(
                "java.lang.IllegalArgumentException", "Start year must be less than stop year"
            )
        self.years.append(_YearRange(start, stop, incr))


@dataclass(frozen=True)
class _Days:
    """How the day is chosen: by day-of-month rules or by day-of-week rules."""

    by_month: bool
    values: tuple[int, ...]
    last: bool = False
    last_offset: int = 0
    weekday: bool = False
    last_weekday_of_month: bool = False
    nth: int = 0


@dataclass(frozen=True)
class CronExpression:
    """A parsed Quartz expression. Immutable; build it with :func:`parse`."""

    source: str
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: tuple[int, ...]
    days: _Days
    years: tuple[_YearRange, ...]

    @property
    def search_failure(self) -> str | None:
        """Why Quartz's own search can never give a fire time, if it cannot.

        The search itself fails only when it reaches the empty field: an empty month behind a
        day that never comes just never fires.
        """
        empty = [
            name
            for name, values in (
                ("second", self.seconds),
                ("minute", self.minutes),
                ("hour", self.hours),
                ("month", self.months),
            )
            if not values
        ]
        if not self.days.values and not self.days.last:
            empty.append("day-of-week" if not self.days.by_month else "day-of-month")
        if empty:
            return (
                f"the {', '.join(empty)} field has no usable value, so Quartz's search for "
                "fire times fails"
            )
        return None

    def next_after(
        self, after: datetime, tz: str | ZoneInfo, *, max_year: int | None = None
    ) -> datetime | None:
        """The first fire time strictly after ``after``, aware in ``tz``; None if none is left.

        Raises CronSearchError where Quartz's own search fails instead of answering.
        """
        zone = _zone(tz)
        limit = _default_max_year() if max_year is None else max_year
        return self._next(after, zone, limit)

    def next_times(
        self,
        after: datetime,
        tz: str | ZoneInfo,
        count: int,
        *,
        max_year: int | None = None,
        strict: bool = False,
    ) -> list[datetime]:
        """Up to ``count`` successive fire times, each found after the previous one.

        Where Quartz's own search fails part way, the times it found before failing are
        returned, as Quartz lists them; ``strict`` raises CronSearchError (carrying them)
        instead, for callers that must tell "stops firing" from "cannot be searched".
        """
        zone = _zone(tz)
        limit = _default_max_year() if max_year is None else max_year
        found: list[datetime] = []
        moment = after
        while len(found) < count:
            try:
                nxt = self._next(moment, zone, limit)
            except CronSearchError as exc:
                if not strict:
                    break
                raise CronSearchError(str(exc), found=found) from None
            if nxt is None:
                break
            found.append(nxt)
            moment = nxt
        return found

    def _next(self, after: datetime, zone: ZoneInfo, max_year: int) -> datetime | None:
        """Quartz's search, step by step on the wall clock.

        Each time a field moves on, the fields below it restart (an hour change restarts at
        minute 0, a day change at midnight) and that intermediate wall time is placed in the
        zone first: one that falls in a daylight-saving gap moves forward and the search goes
        on from there. The order matters, so it is kept: seconds, minutes, hours, day, month,
        year.
        """
        if after.tzinfo is None:
            raise ValueError("after must be an aware datetime")
        for values, name in (
            (self.seconds, "second"),
            (self.minutes, "minute"),
            (self.hours, "hour"),
        ):
            if not values:
                raise CronSearchError(_empty_field(name))
        if not self.days.values and not self.days.last:
            raise CronSearchError(_empty_field("day-of-week"))
        start = after.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
        wall = _wall(start, zone)
        seen: set[datetime] = set()
        for _ in range(_SEARCH_STEPS):
            y, mo, d, h, mi = wall.year, wall.month, wall.day, wall.hour, wall.minute
            if y > max_year:
                return None
            ns = _ceil(self.seconds, wall.second)
            if ns is None:
                wall = _settle(zone, y, mo, d, h, mi + 1, self.seconds[0])
                continue
            if ns != wall.second:
                wall = _settle(zone, y, mo, d, h, mi, ns)
                y, mo, d, h, mi = wall.year, wall.month, wall.day, wall.hour, wall.minute
            nmi = _ceil(self.minutes, mi)
            if nmi is None:
                wall = _settle_hour(zone, y, mo, d, h + 1, self.minutes[0])
                continue
            if nmi != mi:
                wall = _settle_hour(zone, y, mo, d, h, nmi)
                continue
            nh = _ceil(self.hours, h)
            if nh is None:
                wall = _settle(zone, y, mo, d + 1)
                continue
            if nh != h:
                wall = _settle_hour(zone, y, mo, d, nh)
                continue
            moved = self._day_step(wall, start, zone)
            if moved is not None:
                if moved in seen:
                    raise CronSearchError(
                        "Quartz's search for fire times never returns for this day-of-month "
                        f"(it loops at {moved:%Y-%m-%d})"
                    )
                seen.add(moved)
                wall = moved
                continue
            if not self.months:
                raise CronSearchError(_empty_field("month"))
            nmo = _ceil(self.months, mo)
            if nmo is None:
                wall = _settle(zone, y + 1, self.months[0], 1)
                continue
            if nmo != mo:
                wall = _settle(zone, y, nmo, 1)
                continue
            ny = self._year_at_or_after(y, max_year)
            if ny is None:
                return None
            if ny != y:
                wall = _settle(zone, ny, 1, 1)
                continue
            return _place(wall, zone).astimezone(zone)
        raise CronSearchError("Quartz's search for fire times does not end")

    def _year_at_or_after(self, year: int, max_year: int) -> int | None:
        best: int | None = None
        for r in self.years:
            c = r.first_at_or_after(year)
            if c is not None and c <= max_year and (best is None or c < best):
                best = c
        return best

    def _day_step(self, wall: datetime, start: datetime, zone: ZoneInfo) -> datetime | None:
        """None when ``wall``'s day is allowed, else the wall time the search moves to.

        Quartz's ``W`` compares the candidate with the search's start instant, not with the
        current day, and moves to the next month at the lowest listed day, read leniently:
        ``0W`` lands back on the previous month's last day, which is how its search loops.
        """
        days = self.days
        y, mo, d = wall.year, wall.month, wall.day
        last = calendar.monthrange(y, mo)[1]
        if days.by_month and (days.weekday or days.last):
            if days.last:
                target = last - days.last_offset
                if not days.weekday:
                    if d > target:
                        return _settle(zone, y, mo + 1, 1)
                    return None if target == d else _settle(zone, y, mo, target)
                restart = 1
            else:
                target = days.values[0]
                restart = target
            target = _nearest_weekday(y, mo, target, last)
            candidate = _lenient(y, mo, target, wall.hour, wall.minute, wall.second)
            if _place(candidate, zone) < start:
                return _settle(zone, y, mo + 1, restart)
            return None if target == d else _settle(zone, y, mo, target)
        if days.by_month:
            nd = _ceil(days.values, d)
            if nd is None or nd > last:
                return _settle(zone, y, mo + 1, days.values[0])
            return None if nd == d else _settle(zone, y, mo, nd)
        target_day = self._weekday_rule_day(y, mo, d, last)
        if target_day is None:
            return _settle(zone, y, mo + 1, 1)
        return None if target_day == d else _settle(zone, y, mo, target_day)

    def _weekday_rule_day(self, y: int, mo: int, d: int, last: int) -> int | None:
        """The first day at or after ``d`` this month that the day-of-week field allows."""
        days = self.days
        first_dow = _quartz_dow(y, mo, 1)
        if days.last_weekday_of_month:
            want = days.values[0]
            last_dow = (first_dow - 1 + last - 1) % 7 + 1
            target = last - (last_dow - want) % 7
            return target if target >= d else None
        if days.nth:
            want = days.values[0]
            if want > 7:
                return None
            want = 7 if want == 0 else want
            target = 1 + (want - first_dow) % 7 + 7 * (days.nth - 1)
            return target if d <= target <= last else None
        dow = (first_dow - 1 + d - 1) % 7 + 1
        later = _ceil(days.values, dow)
        ahead = later - dow if later is not None else days.values[0] + 7 - dow
        return d + ahead if d + ahead <= last else None


def _empty_field(name: str) -> str:
    return f"the {name} field has no usable value, so Quartz's search for fire times fails"


def _ceil(values: tuple[int, ...], at: int) -> int | None:
    i = bisect.bisect_left(values, at)
    return values[i] if i < len(values) else None


def _lenient(y: int, mo: int, d: int = 1, h: int = 0, mi: int = 0, sec: int = 0) -> datetime:
    """A wall time from fields that may overflow or underflow, as a lenient Calendar reads them.

    Month 13 is January of the next year, day 0 the last day of the month before, minute 60
    the next hour.
    """
    y, mo = y + (mo - 1) // 12, (mo - 1) % 12 + 1
    return datetime(y, mo, 1) + timedelta(days=d - 1, hours=h, minutes=mi, seconds=sec)


def _settle_hour(zone: ZoneInfo, y: int, mo: int, d: int, hour: int, mi: int = 0) -> datetime:
    """Setting the hour, Quartz checks it took and otherwise sets the next hour on the result.

    That is meant for an hour lost to daylight saving (02:00 read back as 03:00 becomes 03:00
    anyway); an hour past 23 from a ``99-n`` range overflows twice, skipping a further day.
    """
    wall = _settle(zone, y, mo, d, hour, mi)
    if wall.hour != hour and hour != 24:
        wall = _settle(zone, wall.year, wall.month, wall.day, hour + 1, wall.minute, wall.second)
    return wall


def _settle(
    zone: ZoneInfo, y: int, mo: int, d: int = 1, h: int = 0, mi: int = 0, sec: int = 0
) -> datetime:
    """Where the search stands after setting these fields: a time in a gap moves forward."""
    wall = _lenient(y, mo, d, h, mi, sec)
    return _wall(_place(wall, zone), zone)


def _quartz_dow(y: int, mo: int, d: int) -> int:
    """Day of week numbered as Quartz does: 1 = Sunday ... 7 = Saturday."""
    return (date(y, mo, d).weekday() + 1) % 7 + 1


def _nearest_weekday(y: int, mo: int, day: int, last: int) -> int:
    """Quartz's ``W``: Saturday moves to Friday and Sunday to Monday, within the month.

    A day past the month's end is read as the date it would roll over to (31 in April is
    May 1st): if that is a Saturday the Friday before, the month's last day, is chosen.
    """
    rolled = _lenient(y, mo, day)
    dow = _quartz_dow(rolled.year, rolled.month, rolled.day)
    if dow == 7:
        return day + 2 if day == 1 else day - 1
    if dow == 1:
        return day - 2 if day == last else day + 1
    return day


def _default_max_year() -> int:
    return date.today().year + _YEAR_HORIZON


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CronError(f"unknown time zone {tz!r}") from exc


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None, fold=0)


def _place(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant Java's lenient calendar gives a wall time: later of the two readings.

    In an overlap the later reading is the second (standard time) occurrence; in a gap, reading
    with the offset in force before the gap moves the time forward by the gap's length.
    """
    early = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    late = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return max(early, late)


# Parsing -----------------------------------------------------------------------------------


def _is_upper_letter(c: str) -> bool:
    return "A" <= c <= "Z"


def _is_digit(c: str) -> bool:
    return "0" <= c <= "9"


def _parse_item(item: str, b: _FieldBuilder, dom: _FieldBuilder) -> None:
    """One comma-separated item of one field, read as leniently as Quartz reads it."""
    f = b.field
    c = item[0]
    if _is_upper_letter(c) and item not in ("L", "LW") and not _LAST_DAY_ITEM.fullmatch(item):
        _parse_name(item, b)
    elif c == "?":
        _parse_no_value(item, b, dom)
    elif c in "*/":
        _parse_every(item, b)
    elif c == "L":
        if f is _Field.DAY_OF_MONTH:
            _parse_last_day(item, b)
        elif f is _Field.DAY_OF_WEEK:
            b.add(7, None, None)
    elif _is_digit(c):
        _parse_number(item, b)
    else:
        raise CronParseError(f"Unexpected character: {c}")


def _parse_no_value(item: str, b: _FieldBuilder, dom: _FieldBuilder) -> None:
    if len(item) > 2:
        raise CronParseError(f"Illegal character after '?': {item[1]}")
    if b.field not in (_Field.DAY_OF_MONTH, _Field.DAY_OF_WEEK):
        raise CronParseError("'?' can only be specfied for Day-of-Month or Day-of-Week.")
    if b.field is _Field.DAY_OF_WEEK:
        if not dom.values and not dom.last_day:
            raise _wrapped("java.util.NoSuchElementException")
        if dom.values and max(dom.values) == _NO_SPEC:
            # 2.3 corrected the spelling of this message (quartz23-vectors.jsonl)
            spelt = "specified" if b.quartz is Quartz.V2_3 else "specfied"
            raise CronParseError(f"'?' can only be {spelt} for Day-of-Month -OR- Day-of-Week.")
    b.add(_NO_SPEC, None, None)


def _parse_every(item: str, b: _FieldBuilder) -> None:
    """``*``, ``*/n`` and ``/n``; anything after a bare ``*`` is ignored.

    Only a lone ``*`` (or a step of 0) leaves Quartz's "all" marker in the set, which the
    day-of-week ``?`` check can see.
    """
    if item == "*":
        b.add(_ALL, None, None)
        return
    if item[0] == "*" and item[1] != "/":
        b.add(_ALL, None, 1)
        return
    if item == "/":
        raise CronParseError("'/' must be followed by an integer.")
    digits = item[1:] if item[0] == "/" else item[2:]
    if not digits:
        raise CronParseError("Unexpected end of string.")
    step = _java_int(digits)
    if b.field is not _Field.YEAR:
        lim = _LIMITS[b.field]
        if step > lim.step_limit:
            raise CronParseError(f"{lim.step_message}{step}")
    b.add(_ALL, None, step)


def _parse_last_day(item: str, b: _FieldBuilder) -> None:
    """``L``, ``LW``, ``L-n`` and ``L-nW`` in the day-of-month field."""
    b.last_day = True
    if item == "LW":
        b.weekday = True
    elif item.startswith("L-"):
        if len(item) == 2:
            raise _wrapped(
                "java.lang.StringIndexOutOfBoundsException", "String index out of range: 2"
            )
        digits = item[2:]
        if digits.endswith("W"):
            b.weekday = True
            digits = digits[:-1]
        offset = _java_int(digits) if digits else 0
        if offset > 30:
            raise CronParseError("Offset from last day must be <= 30")
        b.last_offset = offset


def _parse_name(item: str, b: _FieldBuilder) -> None:
    """Three-letter month or day names; whatever follows the name (or range) is ignored."""
    f = b.field
    name = _substring(item, 0, 3)
    if f is _Field.MONTH:
        table, what = _MONTHS, "Month"
    elif f is _Field.DAY_OF_WEEK:
        table, what = _DAYS, "Day-of-Week"
    else:
        raise CronParseError(f"Illegal characters for this position: '{name}'")
    if name not in table:
        raise CronParseError(f"Invalid {what} value: '{name}'")
    start = table[name]
    if len(item) > 3:
        mark = item[3]
        if mark == "-":
            end = _substring(item, 4, 7)
            if end not in table:
                raise CronParseError(f"Invalid {what} value: '{end}'")
            b.add(start, table[end], 1)
            return
        if f is _Field.DAY_OF_WEEK and mark == "#":
            _set_nth(b, item[4:])
        elif f is _Field.DAY_OF_WEEK and mark == "L":
            b.last_weekday_of_month = True
    b.add(start, None, None)


def _set_nth(b: _FieldBuilder, text: str) -> None:
    message = "A numeric value between 1 and 5 must follow the '#' option"
    try:
        n = _java_int(text)
    except CronParseError:
        raise CronParseError(message) from None
    if not 1 <= n <= 5:
        raise CronParseError(message)
    b.nth = n


def _read_int(item: str, at: int) -> tuple[int, int]:
    """The digit run at ``at`` as an int, and the index after it."""
    end = at
    while end < len(item) and _is_digit(item[end]):
        end += 1
    return _java_int(item[at:end]), end


def _digit_at(item: str, at: int) -> None:
    """Quartz reads the first digit after ``-`` or ``/`` on its own, failing as Java does."""
    if at >= len(item):
        raise _wrapped(
            "java.lang.StringIndexOutOfBoundsException", f"String index out of range: {at}"
        )
    if not _is_digit(item[at]):
        raise _wrapped("java.lang.NumberFormatException", f'For input string: "{item[at]}"')


def _parse_number(item: str, b: _FieldBuilder) -> None:
    f = b.field
    value, i = _read_int(item, 0)
    if i >= len(item):
        b.add(value, None, None)
        return
    c = item[i]
    if c == "L":
        if f is not _Field.DAY_OF_WEEK:
            raise CronParseError(f"'L' option is not valid here. (pos={i})")
        if not 1 <= value <= 7:
            raise CronParseError(_LIMITS[f].range_message)
        b.last_weekday_of_month = True
        b.add(value, None, None)
    elif c == "W":
        if f is not _Field.DAY_OF_MONTH:
            raise CronParseError(f"'W' option is not valid here. (pos={i})")
        if value > 31:
            raise CronParseError(
                "The 'W' option does not make sense with values larger than 31 "
                "(max number of days in a month)"
            )
        b.weekday = True
        b.values.add(value)
    elif c == "#":
        if f is not _Field.DAY_OF_WEEK:
            raise CronParseError(f"'#' option is not valid here. (pos={i})")
        _set_nth(b, item[i + 1 :])
        b.values.add(value)
    elif c == "-":
        _digit_at(item, i + 1)
        stop, i = _read_int(item, i + 1)
        step = 1
        if i < len(item) and item[i] == "/":
            _digit_at(item, i + 1)
            step, _ = _read_int(item, i + 1)
        b.add(value, stop, step)
    elif c == "/":
        if i + 1 >= len(item):
            raise CronParseError("'/' must be followed by an integer.")
        _digit_at(item, i + 1)
        if i + 2 < len(item) and not _is_digit(item[i + 2]):
            raise CronParseError(f"Unexpected character '{item[i + 2]}' after '/'")
        step, _ = _read_int(item, i + 1)
        if b.quartz is Quartz.V2_3 and f is not _Field.YEAR and step > _LIMITS[f].step_limit:
            raise _step_refusal(item, value, step, f)
        b.add(value, None, step)
    else:
        b.add(value, None, None)


def _step_refusal(item: str, start: int, step: int, f: _Field) -> Quartz23Refusal:
    """Quartz 2.3's check of an ``N/S`` step, worded with what 2.2 made of the item.

    2.2 reads ``N/S`` with a step past the field's top as N alone (``99/S``, "every value from
    the lowest", as the lowest alone; ``98/S`` in a day field as nothing).
    """
    lim = _LIMITS[f]
    name, unit = _FIELD_WORDS[f]
    problem = f"step {step} exceeds {lim.step_limit} in the {name} field ({item!r})"
    meant = lim.low if start == _ALL else start
    day_field = f in (_Field.DAY_OF_MONTH, _Field.DAY_OF_WEEK)
    if day_field and start == _NO_SPEC:
        problem += "; Quartz 2.2 reads that item as no value at all: leave it out"
    elif lim.low <= meant <= lim.high:
        problem += f"; write {meant} if you mean only {unit} {meant}"
    return Quartz23Refusal(f"{lim.step_message}{step}", problem=problem)


def _mixes_last_with_others(token: str) -> bool:
    """Quartz refuses an ``L`` anywhere in a day field that also holds a comma."""
    return "L" in token and len(token) > 1 and "," in token


@functools.lru_cache(maxsize=8192)
def parse(
    expr: str, *, max_year: int | None = None, quartz: Quartz = Quartz.V2_2
) -> CronExpression:
    """Read ``expr`` exactly as Quartz 2.2.1 would; CronParseError with Quartz's message if not.

    A 5-field Unix cron is refused as Quartz refuses it, with its Quartz equivalent in the hint.
    ``max_year`` is Quartz's horizon (this year + 100), which bounds ``year/step``.
    ``quartz=Quartz.V2_3`` also refuses what 2.3 and later refuse (Quartz23Refusal, naming the
    expression as 2.2 reads it); what both accept means the same to both.
    """
    limit = _default_max_year() if max_year is None else max_year
    try:
        return _parse(expr, limit, quartz)
    except Quartz23Refusal as exc:
        raise Quartz23Refusal(
            exc.quartz_message, problem=exc.problem, quartz22_reading=quartz22_equivalent(expr)
        ) from None
    except CronParseError as exc:
        unix_like = exc.quartz_message == "Unexpected end of expression." or expr.strip()[:1] == "@"
        if unix_like:
            equivalent = quartz_equivalent(expr)
            if equivalent is not None:
                raise CronParseError(
                    exc.quartz_message,
                    hint=(
                        "this looks like a Unix cron; the Quartz equivalent, with seconds "
                        f"first and one '?' day field, is {equivalent!r}"
                    ),
                ) from None
        raise


def _parse(expr: str, max_year: int, quartz: Quartz = Quartz.V2_2) -> CronExpression:
    tokens = [t for t in _SEPARATORS.split(expr.upper()) if t]
    builders = [_FieldBuilder(f, max_year, quartz) for f in _Field]
    dom, dow = builders[_Field.DAY_OF_MONTH], builders[_Field.DAY_OF_WEEK]
    for position, token in enumerate(tokens[:7]):
        field = _Field(position)
        if field is _Field.DAY_OF_MONTH and _mixes_last_with_others(token):
            raise CronParseError(
                "Support for specifying 'L' and 'LW' with other days of the month is not "
                "implemented"
            )
        if field is _Field.DAY_OF_WEEK and _mixes_last_with_others(token):
            raise CronParseError(
                "Support for specifying 'L' with other days of the week is not implemented"
            )
        if field is _Field.DAY_OF_WEEK and token.count("#") > 1:
            raise CronParseError('Support for specifying multiple "nth" days is not implemented.')
        for item in token.split(","):
            if item:
                _parse_item(item, builders[position], dom)
    if len(tokens) < 6:
        raise CronParseError("Unexpected end of expression.")
    if (_NO_SPEC in dom.values) == (_NO_SPEC in dow.values):
        raise CronParseError(
            "Support for specifying both a day-of-week AND a day-of-month parameter is not "
            "implemented."
        )
    if _NO_SPEC in dow.values:
        days = _Days(
            by_month=True,
            values=tuple(sorted(dom.values)),
            last=dom.last_day,
            last_offset=dom.last_offset,
            weekday=dom.weekday,
        )
    else:
        days = _Days(
            by_month=False,
            values=tuple(sorted(dow.values)),
            last_weekday_of_month=dow.last_weekday_of_month,
            nth=dow.nth,
        )
    years = builders[_Field.YEAR]
    if len(tokens) < 7:
        years.add(_ALL, None, None)

    return CronExpression(
        source=expr,
        seconds=tuple(sorted(builders[_Field.SECOND].values)),
        minutes=tuple(sorted(builders[_Field.MINUTE].values)),
        hours=tuple(sorted(builders[_Field.HOUR].values)),
        months=tuple(sorted(builders[_Field.MONTH].values)),
        days=days,
        years=tuple(years.years),
    )


# Azkaban's verdict, canonical text, descriptions, Unix crons ----------------------------------


def check_schedulable(
    expr: str,
    tz: str | ZoneInfo,
    now: datetime | None = None,
    *,
    quartz: Quartz = Quartz.V2_2,
) -> CronExpression:
    """What Azkaban accepts: Quartz parses it and it fires at least once after ``now``.

    Expressions Quartz accepts but cannot search (an empty field, ``L`` in the hour, ``0W``)
    are refused too: Azkaban would store them and then fail to schedule them. ``quartz`` is
    the parser the server runs: 2.2 (what Azkaban pins, the sandbox's) by default; checks of
    configuration pass ``Quartz.V2_3`` so that it suits servers built with either.
    """
    if now is None and isinstance(tz, str):
        minute = datetime.now(UTC).replace(second=0, microsecond=0)
        return _schedulable_at(expr, tz, minute, quartz)
    return _check_schedulable(expr, tz, now, quartz)


@functools.lru_cache(maxsize=4096)
def _schedulable_at(expr: str, tz: str, minute: datetime, quartz: Quartz) -> CronExpression:
    """A fleet repeats a few crons thousands of times: the answer for the current minute is
    kept (a refusal raises, and is not kept). A long-running sandbox asks again each minute."""
    return _check_schedulable(expr, tz, minute, quartz)


def _check_schedulable(
    expr: str, tz: str | ZoneInfo, now: datetime | None, quartz: Quartz
) -> CronExpression:
    parsed = parse(expr, quartz=quartz)
    zone = _zone(tz)
    moment = now if now is not None else datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    failure = parsed.search_failure or _weekday_hazard(parsed)
    if failure:
        raise CronError(f"{expr.strip()!r} cannot be scheduled: {failure}")
    try:
        first = parsed.next_after(moment, zone)
    except CronSearchError as exc:
        raise CronError(f"{expr.strip()!r} cannot be scheduled: {exc}") from None
    if first is None:
        raise CronError(
            f"{expr.strip()!r} never fires after {moment.astimezone(zone):%Y-%m-%d %H:%M} "
            f"in {zone.key}, so Azkaban refuses it"
        )
    return parsed


def _weekday_hazard(parsed: CronExpression) -> str | None:
    """A ``W`` day that falls before the 1st sends Quartz's search round in a loop.

    ``0W`` does so at once. ``L-nW`` does in any month shorter than n + 1 days that the search
    visits: the months listed and, after each fire, the month that follows.
    """
    days = parsed.days
    if not (days.by_month and days.weekday):
        return None
    if not days.last:
        return "'0W' makes Quartz's search for fire times loop" if days.values[0] < 1 else None
    shortest = {2: 28, 4: 30, 6: 30, 9: 30, 11: 30}
    listed = [m for m in parsed.months if 1 <= m <= 12]
    visited = sorted(set(listed) | {m % 12 + 1 for m in listed})
    short = [m for m in visited if shortest.get(m, 31) - days.last_offset < 1]
    if short:
        return (
            f"'L-{days.last_offset}W' makes Quartz's search for fire times loop in month {short[0]}"
        )
    return None


def normalize(expr: str) -> str:
    """Canonical text for comparing desired and live schedules.

    Quartz upper-cases the whole expression, splits on spaces and tabs only and ignores tokens
    after the seventh, so those differences never change when a schedule fires. One more
    rewrite: an ``N/S`` item that only Quartz 2.2 accepts becomes the ``N`` it means there
    (:func:`quartz22_equivalent`), so a live schedule a 2.2 server took as ``0/60 0 2 ? * *``
    equals the configured ``0 0 2 ? * *``, the only spelling 2.3 accepts too (configuration
    holding the old form is refused before any comparison). Nothing else is rewritten: equal
    spellings that fire alike but read differently stay different.
    """
    equivalent = quartz22_equivalent(expr)
    if equivalent is not None:
        return equivalent
    tokens = [t for t in _SEPARATORS.split(expr.upper()) if t]
    return " ".join(tokens[:7])


_STEP_ITEM = re.compile(r"([0-9]+)/([0-9]+)")


@functools.lru_cache(maxsize=8192)
def quartz22_equivalent(expr: str) -> str | None:
    """The spelling both Quartz versions read as Quartz 2.2 reads ``expr``, if 2.3 refuses it.

    None when there is nothing to rewrite: 2.2 refuses ``expr`` too, or 2.3 accepts it. Each
    ``N/S`` item whose step exceeds its field's top becomes ``N``, which is all 2.2 makes of it
    (``0/60`` in the seconds fires at second 0 only); everything else is kept, upper-cased,
    tokens joined by one space and cut at seven as in :func:`normalize`. Fire times are those
    of the original on a 2.2 server (checked here: the rewrite must parse to the same sets).
    """
    if "/" not in expr:
        return None
    try:
        original = parse(expr)
    except CronParseError:
        return None
    try:
        _parse(expr, _default_max_year(), Quartz.V2_3)  # not parse(): it calls this
        return None
    except Quartz23Refusal:
        pass
    except CronParseError:  # a refusal of another kind: not the rule this rewrite undoes
        return None
    tokens = [t for t in _SEPARATORS.split(expr.upper()) if t][:7]
    rewritten = [
        token if position == _Field.YEAR else _quartz22_token(token, _Field(position))
        for position, token in enumerate(tokens)
    ]
    if any(token is None for token in rewritten):
        return None
    candidate = " ".join(token for token in rewritten if token is not None)
    try:
        reread = _parse(candidate, _default_max_year(), Quartz.V2_3)
    except CronParseError:
        return None
    same = dataclasses.replace(reread, source=original.source) == original
    return candidate if same else None


def quartz22_note(expr: str) -> str | None:
    """What import says about a live cron only Quartz 2.2 takes, or None if it has none.

    The note's one home, so import and anything else that adopts a live schedule say the same.
    """
    equivalent = quartz22_equivalent(expr)
    if equivalent is None:
        return None
    return (
        f"the server holds cron {expr.strip()!r}, which Quartz 2.3 and later refuse; Azkaban's "
        f"Quartz 2.2 reads it as {equivalent!r}, written here instead: it fires at the same "
        "times, and the plan shows no change for it"
    )


def _quartz22_token(token: str, f: _Field) -> str | None:
    """``token`` with each over-stepped ``N/S`` item replaced by what 2.2 reads; None if empty."""
    lim = _LIMITS[f]
    kept: list[str] = []
    for item in token.split(","):
        match = _STEP_ITEM.match(item)
        if match is None or int(match.group(2)) <= lim.step_limit:
            kept.append(item)
            continue
        start = int(match.group(1))
        if start == _NO_SPEC and f in (_Field.DAY_OF_MONTH, _Field.DAY_OF_WEEK):
            continue
        kept.append(str(lim.low if start == _ALL else start))
    return ",".join(kept) if kept else None


def describe(expr: str) -> str:
    """Plain English for a Quartz expression, via cron-descriptor (1 = Sunday, as in Quartz).

    cron-descriptor reads the text by its own rules, which differ from Quartz's on the quirks
    (``MON/2`` is every Monday to Quartz, ``L`` in the day-of-week is Saturday), so it is given
    a clean spelling of what Quartz understood instead of the text as written. Raises
    CronParseError for text Quartz refuses, so a description never dresses up an expression
    that Azkaban would reject.
    """
    parsed = parse(expr)
    failure = parsed.search_failure
    if failure:
        return f"Never fires: {failure}"
    from cron_descriptor import (  # type: ignore[import-untyped]
        ExpressionDescriptor,
        FormatError,
        MissingFieldError,
        Options,
        WrongArgumentError,
    )

    options = Options()
    options.day_of_week_start_index_zero = False
    options.use_24hour_time_format = True
    text = canonical(parsed)
    try:
        return str(ExpressionDescriptor(text, options).get_description())
    except (FormatError, MissingFieldError, WrongArgumentError, ValueError, IndexError, KeyError):
        return f"Quartz schedule {text}"


def canonical(parsed: CronExpression) -> str:
    """A clean Quartz spelling of what Quartz understood: one 7-field form per meaning.

    Fields read as value sets, so ``0/15``, ``*/15`` and ``0,15,30,45`` all become ``*/15``,
    lenient junk disappears and names become numbers. Values Quartz could never reach
    (markers, overflowing ranges) are left out.
    """
    fields = [
        _spell(parsed.seconds, _Field.SECOND),
        _spell(parsed.minutes, _Field.MINUTE),
        _spell(parsed.hours, _Field.HOUR),
    ]
    days = parsed.days
    if days.by_month:
        if days.last:
            offset = f"-{days.last_offset}" if days.last_offset else ""
            dom = f"L{offset}{'W' if days.weekday else ''}"
        elif days.weekday:
            dom = f"{days.values[0]}W"
        else:
            dom = _spell(days.values, _Field.DAY_OF_MONTH)
        fields += [dom, _spell(parsed.months, _Field.MONTH), "?"]
    else:
        first = days.values[0] if days.values else 0
        if days.last_weekday_of_month:
            dow = f"{first}L"
        elif days.nth:
            dow = f"{7 if first == 0 else first}#{days.nth}"
        else:
            dow = _spell(days.values, _Field.DAY_OF_WEEK)
        fields += ["?", _spell(parsed.months, _Field.MONTH), dow]
    fields.append(",".join(_spell_years(r) for r in parsed.years) or "*")
    return " ".join(fields)


def _spell(values: tuple[int, ...], field: _Field) -> str:
    lim = _LIMITS[field]
    usable = sorted(v for v in set(values) if lim.low <= v <= lim.high)
    if not usable:
        return "*"
    if usable == list(range(lim.low, lim.high + 1)):
        return "*"
    first = usable[0]
    if len(usable) >= 3:
        step = usable[1] - first
        progression = list(range(first, lim.high + 1, step))
        if step > 1 and usable == progression:
            return f"*/{step}" if first == lim.low else f"{first}/{step}"
    parts: list[str] = []
    run_start = previous = first
    for v in [*usable[1:], None]:
        if v is not None and v == previous + 1:
            previous = v
            continue
        parts.append(str(run_start) if run_start == previous else f"{run_start}-{previous}")
        if v is not None:
            run_start = previous = v
    return ",".join(parts)


def _spell_years(r: _YearRange) -> str:
    if r.stop is None:
        return "*" if (r.start, r.step) == (_LIMITS[_Field.YEAR].low, 1) else f"{r.start}/{r.step}"
    if r.start == r.stop:
        return str(r.start)
    return f"{r.start}-{r.stop}" + (f"/{r.step}" if r.step != 1 else "")


_UNIX_MACROS = {
    "@YEARLY": "0 0 0 1 1 ?",
    "@ANNUALLY": "0 0 0 1 1 ?",
    "@MONTHLY": "0 0 0 1 * ?",
    "@WEEKLY": "0 0 0 ? * SUN",
    "@DAILY": "0 0 0 * * ?",
    "@MIDNIGHT": "0 0 0 * * ?",
    "@HOURLY": "0 0 * * * ?",
}


def quartz_equivalent(unix_expr: str) -> str | None:
    """The Quartz spelling of a 5-field Unix cron, or None if it is not one or has none.

    Unix fires when either restricted day field matches; Quartz cannot say that, so such
    crons have no equivalent. Unix day-of-week 0-7 (0 and 7 Sunday) becomes Quartz's 1-7.
    """
    text = unix_expr.strip()
    macro = _UNIX_MACROS.get(text.upper())
    if macro is not None:
        return macro
    fields = text.split()
    if len(fields) != 5:
        return None
    minute, hour, dom, month, dow = fields
    dom_any = dom in ("*", "?")
    dow_any = dow in ("*", "?")
    if not dom_any and not dow_any:
        return None
    if dow_any:
        quartz = f"0 {minute} {hour} {'*' if dom_any else dom} {month} ?"
    else:
        converted = _unix_days_of_week(dow)
        if converted is None:
            return None
        quartz = f"0 {minute} {hour} ? {month} {converted}"
    try:
        _parse(quartz, _default_max_year())
    except CronParseError:
        return None
    return quartz


def _unix_days_of_week(field: str) -> str | None:
    def one(text: str) -> str | None:
        if text.isdigit():
            n = int(text)
            return str(n % 7 + 1) if 0 <= n <= 7 else None
        return text.upper() if text.upper() in _DAYS else None

    items = []
    for item in field.split(","):
        base, _, step = item.partition("/")
        if base == "*":
            items.append(item)
            continue
        start, dash, stop = base.partition("-")
        a = one(start)
        z = one(stop) if dash else None
        if a is None or (dash and z is None):
            return None
        items.append(f"{a}-{z}" if dash else a)
        if step:
            items[-1] += f"/{step}"
    return ",".join(items)
