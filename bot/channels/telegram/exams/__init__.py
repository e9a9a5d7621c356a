"""Exam logistics in Telegram: /exams, /exam, reminders, staff notices, and the reminder job.

* `/exams [level]`: the upcoming sessions, compact, with buttons filtering by level and by the
  language the exam is held in (a press edits the message);
* `/exam SC-2703-02`: one session in full, how to get there (a venue-guide passage, when the
  assistant has a retriever), what to bring, and a "🔔 Remind me" button;
* `/reminders`: the person's subscriptions, each with a cancel button;
* `/notify SC-2703-02 TEXT`: exam staff (roster role exam_staff) send a notice to every
  subscriber; the sender gets a delivery report when delivery is over;
* a JobQueue job, every `JOB_INTERVAL_S`: compares the calendar with its stored snapshot once
  (change notices), then writes due reminders and delivery reports to the outbox.

The package: ``commands`` (the commands and their buttons) · ``job`` (the reminder job and the
delivery of the exam kinds of outbox messages); `register` adds both to the Application.

Everything sent outside a reply goes through the outbox (`bot.outbox`), the table the
desk shares. The desk's worker delivers the desk's kinds only; the job runs a worker
over the exam kinds (`bot.exams.reminders.OUTBOX_KINDS`), so neither steps on the other (claims
are guarded anyway). Both send through the Application's bot, hence its AIORateLimiter.
"""

from __future__ import annotations

from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from .commands import (
    CANCEL,
    FILTER,
    REMIND,
    STOP,
    exam_command,
    exams_command,
    notify_command,
    on_cancel,
    on_filter,
    on_remind,
    on_stop,
    reminders_command,
)
from .job import JOB_INTERVAL_S, JOB_NAME, deliver_exam_messages, exam_service, reminder_job

__all__ = [
    "deliver_exam_messages",
    "exam_command",
    "exam_service",
    "exams_command",
    "notify_command",
    "register",
    "reminder_job",
    "reminders_command",
]


def register(application: Application) -> None:
    """Add the exam commands, their buttons and the reminder job to the Application."""
    new_messages = filters.UpdateType.MESSAGE
    for name, callback in (
        ("exams", exams_command),
        ("exam", exam_command),
        ("reminders", reminders_command),
        ("notify", notify_command),
    ):
        application.add_handler(CommandHandler(name, callback, filters=new_messages))
    application.add_handler(CallbackQueryHandler(on_filter, pattern=f"^{FILTER}"))
    application.add_handler(CallbackQueryHandler(on_remind, pattern=f"^{REMIND}"))
    application.add_handler(CallbackQueryHandler(on_stop, pattern=f"^{STOP}"))
    application.add_handler(CallbackQueryHandler(on_cancel, pattern=f"^{CANCEL}"))
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            reminder_job, interval=JOB_INTERVAL_S, first=1.0, name=JOB_NAME
        )
