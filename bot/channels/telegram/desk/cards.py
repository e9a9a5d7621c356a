"""Case cards: every delivered copy of a case's card shows the case's state and fitting buttons."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.escalation.cases import Case
from bot.escalation.roster import Person
from bot.escalation.service import card_buttons as _card_buttons
from bot.i18n import t

from ..formatting import MAX_MESSAGE, utf16_len
from .helpers import (
    STATUS_MARK,
    fit,
    keyboard,
)

logger = logging.getLogger(__name__)


def card_language(desk: Any, chat_id: int) -> str:
    """The language cards are written in, in this chat: its roster person's, or the desk's."""
    return desk.language_of(chat_id)


def card_buttons(desk: Any, lang: str, case: Case) -> dict | None:
    """The card's buttons for the case's state (stored/outbox form)."""
    return _card_buttons(desk.tr, lang, case)


def card_messages(desk: Any, case_id: int) -> list[tuple[int, int, str, str]]:
    """(chat_id, message_id, text, kind) of every case card delivered for this case."""
    return desk.cards(case_id)[1]


async def _update_cards(
    context: ContextTypes.DEFAULT_TYPE, desk: Any, case_id: int, status: str,
    person: Person | None,
) -> None:  # fmt: skip
    """Append the state ("Claimed by Ana.") to every card of the case and fit its buttons.
    Cosmetic: a failed edit is logged, never raised."""

    case, cards = await asyncio.to_thread(desk.cards, case_id)
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
