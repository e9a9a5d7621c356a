"""Weekly opening hours written as text: "Mon-Fri 08:30-17:00; Wed 08:30-20:00".

Entries are separated by ";" or newlines; each is a weekday or weekday range and one or more
time ranges. A weekday named twice is open during the union of its ranges. "24/7" means always.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time

from bot.errors import PuenteError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


class InvalidHours(PuenteError, ValueError):
    """A weekly-hours text that cannot be read; the message says which part."""


@dataclass(frozen=True)
class WeeklyHours:
    """Open intervals per weekday (0 = Monday), in local time."""

    days: dict[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)
    text: str = ""

    @classmethod
    def parse(cls, text: str | list[str]) -> WeeklyHours:
        parts = text if isinstance(text, list) else re.split(r"[;\n]", text)
        days: dict[int, list[tuple[time, time]]] = {}
        for raw in parts:
            entry = raw.strip()
            if not entry:
                continue
            if entry.lower() in ("24/7", "always"):
                for day in range(7):
                    days.setdefault(day, []).append((time(0, 0), time.max))
                continue
            pieces = entry.split()
            if len(pieces) < 2:
                raise InvalidHours(f"{entry!r}: expected 'Mon-Fri 09:00-17:00'")
            for day in _days(pieces[0]):
                for span in pieces[1:]:
                    days.setdefault(day, []).append(_span(span, entry))
        joined = "; ".join(p.strip() for p in parts if p.strip())
        return cls({d: tuple(sorted(v)) for d, v in days.items()}, joined)

    def is_open(self, local: datetime) -> bool:
        """Whether `local` (already in the roster's time zone) falls inside an open interval."""
        now = local.time().replace(tzinfo=None)
        return any(start <= now < end for start, end in self.days.get(local.weekday(), ()))

    def is_working_day(self, weekday: int) -> bool:
        return bool(self.days.get(weekday))

    def __bool__(self) -> bool:
        return bool(self.days)


def _days(spec: str) -> list[int]:
    spec = spec.lower()
    if "-" in spec:
        first, _, last = spec.partition("-")
        a, b = _day(first, spec), _day(last, spec)
        return list(range(a, b + 1)) if a <= b else list(range(a, 7)) + list(range(0, b + 1))
    return [_day(spec, spec)]


def _day(name: str, entry: str) -> int:
    key = name.strip()[:3]
    if key not in DAYS:
        raise InvalidHours(f"{entry!r}: unknown weekday {name!r} (use Mon..Sun)")
    return DAYS.index(key)


def _span(text: str, entry: str) -> tuple[time, time]:
    match = _RANGE.match(text)
    if not match:
        raise InvalidHours(f"{entry!r}: expected a time range like 09:00-17:00, got {text!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
        raise InvalidHours(f"{entry!r}: {text!r} is not a valid time range")
    start = time(h1, m1)
    end = time.max if h2 == 24 else time(h2, m2)
    if end <= start:
        raise InvalidHours(f"{entry!r}: {text!r} ends before it starts")
    return start, end
