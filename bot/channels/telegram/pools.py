"""Separate thread pools, so slow answers never stall the desk.

`asyncio.to_thread` shares one default pool (6 threads on 2 cores) between everything. Six slow
answers (an LLM can take 20 s) used to take all of it, and the outbox worker and every database
call waited behind them: relays to and from counselors stalled while answers were computed. Now:

- `ANSWERS`: the assistant's answers;
- `TRIAGE`: triage of a message inside a case and the reply with the emergency numbers (never
  queued behind answers: a person in crisis inside a case is heard at once);
- `DELIVERY`: the outbox workers (desk and exam reminders);
- the default pool: short database calls.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

ANSWERS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="puente-answer")
TRIAGE = ThreadPoolExecutor(max_workers=2, thread_name_prefix="puente-triage")
DELIVERY = ThreadPoolExecutor(max_workers=2, thread_name_prefix="puente-delivery")


async def run_in(pool: ThreadPoolExecutor, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`asyncio.to_thread`, on `pool` (the context variables travel along, as with to_thread)."""
    import contextvars

    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await loop.run_in_executor(pool, call)


async def answering(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    return await run_in(ANSWERS, fn, *args, **kwargs)


async def triaging(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    return await run_in(TRIAGE, fn, *args, **kwargs)


async def delivering(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    return await run_in(DELIVERY, fn, *args, **kwargs)
