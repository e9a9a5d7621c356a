"""A per-person sliding-window rate limit, in memory (one bot process)."""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Callable, Hashable


class Verdict(enum.Enum):
    ALLOW = "allow"
    DENY_AND_TELL = "deny_and_tell"  # the first refusal in a window: tell the person once
    DENY = "deny"  # refused again in the same window: stay quiet


class SlidingWindowLimiter:
    """At most `limit` events per `window_s` seconds per key.

    Refused events are not counted, so a person who keeps typing gets through again as soon as
    their older messages leave the window.
    """

    def __init__(
        self, limit: int, window_s: float, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._events: dict[Hashable, deque[float]] = {}
        self._told_at: dict[Hashable, float] = {}
        self._checks = 0

    def check(self, key: Hashable) -> Verdict:
        now = self._clock()
        self._checks += 1
        if self._checks % 1024 == 0:
            self._evict_idle(now)
        events = self._events.setdefault(key, deque())
        while events and now - events[0] >= self.window_s:
            events.popleft()
        if len(events) < self.limit:
            events.append(now)
            return Verdict.ALLOW
        told = self._told_at.get(key)
        if told is None or now - told >= self.window_s:
            self._told_at[key] = now
            return Verdict.DENY_AND_TELL
        return Verdict.DENY

    def __len__(self) -> int:
        """How many keys are tracked (for tests and metrics)."""
        return len(self._events)

    def _evict_idle(self, now: float) -> None:
        for key in [k for k, ev in self._events.items() if not ev or now - ev[-1] >= self.window_s]:
            del self._events[key]
        for key in [k for k, at in self._told_at.items() if now - at >= self.window_s]:
            del self._told_at[key]
