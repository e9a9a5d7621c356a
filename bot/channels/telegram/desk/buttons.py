"""The case-card buttons `desk:claim|resolve|reassign|card|rate:...` and the actions behind them."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import ContextTypes

from bot.escalation.cases import OPEN, REOPENED, Case, DeskError, NotAllowed
from bot.escalation.relay import buttons, case_card, notify_claimed, notify_resolved
from bot.escalation.roster import Person
from bot.i18n import t

from ..common import ui_language
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
    action, case_id = parts[0], int(parts[1])
    if action == "rate":
        await _rate(update, context, desk, case_id, parts[2:])
        return
    person = desk.roster.person(query.from_user.id)
    if person is None:
        language = await ui_language(update, context)
        await query.answer(t(language, "desk.not_allowed", case_id=case_id), show_alert=True)
        return
    language = staff_language(person)
    try:
        if action == "claim":
            case = await asyncio.to_thread(claim, desk, case_id, person)
            await query.answer(t(language, "desk.claimed_desk", case_id=case_id,
                                 counselor=person.name))  # fmt: skip
            await _update_cards(context, desk, case_id, "claimed", person)
        elif action == "resolve":
            await asyncio.to_thread(resolve, desk, case_id, person)
            await query.answer(t(language, "desk.resolved_counselor", case_id=case_id))
            await _update_cards(context, desk, case_id, "resolved", person)
        elif action == "reassign" and len(parts) == 2:
            case = await asyncio.to_thread(desk.cases.get, case_id)
            await query.answer(t(language, "desk.reassign_pick", case_id=case_id))
            lang = card_language(desk, query.message.chat_id) if query.message else language
            await _edit_markup(query.message, reassign_keyboard(desk, lang, case))
        elif action == "reassign":
            to = desk.roster.person(int(parts[2])) if parts[2].isdigit() else None
            if to is None:
                raise NotAllowed(case_id, None, "reassign", "not on the roster")
            await asyncio.to_thread(reassign, desk, case_id, to, person)
            await query.answer(t(language, "desk.card_status.reassigned", counselor=to.name))
            await _update_cards(context, desk, case_id, "reassigned", to)
        elif action == "card":
            case = await asyncio.to_thread(desk.cases.get, case_id)
            await query.answer()
            lang = card_language(desk, query.message.chat_id) if query.message else language
            await _edit_markup(query.message, keyboard(card_buttons(desk, lang, case)))
        else:
            await query.answer()
            return
    except DeskError as exc:
        await query.answer(_error_text(desk, language, case_id, exc), show_alert=True)
        return
    await _kick(context.application)


def claim(desk: Any, case_id: int, person: Person) -> Case:
    case = desk.cases.claim(case_id, person.id)
    notify_claimed(case, person, desk.outbox, desk.tr)
    return case


def resolve(desk: Any, case_id: int, person: Person) -> Case:
    """Close a case (an unclaimed one is claimed first); the trainee is asked to rate it."""
    case = desk.cases.get(case_id)
    if case.status in (OPEN, REOPENED) and case.assigned_to is None:
        desk.cases.claim(case_id, person.id)
    case = desk.cases.resolve(case_id, person.id)
    hours = desk.cases.reopen_window.total_seconds() / 3600
    notify_resolved(case, desk.outbox, desk.tr, reopen_hours=hours)
    return case


def reassign(desk: Any, case_id: int, to: Person, by: Person) -> Case:
    """Hand a case over: the new person gets the card (if they never had it), the trainee is
    told who is on it now."""
    case = desk.cases.reassign(case_id, to.id, by=by.id)
    lang = staff_language(to)
    desk.outbox.enqueue(
        to.id, case_card(desk.tr, lang, case, None, None), kind="card", case_id=case.id,
        dedupe_key=f"case:{case.id}:r{case.round}:card:{to.id}",
        reply_markup_json=card_buttons(desk, lang, case),
    )  # fmt: skip
    notify_claimed(case, to, desk.outbox, desk.tr)
    return case


async def _rate(
    update: Update, context: ContextTypes.DEFAULT_TYPE, desk: Any, case_id: int, rest: list[str]
) -> None:
    query = update.callback_query
    language = await ui_language(update, context)
    if not rest or not rest[0].isdigit():
        await query.answer()
        return
    try:
        case = await asyncio.to_thread(
            desk.cases.rate, case_id, int(rest[0]), by=query.from_user.id
        )
        language = case.language
    except (DeskError, ValueError) as exc:
        text = _error_text(desk, language, case_id, exc) if isinstance(exc, DeskError) else None
        await query.answer(text)
        return
    await query.answer(t(language, "desk.rated_thanks"))
    await _edit_markup(query.message, None)


def reassign_keyboard(desk: Any, lang: str, case: Case) -> InlineKeyboardMarkup:
    """Everyone on the roster but the current assignee, two per row, then "Back"."""
    people = [p for p in desk.roster.people.values() if p.id != case.assigned_to]
    rows = [
        [(p.name, f"{PREFIX}reassign:{case.id}:{p.id}") for p in people[i : i + 2]]
        for i in range(0, len(people), 2)
    ]
    rows.append([(desk.tr.t(lang, "desk.buttons.back"), f"{PREFIX}card:{case.id}")])
    return keyboard(buttons(*rows))
