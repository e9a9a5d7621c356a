"""The staff commands `/cases`, `/case <id>`, `/resolve <id>` and `/resend <n>` (roster people only; not in the
public command menu), and `/case` for a trainee: the state of their own request, to cancel it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.escalation.cases import Case, DeskError
from bot.escalation.roster import Person
from bot.i18n import UnknownMessage, t

from ..common import reply, ui_language
from .cards import _update_cards
from .delivery import _kick
from .helpers import PREFIX, _error_text, desk_of, fit, staff_language


async def _staff(update: Update, context: ContextTypes.DEFAULT_TYPE) -> tuple[Any, Person] | None:
    """The desk and the roster person using a staff command; else a refusal, and None."""
    desk = desk_of(context)
    person = desk.person(update.effective_user.id) if desk is not None else None
    if person is None:
        language = await ui_language(update, context)
        await reply(update, context, t(language, "desk.staff_only"))
        return None
    return desk, person


def _when(desk: Any, moment) -> str:
    return desk.roster.local(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _assignee(desk: Any, lang: str, case: Case) -> str:
    if case.assigned_to is None:
        return t(lang, "desk.unassigned")
    person = desk.roster.person(case.assigned_to)
    return person.name if person else str(case.assigned_to)


def open_cases(desk: Any, person: Person) -> tuple[bool, list[Case]]:
    """(all?, cases): a desk admin sees every active case, anyone else theirs and routed ones."""
    return desk.cases_for(person.id)


async def cases_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    staff = await _staff(update, context)
    if staff is None:
        return
    desk, person = staff
    lang = staff_language(person)
    everyone, cases = await asyncio.to_thread(open_cases, desk, person)
    if not cases:
        await reply(update, context, t(lang, "desk.cases_none"))
        return
    lines = [t(lang, "desk.cases_all" if everyone else "desk.cases_mine")]
    for case in cases:
        lines.append(
            t(
                lang,
                "desk.cases_line",
                case_id=case.id,
                status=t(lang, f"desk.statuses.{case.status}"),
                reason=t(lang, f"desk.reasons.{case.reason}"),
                name=_name(desk, case, person, chat_id=update.effective_chat.id, lang=lang),
                assignee=_assignee(desk, lang, case),
                since=_when(desk, case.waiting_since),
            )
        )
    await reply(update, context, fit("\n".join(lines)))


def _case_id_from(update: Update, context: ContextTypes.DEFAULT_TYPE, desk: Any) -> int | None:
    """`/resolve 12`, `/resolve #12`, or `/resolve` as a reply to a case message."""
    if context.args:
        arg = context.args[0].lstrip("#")
        return int(arg) if arg.isdigit() else None
    reply_to = update.message.reply_to_message if update.message else None
    if reply_to is not None:
        case = desk.case_of_message(update.effective_chat.id, reply_to.message_id)
        return case.id if case else None
    return None


async def resolve_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    staff = await _staff(update, context)
    if staff is None:
        return
    desk, person = staff
    lang = staff_language(person)
    case_id = await asyncio.to_thread(_case_id_from, update, context, desk)
    if case_id is None:
        await reply(update, context, t(lang, "desk.resolve_usage"))
        return
    try:
        await asyncio.to_thread(desk.resolve, case_id, person.id)
    except DeskError as exc:
        await reply(update, context, _error_text(desk, lang, case_id, exc))
        return
    await _kick(context.application)
    await reply(update, context, t(lang, "desk.resolved_counselor", case_id=case_id))
    await _update_cards(context, desk, case_id, "resolved", person)


async def resend_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/resend <n>: a desk admin sends a message that failed for good again (the number comes
    from the dead-letter alert)."""
    staff = await _staff(update, context)
    if staff is None:
        return
    desk, person = staff
    lang = staff_language(person)
    arg = (context.args or [""])[0].lstrip("#")
    if not arg.isdigit():
        await reply(update, context, t(lang, "desk.resend_usage"))
        return
    try:
        again = await asyncio.to_thread(desk.resend, int(arg), person.id)
    except DeskError:  # the policy: desk admins only
        await reply(update, context, t(lang, "desk.resend_admin_only"))
        return
    key = "desk.resent" if again else "desk.resend_missing"
    await reply(update, context, t(lang, key, outbox_id=int(arg)))
    if again:
        await _kick(context.application)


async def case_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/case <id>: the case and its audit trail (events never hold message text). From someone
    not on the roster: the state of their own request, with a button to cancel it."""
    desk = desk_of(context)
    if desk is not None and desk.person(update.effective_user.id) is None:
        await trainee_case(update, context, desk)
        return
    staff = await _staff(update, context)
    if staff is None:
        return
    desk, person = staff
    lang = staff_language(person)
    case_id = await asyncio.to_thread(_case_id_from, update, context, desk)
    if case_id is None:
        await reply(update, context, t(lang, "desk.case_usage"))
        return

    try:
        case, events = await asyncio.to_thread(desk.view, case_id, person.id)
    except DeskError as exc:
        await reply(update, context, _error_text(desk, lang, case_id, exc))
        return
    chat_id = update.effective_chat.id
    await reply(update, context, fit(case_report(desk, lang, case, events, person, chat_id)))


def _name(desk: Any, case: Case, person: Person, *, chat_id: int, lang: str) -> str:
    return desk.shown_name(case, person.id, chat_id) or t(lang, "desk.hidden")


def case_report(
    desk: Any, lang: str, case: Case, events: list, person: Person, chat_id: int | None = None
) -> str:
    summary = t(
        lang, "desk.case_summary", case_id=case.id,
        status=t(lang, f"desk.statuses.{case.status}"),
        reason=t(lang, f"desk.reasons.{case.reason}"),
        topic=t(lang, f"desk.topics.{case.topic or 'none'}"),
        name=_name(desk, case, person, chat_id=person.id if chat_id is None else chat_id,
                   lang=lang),
        language=case.language,
        assignee=_assignee(desk, lang, case), opened=_when(desk, case.created_at),
        rating=case.rating if case.rating is not None else t(lang, "desk.no_rating"),
    )  # fmt: skip
    lines = [summary, "", t(lang, "desk.case_audit")]
    for event in events:
        lines.append(
            t(
                lang,
                "desk.audit_line",
                at=_when(desk, event.at),
                event=_label(lang, "desk.events", event.kind),
                actor=_actor(desk, lang, case, event.actor),
                detail=_detail(desk, event.detail),
            )
        )
    return "\n".join(lines)


def _label(lang: str, area: str, key: str) -> str:
    try:
        return t(lang, f"{area}.{key}")
    except UnknownMessage:
        return key


def _actor(desk: Any, lang: str, case: Case, actor: int | None) -> str:
    if actor is None:
        return t(lang, "desk.actors.system")
    if actor == case.user_id:
        return t(lang, "desk.actors.trainee")
    person = desk.roster.person(actor)
    return person.name if person else str(actor)


def _detail(desk: Any, detail: dict) -> str:
    """A compact, text-free rendering of an event's detail (people by name)."""
    if not detail:
        return ""
    name: Callable[[Any], str] = lambda pid: (
        desk.roster.person(pid).name if desk.roster.person(pid) else str(pid)
    )
    parts = []
    for key, value in detail.items():
        if value is None or value == [] or key == "message":
            continue
        if key in ("to", "from") and isinstance(value, list):
            value = ", ".join(name(v) for v in value)
        elif key in ("to", "from") and isinstance(value, int):
            value = name(value)
        parts.append(f"{key}={value}")
    return f" ({'; '.join(parts)})" if parts else ""


async def trainee_case(update: Update, context: ContextTypes.DEFAULT_TYPE, desk: Any) -> None:
    """A trainee's /case: their active request (who has it, since when) and "Cancel my request".
    In a group it only points to the private chat (a case is never discussed there)."""
    language = await ui_language(update, context)
    if update.effective_chat.type != ChatType.PRIVATE:
        await reply(update, context, t(language, "desk.in_private"))
        return
    case = await asyncio.to_thread(desk.active_case, update.effective_user.id)
    if case is None:
        await reply(update, context, t(language, "desk.trainee_no_case"))
        return
    lang = case.language
    counselor = desk.person(case.assigned_to) if case.assigned_to else None
    state = (
        t(lang, "desk.trainee_case_state.handled", counselor=counselor.name)
        if counselor
        else t(lang, "desk.trainee_case_state.waiting")
    )
    text = t(lang, "desk.trainee_case", case_id=case.id, state=state,
             opened=_when(desk, case.created_at))  # fmt: skip
    if case.urgent:  # a crisis cannot be withdrawn: no button
        await reply(update, context, text)
        return
    button = InlineKeyboardButton(
        t(lang, "desk.trainee_cancel_button"), callback_data=f"{PREFIX}cancel:{case.id}"
    )
    await reply(update, context, text, reply_markup=InlineKeyboardMarkup([[button]]))
