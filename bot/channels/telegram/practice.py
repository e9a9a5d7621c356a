"""/practice: a round of questions on the lessons' words, inline buttons, spaced repetition.

The round's state travels in the buttons' callback data ("pr:<lesson>:<asked>:<right>:<round start>:
<word>:<picked>:<reviews>", 64 bytes at most), so nothing of it lives in memory: a restart between two
presses loses nothing, and the progress itself is in the database (`bot.mandarin.practice`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    filters,
)

from bot.i18n import t
from bot.mandarin.practice import ROUND, UnknownWord

from .common import reply, services_of, ui_language

logger = logging.getLogger(__name__)

PREFIX = "pr:"

def register(application: Application) -> None:
    application.add_handler(
        CommandHandler("practice", practice, filters=filters.UpdateType.MESSAGE)
    )
    application.add_handler(CallbackQueryHandler(on_answer, pattern=f"^{PREFIX}"))

async def practice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/practice [lesson]: start a round (in private: it is the person's own progress)."""
    language = await ui_language(update, context)
    trainer = services_of(context).practice
    if update.effective_chat.type != ChatType.PRIVATE:
        await reply(update, context, t(language, "telegram.practice.private"))
        return
    if trainer is None:
        await reply(update, context, t(language, "telegram.practice.unavailable"))
        return
    lesson = None
    if context.args:
        arg = context.args[0].strip()
        if not arg.isdigit() or int(arg) not in trainer.lessons:
            await reply(update, context, t(language, "telegram.practice.bad_lesson",
                                           first=trainer.lessons[0], last=trainer.lessons[-1]))  # fmt: skip
            return
        lesson = int(arg)
    await _ask(update, context, language, lesson, asked=0, right=0, start=int(time.time()))

async def _ask(update: Update, context, language: str, lesson: int | None, asked: int, right: int,
               start: int) -> None:  # fmt: skip

    trainer = services_of(context).practice
    user_id = update.effective_user.id
    since = datetime.fromtimestamp(start, timezone.utc)
    question = await asyncio.to_thread(trainer.next_question, user_id, lesson, since=since)
    if question is None:
        key = "telegram.practice.done" if asked else "telegram.practice.nothing_due"
        await _send(update, context, t(language, key, right=right, total=asked,
                                       first=trainer.lessons[0], last=trainer.lessons[-1]))  # fmt: skip
        return
    word = trainer.words[question.entry]
    title = _lesson_title(context, word.lesson, language)
    header = t(language, "telegram.practice.header", lesson=title, n=asked + 1, total=ROUND)
    if question.direction == "meaning":
        text = t(language, "telegram.practice.ask_meaning", hanzi=word.hanzi, pinyin=word.pinyin)
        labels = [_meaning(trainer.words[i], language) for i in question.options]
    else:
        text = t(language, "telegram.practice.ask_characters", meaning=_meaning(word, language))
        labels = [f"{trainer.words[i].hanzi} {trainer.words[i].pinyin}" for i in question.options]
    state = f"{PREFIX}{lesson or 0}:{asked}:{right}:{start}:{question.entry}"
    buttons = [
        [InlineKeyboardButton(label[:60], callback_data=f"{state}:{option}:{question.reviews}")]
        for label, option in zip(labels, question.options, strict=True)
    ]
    await _send(update, context, f"{header}\n{text}", InlineKeyboardMarkup(buttons))

async def on_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:

    query = update.callback_query
    trainer = services_of(context).practice
    try:
        lesson, asked, right, start, entry, picked, reviews = (
            int(x) for x in query.data[len(PREFIX):].split(":")
        )
    except ValueError:
        await query.answer()
        return
    if trainer is None or query.message is None or query.message.chat.type != ChatType.PRIVATE:
        await query.answer()
        return
    language = await ui_language(update, context)
    try:
        outcome = await asyncio.to_thread(trainer.answer, query.from_user.id, entry, picked, reviews)
    except UnknownWord:  # the lessons changed since the question was asked
        await query.answer()
        await _send(update, context, t(language, "telegram.practice.changed"))
        return
    await query.answer()
    if not outcome.recorded:  # a second press on the same question
        return
    word = outcome.entry
    verdict = "right" if outcome.correct else "wrong"
    lines = [
        query.message.text or "",
        "",
        t(language, f"telegram.practice.{verdict}", hanzi=word.hanzi, pinyin=word.pinyin,
          meaning=_meaning(word, language)),  # fmt: skip
        t(language, "telegram.practice.next_review", when=_local(context, outcome.due)),
    ]
    try:
        await query.edit_message_text("\n".join(lines))
    except BadRequest as exc:  # the question is gone or unchanged: the answer is recorded anyway
        logger.debug("could not edit a practice question: %s", exc)
    asked, right = asked + 1, right + outcome.correct
    if asked >= ROUND:
        await _send(update, context, t(language, "telegram.practice.done", right=right, total=asked))
        return
    await _ask(update, context, language, lesson or None, asked, right, start)

async def _send(update: Update, context, text: str, markup=None) -> None:
    await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)

def _meaning(word, language: str) -> str:
    return (word.spanish if language == "es" else word.english) or word.english

def _lesson_title(context, lesson: int, language: str) -> str:
    found = services_of(context).practice.vocabulary.lessons.get(lesson)
    if found is None:
        return str(lesson)
    return found.titles.get(language) or found.titles.get("en") or str(lesson)

def _local(context, when) -> str:
    if when is None:
        return "-"
    zone = ZoneInfo(services_of(context).settings.timezone)
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M")
