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
* Claim reminders: a job every minute (`send_reminders`, idempotent by its audit events).

The domain (`bot.escalation`) is synchronous and knows nothing of Telegram: every call to it
runs in a thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType, MessageEntityType
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    TypeHandler,
    filters,
)

from bot.escalation.cases import (
    CLAIMED,
    OPEN,
    REOPENED,
    RESOLVED,
    Case,
    CaseNotFound,
    DeskError,
    InvalidTransition,
    NotAllowed,
)
from bot.escalation.outbox import DeliveryReport, KindsOutbox, Outbox, OutboxWorker
from bot.escalation.relay import (
    buttons,
    case_card,
    notify_claimed,
    notify_resolved,
    relay_to_counselors,
    relay_to_trainee,
)
from bot.escalation.reminders import send_reminders
from bot.escalation.roster import Person
from bot.i18n import t
from bot.records import LANGUAGES
from bot.storage import schema

from . import messages
from .common import reply, services_of, ui_language
from .formatting import MAX_MESSAGE, utf16_len
from .retry import durable_retries

logger = logging.getLogger(__name__)

PREFIX = "desk:"
GATE_GROUP = -3  # before messages.ignore_unaddressed (-2) and the rate limit (-1)
OUTBOX_INTERVAL_S = 1.0
REMINDER_INTERVAL_S = 60.0
STAFF_COMMANDS = ("cases", "case", "resolve")  # deliberately not in commands.MENU
STATUS_MARK = "▸ "
_DELIVERY_KEY = "desk_delivery"
_CARD_KINDS = ("card", "desk_card")
BATCH = 20  # outbox rows per worker run; a full batch means "run again at once"
# The outbox kinds the desk writes (bot/escalation and this module). The table is shared: exam
# reminders have their own kinds and their own worker (channels/telegram/exams.py).
DESK_KINDS = (
    "ack", "card", "desk_card", "relay_in", "relay_out", "claimed", "resolved", "reminder",
    "reopened", "relay_ack",
)  # fmt: skip


def register(application: Application) -> None:
    """Add the desk's handlers and jobs. Call it in group 0 before the question handler and
    before the unknown-command catch-all (the staff commands must be seen first)."""
    application.add_handler(TypeHandler(Update, gate), group=GATE_GROUP)
    new_messages = filters.UpdateType.MESSAGE
    for name, callback in (("cases", cases_command), ("case", case_command),
                           ("resolve", resolve_command)):  # fmt: skip
        application.add_handler(CommandHandler(name, callback, filters=new_messages))
    application.add_handler(CallbackQueryHandler(on_button, pattern=f"^{PREFIX}"))

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


# --- helpers ----------------------------------------------------------------------------------


def desk_of(context: ContextTypes.DEFAULT_TYPE | Application) -> Any | None:
    """The escalation desk, or None (no roster, or a test's stand-in without cases/outbox)."""
    bot_data = context.bot_data
    desk = getattr(bot_data.get("services"), "desk", None)
    if all(hasattr(desk, name) for name in ("cases", "outbox", "roster", "tr")):
        return desk
    return None


def _lang(language: str | None) -> str:
    return language if language in LANGUAGES else "en"


def staff_language(person: Person) -> str:
    return _lang(person.language)


def fit(text: str, limit: int = MAX_MESSAGE) -> str:
    """Cut a text to Telegram's 4096 UTF-16 units (a card with a long context may exceed it)."""
    if utf16_len(text) <= limit:
        return text
    cut = text.encode("utf-16-le")[: (limit - 1) * 2].decode("utf-16-le", errors="ignore")
    return cut + "…"


def keyboard(markup: dict | None) -> InlineKeyboardMarkup | None:
    """The outbox's `{"buttons": [[{"text", "data"}]]}` as an InlineKeyboardMarkup (a stored
    Bot API `{"inline_keyboard": ...}` is taken as it is)."""
    if markup and "inline_keyboard" in markup:
        return InlineKeyboardMarkup.de_json(markup, None)
    rows = (markup or {}).get("buttons") or []
    keyboard_rows = [
        [
            InlineKeyboardButton(b["text"], url=b["url"])
            if b.get("url")
            else InlineKeyboardButton(b["text"], callback_data=b["data"])
            for b in row
        ]
        for row in rows
        if row
    ]
    return InlineKeyboardMarkup(keyboard_rows) if keyboard_rows else None


async def _kick(application: Application) -> None:
    """Deliver what was just enqueued now, not at the next tick."""
    if application.job_queue is not None and application.running:
        application.job_queue.run_once(
            deliver_outbox, 0, name="desk-outbox-kick", job_kwargs={"misfire_grace_time": None}
        )


# --- delivery ---------------------------------------------------------------------------------


async def send_message(
    bot: Any, chat_id: int, text: str, reply_markup: dict | None, *, thread_id: int | None = None
) -> int:
    """One outbox row to Telegram, as plain text (no parse mode: nothing to escape). A 5xx or a
    timeout fails at once: the outbox retries from the database (see retry.py)."""
    with durable_retries():
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
            if not (state.again or busy):
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
            send_message(bot, chat_id, text, reply_markup, thread_id=kwargs.get("thread_id")),
            loop,
        )
        return await asyncio.wrap_future(future)

    options = {"batch_size": batch_size} | ({"clock": clock} if clock else {})
    worker = OutboxWorker(outbox, send, **options)
    return await asyncio.to_thread(asyncio.run, worker.run_once())


async def remind(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Claim reminders (idempotent: each step is an audit event, each message a dedupe key)."""
    application = context.application
    desk = desk_of(application)
    if desk is None:
        return
    minutes = services_of(context).settings.claim_reminder_minutes
    sent = await asyncio.to_thread(
        send_reminders, desk.cases, desk.roster, desk.outbox, desk.tr,
        now=desk.clock(), minutes=minutes,
    )  # fmt: skip
    if sent:
        logger.info("claim reminders: %s", [(r.case.id, r.step) for r in sent])
        await _kick(application)


# --- the gate: relaying instead of answering ----------------------------------------------------


def _is_command(message: Message) -> bool:
    entities = message.entities or ()
    return bool(
        entities and entities[0].type == MessageEntityType.BOT_COMMAND and entities[0].offset == 0
    )


async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Relay desk conversations; raise ApplicationHandlerStop when the update was the desk's."""
    message = update.message
    desk = desk_of(context)
    if desk is None or message is None or message.from_user is None or not message.text:
        return
    if _is_command(message):
        return
    user = message.from_user
    reply_to = message.reply_to_message
    reply_case = None
    to_bot = reply_to is not None and reply_to.from_user is not None
    if to_bot and reply_to.from_user.id == context.bot.id:
        reply_case = await asyncio.to_thread(
            case_of_message, desk, message.chat_id, reply_to.message_id
        )
    if reply_case is not None and reply_case.user_id != user.id:
        person = desk.roster.person(user.id)
        if person is not None:
            await _counselor_replies(update, context, desk, person, reply_case.id)
        else:  # not on the roster (someone else in the desk group): refused, not relayed
            language = await ui_language(update, context)
            await reply(update, context, t(language, "desk.not_allowed", case_id=reply_case.id))
        raise ApplicationHandlerStop
    if message.chat.type != ChatType.PRIVATE and reply_case is None:
        return
    if await _trainee_writes(update, context, desk, reply_case):
        raise ApplicationHandlerStop


def case_of_message(desk: Any, chat_id: int, message_id: int) -> Case | None:
    """The case a message the desk sent belongs to (a card, a relayed message, a notice)."""
    case_id = desk.outbox.case_for_message(chat_id, message_id)
    if case_id is None:
        return None
    try:
        return desk.cases.get(case_id)
    except CaseNotFound:
        return None


async def _trainee_writes(
    update: Update, context: ContextTypes.DEFAULT_TYPE, desk: Any, reply_case: Case | None
) -> bool:
    """The trainee's message goes to their active case, or reopens the resolved case they
    replied to (within the window). False: not the desk's business, Puente answers."""
    message = update.message
    user = message.from_user
    case = await asyncio.to_thread(desk.cases.active_case_for, user.id)
    if case is None and reply_case is not None and reply_case.status == RESOLVED:
        case = reply_case  # reply_case.user_id == user.id here
    if case is None:
        return False
    # Only the messages the desk takes count here; the others meet the rate limit in group -1.
    await messages.enforce_rate_limit(update, context)  # raises ApplicationHandlerStop if over
    try:
        await asyncio.to_thread(relay_in, desk, case, user.id, message.text)
    except InvalidTransition:
        return False  # the reopen window has passed: a new question for Puente
    await _kick(context.application)
    if case.status == RESOLVED:
        await _update_cards(context, desk, case.id, "reopened", None)
    return True


def relay_in(desk: Any, case: Case, user_id: int, text: str) -> Case:
    """Record the trainee's message (reopening a resolved case) and relay it to whoever handles
    the case; with nobody routed, to the desk chat."""
    reopening = case.status == RESOLVED
    message = desk.cases.add_message(case.id, "in", user_id, text)
    case = desk.cases.get(case.id)
    if case.assigned_to or case.routed_to:
        targets = [case.assigned_to] if case.assigned_to else list(case.routed_to)
        relay_to_counselors(case, message, desk.roster, desk.outbox, desk.tr)
    else:
        targets = []
        lang = _lang(desk.roster.desk.language)
        desk.outbox.enqueue(
            desk.roster.desk.chat_id,
            desk.tr.t(lang, "desk.from_trainee", case_id=case.id, name=case.name, text=text),
            kind="relay_in", case_id=case.id, dedupe_key=f"msg:{message.id}:desk",
            thread_id=desk.roster.desk.thread_id,
        )  # fmt: skip
    if reopening:
        for person_id in targets:
            person = desk.roster.person(person_id)
            lang = _lang(person.language if person else None)
            desk.outbox.enqueue(
                person_id, desk.tr.t(lang, "desk.reopened", case_id=case.id, name=case.name),
                kind="reopened", case_id=case.id,
                dedupe_key=f"case:{case.id}:r{case.round}:reopened:{person_id}",
            )  # fmt: skip
    return case


async def _counselor_replies(
    update: Update, context: ContextTypes.DEFAULT_TYPE, desk: Any, person: Person, case_id: int
) -> None:
    """A roster person's reply to a case message: to the trainee (claiming an unclaimed case)."""
    language = staff_language(person)
    message = update.message
    where = (message.chat_id, message.message_thread_id if message.is_topic_message else None)
    try:
        case, claimed_now = await asyncio.to_thread(
            relay_out, desk, case_id, person, message.text, where
        )
    except InvalidTransition as exc:
        key = "desk.reply_closed" if exc.case.status == RESOLVED else "desk.invalid"
        await reply(update, context, _error_text(desk, language, case_id, exc, key))
        return
    except DeskError as exc:
        await reply(update, context, _error_text(desk, language, case_id, exc))
        return
    await _kick(context.application)
    if claimed_now:
        await _update_cards(context, desk, case.id, "claimed", person)


def relay_out(
    desk: Any, case_id: int, person: Person, text: str, where: tuple[int, int | None]
) -> tuple[Case, bool]:
    """Record the counselor's message and relay it; confirm in the chat they wrote in.
    Returns the case and whether this reply claimed it."""
    case = desk.cases.get(case_id)
    claimed_now = case.status in (OPEN, REOPENED) and case.assigned_to is None
    if claimed_now:
        case = desk.cases.claim(case.id, person.id)  # whoever answers first takes the case
        notify_claimed(case, person, desk.outbox, desk.tr)
    message = desk.cases.add_message(case.id, "out", person.id, text)
    relay_to_trainee(case, person, message, desk.outbox, desk.tr)
    chat_id, thread_id = where
    lang = staff_language(person)
    # In a group, a sensitive case's trainee stays unnamed (as on the redacted desk card).
    name = desk.tr.t(lang, "desk.hidden") if case.sensitive and chat_id < 0 else case.name
    desk.outbox.enqueue(
        chat_id, desk.tr.t(lang, "desk.relayed_ok", name=name, case_id=case.id),
        kind="relay_ack", case_id=case.id, dedupe_key=f"msg:{message.id}:ack",
        thread_id=thread_id,
    )  # fmt: skip
    return case, claimed_now


# --- buttons ------------------------------------------------------------------------------------


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    parts = query.data.removeprefix(PREFIX).split(":")
    desk = desk_of(context)
    if desk is None or len(parts) < 2 or not parts[1].isdigit():
        await query.answer()
        return
    action, case_id = parts[0], int(parts[1])
    if action == "rate":
        await _rate(update, context, desk, case_id, parts[2:])
        return
    person = desk.roster.person(query.from_user.id)
    if person is None:
        language = await ui_language(update, context)
        await query.answer(t(language, "desk.not_allowed", case_id=case_id), show_alert=True)
        return
    language = staff_language(person)
    try:
        if action == "claim":
            case = await asyncio.to_thread(claim, desk, case_id, person)
            await query.answer(t(language, "desk.claimed_desk", case_id=case_id,
                                 counselor=person.name))  # fmt: skip
            await _update_cards(context, desk, case_id, "claimed", person)
        elif action == "resolve":
            await asyncio.to_thread(resolve, desk, case_id, person)
            await query.answer(t(language, "desk.resolved_counselor", case_id=case_id))
            await _update_cards(context, desk, case_id, "resolved", person)
        elif action == "reassign" and len(parts) == 2:
            case = await asyncio.to_thread(desk.cases.get, case_id)
            await query.answer(t(language, "desk.reassign_pick", case_id=case_id))
            lang = card_language(desk, query.message.chat_id) if query.message else language
            await _edit_markup(query.message, reassign_keyboard(desk, lang, case))
        elif action == "reassign":
            to = desk.roster.person(int(parts[2])) if parts[2].isdigit() else None
            if to is None:
                raise NotAllowed(case_id, None, "reassign", "not on the roster")
            await asyncio.to_thread(reassign, desk, case_id, to, person)
            await query.answer(t(language, "desk.card_status.reassigned", counselor=to.name))
            await _update_cards(context, desk, case_id, "reassigned", to)
        elif action == "card":
            case = await asyncio.to_thread(desk.cases.get, case_id)
            await query.answer()
            lang = card_language(desk, query.message.chat_id) if query.message else language
            await _edit_markup(query.message, keyboard(card_buttons(desk, lang, case)))
        else:
            await query.answer()
            return
    except DeskError as exc:
        await query.answer(_error_text(desk, language, case_id, exc), show_alert=True)
        return
    await _kick(context.application)


def claim(desk: Any, case_id: int, person: Person) -> Case:
    case = desk.cases.claim(case_id, person.id)
    notify_claimed(case, person, desk.outbox, desk.tr)
    return case


def resolve(desk: Any, case_id: int, person: Person) -> Case:
    """Close a case (an unclaimed one is claimed first); the trainee is asked to rate it."""
    case = desk.cases.get(case_id)
    if case.status in (OPEN, REOPENED) and case.assigned_to is None:
        desk.cases.claim(case_id, person.id)
    case = desk.cases.resolve(case_id, person.id)
    hours = desk.cases.reopen_window.total_seconds() / 3600
    notify_resolved(case, desk.outbox, desk.tr, reopen_hours=hours)
    return case


def reassign(desk: Any, case_id: int, to: Person, by: Person) -> Case:
    """Hand a case over: the new person gets the card (if they never had it), the trainee is
    told who is on it now."""
    case = desk.cases.reassign(case_id, to.id, by=by.id)
    lang = staff_language(to)
    desk.outbox.enqueue(
        to.id, case_card(desk.tr, lang, case, None, None), kind="card", case_id=case.id,
        dedupe_key=f"case:{case.id}:r{case.round}:card:{to.id}",
        reply_markup_json=card_buttons(desk, lang, case),
    )  # fmt: skip
    notify_claimed(case, to, desk.outbox, desk.tr)
    return case


async def _rate(
    update: Update, context: ContextTypes.DEFAULT_TYPE, desk: Any, case_id: int, rest: list[str]
) -> None:
    query = update.callback_query
    language = await ui_language(update, context)
    if not rest or not rest[0].isdigit():
        await query.answer()
        return
    try:
        case = await asyncio.to_thread(
            desk.cases.rate, case_id, int(rest[0]), by=query.from_user.id
        )
        language = case.language
    except (DeskError, ValueError) as exc:
        text = _error_text(desk, language, case_id, exc) if isinstance(exc, DeskError) else None
        await query.answer(text)
        return
    await query.answer(t(language, "desk.rated_thanks"))
    await _edit_markup(query.message, None)


def card_language(desk: Any, chat_id: int) -> str:
    """The language cards are written in, in this chat: its roster person's, or the desk's."""
    reader = desk.roster.person(chat_id)
    return staff_language(reader) if reader else _lang(desk.roster.desk.language)


def card_buttons(desk: Any, lang: str, case: Case) -> dict | None:
    """The card's buttons for the case's state (stored/outbox form)."""
    label = lambda key: desk.tr.t(lang, f"desk.buttons.{key}")
    if case.status == RESOLVED:
        return None
    if case.assigned_to is None:
        return buttons([(label("claim"), f"{PREFIX}claim:{case.id}"),
                        (label("resolve"), f"{PREFIX}resolve:{case.id}")])  # fmt: skip
    return buttons([(label("resolve"), f"{PREFIX}resolve:{case.id}"),
                    (label("reassign"), f"{PREFIX}reassign:{case.id}")])  # fmt: skip


def reassign_keyboard(desk: Any, lang: str, case: Case) -> InlineKeyboardMarkup:
    """Everyone on the roster but the current assignee, two per row, then "Back"."""
    people = [p for p in desk.roster.people.values() if p.id != case.assigned_to]
    rows = [
        [(p.name, f"{PREFIX}reassign:{case.id}:{p.id}") for p in people[i : i + 2]]
        for i in range(0, len(people), 2)
    ]
    rows.append([(desk.tr.t(lang, "desk.buttons.back"), f"{PREFIX}card:{case.id}")])
    return keyboard(buttons(*rows))


def _error_text(
    desk: Any, language: str, case_id: int, exc: DeskError, key: str | None = None
) -> str:
    if isinstance(exc, CaseNotFound):
        return t(language, "desk.not_found", case_id=case_id)
    if isinstance(exc, InvalidTransition):
        case = exc.case
        if exc.action == "claim" and case.status == CLAIMED and case.assigned_to:
            person = desk.roster.person(case.assigned_to)
            name = person.name if person else str(case.assigned_to)
            return t(language, "desk.already_claimed", case_id=case_id, counselor=name)
        status = t(language, f"desk.statuses.{case.status}")
        return t(language, key or "desk.invalid", case_id=case_id, status=status)
    return t(language, "desk.not_allowed", case_id=case_id)


# --- case cards: every copy shows the case's state ---------------------------------------------


def card_messages(db: Any, case_id: int) -> list[tuple[int, int, str, str]]:
    """(chat_id, message_id, text, kind) of every case card delivered for this case."""
    o = schema.outbox
    with db.connect() as conn:
        rows = conn.execute(
            sa.select(o.c.chat_id, o.c.telegram_message_id, o.c.text, o.c.kind)
            .where(
                o.c.case_id == case_id,
                o.c.kind.in_(_CARD_KINDS),
                o.c.telegram_message_id.is_not(None),
            )
            .order_by(o.c.id)
        ).all()
    return [(int(r[0]), int(r[1]), r[2], r[3]) for r in rows]


async def _update_cards(
    context: ContextTypes.DEFAULT_TYPE, desk: Any, case_id: int, status: str,
    person: Person | None,
) -> None:  # fmt: skip
    """Append the state ("Claimed by Ana.") to every card of the case and fit its buttons.
    Cosmetic: a failed edit is logged, never raised."""

    def load() -> tuple[Case, list[tuple[int, int, str, str]]]:
        return desk.cases.get(case_id), card_messages(desk.db, case_id)

    case, cards = await asyncio.to_thread(load)
    for chat_id, message_id, text, _kind in cards:
        lang = card_language(desk, chat_id)
        values = {"counselor": person.name} if person else {}
        line = t(lang, f"desk.card_status.{status}", **values)
        body = fit(text, MAX_MESSAGE - utf16_len(line) - 4)
        try:
            await context.bot.edit_message_text(
                f"{body}\n\n{STATUS_MARK}{line}", chat_id=chat_id, message_id=message_id,
                reply_markup=keyboard(card_buttons(desk, lang, case)),
            )  # fmt: skip
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                logger.warning("could not update card %s in %s: %s", message_id, chat_id, exc)
        except TelegramError as exc:
            logger.warning("could not update card %s in %s: %s", message_id, chat_id, exc)


async def _edit_markup(message: Any, markup: InlineKeyboardMarkup | None) -> None:
    if message is None:
        return
    try:
        await message.edit_reply_markup(markup)
    except TelegramError as exc:
        logger.debug("could not edit the buttons: %s", exc)


# --- staff commands -----------------------------------------------------------------------------


async def _staff(update: Update, context: ContextTypes.DEFAULT_TYPE) -> tuple[Any, Person] | None:
    """The desk and the roster person using a staff command; else a refusal, and None."""
    desk = desk_of(context)
    person = desk.roster.person(update.effective_user.id) if desk is not None else None
    if person is None:
        language = await ui_language(update, context)
        await reply(update, context, t(language, "desk.staff_only"))
        return None
    return desk, person


def _when(desk: Any, moment) -> str:
    return desk.roster.local(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _may_see(desk: Any, case: Case, person: Person) -> bool:
    return (
        not case.sensitive
        or desk.roster.is_admin(person.id)
        or person.id in case.routed_to
        or person.id == case.assigned_to
    )


def _assignee(desk: Any, lang: str, case: Case) -> str:
    if case.assigned_to is None:
        return t(lang, "desk.unassigned")
    person = desk.roster.person(case.assigned_to)
    return person.name if person else str(case.assigned_to)


def open_cases(desk: Any, person: Person) -> tuple[bool, list[Case]]:
    """(all?, cases): a desk admin sees every active case, anyone else theirs and routed ones."""
    if not desk.roster.is_admin(person.id):
        return False, desk.cases.open_cases_for(person.id)
    found = {c.id: c for c in desk.cases.unclaimed()}
    for someone in desk.roster.people:
        found.update((c.id, c) for c in desk.cases.open_cases_for(someone))
    return True, [found[k] for k in sorted(found)]


async def cases_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    staff = await _staff(update, context)
    if staff is None:
        return
    desk, person = staff
    lang = staff_language(person)
    everyone, cases = await asyncio.to_thread(open_cases, desk, person)
    if not cases:
        await reply(update, context, t(lang, "desk.cases_none"))
        return
    lines = [t(lang, "desk.cases_all" if everyone else "desk.cases_mine")]
    for case in cases:
        lines.append(
            t(
                lang,
                "desk.cases_line",
                case_id=case.id,
                status=t(lang, f"desk.statuses.{case.status}"),
                reason=t(lang, f"desk.reasons.{case.reason}"),
                name=case.name if _may_see(desk, case, person) else t(lang, "desk.hidden"),
                assignee=_assignee(desk, lang, case),
                since=_when(desk, case.waiting_since),
            )
        )
    await reply(update, context, fit("\n".join(lines)))


def _case_id_from(update: Update, context: ContextTypes.DEFAULT_TYPE, desk: Any) -> int | None:
    """`/resolve 12`, `/resolve #12`, or `/resolve` as a reply to a case message."""
    if context.args:
        arg = context.args[0].lstrip("#")
        return int(arg) if arg.isdigit() else None
    reply_to = update.message.reply_to_message if update.message else None
    if reply_to is not None:
        return desk.outbox.case_for_message(update.effective_chat.id, reply_to.message_id)
    return None


async def resolve_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    staff = await _staff(update, context)
    if staff is None:
        return
    desk, person = staff
    lang = staff_language(person)
    case_id = await asyncio.to_thread(_case_id_from, update, context, desk)
    if case_id is None:
        await reply(update, context, t(lang, "desk.resolve_usage"))
        return
    try:
        await asyncio.to_thread(resolve, desk, case_id, person)
    except DeskError as exc:
        await reply(update, context, _error_text(desk, lang, case_id, exc))
        return
    await _kick(context.application)
    await reply(update, context, t(lang, "desk.resolved_counselor", case_id=case_id))
    await _update_cards(context, desk, case_id, "resolved", person)


async def case_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/case <id>: the case and its audit trail (events never hold message text)."""
    staff = await _staff(update, context)
    if staff is None:
        return
    desk, person = staff
    lang = staff_language(person)
    case_id = await asyncio.to_thread(_case_id_from, update, context, desk)
    if case_id is None:
        await reply(update, context, t(lang, "desk.case_usage"))
        return

    def load():
        return desk.cases.get(case_id), desk.cases.audit(case_id)

    try:
        case, events = await asyncio.to_thread(load)
    except DeskError as exc:
        await reply(update, context, _error_text(desk, lang, case_id, exc))
        return
    await reply(update, context, fit(case_report(desk, lang, case, events, person)))


def case_report(desk: Any, lang: str, case: Case, events: list, person: Person) -> str:
    visible = _may_see(desk, case, person)
    summary = t(
        lang, "desk.case_summary", case_id=case.id,
        status=t(lang, f"desk.statuses.{case.status}"),
        reason=t(lang, f"desk.reasons.{case.reason}"),
        topic=t(lang, f"desk.topics.{case.topic or 'none'}"),
        name=case.name if visible else t(lang, "desk.hidden"), language=case.language,
        assignee=_assignee(desk, lang, case), opened=_when(desk, case.created_at),
        rating=case.rating if case.rating is not None else t(lang, "desk.no_rating"),
    )  # fmt: skip
    lines = [summary, "", t(lang, "desk.case_audit")]
    for event in events:
        lines.append(
            t(
                lang,
                "desk.audit_line",
                at=_when(desk, event.at),
                event=_label(lang, "desk.events", event.kind),
                actor=_actor(desk, lang, case, event.actor),
                detail=_detail(desk, event.detail),
            )
        )
    return "\n".join(lines)


def _label(lang: str, area: str, key: str) -> str:
    try:
        return t(lang, f"{area}.{key}")
    except KeyError:
        return key


def _actor(desk: Any, lang: str, case: Case, actor: int | None) -> str:
    if actor is None:
        return t(lang, "desk.actors.system")
    if actor == case.user_id:
        return t(lang, "desk.actors.trainee")
    person = desk.roster.person(actor)
    return person.name if person else str(actor)


def _detail(desk: Any, detail: dict) -> str:
    """A compact, text-free rendering of an event's detail (people by name)."""
    if not detail:
        return ""
    name: Callable[[Any], str] = lambda pid: (
        desk.roster.person(pid).name if desk.roster.person(pid) else str(pid)
    )
    parts = []
    for key, value in detail.items():
        if value is None or value == [] or key == "message":
            continue
        if key in ("to", "from") and isinstance(value, list):
            value = ", ".join(name(v) for v in value)
        elif key in ("to", "from") and isinstance(value, int):
            value = name(value)
        parts.append(f"{key}={value}")
    return f" ({'; '.join(parts)})" if parts else ""
