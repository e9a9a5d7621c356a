"""The weekly picture in the desk group: a JobQueue job and its two buttons.

`register(application)` schedules `weekly_report` with `run_daily` on `PUENTE_REPORT_WEEKDAY`
at `PUENTE_REPORT_TIME` in the roster's time zone (no roster, no desk group: no job). It reports
the 7 days before today (sent on a Monday: Monday to Sunday of last week) as one photo whose
caption is the summary, with two buttons: `report:gaps` (the declined questions grouped by
meaning, last 7 days) and `report:faq` (the FAQ candidates waiting), for roster people only.

Every replica runs the job; the week is claimed in `report_runs` first (`bot.report.runs`), so
one replica sends it. A send that fails gives the claim back and is tried again `RETRY_S` later,
at most `ATTEMPTS` times. One message (the photo with its caption and buttons) means a retry
never leaves half a report behind.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from datetime import date, datetime, time, timedelta
from pathlib import Path

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes

from bot.i18n import t
from bot.report import embed_with, make_report
from bot.report.figures import Window, declined_clusters, faq_waiting
from bot.report.runs import claim_week, mark_sent, release, week_key
from bot.report.summary import shorten
from bot.storage.types import utcnow

from .desk.helpers import fit

logger = logging.getLogger(__name__)

JOB_NAME = "weekly-report"
GAPS, FAQ = "report:gaps", "report:faq"
PTB_DAYS = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}  # PTB: 0 = Sunday
MAX_CAPTION = 1024  # a photo's caption, in UTF-16 units
RETRY_S = 600.0
ATTEMPTS = 3
GAP_LINES = 10
CATCH_UP_S = 90.0  # after start, once the bot is up and the outbox drained
CATCH_UP_WITHIN = timedelta(hours=24)  # a report due this long ago is still sent at start


def register(application: Application) -> None:
    """The weekly job (with a roster and a JobQueue) and the handler of its buttons."""
    application.add_handler(CallbackQueryHandler(on_button, pattern=f"^({GAPS}|{FAQ})$"))
    services = application.bot_data.get("services")
    roster = getattr(getattr(services, "desk", None), "roster", None)
    if roster is None:
        logger.info("no roster: the weekly report is not sent")
        return
    if application.job_queue is None:
        logger.warning("no JobQueue: the weekly report is not sent")
        return
    settings = services.settings
    hour, minute = (int(part) for part in settings.report_time.split(":"))
    application.job_queue.run_daily(
        weekly_report, time(hour, minute, tzinfo=roster.tz),
        days=(PTB_DAYS[settings.report_weekday],), name=JOB_NAME,
    )  # fmt: skip
    # Down at the time (a restart, a replica killed while sending): this week's report is
    # caught up soon after start, unless it was sent already.
    application.job_queue.run_once(catch_up, CATCH_UP_S, name=f"{JOB_NAME}-catch-up")


def last_due_day(local_now: datetime, weekday: str, at: time, *, within: timedelta = CATCH_UP_WITHIN) -> date | None:
    """The day of the scheduled report due at most `within` before `local_now`, or None (a bot
    started days after the report was due sends nothing old)."""
    target = PTB_DAYS[weekday]  # sun=0 … sat=6, as isoweekday() % 7
    for back in range(2):
        day = local_now.date() - timedelta(days=back)
        due = datetime.combine(day, at, tzinfo=local_now.tzinfo)
        if day.isoweekday() % 7 == target and due <= local_now <= due + within:
            return day
    return None


async def catch_up(context: ContextTypes.DEFAULT_TYPE) -> None:
    services = context.bot_data["services"]
    roster = getattr(services.desk, "roster", None)
    if roster is None:
        return
    settings = services.settings
    hour, minute = (int(part) for part in settings.report_time.split(":"))
    day = last_due_day(roster.local(utcnow()), settings.report_weekday, time(hour, minute))
    if day is None:
        return
    try:
        await send_weekly_report(context.bot, services, now=utcnow(), day=day)
    except Exception:  # logged; the next week's run is unaffected
        logger.exception("catching up the weekly report failed")


def database_of(services):
    """The database the services share (the user store's, the question log's, the desk's)."""
    for member in (services.users, getattr(services, "questions", None), services.desk):
        db = getattr(member, "db", None)
        if db is not None:
            return db
    return None


def embed_of(services):
    """Group declined questions with the assistant's own embedder (loaded once already)."""
    embedder = getattr(getattr(services.assistant, "retriever", None), "embedder", None)
    return embed_with(embedder) if embedder is not None else None


async def weekly_report(context: ContextTypes.DEFAULT_TYPE) -> None:
    attempt = (context.job.data or 1) if context.job is not None else 1
    try:
        await send_weekly_report(context.bot, context.bot_data["services"], now=utcnow())
    except Exception:
        retry = attempt < ATTEMPTS and context.job_queue is not None
        logger.exception(
            "the weekly report was not sent (attempt %d of %d)%s", attempt, ATTEMPTS,
            f"; trying again in {RETRY_S:g} s" if retry else "",
        )  # fmt: skip
        if retry:
            context.job_queue.run_once(
                weekly_report, RETRY_S, data=attempt + 1, name=f"{JOB_NAME}-retry"
            )


async def send_weekly_report(bot, services, *, now: datetime, day: date | None = None) -> str:
    """Send the report of the 7 days before `day` (default: today) to the desk group once:
    "sent"; "taken" when that week's report was claimed already (another replica, an earlier
    run); "off" without a desk or database. A failed send releases the claim and re-raises."""
    roster = getattr(services.desk, "roster", None)
    db = database_of(services)
    if roster is None or db is None:
        return "off"
    window = Window.week_before(day or roster.local(now).date(), roster.tz)
    week = week_key(window.first_day)
    if not await asyncio.to_thread(claim_week, db, week, now):
        logger.info("the weekly report of %s is another replica's (or sent already)", week)
        return "taken"
    settings = services.settings
    try:
        with tempfile.TemporaryDirectory(prefix="puente-report-") as tmp:
            report = await asyncio.to_thread(
                make_report, db, window, Path(tmp), promise_hours=settings.response_promise_hours,
                language=settings.report_language, embed=embed_of(services),
            )  # fmt: skip
            with report.written.png.open("rb") as photo:
                await bot.send_photo(
                    roster.desk.chat_id, photo, caption=fit(report.summary, MAX_CAPTION),
                    reply_markup=buttons(settings.report_language),
                    message_thread_id=roster.desk.thread_id,
                )  # fmt: skip
    except BaseException:
        await asyncio.to_thread(release, db, week)
        raise
    await asyncio.to_thread(mark_sent, db, week, utcnow())
    logger.info("the weekly report of %s was sent to the desk group", week)
    return "sent"


def buttons(language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(t(language, "report.buttons.gaps"), callback_data=GAPS),
        InlineKeyboardButton(t(language, "report.buttons.faq"), callback_data=FAQ),
    ]])  # fmt: skip


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """`report:gaps`: the declined questions of the last 7 days, grouped; `report:faq`: the
    FAQ candidates waiting. Roster people only."""
    query = update.callback_query
    services = context.bot_data["services"]
    language = services.settings.report_language
    desk = services.desk
    db = database_of(services)
    if desk is None or db is None or desk.person(query.from_user.id) is None:
        await query.answer(t(language, "report.not_allowed"), show_alert=True)
        return
    await query.answer()
    if query.data == GAPS:
        text = await asyncio.to_thread(gaps_text, db, services, language, utcnow())
    else:
        count = await asyncio.to_thread(faq_waiting, db)
        text = t(language, "report.summary.faq", count=count)
    message = query.message
    topic = message.message_thread_id if getattr(message, "is_topic_message", False) else None
    await context.bot.send_message(message.chat.id, fit(text), message_thread_id=topic)


def gaps_text(db, services, language: str, now: datetime) -> str:
    """The declined questions of the 7 days up to today, grouped by meaning, largest first."""
    roster = services.desk.roster
    today = roster.local(now).date()
    window = Window(today - timedelta(days=6), today, roster.tz)
    clusters = declined_clusters(db, window, embed=embed_of(services))
    if not clusters:
        return t(language, "report.gaps_none")
    lines = [t(language, "report.gaps_heading")]
    lines += [f"• {c.size}× {shorten(c.example)}" for c in clusters[:GAP_LINES]]
    return "\n".join(lines)
