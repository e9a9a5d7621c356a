"""The gate (handler group -3): relaying desk conversations instead of answering them.

A counselor's reply to a case card or a relayed message goes to the trainee; a trainee's
message while their case is active goes to the counselor(s); a trainee's reply to a message of
a case resolved within the reopen window reopens it. Each ends with `ApplicationHandlerStop`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Message, Update
from telegram.constants import ChatType, MessageEntityType
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.escalation.cases import (
    RESOLVED,
    Case,
    DeskError,
    InvalidTransition,
)
from bot.escalation.roster import Person
from bot.i18n import t

from ..common import reply, services_of, ui_language
from ..pools import triaging
from .cards import _update_cards
from .delivery import _kick
from .helpers import _error_text, desk_of, staff_language

logger = logging.getLogger(__name__)

RECORD_WAIT_S = 5.0  # how long a reply waits for the outbox to record the message it answers


def _is_command(message: Message) -> bool:
    entities = message.entities or ()
    return bool(
        entities and entities[0].type == MessageEntityType.BOT_COMMAND and entities[0].offset == 0
    )


# What a case relays besides text, copied as it is (the caption goes with the copy); the mark
# and the kind describe it in the relayed line and the case's history.
MEDIA = (
    ("photo", "🖼"), ("voice", "🎤"), ("video_note", "🎥"), ("video", "🎬"), ("audio", "🎵"),
    ("document", "📄"), ("location", "📍"), ("venue", "📍"), ("contact", "👤"),
    ("animation", "🎞"), ("sticker", "🙂"),
)  # fmt: skip


def content_of(message: Message) -> tuple[str, tuple[int, int] | None] | None:
    """(text, copy_from) of what a person sent: the text, or for a photo, voice note, document,
    location... a line saying what it is (with its caption) and the message to copy. None:
    nothing a case can relay (a service message)."""
    edited = "✏️ " if message.edit_date else ""  # an edit, relayed again
    if message.text:
        return edited + message.text, None
    for attribute, mark in MEDIA:
        if getattr(message, attribute, None):
            caption = message.caption or ""
            line = f"{mark} {attribute.replace('_', ' ')}" + (f": {caption}" if caption else "")
            return edited + line, None if edited else (message.chat_id, message.message_id)
    return None


async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Relay desk conversations; raise ApplicationHandlerStop when the update was the desk's."""
    message = update.message
    desk = desk_of(context)
    if desk is None or message is None or message.from_user is None:
        return
    if content_of(message) is None:
        return
    if _is_command(message):
        return
    user = message.from_user
    reply_to = message.reply_to_message
    reply_case = None
    to_bot = reply_to is not None and reply_to.from_user is not None
    if to_bot and reply_to.from_user.id == context.bot.id:
        reply_case = await _case_of_reply(desk, message.chat_id, reply_to.message_id)
    if reply_case is not None and reply_case.user_id != user.id:
        person = desk.person(user.id)
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
    if reply_case is None and await _staff_without_reply(update, context, desk):
        raise ApplicationHandlerStop


async def _staff_without_reply(
    update: Update, context: ContextTypes.DEFAULT_TYPE, desk: Any
) -> bool:
    """A counselor with open cases writes in private without replying to a case message: they
    most likely meant it for a trainee, so say how to reach one (never answer it as a question,
    never guess which case). Staff with no open case are answered by Puente like anyone."""
    person = desk.person(update.message.from_user.id)
    if person is None:
        return False
    _all, cases = await asyncio.to_thread(desk.cases_for, person.id)
    # Their own cases only (an admin's /cases lists every case, which says nothing about
    # whom this message was meant for).
    cases = [c for c in cases if c.assigned_to == person.id
             or (c.assigned_to is None and person.id in c.routed_to)]  # fmt: skip
    if not cases:
        return False
    numbers = ", ".join(f"#{c.id}" for c in cases[:10])
    await reply(update, context, t(staff_language(person), "desk.reply_hint", cases=numbers))
    return True


async def _case_of_reply(desk: Any, chat_id: int, message_id: int) -> Case | None:
    """The case of the message replied to. A reply can beat the outbox recording which message
    it just sent (Telegram delivered it, the row is still "sending"): then wait for the record,
    a few seconds at most, instead of treating a counselor's reply as a stray message."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RECORD_WAIT_S
    while True:
        # "Is a send in flight?" is asked *before* the lookup: a row marked sent between the two
        # queries is then found by the lookup. Asked after, a record committed in between was
        # missed and the counselor's reply was answered as a question instead of relayed.
        sending = await asyncio.to_thread(desk.sending_to, chat_id)
        case = await asyncio.to_thread(desk.case_of_message, chat_id, message_id)
        if case is not None or not sending or loop.time() >= deadline:
            return case
        await asyncio.sleep(0.05)


def case_of_message(desk: Any, chat_id: int, message_id: int) -> Case | None:
    """The case a message the desk sent belongs to (a card, a relayed message, a notice)."""
    return desk.case_of_message(chat_id, message_id)


async def _trainee_writes(
    update: Update, context: ContextTypes.DEFAULT_TYPE, desk: Any, reply_case: Case | None
) -> bool:
    """The trainee's message goes to their active case, or reopens the resolved case they
    replied to (within the window). False: not the desk's business, Puente answers."""
    message = update.message
    user = message.from_user
    case = await asyncio.to_thread(desk.active_case, user.id)
    if case is None and (reply_case is None or reply_case.status != RESOLVED):
        return False
    # No rate limit here: it protects the answering engine, never a conversation with a person
    # (a trainee writing fast to a counselor loses nothing). Messages Puente answers meet the
    # limit in group -1.
    # Every message is triaged, inside a case too, and before it is relayed anywhere: a crisis
    # makes the case a crisis case first (counselors only, nothing of it in the desk group).
    assistant = services_of(context).assistant
    language = (case or reply_case).language
    text, copy_from = content_of(message)
    said = message.text or message.caption or ""  # what triage reads (a caption too)
    lang, verdict = language, None
    if said.strip():
        lang, verdict = await triaging(assistant.assess, said, language=language)
    crisis = verdict is not None and verdict.reason == "crisis"
    danger = verdict is not None and (crisis or verdict.danger)
    caution = verdict is not None and verdict.caution and not danger
    try:
        taken = await asyncio.to_thread(
            lambda: desk.trainee_message(
                user.id, text, replying_to=reply_case, crisis=crisis, copy_from=copy_from,
                caution=caution,
            )
        )
    except Exception:
        if not danger:
            raise
        # The numbers must reach the person whatever failed; never a false "alerted".
        logger.exception("a message with a danger signal could not reach the desk")
        await _numbers_first(update, context, lang, verdict, t(lang, "desk.open_failed"))
        return True
    if taken is None:
        return False  # the reopen window has passed: a new question for Puente
    await _kick(context.application)
    if taken.reopened:
        await _update_cards(context, desk, taken.case.id, "reopened", None)
    if danger:
        alerted = t(lang, "desk.ack_crisis_in_case") if crisis else None
        await _numbers_first(update, context, lang, verdict, alerted)
    elif caution:
        # a possible danger heard, below the crisis line: the message went to the case's
        # counselor as any other; the person gets the short note of the numbers now
        await reply(update, context, await triaging(assistant.safety_note, lang, person=True))
    return True


async def _numbers_first(
    update: Update, context: ContextTypes.DEFAULT_TYPE, lang: str, verdict: Any, then: str | None
) -> None:
    """The reply with the emergency and crisis numbers (and what happened on the desk)."""
    assistant = services_of(context).assistant
    text = update.message.text or update.message.caption or ""
    record = await triaging(assistant.escalation_reply, text, lang, verdict)
    await reply(update, context, "\n\n".join(p for p in (record.answer, then) if p))


def relay_in(desk: Any, case: Case, user_id: int, text: str) -> tuple[Case, Any]:
    """Record the trainee's message in their case and relay it (`EscalationDesk.trainee_message`)."""
    taken = desk.trainee_message(user_id, text, replying_to=case)
    if taken is None:
        raise InvalidTransition(case, "message")
    return taken.case, taken.message


async def _counselor_replies(
    update: Update, context: ContextTypes.DEFAULT_TYPE, desk: Any, person: Person, case_id: int
) -> None:
    """A roster person's reply to a case message: to the trainee (claiming an unclaimed case)."""
    language = staff_language(person)
    message = update.message
    where = (message.chat_id, message.message_thread_id if message.is_topic_message else None)
    text, copy_from = content_of(message)
    try:
        case, claimed_now = await asyncio.to_thread(
            relay_out, desk, case_id, person, text, where, copy_from
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
    desk: Any, case_id: int, person: Person, text: str, where: tuple[int, int | None],
    copy_from: tuple[int, int] | None = None,
) -> tuple[Case, bool]:  # fmt: skip
    """A counselor's message to the trainee (`EscalationDesk.reply`): the case and whether this
    reply claimed it."""
    result = desk.reply(case_id, person.id, text, where, copy_from)
    return result.case, result.claimed_now
