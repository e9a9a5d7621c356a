"""Every Bot API call (but getUpdates) through one rate limiter that also rides out outages.

PTB's `AIORateLimiter` keeps under Telegram's limits and waits out a 429's `retry_after`; it does
not retry a 5xx (PTB's `NetworkError`) or a call with no answer in time (`TimedOut`), so without
this an answer was lost whenever the Bot API had a bad second. `RetryingRateLimiter` retries
those with a short exponential backoff. 4xx errors (`BadRequest`, `Forbidden`...) are not retried.

One window remains at-least-once, as in the outbox: a call that Telegram carried out but whose
answer never arrived in time is sent again.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram.error import BadRequest, NetworkError
from telegram.ext import AIORateLimiter

logger = logging.getLogger(__name__)


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
    ):  # noqa: ANN001, ANN201 - PTB's signature
        for attempt in range(self.transient_retries + 1):
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except BadRequest:  # a NetworkError subclass, but our request's fault: never retried
                raise
            except NetworkError as exc:  # 5xx, connection errors, TimedOut
                if attempt == self.transient_retries:
                    raise
                delay = min(self.max_delay_s, self.base_delay_s * 2**attempt)
                logger.warning(
                    "Bot API %s failed (%s); retrying in %.1fs (%d of %d)",
                    endpoint, exc, delay, attempt + 1, self.transient_retries,
                )  # fmt: skip
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")
