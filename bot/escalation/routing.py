"""Who hears about a case, and by when the trainee is promised an answer.

`route(case, roster, now)` is a pure function of the case, the roster and the time:

- crisis: the counselors on duty and the desk chat, at once (urgent);
- academic: the trainee's faculty mentor;
- wellbeing, health, safety, family (and sensitive cases without a topic): the counselors on
  duty, a Spanish speaker first when the trainee writes Spanish;
- exams: exam staff; visa, housing, finance, conduct...: the staff who list that topic; a
  sensitive case whose topic nobody lists goes to the counselors;
- anything else: the desk chat.

The topics are one vocabulary (`bot.topics`), shared with triage, the roster and the texts.

When nobody routed is on duty (outside working hours): the backup person and the desk. A sensitive
case never goes to the desk group unless no person is routed; a crisis always does, and the
channel sends the group a redacted card (see `Routing.sensitive`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.escalation.hours import WeeklyHours
from bot.escalation.roster import Person, Roster
from bot.topics import COUNSELING_TOPICS, SENSITIVE_TOPICS, as_topic

SENSITIVE_REASONS = frozenset({"crisis", "sensitive"})


class CaseLike(Protocol):
    user_id: int
    username: str | None
    language: str
    reason: str
    topic: str | None
    sensitive: bool


@dataclass(frozen=True)
class Routing:
    recipients: list[Person]
    desk_chat: bool
    urgent: bool
    reason: str  # why, for the audit trail and the case card ("academic: faculty mentor")
    sensitive: bool = False
    after_hours: bool = False
    recipient_ids: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        object.__setattr__(self, "recipient_ids", [p.id for p in self.recipients])


def is_sensitive(reason: str | None, topic: str | None) -> bool:
    return (reason in SENSITIVE_REASONS) or (topic in SENSITIVE_TOPICS)


def route(case: CaseLike, roster: Roster, now: datetime) -> Routing:
    local = roster.local(now)
    sensitive = bool(getattr(case, "sensitive", False)) or is_sensitive(case.reason, case.topic)

    def on_duty(people: list[Person]) -> list[Person]:
        return [p for p in people if p.available(local)]

    if case.reason == "crisis":
        counselors = _language_first(on_duty(roster.with_role("counselor")), case.language)
        if counselors:
            return Routing(counselors, True, True, "crisis: counselors on duty", sensitive=True)
        return _fallback(
            roster, "crisis: no counselor on duty", urgent=True, sensitive=True, desk=True
        )

    topic = as_topic(case.topic)
    if topic == "academic":
        mentor = roster.mentor_for(case.user_id, case.username)
        if mentor is None:
            return Routing([], True, False, "academic: no mentor on the roster for this trainee")
        if mentor.available(local):
            return Routing([mentor], False, False, "academic: faculty mentor", sensitive=sensitive)
        return _fallback(roster, "academic: mentor off duty", sensitive=sensitive)

    if topic in COUNSELING_TOPICS or (topic in (None, "other") and sensitive):
        candidates, why = roster.with_role("counselor"), f"{topic or 'sensitive'}: counselors"
    elif topic == "exams":
        candidates, why = roster.with_role("exam_staff"), "exams: exam staff"
    elif topic and topic != "other":
        candidates, why = roster.with_topic(topic), f"{topic}: staff for this topic"
        if not candidates and sensitive:
            candidates, why = roster.with_role("counselor"), f"{topic}: nobody listed, counselors"
    else:
        candidates, why = [], ""

    if not candidates:
        return Routing([], True, False, f"{topic or 'general'}: desk", sensitive=sensitive)
    available = _language_first(on_duty(candidates), case.language)
    if available:
        return Routing(available, False, False, why, sensitive=sensitive)
    return _fallback(roster, f"{why} off duty", sensitive=sensitive)


def _fallback(
    roster: Roster, why: str, *, urgent: bool = False, sensitive: bool = False, desk: bool = False
) -> Routing:
    """Nobody routed is on duty: the backup person, and the desk unless the case is sensitive."""
    backup = [roster.backup] if roster.backup else []
    desk_chat = desk or not sensitive or not backup
    return Routing(
        backup, desk_chat, urgent, f"{why}: backup and desk", sensitive, after_hours=True
    )


def _language_first(people: list[Person], language: str) -> list[Person]:
    """Stable order with the people who speak the trainee's language first."""
    return sorted(people, key=lambda p: not p.speaks(language))


# --- the reply promise --------------------------------------------------


class HoursLike(Protocol):
    counseling_hours: str
    response_promise_hours: float
    next_day_reply_by: str
    timezone: str


def reply_promise(
    now: datetime, settings: HoursLike, *, holidays: frozenset | set = frozenset()
) -> datetime:
    """Inside Counseling Center hours: now + N hours. Otherwise: `next_day_reply_by` (10:00) on the
    next working day (today when the centre has not opened yet). Returns an aware local time.
    """
    tz = ZoneInfo(settings.timezone)
    local = now.astimezone(tz)
    hours = WeeklyHours.parse(settings.counseling_hours)
    if hours.is_open(local) and local.date() not in holidays:
        return local + timedelta(hours=settings.response_promise_hours)
    hh, _, mm = settings.next_day_reply_by.partition(":")
    day = local.date()
    for _ in range(30):
        candidate = datetime(day.year, day.month, day.day, int(hh), int(mm or 0), tzinfo=tz)
        if candidate > local and hours.is_working_day(day.weekday()) and day not in holidays:
            return candidate
        day += timedelta(days=1)
    raise ValueError(f"no working day within 30 days in {settings.counseling_hours!r}")
