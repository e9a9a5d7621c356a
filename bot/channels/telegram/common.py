"""Small helpers the handlers share: the services, the person's language, replies, the desk."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.i18n import t
from bot.records import LANGUAGES
from bot.services import Services

DEFAULT_LANGUAGE = "en"
LANGUAGE_NAMES = {"es": "Español", "en": "English", "zh-TW": "中文"}

# Callback data (Telegram allows 64 bytes): short, prefixed by what the button does.
LANG_PREFIX = "lang:"
FEEDBACK_UP, FEEDBACK_DOWN = "fb:+", "fb:-"
HUMAN = "human"
FORGET_PREFIX = "forget:"


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.bot_data["services"]


def language_from_code(code: str | None) -> str | None:
    """Telegram's `language_code` (IETF tag, e.g. "es-MX", "zh-hant") to ours, or None."""
    if not code:
        return None
    primary = code.lower().split("-")[0]
    if primary == "zh":
        return "zh-TW"  # Puente writes Traditional Chinese to every Chinese reader
    return primary if primary in LANGUAGES else None


async def stored_language(context: ContextTypes.DEFAULT_TYPE, user_id: int) -> str | None:
    """The language the person chose with /lang, or None (the store is synchronous I/O)."""
    language = await asyncio.to_thread(services_of(context).users.get_language, user_id)
    return language if language in LANGUAGES else None


async def ui_language(update: object, context: ContextTypes.DEFAULT_TYPE) -> str:
    """The language to talk to this person in: their /lang choice, else their Telegram app's
    language when Puente speaks it, else English."""
    user = update.effective_user if isinstance(update, Update) else None
    if user is None:
        return DEFAULT_LANGUAGE
    return (
        await stored_language(context, user.id)
        or language_from_code(user.language_code)
        or DEFAULT_LANGUAGE
    )


def is_group(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


async def reply(
    update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, **kwargs: Any
) -> Message:
    """Answer in the update's chat: quoting the person's message in groups, so everyone sees
    whom Puente answers; a plain message after a button press."""
    message = update.effective_message
    if update.callback_query is None and message is not None:
        return await message.reply_text(text, do_quote=is_group(update), **kwargs)
    return await context.bot.send_message(update.effective_chat.id, text, **kwargs)


def language_picker() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(name, callback_data=f"{LANG_PREFIX}{code}")
                for code, name in LANGUAGE_NAMES.items()
            ]
        ]
    )


def without_buttons(
    markup: InlineKeyboardMarkup | None, *callback_data: str
) -> InlineKeyboardMarkup | None:
    """The keyboard minus the rows holding any of these buttons (None when nothing is left)."""
    if markup is None:
        return None
    rows = [
        row
        for row in markup.inline_keyboard
        if not any(button.callback_data in callback_data for button in row)
    ]
    return InlineKeyboardMarkup(rows) if rows else None


def counselor_button(language: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(t(language, "telegram.counselor_button"), callback_data=HUMAN)


async def ask_for_human(
    update: Update, context: ContextTypes.DEFAULT_TYPE, language: str, text: str
) -> None:
    """/human and the "Talk to a counselor" button: hand the person to the desk, if any. A case
    lives in the person's private chat: asked for in a group, the group gets a neutral pointer
    only (no name, no case text) and the desk writes to them in private."""
    desk = services_of(context).desk
    if desk is None:
        await reply(update, context, t(language, "telegram.human.unavailable"))
        return
    user = update.effective_user
    private = update.effective_chat.type == ChatType.PRIVATE
    handoff = await asyncio.to_thread(  # the desk is synchronous (bot.services.DeskLike)
        desk.request_human,
        user_id=user.id,
        chat_id=update.effective_chat.id,
        name=user.full_name,
        username=user.username,
        language=language,
        text=text,
        private=private,
    )
    if not private:
        await reply(update, context, t(language, "desk.in_private"))
        return
    await reply(update, context, handoff.reply or t(language, "telegram.human.requested"))
