"""The case-card buttons `desk:claim|resolve|reassign|card|rate|cancel:...`: each press becomes one call of
`EscalationDesk` (which decides whether this person may), and its result or refusal a message.

Callback data is never trusted: the desk checks the presser against the case, whatever numbers
the data carries, and a rating button carries the case's round (a stale one is refused)."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.escalation.cases import Case, DeskError
from bot.escalation.relay import buttons
from bot.escalation.roster import Person
from bot.i18n import t

from ..common import reply, ui_language
from .cards import _edit_markup, _update_cards, card_buttons, card_language
from .delivery import _kick
from .helpers import PREFIX, _error_text, desk_of, keyboard, staff_language


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    parts = query.data.removeprefix(PREFIX).split(":")
    desk = desk_of(context)
    if desk is None or len(parts) < 2 or not parts[1].isdigit():
        await query.answer()
        return
    action, case_id, actor = parts[0], int(parts[1]), query.from_user.id
    if action == "rate":
        await _rate(update, context, desk, case_id, parts[2:])
        return
    if action == "cancel":
        await _cancel(update, context, desk, case_id)
        return
    if action == "reopen":
        await _reopen(update, context, desk, case_id)
        return
    person = desk.person(actor)
    if person is None:
        language = await ui_language(update, context)
        await query.answer(t(language, "desk.not_allowed", case_id=case_id), show_alert=True)
        return
    language = staff_language(person)
    lang = card_language(desk, query.message.chat_id) if query.message else language
    try:
        if action == "claim":
            await asyncio.to_thread(desk.claim, case_id, actor)
            await query.answer(t(language, "desk.claimed_desk", case_id=case_id,
                                 counselor=person.name))  # fmt: skip
            await _update_cards(context, desk, case_id, "claimed", person)
        elif action == "resolve":
            await asyncio.to_thread(desk.resolve, case_id, actor)
            await query.answer(t(language, "desk.resolved_counselor", case_id=case_id))
            await _update_cards(context, desk, case_id, "resolved", person)
        elif action == "reassign" and len(parts) == 2:
            case, people = await asyncio.to_thread(desk.reassign_candidates, case_id, actor)
            await query.answer(t(language, "desk.reassign_pick", case_id=case_id))
            await _edit_markup(query.message, reassign_keyboard(desk, lang, case, people))
        elif action == "reassign" and len(parts) == 3 and parts[2].isdigit():
            case = await asyncio.to_thread(desk.reassign, case_id, int(parts[2]), actor)
            to = desk.person(case.assigned_to)
            await query.answer(t(language, "desk.card_status.reassigned", counselor=to.name))
            await _update_cards(context, desk, case_id, "reassigned", to)
        elif action == "card":
            case, _ = await asyncio.to_thread(desk.view, case_id, actor)
            await query.answer()
            await _edit_markup(query.message, keyboard(card_buttons(desk, lang, case)))
        else:
            await query.answer()
            return
    except DeskError as exc:
        await query.answer(_error_text(desk, language, case_id, exc), show_alert=True)
        return
    await _kick(context.application)


async def _cancel(
    update: Update, context: ContextTypes.DEFAULT_TYPE, desk: Any, case_id: int
) -> None:
    """The trainee's "Cancel my request" (from /case): the policy decides (their own active
    case only); the staff are told, the cards say so, the button goes away."""
    query = update.callback_query
    language = await ui_language(update, context)
    try:
        case = await asyncio.to_thread(desk.cancel, case_id, query.from_user.id)
    except DeskError as exc:
        await query.answer(_error_text(desk, language, case_id, exc), show_alert=True)
        return
    await query.answer()
    await _edit_markup(query.message, None)
    await reply(update, context, t(case.language, "desk.cancelled_trainee", case_id=case_id))
    await _kick(context.application)
    await _update_cards(context, desk, case_id, "cancelled", None)


async def _reopen(
    update: Update, context: ContextTypes.DEFAULT_TYPE, desk: Any, case_id: int
) -> None:
    """The trainee's "Reopen" (offered when they wrote again after a resolution)."""
    query = update.callback_query
    language = await ui_language(update, context)
    try:
        await asyncio.to_thread(desk.reopen, case_id, query.from_user.id)
    except DeskError as exc:
        await query.answer(_error_text(desk, language, case_id, exc), show_alert=True)
        return
    await query.answer()
    await _edit_markup(query.message, None)
    await _kick(context.application)
    await _update_cards(context, desk, case_id, "reopened", None)


async def _rate(
    update: Update, context: ContextTypes.DEFAULT_TYPE, desk: Any, case_id: int, rest: list[str]
) -> None:
    """`desk:rate:<case>:r<round>:<score>` (older buttons: `desk:rate:<case>:<score>`)."""
    query = update.callback_query
    language = await ui_language(update, context)
    round_ = int(rest[0][1:]) if len(rest) == 2 and rest[0][1:].isdigit() else None
    score = rest[-1] if rest else ""
    if not score.isdigit() or (len(rest) == 2 and round_ is None) or len(rest) > 2:
        await query.answer()
        return
    try:
        case = await asyncio.to_thread(
            desk.rate, case_id, query.from_user.id, int(score), round=round_
        )
        language = case.language
    except (DeskError, ValueError) as exc:
        text = _error_text(desk, language, case_id, exc) if isinstance(exc, DeskError) else None
        await query.answer(text)
        await _edit_markup(query.message, None)  # a stale or repeated rating: no more buttons
        return
    await query.answer(t(language, "desk.rated_thanks"))
    await _edit_markup(query.message, None)


def reassign_keyboard(
    desk: Any, lang: str, case: Case, people: list[Person]
) -> InlineKeyboardMarkup:
    """The people the case may go to now, two per row, then "Back"."""
    rows = [
        [(p.name, f"{PREFIX}reassign:{case.id}:{p.id}") for p in people[i : i + 2]]
        for i in range(0, len(people), 2)
    ]
    rows.append([(desk.tr.t(lang, "desk.buttons.back"), f"{PREFIX}card:{case.id}")])
    return keyboard(buttons(*rows))
