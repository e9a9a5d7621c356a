"""Case cards: every delivered copy of a case's card shows the case's state and fitting buttons."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import sqlalchemy as sa
from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.escalation.cases import RESOLVED, Case
from bot.escalation.relay import buttons
from bot.escalation.roster import Person
from bot.i18n import t
from bot.storage import schema

from ..formatting import MAX_MESSAGE, utf16_len
from .helpers import (
    _CARD_KINDS,
    PREFIX,
    STATUS_MARK,
    _lang,
    fit,
    keyboard,
    staff_language,
)

logger = logging.getLogger(__name__)


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
