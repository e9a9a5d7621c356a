"""What every part of the Telegram desk shares: its constants, finding the desk, languages, the
outbox's buttons as a keyboard, cutting text to Telegram's limit, and desk errors as text."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import Application, ContextTypes

from bot.escalation.cases import CLAIMED, CaseNotFound, DeskError, InvalidTransition
from bot.escalation.roster import Person
from bot.i18n import t
from bot.records import LANGUAGES
from bot.services import DeskLike

from ..formatting import MAX_MESSAGE, utf16_len

PREFIX = "desk:"
GATE_GROUP = -3  # before messages.ignore_unaddressed (-2) and the rate limit (-1)
OUTBOX_INTERVAL_S = 1.0
REMINDER_INTERVAL_S = 60.0
STAFF_COMMANDS = ("cases", "case", "resolve", "resend", "faq")  # deliberately not in commands.MENU
STATUS_MARK = "▸ "
_DELIVERY_KEY = "desk_delivery"
_CARD_KINDS = ("card", "desk_card")
BATCH = 20  # outbox rows per worker run; a full batch means "run again at once"
# The outbox kinds the desk writes (bot/escalation and this module). The table is shared: exam
# reminders have their own kinds and their own worker (channels/telegram/exams.py).
DESK_KINDS = (
    "ack", "card", "desk_card", "relay_in", "relay_out", "claimed", "resolved", "reminder",
    "reopened", "relay_ack", "note", "dead_letter",
)  # fmt: skip


def desk_of(context: ContextTypes.DEFAULT_TYPE | Application) -> DeskLike | None:
    """The escalation desk (`Services.desk`), or None when this deployment has none."""
    services = context.bot_data.get("services")
    return services.desk if services is not None else None


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


def _error_text(
    desk: Any, language: str, case_id: int, exc: DeskError, key: str | None = None
) -> str:
    if isinstance(exc, CaseNotFound):
        return t(language, "desk.not_found", case_id=case_id)
    if isinstance(exc, InvalidTransition):
        case = exc.case
        if exc.action == "claim" and case.status == CLAIMED and case.assigned_to:
            person = desk.person(case.assigned_to)
            name = person.name if person else str(case.assigned_to)
            return t(language, "desk.already_claimed", case_id=case_id, counselor=name)
        status = t(language, f"desk.statuses.{case.status}")
        return t(language, key or "desk.invalid", case_id=case_id, status=status)
    return t(language, "desk.not_allowed", case_id=case_id)
