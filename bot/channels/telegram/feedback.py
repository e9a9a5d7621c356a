"""👍 / 👎 under an answer: store the rating with its question, thank, and after 👎 offer a
counselor."""

from __future__ import annotations

import asyncio
import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.i18n import t

from .common import (
    FEEDBACK_DOWN,
    FEEDBACK_UP,
    counselor_button,
    services_of,
    ui_language,
    without_buttons,
)

logger = logging.getLogger(__name__)


async def on_feedback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    rating = 1 if query.data == FEEDBACK_UP else -1
    message_id = query.message.message_id
    answers: dict[int, dict] = context.chat_data.get("answers", {})
    entry = answers.get(message_id)

    if entry is None:
        # Older than what this process remembers (or from before a restart): the question is
        # gone, so there is nothing meaningful to store.
        language = await ui_language(update, context)
        await query.answer(t(language, "telegram.feedback.stale"))
        markup = getattr(query.message, "reply_markup", None)
        await query.edit_message_reply_markup(without_buttons(markup, FEEDBACK_UP, FEEDBACK_DOWN))
        return
    language = entry["language"]
    if entry.get("user_id") not in (None, query.from_user.id):
        # In a group, someone else's answer: their question is not stored under another name
        # (it would outlive the asker's /forget).
        await query.answer(t(language, "telegram.feedback.not_yours"))
        return
    if entry["rated"]:  # a second press that raced the first one's edit
        await query.answer()
        return
    entry["rated"] = True

    await asyncio.to_thread(
        services_of(context).users.record_feedback,
        user_id=query.from_user.id,
        chat_id=update.effective_chat.id,
        message_id=message_id,
        question=entry["question"],
        answer=entry["answer"],
        sources=entry["sources"],
        rating=rating,
    )
    await query.answer(t(language, "telegram.feedback.thanks"))
    await query.edit_message_reply_markup(
        without_buttons(query.message.reply_markup, FEEDBACK_UP, FEEDBACK_DOWN)
    )
    if rating < 0:
        offer = await context.bot.send_message(
            update.effective_chat.id,
            t(language, "telegram.feedback.sorry"),
            reply_markup=InlineKeyboardMarkup([[counselor_button(language)]]),
        )
        # The counselor button on this message hands the same question to the desk.
        answers[offer.message_id] = entry
