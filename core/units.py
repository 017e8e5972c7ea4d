"""Quantities in the units a person reads: '7 days', '12 h', '1.5 GB'; pure, used by template filters."""

from __future__ import annotations

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
