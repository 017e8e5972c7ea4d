"""Quantities in the units a person reads: '7 days', '12 h', '1.5 GB'; pure, used by template
filters and by the forms that take them back ('7 days', '12 h', 'forever')."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_DURATION_UNITS = (("day", 86_400_000), ("h", 3_600_000), ("min", 60_000), ("s", 1000))
_BYTE_UNITS = (("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10))


def duration_label(ms: int | None) -> str:
    """Milliseconds as the largest whole units, at most two ('1 day 12 h', '90 min' stays '1 h 30 min');
    a negative value (Kafka's -1) is 'forever'."""
    if ms is None:
        return "–"
    if ms < 0:
        return "forever"
    if ms < 1000:
        return f"{ms} ms"
    parts: list[str] = []
    rest = ms
    for unit, size in _DURATION_UNITS:
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count} {unit}{'s' if unit == 'day' and count != 1 else ''}")
        if len(parts) == 2 or (parts and not count):
            break
    return " ".join(parts)


# Every spelling a person may type for a unit, to its length in milliseconds.
_UNIT_MS = {
    **dict.fromkeys(("ms", "msec", "millisecond", "milliseconds"), 1),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1000),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60_000),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3_600_000),
    **dict.fromkeys(("d", "day", "days"), 86_400_000),
    **dict.fromkeys(("w", "wk", "week", "weeks"), 604_800_000),
}
_FOREVER = {"forever", "-1", "never", "infinite", "unlimited"}
_AMOUNT = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*,?")


def parse_duration(text: str) -> int:
    """Milliseconds from what a person typed: '7 days', '12 h', '1 day 12 h', '1.5 h', '90min',
    '500 ms'; 'forever' (or -1) is Kafka's -1. A bare number is refused rather than guessed at
    (7 what?). Raises ValueError with a sentence to show."""
    cleaned = text.strip().lower()
    if cleaned in _FOREVER:
        return -1
    if cleaned.isdigit():
        raise ValueError(f"'{cleaned}' needs a unit: {cleaned} days, {cleaned} h, {cleaned} min or {cleaned} ms?")
    total = Decimal(0)
    position = 0
    while position < len(cleaned):
        match = _AMOUNT.match(cleaned, position)
        if match is None or match.group(2) not in _UNIT_MS:
            raise ValueError(
                f"'{text.strip()}' is not a duration: write e.g. 7 days, 12 h, 30 min, 1 day 12 h or forever"
            )
        try:
            total += Decimal(match.group(1)) * _UNIT_MS[match.group(2)]
        except InvalidOperation as exc:  # pragma: no cover - the pattern only lets digits through
            raise ValueError(f"'{text.strip()}' is not a duration") from exc
        position = match.end()
    if not cleaned:
        raise ValueError("a duration is required: e.g. 7 days, 12 h or forever")
    if total != total.to_integral_value():
        raise ValueError(f"'{text.strip()}' is not a whole number of milliseconds")
    return int(total)


def duration_input(ms: int) -> str:
    """Milliseconds as a form shows them to be edited: every unit, so that parse_duration reads
    back exactly the same number ('1 day 12 h', '1 s 500 ms'); negative is 'forever'."""
    if ms < 0:
        return "forever"
    if ms == 0:
        return "0 ms"
    parts = []
    rest = ms
    for unit, size in (("day", 86_400_000), ("h", 3_600_000), ("min", 60_000), ("s", 1000), ("ms", 1)):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count} {unit}{'s' if unit == 'day' and count != 1 else ''}")
    return " ".join(parts)


def size_label(size_bytes: int | None) -> str:
    """Bytes in binary units with one decimal where it matters ('1.5 GB', '512 B'); negative
    (Kafka's retention.bytes -1) is 'no size limit'."""
    if size_bytes is None:
        return "–"
    if size_bytes < 0:
        return "no size limit"
    for unit, size in _BYTE_UNITS:
        if size_bytes >= size:
            value = size_bytes / size
            return f"{value:.0f} {unit}" if value >= 100 or value == int(value) else f"{value:.1f} {unit}"
    return f"{size_bytes} B"
