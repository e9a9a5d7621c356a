"""The learning loop in Telegram: "Save as FAQ" on a resolved card, the draft, the admins' review.

* A resolved case's card carries "💡 Save as FAQ" (`faq:draft:<case>`). The presser gets the draft
  in private (personal details removed) with Submit / Discard; replying to the draft corrects it.
* Submitted, it goes to every desk admin in private as a review card (Approve / Reject); replying
  to that card corrects it, or adds a language's version when the reply starts with «en:».
  Approval writes and indexes the files before the admin is told so.
* `/faq` (desk admins) lists the candidates waiting.

Every call goes to `bot.learning.faq.FaqDesk` (`Services.faq`) in a thread; it authorizes each
action by the desk's one policy and a refusal (`NotAllowed`) becomes a message. The draft and
review cards are interface messages sent to the person who acts, so they are sent directly;
their text carries "FAQ #N", which is how a reply to one is recognized (only a reply to a
message this bot sent).
"""

from __future__ import annotations

import asyncio
import logging
import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import Forbidden, TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.errors import PuenteError
from bot.i18n import t
from bot.learning.faq import EmptyDraft, FaqStateError
from bot.learning.store import Candidate

from .helpers import fit, staff_language

logger = logging.getLogger(__name__)

PREFIX = "faq:"
# The first line of a draft or review card (faq.draft / faq.review in every language): only a
# reply to one of those is an edit. A relayed message quoting "FAQ #2" starts otherwise.
CARD_TAG = re.compile(r"(?:💡|📝) (?:FAQ|常見問題) #(\d+) · ")
_LANGUAGE_PREFIX = re.compile(r"^\s*(es|en|zh-TW|zh)\s*[:：]\s*", re.IGNORECASE)


def faq_of(context):
    services = context.bot_data.get("services")
    return getattr(services, "faq", None) if services is not None else None


def render(lang: str, candidate: Candidate, *, review: bool, removed: tuple[str, ...] = ()) -> str:
    first = candidate.variants[0]
    if review:
        cases = ", ".join(f"#{i}" for i in candidate.case_ids) or "-"
        lines = [t(lang, "faq.review", candidate_id=candidate.id, cases=cases)]
    else:
        lines = [t(lang, "faq.draft", candidate_id=candidate.id, case_id=first.case_id or "-")]
    if removed:
        lines.append(t(lang, "faq.removed", kinds=", ".join(removed)))
    for variant in candidate.variants:  # ✓: approved already (published); the others are new
        mark = "✓ " if variant.approved else ""
        lines += ["", mark + t(lang, "faq.variant", language=variant.language,
                               question=variant.question, answer=variant.answer)]  # fmt: skip
    if candidate.existing:
        source, section = candidate.existing
        lines += ["", t(lang, "faq.existing", source=source, section=section)]
    lines += ["", t(lang, "faq.review_hint" if review else "faq.draft_hint")]
    return fit("\n".join(lines))


def draft_keyboard(lang: str, candidate: Candidate) -> InlineKeyboardMarkup:
    n = candidate.id
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(t(lang, "faq.submit_button"), callback_data=f"{PREFIX}submit:{n}"),
        InlineKeyboardButton(t(lang, "faq.discard_button"), callback_data=f"{PREFIX}discard:{n}"),
    ]])  # fmt: skip


def review_keyboard(lang: str, candidate: Candidate) -> InlineKeyboardMarkup:
    """Approve / Reject what this card shows: the buttons carry the candidate's revision."""
    n, rev = candidate.id, candidate.revision
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(t(lang, "faq.approve_button"), callback_data=f"{PREFIX}approve:{n}:{rev}"),
        InlineKeyboardButton(t(lang, "faq.reject_button"), callback_data=f"{PREFIX}reject:{n}:{rev}"),
    ]])  # fmt: skip


def withdraw_keyboard(lang: str, candidate: Candidate) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(
        t(lang, "faq.withdraw_button"), callback_data=f"{PREFIX}withdraw:{candidate.id}"
    )]])  # fmt: skip


async def on_faq_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    faq = faq_of(context)
    parts = query.data.removeprefix(PREFIX).split(":")
    if faq is None or len(parts) not in (2, 3) or not all(p.isdigit() for p in parts[1:]):
        await query.answer()
        return
    action, number, actor = parts[0], int(parts[1]), query.from_user.id
    revision = int(parts[2]) if len(parts) == 3 else None
    person = faq.roster.person(actor)
    lang = staff_language(person) if person else "en"
    send = context.bot.send_message
    try:
        if action == "draft":
            draft = await asyncio.to_thread(faq.draft, number, actor)
            try:
                await send(actor, render(lang, draft.candidate, review=False, removed=draft.removed),
                           reply_markup=draft_keyboard(lang, draft.candidate))  # fmt: skip
            except Forbidden:  # pressed in the desk group by someone who never wrote to the bot
                await query.answer(t(lang, "faq.open_private"), show_alert=True)
                return
            await query.answer()
        elif action == "submit":
            done = await asyncio.to_thread(faq.submit, number, actor)
            key = "faq.merged" if done.merged else "faq.submitted"
            text = t(lang, key, candidate_id=done.candidate.id, languages=", ".join(done.candidate.languages))
            await query.answer()
            await _edit_markup(query)
            await send(actor, text)
            await send_review(context, faq, done.candidate)
        elif action == "discard":
            await asyncio.to_thread(faq.discard, number, actor)
            await query.answer(t(lang, "faq.discarded", candidate_id=number))
            await _edit_markup(query)
        elif action == "approve":
            await query.answer()
            try:
                candidate = await asyncio.to_thread(faq.approve, number, actor, revision=revision)
            except PuenteError:  # refused, changed or unknown: handled below
                raise
            except Exception:  # the files could not be indexed: put back, still waiting
                logger.exception("publishing FAQ %s failed", number)
                await send(actor, t(lang, "faq.publish_failed", candidate_id=number))
                return
            files = ", ".join(f"learned/faq-{candidate.id:04d}.{language}.md" for language in candidate.languages)
            await _edit_markup(query)
            await send(actor, t(lang, "faq.approved", candidate_id=number, files=files),
                       reply_markup=withdraw_keyboard(lang, candidate))  # fmt: skip
        elif action == "reject":
            candidate = await asyncio.to_thread(faq.reject, number, actor, revision=revision)
            key = "faq.rejected_addition" if candidate.status == "approved" else "faq.rejected"
            await query.answer(t(lang, key, candidate_id=number))
            await _edit_markup(query)
            await send(actor, t(lang, key, candidate_id=number))
        elif action == "withdraw":
            await query.answer()
            await asyncio.to_thread(faq.withdraw, number, actor)
            await _edit_markup(query)
            await send(actor, t(lang, "faq.withdrawn", candidate_id=number))
        else:
            await query.answer()
    except EmptyDraft:
        await query.answer(t(lang, "faq.no_reply", case_id=number), show_alert=True)
    except FaqStateError as exc:
        if exc.candidate.status == "pending" and action in ("approve", "reject"):
            await _safe_answer(query, t(lang, "faq.changed", candidate_id=number))
            await send(actor, render(lang, exc.candidate, review=True),
                       reply_markup=review_keyboard(lang, exc.candidate))  # fmt: skip
            return
        await _safe_answer(query, t(lang, "faq.wrong_state", candidate_id=number,
                                    status=exc.candidate.status))  # fmt: skip
    except PuenteError:  # NotAllowed, an unknown case or candidate: "not for you / not now"
        await _safe_answer(query, t(lang, "faq.not_allowed", candidate_id=number))
    except TelegramError as exc:  # a message to the actor failed; the action itself is done
        logger.warning("FAQ %s: could not tell %s: %s", number, actor, exc)


async def _safe_answer(query, text: str) -> None:
    """An alert on the button; a query answered already (before a slow approval) is left."""
    try:
        await query.answer(text, show_alert=True)
    except TelegramError:
        await query.get_bot().send_message(query.from_user.id, text)


async def send_review(context, faq, candidate: Candidate) -> None:
    """The review card to every desk admin, in private, each in their language."""
    for admin in faq.roster.with_role("desk_admin"):
        lang = staff_language(admin)
        try:
            await context.bot.send_message(
                admin.id, render(lang, candidate, review=True), reply_markup=review_keyboard(lang, candidate)
            )
        except TelegramError as exc:
            logger.warning("could not send FAQ %s for review to %s: %s", candidate.id, admin.id, exc)


async def on_faq_reply(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A roster person's reply, in private, to a draft or review card this bot sent: the
    corrected version. Anything else (a reply to a case card or a relayed message, whatever it
    says) passes on to the desk's gate untouched."""
    message = update.message
    faq = faq_of(context)
    if faq is None or message is None or message.chat.type != ChatType.PRIVATE or not message.text:
        return
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != context.bot.id:
        return
    match = CARD_TAG.match(replied.text or "")
    person = faq.roster.person(message.from_user.id)
    if match is None or person is None:
        return
    number, actor = int(match.group(1)), person.id
    lang = staff_language(person)
    text, language = message.text, None
    prefix = _LANGUAGE_PREFIX.match(text)
    if prefix:
        language = "zh-TW" if prefix.group(1).lower().startswith("zh") else prefix.group(1).lower()
        text = text[prefix.end():]
    try:
        edited = await asyncio.to_thread(faq.edit, number, actor, text, language=language)
    except EmptyDraft:
        await message.reply_text(t(lang, "faq.bad_edit"))
    except FaqStateError as exc:
        await message.reply_text(t(lang, "faq.wrong_state", candidate_id=number, status=exc.candidate.status))
    except PuenteError:
        await message.reply_text(t(lang, "faq.not_allowed", candidate_id=number))
    else:
        candidate = edited.candidate
        note = t(lang, "faq.edited", candidate_id=number)
        if edited.contains:
            note += "\n" + t(lang, "faq.contains", kinds=", ".join(edited.contains))
        await message.reply_text(note)
        review = candidate.status == "pending"
        markup = review_keyboard(lang, candidate) if review else draft_keyboard(lang, candidate)
        await context.bot.send_message(actor, render(lang, candidate, review=review), reply_markup=markup)
    raise ApplicationHandlerStop


async def faq_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/faq: the candidates waiting for review (desk admins), each as its review card."""
    faq = faq_of(context)
    if faq is None:
        return
    actor = update.effective_user.id
    person = faq.roster.person(actor)
    lang = staff_language(person) if person else "en"
    try:
        waiting = await asyncio.to_thread(faq.pending, actor)
    except PuenteError:
        await update.message.reply_text(t(lang, "faq.not_allowed", candidate_id="-"))
        return
    if not waiting:
        await update.message.reply_text(t(lang, "faq.pending_none"))
        return
    for candidate in waiting[:10]:
        await update.message.reply_text(render(lang, candidate, review=True),
                                        reply_markup=review_keyboard(lang, candidate))  # fmt: skip


async def _edit_markup(query) -> None:
    if query.message is None:
        return
    try:
        await query.message.edit_reply_markup(None)
    except TelegramError as exc:
        logger.debug("could not remove the buttons: %s", exc)
