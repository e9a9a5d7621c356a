"""The one error handler: log with the traceback first, then tell the person, keep running."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.i18n import t

from .common import DEFAULT_LANGUAGE, ui_language

logger = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    # Ids only: the update itself holds what the person wrote.
    if isinstance(update, Update):
        chat = update.effective_chat
        logger.error(
            "Error while handling update %s (chat %s)",
            update.update_id,
            chat.id if chat else None,
            exc_info=context.error,
        )
    else:
        logger.error("Error outside of an update: %r", update, exc_info=context.error)

    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        language = await ui_language(update, context)
    except Exception:  # noqa: BLE001 - the store may be what failed; fall back to English
        language = DEFAULT_LANGUAGE
    try:
        await context.bot.send_message(update.effective_chat.id, t(language, "telegram.error"))
    except TelegramError as exc:
        logger.warning("Could not tell chat %s about the error: %s", update.effective_chat.id, exc)
