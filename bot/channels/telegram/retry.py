"""Every Bot API call (but getUpdates) through one rate limiter that also rides out outages.

PTB's `AIORateLimiter` keeps under Telegram's limits and waits out a 429's `retry_after`; it does
not retry a 5xx (PTB's `NetworkError`) or a call with no answer in time (`TimedOut`), so without
this an answer was lost whenever the Bot API had a bad second. `RetryingRateLimiter` retries
those with a short exponential backoff. 4xx errors (`BadRequest`, `Forbidden`...) are not retried.

One window remains at-least-once, as in the outbox: a call that Telegram carried out but whose
answer never arrived in time is sent again.

The outbox's sends opt out (`with durable_retries():`): the outbox retries them itself, from the
database, so a row is never held "sending" through a long in-memory retry a crash would strand.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter

logger = logging.getLogger(__name__)


_DURABLE = contextvars.ContextVar("puente_durable_retries", default=False)


@contextmanager
def durable_retries() -> Iterator[None]:
    """Bot API calls in this block fail at once on a 5xx or a timeout (the caller retries)."""
    token = _DURABLE.set(True)
    try:
        yield
    finally:
        _DURABLE.reset(token)


class RetryingRateLimiter(AIORateLimiter):
    def __init__(
        self,
        *,
        max_retries: int,
        transient_retries: int = 5,
        base_delay_s: float = 0.5,
        max_delay_s: float = 8.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(max_retries=max_retries, **kwargs)
        self.transient_retries = transient_retries
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s

    async def process_request(
        self, callback, args, kwargs, endpoint, data, rate_limit_args
    ):  # PTB's signature
        retries = 0 if _DURABLE.get() else self.transient_retries
        for attempt in range(retries + 1):
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except BadRequest:  # a NetworkError subclass, but our request's fault: never retried
                raise
            except NetworkError as exc:  # 5xx, connection errors, TimedOut
                if attempt == retries:
                    raise
                delay = min(self.max_delay_s, self.base_delay_s * 2**attempt)
                logger.warning(
                    "Bot API %s failed (%s); retrying in %.1fs (%d of %d)",
                    endpoint, exc, delay, attempt + 1, retries,
                )  # fmt: skip
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")
