"""Messages: which ones Puente answers, the rate limit, questions, and everything not text."""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import re

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction, ChatType, MessageEntityType, ParseMode
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.i18n import t
from bot.records import AnswerRecord

from .common import (
    FEEDBACK_DOWN,
    FEEDBACK_UP,
    counselor_button,
    is_group,
    reply,
    services_of,
    stored_language,
    ui_language,
)
from .formatting import render_answer
from .pools import answering
from .ratelimit import SlidingWindowLimiter, Verdict

logger = logging.getLogger(__name__)

RATE_LIMITER_KEY = "rate_limiter"
MAX_REMEMBERED_ANSWERS = 32  # per chat: answers whose 👍 / 👎 can still be stored


# --- Gates (handler groups below 0: they stop an update before any handler sees it) ----------


MAX_SEEN_TEXTS = 50  # per chat: the last messages' texts, to tell a real edit from a re-send


def _seen_texts(context: ContextTypes.DEFAULT_TYPE) -> dict[int, str]:
    return context.chat_data.setdefault("seen_texts", {}) if context.chat_data is not None else {}


async def remember_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """What each private message said (a few per chat, in memory), so that an edit that changes
    nothing (Telegram re-sends a message when a reaction is added) is not handled twice."""
    message = update.message
    if message is None or message.chat.type != ChatType.PRIVATE:
        return
    seen = _seen_texts(context)
    seen[message.message_id] = message.text or message.caption or ""
    while len(seen) > MAX_SEEN_TEXTS:
        del seen[next(iter(seen))]


async def on_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An edited message in a private chat goes through everything again as a new message: read
    by triage (a danger added in an edit is heard), relayed again inside a case (marked ✏️),
    answered again outside one. In groups edits stay ignored; so are edited commands and edits
    that change nothing."""
    edited = update.edited_message
    if edited is None:
        return
    said = edited.text or edited.caption or ""
    seen = _seen_texts(context)
    changed = seen.get(edited.message_id) != said
    if edited.chat.type == ChatType.PRIVATE and said and not said.startswith("/") and changed:
        seen[edited.message_id] = said
        again = Update(update.update_id, message=edited)
        again.set_bot(context.bot)
        await context.application.process_update(again)
    raise ApplicationHandlerStop


async def ignore_unaddressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In groups, Puente only hears commands, mentions of itself and replies to its messages."""
    message = update.message
    if message is None or not is_group(update):
        return
    if not is_addressed(message, context.bot):
        raise ApplicationHandlerStop


def is_addressed(message: Message, bot: Bot) -> bool:
    reply_to = message.reply_to_message
    if reply_to is not None and reply_to.from_user is not None and reply_to.from_user.id == bot.id:
        return True
    entities = message.entities or message.caption_entities
    if entities and entities[0].type == MessageEntityType.BOT_COMMAND and entities[0].offset == 0:
        return True  # CommandHandler itself ignores /command@another_bot
    username = (bot.username or "").lower()
    mentions = itertools.chain(
        message.parse_entities().items(), message.parse_caption_entities().items()
    )
    for entity, text in mentions:
        if entity.type == MessageEntityType.MENTION and text[1:].lower() == username:
            return True
        mentioned = entity.user.id if entity.user else None
        if entity.type == MessageEntityType.TEXT_MENTION and mentioned == bot.id:
            return True
    return False


def strip_mention(text: str, username: str | None) -> str:
    if not username:
        return text.strip()
    return re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE).strip()


async def enforce_rate_limit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Per person, sliding window; the first refusal in a window says so, later ones are quiet."""
    message = update.message
    if message is None or message.from_user is None:
        return
    limiter: SlidingWindowLimiter = context.bot_data[RATE_LIMITER_KEY]
    verdict = limiter.check(message.from_user.id)
    if verdict is Verdict.ALLOW:
        return
    if verdict is Verdict.DENY_AND_TELL:
        language = await ui_language(update, context)
        await reply(update, context, t(language, "telegram.rate_limited"))
    raise ApplicationHandlerStop


# --- Questions ---------------------------------------------------------------------------------


async def answer_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Typing…, the assistant in a thread, then the answer with its sources and buttons. A
    photo's or a document's caption is read as the message (triage included)."""
    message = update.message
    user = message.from_user
    services = services_of(context)
    said = message.text or message.caption or ""
    text = strip_mention(said, context.bot.username) if is_group(update) else said
    if not text:  # just "@puente_bot": say what to ask
        await reply(update, context, t(await ui_language(update, context), "telegram.hints"))
        return

    chosen = await stored_language(context, user.id)
    conversations = getattr(services, "conversations", None)
    if conversations is not None and not is_group(update):  # a group's turns are not one thread
        ask = functools.partial(conversations.reply, message.chat_id)
    else:
        ask = services.assistant.answer
    work = asyncio.ensure_future(answering(ask, text, language=chosen, user_id=user.id))
    # "typing…" only when the answer is not there at once: most answers take milliseconds, and
    # every Bot API call counts against Telegram's 30-per-second limit under load.
    done, _ = await asyncio.wait({work}, timeout=TYPING_AFTER_S)
    if not done:
        await _show_typing(context, message.chat_id)
    record: AnswerRecord = await work

    parts = render_answer(record)
    markup = answer_keyboard(record)
    sent: Message | None = None
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        sent = await message.reply_text(
            part,
            parse_mode=ParseMode.HTML,
            do_quote=is_group(update) and index == 0,
            reply_markup=markup if last else None,
        )
    if markup is not None and sent is not None:
        remember_answer(context.chat_data, sent.message_id, record, user.id)

    await log_question(services, user.id, record)
    if record.escalate:
        await hand_to_desk(update, context, record)
    elif not is_group(update):
        await offer_reopen(update, context)


async def log_question(services, user_id: int, record: AnswerRecord) -> None:
    """Count the question for the weekly report (a declined one with its words). Never costs
    the person anything: a failure is logged."""
    log = getattr(services, "questions", None)
    if log is None:
        return
    audience_of = getattr(services.assistant, "audience_of", None)
    try:
        audience = audience_of(record) if audience_of else "unknown"
        await asyncio.to_thread(log.record, user_id, record, audience=audience)
    except Exception:  # logged; the answer was already sent
        logger.exception("could not log the question for the report")


async def offer_reopen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Writing again soon after a case was resolved, without replying to it: the question is
    answered, and (once per case) the person is offered to reopen it, so a follow-up never
    silently misses the counselor."""
    desk = services_of(context).desk
    if desk is None:
        return
    case = await asyncio.to_thread(desk.reopen_offer, update.effective_user.id)
    if case is None:
        return
    when = desk.roster.local(case.resolved_at).strftime("%Y-%m-%d %H:%M") if case.resolved_at else ""
    button = InlineKeyboardButton(
        t(case.language, "desk.reopen_button", case_id=case.id), callback_data=f"desk:reopen:{case.id}"
    )
    await reply(update, context, t(case.language, "desk.reopen_offer", case_id=case.id, when=when),
                reply_markup=InlineKeyboardMarkup([[button]]))  # fmt: skip


async def hand_to_desk(
    update: Update, context: ContextTypes.DEFAULT_TYPE, record: AnswerRecord
) -> None:
    """Open the case for an escalated answer. The desk acknowledges (through the outbox) only
    once the case and its cards are stored; when there is no desk or opening the case fails,
    the person is told so, with the emergency numbers again when there was danger."""
    services = services_of(context)
    user = update.message.from_user
    if services.desk is not None:
        try:
            private = update.message.chat.type == ChatType.PRIVATE
            await asyncio.to_thread(
                services.desk.escalate,
                record=record,
                user_id=user.id,
                chat_id=update.message.chat_id,
                name=user.full_name,
                username=user.username,
                private=private,
            )
            if not private:  # the desk writes to them in private; the group learns nothing more
                await reply(update, context, t(record.language, "desk.in_private"))
            return
        except Exception:  # any fault: the person must not believe help is coming
            logger.exception("opening a %s case failed", record.escalation_reason)
        text = t(record.language, "desk.open_failed")
    else:
        text = t(record.language, "telegram.human.unavailable")
    if record.danger:
        lines = await asyncio.to_thread(services.assistant.crisis_lines, record.language)
        text += "\n" + lines.text
    await reply(update, context, text)


TYPING_AFTER_S = 0.3  # show "typing…" when an answer takes longer than this


async def _show_typing(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
    """Cosmetic: a failure here must not cost the person their answer."""
    try:
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
    except TelegramError as exc:
        logger.debug("sendChatAction failed: %s", exc)


def answer_keyboard(record: AnswerRecord) -> InlineKeyboardMarkup | None:
    """👍 / 👎 under ordinary answers (not under a crisis reply), and a counselor button when
    the assistant offers one."""
    rows: list[list[InlineKeyboardButton]] = []
    if not record.escalate and not record.unsupported_language:
        rows.append(
            [
                InlineKeyboardButton("👍", callback_data=FEEDBACK_UP),
                InlineKeyboardButton("👎", callback_data=FEEDBACK_DOWN),
            ]
        )
    if record.offer_counselor:
        rows.append([counselor_button(record.language)])
    return InlineKeyboardMarkup(rows) if rows else None


def remember_answer(chat_data: dict, message_id: int, record: AnswerRecord, user_id: int) -> None:
    """Keep what a later 👍 / 👎 or counselor press needs, for the last few answers only."""
    answers: dict[int, dict] = chat_data.setdefault("answers", {})
    answers[message_id] = {
        "question": record.question,
        "answer": record.answer,
        "sources": [
            f"{c.source}#{c.section}" if c.section else c.source for c in record.sources
        ],
        "language": record.language,
        "user_id": user_id,
        "rated": False,
    }
    while len(answers) > MAX_REMEMBERED_ANSWERS:
        del answers[next(iter(answers))]


# --- Everything that is not text --------------------------------------------------------------


async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.message
    if message.caption and message.caption.strip():  # a photo of a form with a question
        await answer_question(update, context)
        return
    language = await ui_language(update, context)
    key = "telegram.voice" if message.voice or message.video_note else "telegram.text_only"
    await reply(update, context, t(language, key))
