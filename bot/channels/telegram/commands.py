"""Commands and the buttons they show: /start, /help, /lang, /privacy, /forget, /exams, /human."""

from __future__ import annotations

import asyncio
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.i18n import t
from bot.records import LANGUAGES

from .common import (
    FORGET_PREFIX,
    LANG_PREFIX,
    ask_for_human,
    language_picker,
    reply,
    services_of,
    ui_language,
    without_buttons,
)

logger = logging.getLogger(__name__)

# The command menu, in the order Telegram shows it (descriptions: telegram.commands.<name>).
MAX_PRESSED = 200  # "Talk to a counselor" presses remembered per chat (double taps)
MENU = (
    "start", "help", "lang", "exams", "exam", "reminders", "practice", "human", "privacy", "forget",
)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    language = await ui_language(update, context)
    text = "\n\n".join(
        (
            t(language, "telegram.welcome", name=update.effective_user.first_name),
            t(language, "telegram.hints"),
            t(language, "telegram.choose_language"),
        )
    )
    await reply(update, context, text, reply_markup=language_picker())
    desk = services_of(context).desk
    if desk is not None and update.effective_chat.type == ChatType.PRIVATE:
        # A case asked for in a group before this chat existed: its messages go out now.
        if await asyncio.to_thread(desk.chat_opened, update.effective_user.id):
            from .desk.delivery import _kick

            await _kick(context.application)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    language = await ui_language(update, context)
    await reply(update, context, t(language, "telegram.help"))


async def lang(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    language = await ui_language(update, context)
    await reply(
        update, context, t(language, "telegram.choose_language"), reply_markup=language_picker()
    )


async def on_language_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press on the language picker: store the choice (it wins over detection from now on),
    take the picker away and confirm, with example questions in the chosen language."""
    query = update.callback_query
    language = query.data.removeprefix(LANG_PREFIX)
    await query.answer()
    if language not in LANGUAGES:
        return
    await asyncio.to_thread(services_of(context).users.set_language, query.from_user.id, language)
    await query.edit_message_reply_markup(None)
    text = f"{t(language, 'telegram.language_set')}\n\n{t(language, 'telegram.hints')}"
    await reply(update, context, text)


async def privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    language = await ui_language(update, context)
    text = f"{t(language, 'telegram.privacy')}\n\n{t(language, 'telegram.retention')}"
    await reply(update, context, text)


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ask first: deleting is not undoable. The buttons carry the asker's id so that, in a
    group, nobody else's press counts."""
    language = await ui_language(update, context)
    user_id = update.effective_user.id
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t(language, "telegram.forget.confirm"),
                    callback_data=f"{FORGET_PREFIX}yes:{user_id}",
                ),
                InlineKeyboardButton(
                    t(language, "telegram.forget.keep"),
                    callback_data=f"{FORGET_PREFIX}no:{user_id}",
                ),
            ]
        ]
    )
    await reply(update, context, t(language, "telegram.forget.ask"), reply_markup=keyboard)


async def on_forget_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    _, choice, owner = query.data.split(":", 2)
    user_id = query.from_user.id
    if owner != str(user_id):
        await query.answer()
        return
    language = await ui_language(update, context)  # read before the choice is deleted
    if choice != "yes":
        await query.answer()
        await query.edit_message_text(t(language, "telegram.forget.cancelled"))
        return
    services = services_of(context)
    forgotten = None
    if services.desk is not None:  # their open case is closed, with a note to staff, first
        forgotten = await asyncio.to_thread(services.desk.forget, user_id)
    faq = getattr(services, "faq", None)
    if faq is not None:  # their words in FAQ drafts, while their cases still name them
        await asyncio.to_thread(faq.forget_user, user_id)
    removed = await asyncio.to_thread(services.users.forget_user, user_id)
    _forget_in_memory(context, user_id)
    logger.info("Forgot user %s (%d rows)", user_id, removed)
    await query.answer()
    await query.edit_message_text(t(language, "telegram.forget.done", count=removed))
    if forgotten is not None:  # after the person's answer: many edits may meet rate limits
        await _blank_delivered(context, services.desk, forgotten.delivered)


async def _blank_delivered(
    context: ContextTypes.DEFAULT_TYPE, desk, delivered: list[tuple[int, int, int]]
) -> None:
    """Cards and relayed messages already in staff chats carry the person's name and words:
    replace each with "case #N was closed, its messages erased" (and no buttons). A message
    Telegram no longer lets us edit is logged, never retried."""
    for chat_id, message_id, case_id in delivered:
        text = t(desk.language_of(chat_id), "desk.forgotten", case_id=case_id)
        try:
            await context.bot.edit_message_text(text, chat_id=chat_id, message_id=message_id)
        except TelegramError as exc:
            logger.info("could not blank message %s in %s: %s", message_id, chat_id, exc)


def _forget_in_memory(context: ContextTypes.DEFAULT_TYPE, user_id: int) -> None:
    """Drop the questions and answers kept for feedback buttons, in every chat."""
    context.user_data.clear()
    for chat_data in context.application.chat_data.values():
        answers = chat_data.get("answers")
        if answers:
            for message_id in [m for m, e in answers.items() if e.get("user_id") == user_id]:
                del answers[message_id]


async def human(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    language = await ui_language(update, context)
    await ask_for_human(update, context, language, " ".join(context.args or ()))


async def on_counselor_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """ "Talk to a counselor" under an answer or after a 👎: same path as /human, with the
    question it was about. The button goes away so one press makes one request."""
    query = update.callback_query
    entry = context.chat_data.get("answers", {}).get(query.message.message_id) or {}
    language = entry.get("language") or await ui_language(update, context)
    if entry.get("user_id") not in (None, query.from_user.id):
        # In a group, under someone else's answer: their question is not theirs to pass on.
        await query.answer(t(language, "telegram.human.not_yours"), show_alert=True)
        return
    # A double tap (or a press that raced the edit removing the button) asks once: the second
    # press is only acknowledged (editing the markup again made Telegram answer "message is not
    # modified", which read as "something went wrong").
    pressed: set = context.chat_data.setdefault("human_pressed", set())
    if query.message.message_id in pressed:
        await query.answer()
        return
    pressed.add(query.message.message_id)
    while len(pressed) > MAX_PRESSED:
        pressed.remove(min(pressed))
    try:
        await query.answer()
        try:
            await query.edit_message_reply_markup(
                without_buttons(getattr(query.message, "reply_markup", None), query.data)
            )
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                raise
        await ask_for_human(update, context, language, entry.get("question", ""))
    except Exception:
        pressed.discard(query.message.message_id)  # it did not go through: a new press may
        raise


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    language = await ui_language(update, context)
    await reply(update, context, t(language, "telegram.unknown_command"))
