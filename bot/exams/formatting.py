"""Writing sessions and dates for people; all words come from bot/locales/exams.<lang>.yaml."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time

from bot.exams.model import ExamSession
from bot.i18n import t
from bot.records import Language


def format_date(d: date, language: Language, *, weekday: bool = True) -> str:
    """"Saturday, March 6, 2027" / "sábado 6 de marzo de 2027" / "2027年3月6日（星期六）"."""
    values = dict(year=d.year, month=t(language, f"exams.months.m{d.month}"), day=d.day)
    if weekday:
        return t(language, "exams.date_long", weekday=t(language, f"exams.weekdays.d{d.weekday()}"),
                 **values)
    return t(language, "exams.date_short", **values)


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def _field_text(s: ExamSession, name: str, language: Language, today: date | None) -> str:
    if name == "room":
        return t(language, "exams.field.room", room=s.room, building=s.building)
    if name == "checkin":
        return t(language, "exams.field.checkin", time=_hhmm(s.checkin_opens))
    if name == "start":
        return t(language, "exams.field.start", time=_hhmm(s.starts))
    if name == "end":
        return t(language, "exams.field.end", time=_hhmm(s.ends))
    if name == "seats":
        return t(language, "exams.field.seats", seats=s.seats)
    if name == "language":
        return t(language, "exams.field.language", language=t(language, f"exams.language.{s.language}"))
    if name == "deadline":
        text = t(language, "exams.field.deadline", date=format_date(s.registration_deadline, language))
        if today is not None and s.registration_deadline < today:
            text += t(language, "exams.closed")
        return text
    if name == "date":
        return format_date(s.date, language)
    raise ValueError(f"unknown field {name!r}")


def format_session_line(s: ExamSession, language: Language, fields: Iterable[str],
                        today: date | None = None) -> str:
    """One line: id, level, date, room (always), then the asked fields."""
    held = t(language, "exams.held") if today is not None and s.date < today else ""
    parts = [
        t(language, "exams.line_head", session_id=s.session_id, level=s.level,
          date=format_date(s.date, language), held=held),
        _field_text(s, "room", language, today),
    ]
    parts += [_field_text(s, f, language, today) for f in fields if f not in ("date", "room")]
    return "• " + t(language, "exams.separator").join(parts)


def format_session(session: ExamSession, language: Language) -> str:
    """One session in full, several lines."""
    s = session
    return t(
        language, "exams.full",
        session_id=s.session_id, level=s.level, date=format_date(s.date, language),
        checkin=_hhmm(s.checkin_opens), start=_hhmm(s.starts), end=_hhmm(s.ends),
        building=s.building, room=s.room, seats=s.seats,
        deadline=format_date(s.registration_deadline, language),
        language=t(language, f"exams.language.{s.language}"),
    ).rstrip()
