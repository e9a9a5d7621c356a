"""The one error handler: log with the traceback first, then tell the person, keep running."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.i18n import t
from bot.storage.db import is_unavailable, reason_of

from .common import DEFAULT_LANGUAGE, ui_language

logger = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    # Ids only: the update itself holds what the person wrote.
    busy = is_unavailable(context.error) if context.error is not None else False
    if busy:
        # Locked, busy or unreachable: one clear line, no traceback. A job (the outbox) runs
        # again on its next tick; a person is asked to send the message again.
        chat = update.effective_chat if isinstance(update, Update) else None
        logger.error(
            "the database is unavailable (%s) while handling %s; %s",
            reason_of(context.error),
            f"update {update.update_id} (chat {chat.id if chat else None})"
            if isinstance(update, Update) else "a job",
            "the person is asked to try again" if chat else "it runs again on its next turn",
        )  # fmt: skip
    elif isinstance(update, Update):
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
        key = "telegram.busy" if busy else "telegram.error"
        await context.bot.send_message(update.effective_chat.id, t(language, key))
    except TelegramError as exc:
        logger.warning("Could not tell chat %s about the error: %s", update.effective_chat.id, exc)
