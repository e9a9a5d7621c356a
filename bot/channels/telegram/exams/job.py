"""The exam reminder job: every `JOB_INTERVAL_S`, the calendar compared with its stored snapshot
once per process (change notices), due reminders and delivery reports written to the outbox, then
the exam kinds of outbox messages delivered (`deliver_exam_messages`). /notify kicks it at once.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from telegram.ext import Application, ContextTypes

from bot.exams.reminders import OUTBOX_KINDS as EXAM_OUTBOX_KINDS
from bot.outbox import KindsOutbox

from ..common import services_of
from ..desk import run_worker_once

logger = logging.getLogger(__name__)

JOB_NAME = "exam-reminders"
JOB_INTERVAL_S = 30.0
RUN_KEY = "exams.run"
SNAPSHOT_CHECKED_KEY = "exams.snapshot_checked"
BATCH = 20  # outbox rows per worker run
MAX_ROUNDS = 50  # worker runs per job run at most (then the next tick goes on)


def exam_service(context: ContextTypes.DEFAULT_TYPE):
    """The `ExamReminders` service, or None when this deployment has none (no database)."""
    return getattr(services_of(context), "exams", None)


# --- the job --------------------------------------------------------------------------------------


async def reminder_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Calendar changes (once per process), due reminders and reports, then delivery.

    One run at a time (the repeating job and the kick after /notify may overlap); a run asked
    for meanwhile happens right after the current one.
    """
    service = exam_service(context)
    if service is None:
        return
    state: _Run = context.bot_data.setdefault(RUN_KEY, _Run(asyncio.Lock()))
    if state.lock.locked():
        state.again = True
        return
    async with state.lock:
        while True:
            state.again = False
            if not context.bot_data.get(SNAPSHOT_CHECKED_KEY):
                await asyncio.to_thread(service.check_calendar)
                context.bot_data[SNAPSHOT_CHECKED_KEY] = True
            await asyncio.to_thread(service.tick)
            await deliver_exam_messages(context.application, service)
            if not state.again:
                break


@dataclass
class _Run:
    lock: asyncio.Lock
    again: bool = False


async def deliver_exam_messages(application: Application, service) -> None:
    """Deliver the exam kinds of outbox messages (reminders, changes, notices, reports), then
    the delivery reports that became due because of it.

    The desk's worker delivers only the desk's kinds, so this one is the only sender of these.
    Like the desk's, the worker runs in a thread (its database calls block) and hands each Bot
    API call back to the Application's loop, where the HTTP client and AIORateLimiter live.
    """
    outbox = KindsOutbox(service.outbox, EXAM_OUTBOX_KINDS)
    for _ in range(MAX_ROUNDS):  # bounded: a full batch, or reports that just became due
        report = await run_worker_once(application, outbox, batch_size=BATCH)
        written = await asyncio.to_thread(service.enqueue_reports)
        if not (report.sent + report.retried + report.failed >= BATCH or written):
            break
