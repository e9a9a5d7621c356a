"""The one clock: "now" in UTC, and "today" as the local date of the configured time zone.

`Clock(timezone, today=..., now=...)`: `now()` is an aware UTC datetime (the system time, or a
test's clock passed as `now`); `today()` is `PUENTE_TODAY` when it is set (tests and demos pin
the calendar's "today"), else the local date of `now()` in `timezone` (Asia/Taipei by default).
The assistant, the exam reminders and the Telegram exam commands ask it; nothing else computes
"today". A `Clock` is also callable (`clock()` is `clock.now()`), so it goes where a
`() -> datetime` is expected (the outbox, the stores).

Imports nothing of ours: every layer may use it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_TIMEZONE = "Asia/Taipei"


def utcnow() -> datetime:
    """The default clock: now, aware, in UTC."""
    return datetime.now(UTC)


class Clock:
    """Now in UTC and today in the configured time zone (pinned by `today`, `PUENTE_TODAY`)."""

    def __init__(
        self,
        timezone: str = DEFAULT_TIMEZONE,
        *,
        today: date | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.tz = ZoneInfo(timezone)
        self.pinned_today = today
        self._now = now

    @classmethod
    def from_settings(cls, settings: Any, now: Callable[[], datetime] = utcnow) -> Clock:
        """The clock of `settings.timezone`, pinned by `settings.today` (`PUENTE_TODAY`)."""
        return cls(settings.timezone, today=settings.today, now=now)

    def now(self) -> datetime:
        return self._now()

    __call__ = now

    def today(self) -> date:
        """`PUENTE_TODAY` when pinned, else the local date of `now()`."""
        return self.pinned_today or self.now().astimezone(self.tz).date()
