"""Delivery: the outbox jobs that send what the desk wrote, and the claim-reminder job.

The worker's database calls are synchronous, so each run happens in a thread of the delivery
pool (bot/channels/telegram/pools.py: slow answers never hold it up) with its own event loop;
only the Bot API call (`send_message`) is handed back to the Application's
loop, where the bot's HTTP client and rate limiter live. `run_worker_once` is shared with the
exam reminders' worker (channels/telegram/exams.py).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from telegram.ext import Application, ContextTypes

from bot.outbox import DeliveryReport, KindsOutbox, Outbox, OutboxWorker

from ..common import services_of
from ..pools import delivering
from ..retry import durable_retries
from .helpers import _DELIVERY_KEY, BATCH, DESK_KINDS, desk_of, fit, keyboard

logger = logging.getLogger(__name__)


async def _kick(application: Application) -> None:
    """Deliver what was just enqueued now, not at the next tick."""
    if application.job_queue is not None and application.running:
        application.job_queue.run_once(
            deliver_outbox, 0, name="desk-outbox-kick", job_kwargs={"misfire_grace_time": None}
        )


async def send_message(
    bot: Any, chat_id: int, text: str, reply_markup: dict | None, *, thread_id: int | None = None,
    copy_from: tuple[int, int] | None = None,
) -> int:  # fmt: skip
    """One outbox row to Telegram, as plain text (no parse mode: nothing to escape), or a copy
    of a person's message (a photo, a voice note, a document, a location: `copy_from`). A 5xx or
    a timeout fails at once: the outbox retries from the database (see retry.py)."""
    with durable_retries():
        if copy_from is not None:
            sent = await bot.copy_message(
                chat_id, copy_from[0], copy_from[1], reply_markup=keyboard(reply_markup),
                message_thread_id=thread_id,
            )  # fmt: skip
        else:
            sent = await bot.send_message(
                chat_id, fit(text), reply_markup=keyboard(reply_markup), message_thread_id=thread_id
            )
    return sent.message_id


@dataclass
class _Delivery:
    lock: asyncio.Lock
    again: bool = False


async def deliver_outbox(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The delivery job."""
    await deliver(context.application)


async def deliver(application: Application) -> DeliveryReport | None:
    """One worker run at a time; a run asked for meanwhile happens right after this one."""
    desk = desk_of(application)
    if desk is None:
        return None
    state: _Delivery = application.bot_data.setdefault(_DELIVERY_KEY, _Delivery(asyncio.Lock()))
    if state.lock.locked():
        state.again = True
        return None
    total = DeliveryReport()
    async with state.lock:
        while True:
            state.again = False
            report = await run_outbox(application, desk)
            for name in ("sent", "retried", "failed", "skipped"):
                setattr(total, name, getattr(total, name) + getattr(report, name))
            busy = report.sent + report.retried + report.failed >= BATCH
            # Receipts to counselors and dead letters to the admins, from what just happened.
            settled = await asyncio.to_thread(desk.settle_deliveries)
            if not (state.again or busy or settled):
                break
    if total.sent or total.retried or total.failed:
        logger.debug("outbox: %s", total)
    return total


async def run_outbox(application: Application, desk: Any) -> DeliveryReport:
    """One round of the desk's deliveries."""
    outbox = KindsOutbox(desk.outbox, DESK_KINDS)
    return await run_worker_once(application, outbox, clock=desk.clock, batch_size=BATCH)


async def run_worker_once(
    application: Application, outbox: Outbox, *, clock: Any = None, batch_size: int = BATCH
) -> DeliveryReport:
    """`OutboxWorker.run_once()` in a thread (its database calls block), each Bot API call handed
    back to the Application's own loop, where the HTTP client and AIORateLimiter live."""
    loop = asyncio.get_running_loop()
    bot = application.bot

    async def send(chat_id: int, text: str, reply_markup: dict | None, **kwargs: Any) -> int:
        future = asyncio.run_coroutine_threadsafe(
            send_message(bot, chat_id, text, reply_markup, thread_id=kwargs.get("thread_id"),
                         copy_from=kwargs.get("copy_from")),  # fmt: skip
            loop,
        )
        return await asyncio.wrap_future(future)

    options = {"batch_size": batch_size} | ({"clock": clock} if clock else {})
    worker = OutboxWorker(outbox, send, **options)
    return await delivering(asyncio.run, worker.run_once())


async def remind(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Claim reminders (idempotent: each step is an audit event, each message a dedupe key)."""
    application = context.application
    desk = desk_of(application)
    if desk is None:
        return
    settings = services_of(context).settings
    sent = await asyncio.to_thread(
        desk.send_reminders, settings.claim_reminder_minutes, settings.crisis_reminder_minutes
    )
    if sent:
        logger.info("claim reminders: %s", [(r.case.id, r.step) for r in sent])
        await _kick(application)
