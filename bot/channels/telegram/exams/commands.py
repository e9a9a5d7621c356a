"""The exam commands and their buttons: /exams (with level and language filters), /exam (one
session, the venue, "🔔 Remind me"), /reminders (with cancel buttons) and /notify (exam staff)."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import date, datetime
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.clock import Clock
from bot.exams import (
    UnknownSession,
    format_date,
    format_session,
    format_session_line,
    load_calendar,
    normalize_session_language,
)
from bot.exams.reminders import is_exam_staff as is_exam_staff_in
from bot.i18n import t

from ..common import reply, services_of, ui_language
from .job import JOB_NAME, exam_service, reminder_job

logger = logging.getLogger(__name__)

# Callback data (64 bytes at most): prefix, then fields separated by ":".
FILTER = "exf:"  # exf:<level 0-3>:<session language or ->
REMIND = "exr:"  # exr:<session key>
STOP = "exs:"  # exs:<session key>
CANCEL = "exc:"  # exc:<session key>:<owner user id>

MAX_LISTED = 8
EXAMPLE_ID = "SC-2703-02"
VENUE_MAX_CHARS = 700
CALENDAR_KEY = "exams.calendar"  # bot_data: a calendar loaded here when no service has one
_NOTIFY_RE = re.compile(r"^/notify(?:@\w+)?\s+(\S+)\s+(.+)$", re.DOTALL | re.IGNORECASE)


# --- where things come from -----------------------------------------------------------------------


def calendar_of(context: ContextTypes.DEFAULT_TYPE):
    service = exam_service(context)
    if service is not None and service.calendar is not None:
        return service.calendar
    services = services_of(context)
    calendar = getattr(services.assistant, "calendar", None)
    if calendar is not None:
        return calendar
    if CALENDAR_KEY not in context.bot_data:
        context.bot_data[CALENDAR_KEY] = load_calendar(services.settings)
    return context.bot_data[CALENDAR_KEY]


def today_of(context: ContextTypes.DEFAULT_TYPE) -> date:
    service = exam_service(context)
    if service is not None:
        return service.today()
    return Clock.from_settings(services_of(context).settings).today()


def is_exam_staff(context: ContextTypes.DEFAULT_TYPE, user_id: int) -> bool:
    roster = getattr(exam_service(context), "roster", None)
    return is_exam_staff_in(roster or getattr(services_of(context).desk, "roster", None), user_id)


# --- /exams ---------------------------------------------------------------------------------------


def _parse_filters(args: list[str]) -> tuple[int | None, str | None]:
    level = session_language = None
    for arg in args:
        digits = re.sub(r"\D", "", arg)
        if digits in ("1", "2", "3"):
            level = int(digits)
        elif normalize_session_language(arg):
            session_language = normalize_session_language(arg)
    return level, session_language


def exams_text(
    calendar,
    today: date,
    language: str,
    level: int | None,
    session_language: str | None,
) -> str:
    parts = []
    if level:
        parts.append(t(language, "exams.ui.filter_level", level=level))
    if session_language:
        name = t(language, f"exams.language.{session_language}")
        parts.append(t(language, "exams.ui.filter_language", language=name))
    filters_text = (
        t(language, "exams.ui.filters", filters=t(language, "exams.ui.filters_join").join(parts))
        if parts else ""
    )  # fmt: skip
    hits = calendar.upcoming(today, level=level, language=session_language)
    if not hits:
        return t(language, "exams.ui.none", filters=filters_text)
    as_of = format_date(calendar.as_of, language, weekday=False)
    lines = [t(language, "exams.ui.list_header", filters=filters_text, as_of=as_of)]
    shown = hits[:MAX_LISTED]
    lines += [format_session_line(s, language, ("start", "language"), today) for s in shown]
    if len(hits) > len(shown):
        lines.append(t(language, "exams.more", count=len(hits) - len(shown)))
    lines.append("")
    lines.append(t(language, "exams.ui.details_hint", example=shown[0].session_id))
    return "\n".join(lines)


def exams_keyboard(
    language: str, level: int | None, session_language: str | None
) -> InlineKeyboardMarkup:
    lang_part = session_language or "-"

    def mark(label: str, selected: bool) -> str:
        return f"✓ {label}" if selected else label

    levels = [InlineKeyboardButton(
        mark(t(language, "exams.ui.all_levels"), level is None),
        callback_data=f"{FILTER}0:{lang_part}",
    )]  # fmt: skip
    levels += [
        InlineKeyboardButton(
            mark(t(language, "exams.ui.level_button", level=n), level == n),
            callback_data=f"{FILTER}{n}:{lang_part}",
        )
        for n in (1, 2, 3)
    ]
    level_part = level or 0
    languages = [
        InlineKeyboardButton(
            mark(t(language, "exams.ui.all_languages"), session_language is None),
            callback_data=f"{FILTER}{level_part}:-",
        ),
        InlineKeyboardButton(
            mark(t(language, "exams.ui.language_button_zh"), session_language == "zh-TW"),
            callback_data=f"{FILTER}{level_part}:zh-TW",
        ),
        InlineKeyboardButton(
            mark(t(language, "exams.ui.language_button_en"), session_language == "en"),
            callback_data=f"{FILTER}{level_part}:en",
        ),
    ]
    return InlineKeyboardMarkup([levels, languages])


async def exams_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    language = await ui_language(update, context)
    calendar = calendar_of(context)
    if calendar is None:
        await reply(update, context, t(language, "exams.ui.no_calendar"))
        return
    level, session_language = _parse_filters(list(context.args or ()))
    await reply(
        update, context,
        exams_text(calendar, today_of(context), language, level, session_language),
        reply_markup=exams_keyboard(language, level, session_language),
    )  # fmt: skip


async def on_filter(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer()
    language = await ui_language(update, context)
    calendar = calendar_of(context)
    if calendar is None:
        return
    try:
        level_text, lang_text = query.data.removeprefix(FILTER).split(":", 1)
        level = int(level_text) or None
    except ValueError:
        return
    session_language = lang_text if lang_text in ("zh-TW", "en") else None
    text = exams_text(calendar, today_of(context), language, level, session_language)
    await _edit(query, text, exams_keyboard(language, level, session_language))


async def _edit_markup(query, markup: InlineKeyboardMarkup | None) -> None:
    try:
        await query.edit_message_reply_markup(markup)
    except BadRequest as exc:  # a double tap: the first press already changed it
        if "not modified" not in str(exc).lower():
            raise


async def _edit(query, text: str, markup: InlineKeyboardMarkup | None) -> None:
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:  # the same filter pressed twice: nothing to change
        if "not modified" not in str(exc).lower():
            raise


# --- /exam ----------------------------------------------------------------------------------------


def _venue_passage(assistant: Any, session, language: str) -> str | None:
    """A venue-guide passage on getting to the session's building, via the retriever."""
    retriever = getattr(assistant, "retriever", None)
    if retriever is None:
        return None
    queries = {
        "en": f"How do I get to the {session.building}? directions from the main gate",
        "es": f"¿Cómo llego al {session.building}? indicaciones desde la entrada principal",
        "zh-TW": f"如何前往 {session.building}？從校門口怎麼走",
    }
    try:
        hits = retriever.search(queries.get(language, queries["en"]), k=8, language=language)
    except Exception:
        logger.warning("venue guide search failed", exc_info=True)
        return None
    for hit in hits:
        chunk = hit.chunk
        if "venue-guide" in chunk.source:
            text = chunk.text.strip()
            if len(text) > VENUE_MAX_CHARS:
                text = text[:VENUE_MAX_CHARS].rsplit(" ", 1)[0] + "…"
            source = f"{chunk.source} › {chunk.section}" if chunk.section else chunk.source
            return t(language, "exams.ui.venue", source=source) + "\n" + text
    return None


def _session_arg(context: ContextTypes.DEFAULT_TYPE) -> str:
    return " ".join(context.args or ()).strip()


def exam_keyboard(language: str, session, subscribed: bool | None) -> InlineKeyboardMarkup | None:
    if subscribed is None:  # no reminder service
        return None
    if subscribed:
        button = InlineKeyboardButton(
            t(language, "exams.ui.stop_button"), callback_data=f"{STOP}{session.key}"
        )
    else:
        button = InlineKeyboardButton(
            t(language, "exams.ui.remind_button"),
            callback_data=f"{REMIND}{session.key}",
        )
    return InlineKeyboardMarkup([[button]])


async def exam_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    language = await ui_language(update, context)
    calendar = calendar_of(context)
    if calendar is None:
        await reply(update, context, t(language, "exams.ui.no_calendar"))
        return
    wanted = _session_arg(context)
    if not wanted:
        await reply(update, context, t(language, "exams.ui.exam_usage", example=EXAMPLE_ID))
        return
    session = calendar.by_id(wanted)
    if session is None:
        as_of = format_date(calendar.as_of, language, weekday=False)
        await reply(update, context, t(language, "exams.unknown_id", ids=wanted, as_of=as_of))
        return
    parts = [format_session(session, language)]
    venue = await asyncio.to_thread(
        _venue_passage, services_of(context).assistant, session, language
    )
    if venue:
        parts.append(venue)
    parts.append(t(language, "exams.bring"))
    service = exam_service(context)
    subscribed = None
    if service is not None:
        subscribed = await asyncio.to_thread(
            service.is_subscribed, update.effective_user.id, session.session_id
        )
    await reply(
        update, context, "\n\n".join(parts),
        reply_markup=exam_keyboard(language, session, subscribed),
    )  # fmt: skip


def _when(language: str, moment: datetime, tz) -> str:
    local = moment.astimezone(tz)
    return t(
        language,
        "exams.ui.when",
        date=format_date(local.date(), language),
        time=local.strftime("%H:%M"),
    )


async def on_remind(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """🔔 Remind me: subscribe the person who pressed, in their language."""
    query = update.callback_query
    language = await ui_language(update, context)
    service = exam_service(context)
    if service is None:
        await query.answer(t(language, "exams.ui.unavailable"))
        return
    key = query.data.removeprefix(REMIND)
    user = query.from_user
    try:
        sub = await asyncio.to_thread(service.subscribe, user.id, user.id, key, language)
    except UnknownSession:
        await query.answer()
        return
    reminders = await asyncio.to_thread(service.reminders, sub.id)
    pending = [r for r in reminders if r.status == "pending"]
    await query.answer()
    session = service.session(key)
    await _edit_markup(query, exam_keyboard(language, session, True))
    if pending:
        lines = [t(language, "exams.ui.subscribed", session_id=sub.session_id)]
        for r in pending:
            lines.append(
                t(
                    language,
                    f"exams.ui.when_{r.kind}",
                    when=_when(language, r.due_at, service.tz),
                )
            )
        lines.append(t(language, "exams.ui.also_changes"))
        text = "\n".join(lines)
    else:
        text = t(language, "exams.ui.subscribed_none", session_id=sub.session_id)
    await reply(update, context, text)


async def on_stop(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """🔕 under /exam: unsubscribe the person who pressed."""
    query = update.callback_query
    language = await ui_language(update, context)
    service = exam_service(context)
    if service is None:
        await query.answer(t(language, "exams.ui.unavailable"))
        return
    key = query.data.removeprefix(STOP)
    session = service.session(key)
    removed = await asyncio.to_thread(service.unsubscribe, query.from_user.id, key)
    session_id = session.session_id if session else key
    text_key = "exams.ui.unsubscribed" if removed else "exams.ui.not_subscribed"
    await query.answer(t(language, text_key, session_id=session_id))
    if session is not None:
        await _edit_markup(query, exam_keyboard(language, session, False))


# --- /reminders -----------------------------------------------------------------------------------


async def _reminders_view(
    context, user_id: int, language: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    service = exam_service(context)
    subs = await asyncio.to_thread(service.subscriptions, user_id)
    if not subs:
        return t(language, "exams.ui.reminders_none", example=EXAMPLE_ID), None
    today = today_of(context)
    lines = [t(language, "exams.ui.reminders_header")]
    rows = []
    for sub in subs:
        session = service.session(sub.session_key)
        if session is not None:
            lines.append(format_session_line(session, language, ("start",), today))
        else:
            lines.append(f"• {sub.session_id}")
        rows.append([InlineKeyboardButton(
            t(language, "exams.ui.cancel_button", session_id=sub.session_id),
            callback_data=f"{CANCEL}{sub.session_key}:{user_id}",
        )])  # fmt: skip
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def reminders_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    language = await ui_language(update, context)
    if exam_service(context) is None:
        await reply(update, context, t(language, "exams.ui.unavailable"))
        return
    text, markup = await _reminders_view(context, update.effective_user.id, language)
    await reply(update, context, text, reply_markup=markup)


async def on_cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    language = await ui_language(update, context)
    service = exam_service(context)
    key, _, owner = query.data.removeprefix(CANCEL).partition(":")
    user_id = query.from_user.id
    if service is None or owner != str(user_id):  # someone else's list (in a group)
        await query.answer()
        return
    session = service.session(key)
    removed = await asyncio.to_thread(service.unsubscribe, user_id, key)
    session_id = session.session_id if session else key
    text_key = "exams.ui.unsubscribed" if removed else "exams.ui.not_subscribed"
    await query.answer(t(language, text_key, session_id=session_id))
    text, markup = await _reminders_view(context, user_id, language)
    await _edit(query, text, markup)


# --- /notify --------------------------------------------------------------------------------------


async def notify_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    language = await ui_language(update, context)
    user = update.effective_user
    if not is_exam_staff(context, user.id):
        await reply(update, context, t(language, "exams.notify.refused"))
        return
    service = exam_service(context)
    if service is None:
        await reply(update, context, t(language, "exams.ui.unavailable"))
        return
    match = _NOTIFY_RE.match((update.effective_message.text or "").strip())
    if match is None or not match[2].strip():
        await reply(update, context, t(language, "exams.notify.usage", example=EXAMPLE_ID))
        return
    wanted, text = match[1], match[2].strip()
    try:
        notice = await asyncio.to_thread(
            service.notify, wanted, text, sender_id=user.id,
            sender_chat_id=update.effective_chat.id, sender_language=language,
        )  # fmt: skip
    except UnknownSession:
        as_of = format_date(service.calendar.as_of, language, weekday=False)
        await reply(update, context, t(language, "exams.unknown_id", ids=wanted, as_of=as_of))
        return
    logger.info(
        "exam notice %s for %s by %s to %d subscriber(s)",
        notice.id,
        notice.session_id,
        user.id,
        notice.recipients,
    )
    if notice.recipients == 0:
        await reply(
            update,
            context,
            t(language, "exams.notify.nobody", session_id=notice.session_id),
        )
        return
    await reply(
        update,
        context,
        t(
            language,
            "exams.notify.queued",
            count=notice.recipients,
            session_id=notice.session_id,
        ),
    )
    if context.job_queue is not None:  # deliver now rather than at the next tick
        context.job_queue.run_once(reminder_job, 0, name=f"{JOB_NAME}-notice-{notice.id}")
