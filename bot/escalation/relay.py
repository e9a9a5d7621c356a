"""What the desk says, and to whom: localized texts written to the outbox.

Buttons are stored transport-neutral: `{"buttons": [[{"text": "Claim", "data": "desk:claim:12"}]]}`;
the channel turns them into its own keyboard (for Telegram, an InlineKeyboardMarkup). Every
message has a dedupe key built from the case, its round (reopen count) and the step, so calling
these functions again after a crash enqueues nothing twice.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.escalation.cases import Case, CaseMessage
from bot.escalation.roster import Person, Roster
from bot.escalation.routing import Routing
from bot.i18n import Translator
from bot.outbox import Outbox
from bot.textsplit import split_text

WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# What a person's text must not carry to a counselor: control characters (but new lines and
# tabs), and the bidirectional overrides and isolates that reorder what the reader sees.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]"
)


def clean(text: str | None) -> str:
    """A trainee's name or text as counselors read it: no control or bidi-override characters."""
    return _UNSAFE.sub("", text or "")
MAX_CONTEXT_LINES = 6


def buttons(*rows: list[tuple[str, str]]) -> dict:
    return {"buttons": [[{"text": text, "data": data} for text, data in row] for row in rows]}


def format_when(tr: Translator, lang: str, when: datetime, now: datetime) -> str:
    """ "today at 11:30", "tomorrow at 10:00" or "Monday 2026-09-07 at 10:00" in `when`'s zone."""
    now = now.astimezone(when.tzinfo)
    clock = when.strftime("%H:%M")
    if when.date() == now.date():
        return tr.t(lang, "desk.when_today", time=clock)
    if when.date() == now.date() + timedelta(days=1):
        return tr.t(lang, "desk.when_tomorrow", time=clock)
    weekday = tr.t(lang, f"desk.weekdays.{WEEKDAY_KEYS[when.weekday()]}")
    return tr.t(lang, "desk.when_day", weekday=weekday, date=when.strftime("%Y-%m-%d"), time=clock)


def ack_text(tr: Translator, case: Case, promise: datetime, now: datetime) -> str:
    """What the trainee reads: a person will answer, and by when (crisis lines for a crisis)."""
    if case.reason == "crisis":
        key = "desk.ack_crisis"
    else:  # /human alone: nothing passed on yet, so ask what it is about
        key = "desk.ack" if case.text.strip() else "desk.ack_no_message"
    when = format_when(tr, case.language, promise, now)
    return tr.t(case.language, key, name=case.name, when=when)


def case_card(
    tr: Translator, lang: str, case: Case, routing: Routing | None, when: str | None
) -> str:
    """The full card a routed counselor reads."""
    t = lambda key, **kw: tr.t(lang, f"desk.card.{key}", **kw)
    title = t(
        "title",
        case_id=case.id,
        reason=tr.t(lang, f"desk.reasons.{case.reason}"),
        topic=tr.t(lang, f"desk.topics.{case.topic or 'none'}"),
    )
    parts = [f"{t('urgent')} · {title}" if case.urgent else title]
    # The stable identity next to the display name (anyone can call themselves anything).
    username = f" · @{clean(case.username)}" if case.username else ""
    parts.append(
        t("who", name=clean(case.name), user_id=case.user_id, username=username,
          language=case.language)
    )  # fmt: skip
    parts.append(t("message", text=clean(case.text)) if case.text.strip() else t("no_message"))
    if case.context:
        lines = "\n".join(f"› {clean(line)}" for line in case.context[-MAX_CONTEXT_LINES:])
        parts.append(t("context", lines=lines))
    if case.draft_answer:
        parts.append(t("draft", answer=case.draft_answer))
    if case.sources:
        parts.append(t("sources", sources=", ".join(case.sources)))
    if routing is not None:
        parts.append(t("routing", why=routing.reason))
    if case.urgent:  # never "by tomorrow at 10:00" for a crisis
        parts.append(t("promise_urgent"))
    elif when:
        parts.append(t("promise", when=when))
    parts.append(t("how_to_reply"))
    return "\n\n".join(parts)


def notify_new_case(
    case: Case,
    routing: Routing,
    roster: Roster,
    outbox: Outbox,
    tr: Translator,
    *,
    promise: datetime,
    now: datetime,
    ack: bool = True,
    key: str | None = None,
) -> list[int]:
    """The trainee's acknowledgement, the routed people's cards and the desk's card (for a
    sensitive case without name or text). Returns the outbox ids. `key`: the dedupe prefix
    (default: the case and its round)."""
    ids: list[int] = []
    key = key or f"case:{case.id}:r{case.round}"
    if ack:
        ids.append(
            outbox.enqueue(
                case.chat_id,
                ack_text(tr, case, promise, now),
                kind="ack",
                case_id=case.id,
                dedupe_key=f"{key}:ack",
            )  # fmt: skip
        )
    for person in routing.recipients:
        lang = _lang(person.language)
        card = case_card(tr, lang, case, routing, format_when(tr, lang, promise, now))
        ids.append(
            outbox.enqueue(
                person.id,
                card,
                kind="card",
                case_id=case.id,
                dedupe_key=f"{key}:card:{person.id}",
                reply_markup_json=claim_buttons(tr, lang, case),
            )  # fmt: skip
        )
    if routing.desk_chat:
        lang = _lang(roster.desk.language)
        if routing.sensitive or case.sensitive:
            names = ", ".join(p.name for p in routing.recipients)
            text = tr.t(
                lang, "desk.card.redacted" if names else "desk.card.redacted_unrouted",
                case_id=case.id, language=case.language,
                reason=tr.t(lang, f"desk.reasons.{case.reason}"), recipients=names,
            )  # fmt: skip
        else:
            text = case_card(tr, lang, case, routing, format_when(tr, lang, promise, now))
        ids.append(
            outbox.enqueue(
                roster.desk.chat_id,
                text,
                kind="desk_card",
                case_id=case.id,
                dedupe_key=f"{key}:desk",
                thread_id=roster.desk.thread_id,
                reply_markup_json=claim_buttons(tr, lang, case),
            )  # fmt: skip
        )
    return ids


def notify_crisis_in_case(
    case: Case, message_id: int, text: str, routing: Routing, roster: Roster, outbox: Outbox,
    tr: Translator,
) -> list[int]:  # fmt: skip
    """Urgent cards for a crisis message inside an open case: the routed people read it in full;
    the desk group gets a redacted notice when people were routed, the card otherwise."""
    ids: list[int] = []
    key = f"case:{case.id}:crisis:{message_id}"
    for person in routing.recipients:
        lang = _lang(person.language)
        ids.append(
            outbox.enqueue(
                person.id,
                tr.t(lang, "desk.crisis_in_case", case_id=case.id, name=clean(case.name),
                     text=clean(text)),
                kind="card", case_id=case.id, dedupe_key=f"{key}:card:{person.id}",
                reply_markup_json=claim_buttons(tr, lang, case),
            )  # fmt: skip
        )
    if routing.desk_chat:
        lang = _lang(roster.desk.language)
        names = ", ".join(p.name for p in routing.recipients) or "—"
        text_desk = tr.t(lang, "desk.crisis_in_case_redacted", case_id=case.id, recipients=names)
        ids.append(
            outbox.enqueue(
                roster.desk.chat_id, text_desk, kind="desk_card", case_id=case.id,
                dedupe_key=f"{key}:desk", thread_id=roster.desk.thread_id,
                reply_markup_json=claim_buttons(tr, lang, case),
            )  # fmt: skip
        )
    return ids


RELAY_LIMIT = 4000  # UTF-16 units per relayed message (Telegram's limit is 4096)


def enqueue_parts(
    outbox: Outbox, chat_id: int, text: str, *, dedupe_key: str, limit: int = RELAY_LIMIT,
    **options,
) -> int:  # fmt: skip
    """A relayed text in as many messages as it takes, never cut: the first under `dedupe_key`,
    the next ones under `<key>:p2`, `<key>:p3`... (the per-chat order keeps them in sequence).
    Returns the first row's id."""
    parts = split_text(text, limit) or [text]
    first = outbox.enqueue(chat_id, parts[0], dedupe_key=dedupe_key, **options)
    for number, part in enumerate(parts[1:], start=2):
        outbox.enqueue(chat_id, part, dedupe_key=f"{dedupe_key}:p{number}", **options)
    return first


def relay_to_trainee(
    case: Case, counselor: Person | None, message: CaseMessage, outbox: Outbox, tr: Translator,
    *, copy_from: tuple[int, int] | None = None,
) -> int:  # fmt: skip
    """The counselor's message to the trainee; with `copy_from` (a photo, a voice note...), a copy
    of it right after (the per-chat order keeps the two together)."""
    name = counselor.name if counselor else ""
    text = tr.t(case.language, "desk.from_counselor", name=name, text=message.text)
    first = enqueue_parts(
        outbox, case.chat_id, text, kind="relay_out", case_id=case.id,
        dedupe_key=f"msg:{message.id}",
    )  # fmt: skip
    if copy_from is not None:
        outbox.enqueue(
            case.chat_id, message.text, kind="relay_out", case_id=case.id,
            dedupe_key=f"msg:{message.id}:copy", copy_from=copy_from,
        )  # fmt: skip
    return first


def relay_to_counselors(
    case: Case, message: CaseMessage, roster: Roster, outbox: Outbox, tr: Translator,
    *, copy_from: tuple[int, int] | None = None, caution: bool = False,
) -> list[int]:  # fmt: skip
    """A trainee's new message: to the assignee, else to everyone the case was routed to.
    `caution`: triage heard a possible danger in it (below the crisis line); the counselors'
    copy says so (people in private only: never a group)."""
    targets = [case.assigned_to] if case.assigned_to else list(case.routed_to)
    ids = []
    for person_id in targets:
        person = roster.person(person_id)
        lang = _lang(person.language if person else "en")
        text = tr.t(lang, "desk.from_trainee", case_id=case.id, name=clean(case.name),
                    text=clean(message.text))  # fmt: skip
        if caution:
            text = tr.t(lang, "desk.possible_risk") + "\n" + text
        ids.append(
            enqueue_parts(
                outbox, person_id, text, kind="relay_in", case_id=case.id,
                dedupe_key=f"msg:{message.id}:to:{person_id}",
            )  # fmt: skip
        )
        if copy_from is not None:  # to people in private only: never a group
            outbox.enqueue(
                person_id, clean(message.text), kind="relay_in", case_id=case.id,
                dedupe_key=f"msg:{message.id}:to:{person_id}:copy", copy_from=copy_from,
            )  # fmt: skip
    return ids


def notify_claimed(case: Case, counselor: Person, outbox: Outbox, tr: Translator) -> int:
    text = tr.t(case.language, "desk.claimed_trainee", counselor=counselor.name)
    return outbox.enqueue(
        case.chat_id, text, kind="claimed", case_id=case.id,
        # One per taking: the same person may get the case back in the same round.
        dedupe_key=f"case:{case.id}:r{case.round}:claimed:{counselor.id}:"
        f"{case.claimed_at.timestamp() if case.claimed_at else 0}",
    )  # fmt: skip


def notify_resolved(case: Case, outbox: Outbox, tr: Translator, *, reopen_hours: float) -> int:
    lang = case.language
    text = (
        tr.t(lang, "desk.resolved_trainee", hours=f"{reopen_hours:g}")
        + "\n\n"
        + tr.t(lang, "desk.rate_prompt")
    )
    markup = buttons([(str(n), f"desk:rate:{case.id}:r{case.round}:{n}") for n in range(1, 6)])
    return outbox.enqueue(
        case.chat_id, text, kind="resolved", case_id=case.id,
        dedupe_key=f"case:{case.id}:r{case.round}:resolved", reply_markup_json=markup,
    )  # fmt: skip


def claim_buttons(tr: Translator, lang: str, case: Case) -> dict:
    return buttons(
        [
            (tr.t(lang, "desk.buttons.claim"), f"desk:claim:{case.id}"),
            (tr.t(lang, "desk.buttons.resolve"), f"desk:resolve:{case.id}"),
        ]
    )


def _lang(language: str) -> str:
    return language if language in ("es", "en", "zh-TW") else "en"
