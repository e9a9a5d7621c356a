"""The escalation desk in Telegram: outbox delivery, case-card buttons, relaying, staff commands.

`register(application)` adds everything; `app._add_handlers` calls it once.

* Delivery. Everything the desk says is in the outbox (the database is the queue). A repeating
  JobQueue job runs `OutboxWorker.run_once()` every second (and once as soon as the bot starts, so
  what was left undelivered before a restart goes out first). The worker's database calls are
  synchronous, so the whole run happens in a worker thread with its own event loop; only the
  Bot API call (`send`) is handed back to the Application's loop, where the bot's HTTP client and
  rate limiter live. Retries and backoff come from the outbox (`classify_error`).
* The gate (handler group -3, before the group filter, the rate limit and the question
  handler): a counselor's reply to a case card or a relayed message goes to the trainee; a
  trainee's message while their case is active goes to the counselor(s), and Puente does not
  answer it; a trainee's reply to a message of a case resolved within the reopen window reopens
  it. Each ends with `ApplicationHandlerStop`. Anything else passes through untouched.
* Buttons `desk:claim|resolve|reassign|card|rate:...` and the staff commands `/cases`,
  `/case <id>`, `/resolve <id>` (roster people only; not in the public command menu).
* No rules here: every action is one call of `EscalationDesk` (`Services.desk`, typed by
  `bot.services.DeskLike`), which authorizes it by the desk's one policy
  (`bot.escalation.policy`); a refusal comes back as a `DeskError` and becomes a message.
* Claim reminders: a job every minute (`send_reminders`, idempotent by its audit events).

The domain (`bot.escalation`) is synchronous and knows nothing of Telegram: every call to it
runs in a thread.

The package
-----------
``helpers`` (constants, finding the desk, keyboards, error texts) · ``delivery`` (outbox and
reminder jobs, `send_message`, `run_worker_once`) · ``relay`` (the gate) · ``cards`` (card
state) · ``buttons`` (claim / resolve / reassign / rate) · ``staff_commands`` (/cases, /case,
/resolve). `register` lives here, so every handler and job of the desk is added in one place.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from .buttons import on_button, reassign_keyboard
from .cards import card_buttons, card_language, card_messages
from .delivery import (
    deliver,
    deliver_outbox,
    remind,
    run_outbox,
    run_worker_once,
    send_message,
)
from .faq import PREFIX as FAQ_PREFIX
from .faq import faq_command, on_faq_button, on_faq_reply
from .helpers import (
    BATCH,
    DESK_KINDS,
    GATE_GROUP,
    OUTBOX_INTERVAL_S,
    PREFIX,
    REMINDER_INTERVAL_S,
    STAFF_COMMANDS,
    STATUS_MARK,
    desk_of,
    fit,
    keyboard,
    staff_language,
)
from .relay import case_of_message, gate, relay_in, relay_out
from .staff_commands import (
    case_command,
    case_report,
    cases_command,
    open_cases,
    resend_command,
    resolve_command,
)

logger = logging.getLogger(__name__)

__all__ = [
    "BATCH", "DESK_KINDS", "GATE_GROUP", "OUTBOX_INTERVAL_S", "PREFIX", "REMINDER_INTERVAL_S",
    "STAFF_COMMANDS", "STATUS_MARK", "card_buttons", "card_language", "card_messages",
    "case_command", "case_of_message", "case_report", "cases_command", "deliver",
    "deliver_outbox", "desk_of", "fit", "gate", "keyboard", "on_button", "open_cases",
    "reassign_keyboard", "register", "relay_in", "relay_out", "remind", "resend_command", "resolve_command", "run_outbox", "run_worker_once", "send_message",
    "staff_language",
]


def register(application: Application) -> None:
    """Add the desk's handlers and jobs. Call it in group 0 before the question handler and
    before the unknown-command catch-all (the staff commands must be seen first)."""
    application.add_handler(TypeHandler(Update, gate), group=GATE_GROUP)
    new_messages = filters.UpdateType.MESSAGE
    for name, callback in (("cases", cases_command), ("case", case_command),
                           ("resolve", resolve_command), ("resend", resend_command)):  # fmt: skip
        application.add_handler(CommandHandler(name, callback, filters=new_messages))
    application.add_handler(CallbackQueryHandler(on_button, pattern=f"^{PREFIX}"))
    # The learning loop: Save as FAQ, the draft and the admins' review (desk/faq.py). A reply to
    # a draft or review card is read before the gate, which would take it for a case message.
    application.add_handler(CallbackQueryHandler(on_faq_button, pattern=f"^{FAQ_PREFIX}"))
    application.add_handler(
        MessageHandler(filters.REPLY & filters.TEXT & filters.ChatType.PRIVATE & new_messages, on_faq_reply),
        group=GATE_GROUP - 1,
    )
    application.add_handler(CommandHandler("faq", faq_command, filters=new_messages))

    jobs = application.job_queue
    if jobs is None:
        logger.warning("no JobQueue (python-telegram-bot[job-queue]): the desk cannot deliver")
        return
    # Right at start-up (misfire_grace_time None: however late the JobQueue starts), then
    # every second / every minute.
    at_once = {"misfire_grace_time": None}
    jobs.run_once(deliver_outbox, 0, name="desk-outbox-start", job_kwargs=at_once)
    jobs.run_repeating(deliver_outbox, OUTBOX_INTERVAL_S, first=OUTBOX_INTERVAL_S,
                       name="desk-outbox")  # fmt: skip
    jobs.run_once(remind, 0, name="desk-reminders-start", job_kwargs=at_once)
    jobs.run_repeating(remind, REMINDER_INTERVAL_S, first=REMINDER_INTERVAL_S,
                       name="desk-reminders")  # fmt: skip
