"""Understanding a question: `parse_exam_question(text)` turns es / en / zh-TW into an `ExamQuery`.

Returns None when the question is not about the exam calendar (fees, rules, program exams...).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from bot.exams.model import BUILDING_ALIASES, FIELDS, LEVELS, DateSpec, ExamQuery
from bot.exams.patterns import (
    _AFTERNOON_WORDS,
    _CERT_WORDS,
    _CHECKIN_REMOVE,
    _CHECKIN_STRONG,
    _CHECKIN_WEAK,
    _CHINESE_WORDS,
    _DEADLINE_DATE,
    _DEADLINE_STRONG,
    _DEADLINE_WEAK,
    _DURATION,
    _EN_DM_RE,
    _EN_MD_RE,
    _EN_MONTH_ONLY_RE,
    _END_STRONG,
    _ENGLISH_WORDS,
    _ES_DATE_RE,
    _ES_MONTH_ONLY_RE,
    _EXAM_WORDS,
    _ISO_DATE_RE,
    _LANGUAGE_ASK,
    _LEVEL_RES,
    _LIST_WORDS,
    _MONTHS_EN,
    _MONTHS_ES,
    _MORNING_WORDS,
    _NEXT_WORDS,
    _NOT_ROOM_PREFIX,
    _PROGRAM_EXAM_WORDS,
    _REGISTRATION,
    _REGISTRATION_OPENS,
    _RELATIVE_DAYS,
    _ROOM_SPACED_RE,
    _ROOM_STRONG,
    _ROOM_TIGHT_RE,
    _ROOM_WEAK,
    _RULES_WORDS,
    _SEAT_COUNT,
    _SEATS,
    _SESSION_ID_RE,
    _SLASH_DATE_RE,
    _START_STRONG,
    _TIME_WEAK,
    _UPCOMING_WORDS,
    _WHEN_WORDS,
    _WORD_NUMBERS,
    _ZH_DATE_RE,
    _ZH_DIGITS,
    _ZH_MONTH_RE,
)
from bot.records import Language


def _zh_number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if not text or any(ch not in _ZH_DIGITS and ch != "十" for ch in text):
        return None
    if "十" in text:
        tens, _, units = text.partition("十")
        value = (_ZH_DIGITS[tens] if tens else 1) * 10 + (_ZH_DIGITS[units] if units else 0)
        return value
    if len(text) == 1:
        return _ZH_DIGITS[text]
    return None


def _year(text: str | None) -> int | None:
    if not text:
        return None
    y = int(text)
    if y < 1911:  # ROC (Minguo) year: 116年 = 2027
        y += 1911
    return y if 1990 <= y <= 2100 else None


def _valid(month: int | None, day: int | None) -> bool:
    if month is None or day is None or not 1 <= month <= 12:
        return False
    try:
        date(2028, month, day)  # a leap year, so Feb 29 is allowed
    except ValueError:
        return False
    return True


def _looks_spanish(text: str) -> bool:
    return bool(re.search(r"[¿¡ñáéíóú]|\b(?:cu[aá]ndo|examen|nivel|el|la|los|las|de|qu[eé]|hay)\b",
                          text, re.IGNORECASE))


def _blank(text: str, span: tuple[int, int]) -> str:
    return text[:span[0]] + " " * (span[1] - span[0]) + text[span[1]:]


def _parse_dates(text: str, day_first: bool) -> tuple[list[DateSpec], str]:
    found: list[DateSpec] = []

    def add(year: int | None, month: int | None, day: int | None) -> bool:
        if _valid(month, day):
            spec = DateSpec(month=month, day=day, year=year)  # type: ignore[arg-type]
            if spec not in found:
                found.append(spec)
            return True
        return False

    for m in list(_ISO_DATE_RE.finditer(text)):
        if add(int(m[1]), int(m[2]), int(m[3])):
            text = _blank(text, m.span())
    for m in list(_ZH_DATE_RE.finditer(text)):
        if m[3] is None:
            continue
        if add(_year(m[1]), _zh_number(m[2]), _zh_number(m[3])):
            text = _blank(text, m.span())
    for m in list(_ES_DATE_RE.finditer(text)):
        if add(_year(m[3]), _MONTHS_ES[m[2].lower()], int(m[1])):
            text = _blank(text, m.span())
    for m in list(_EN_MD_RE.finditer(text)):
        if add(_year(m[3]), _MONTHS_EN[m[1].lower()], int(m[2])):
            text = _blank(text, m.span())
    for m in list(_EN_DM_RE.finditer(text)):
        if add(_year(m[3]), _MONTHS_EN[m[2].lower()], int(m[1])):
            text = _blank(text, m.span())
    for m in list(_SLASH_DATE_RE.finditer(text)):
        a, b = int(m[1]), int(m[2])
        month, day = (b, a) if day_first else (a, b)
        if not _valid(month, day):
            month, day = day, month
        if add(_year(m[3]), month, day):
            text = _blank(text, m.span())
    return found, text


def _parse_month(text: str) -> tuple[tuple[int | None, int] | None, str]:
    months, text = _parse_months(text)
    return (months[0] if months else None), text


def _parse_months(text: str) -> tuple[list[tuple[int | None, int]], str]:
    """Every month a question names, in order ("2027 年 3 月和 4 月", "in March or April"); a
    month without a year takes the year named before it."""
    found: list[tuple[int | None, int]] = []
    for m in list(_ZH_MONTH_RE.finditer(text)):
        month = _zh_number(m[2])
        if month and 1 <= month <= 12:
            found.append((_year(m[1]), month))
            text = _blank(text, m.span())
    if not found:
        for m in list(_ES_MONTH_ONLY_RE.finditer(text)):
            found.append((_year(m[2]), _MONTHS_ES[m[1].lower()]))
            text = _blank(text, m.span())
        more = re.finditer(r"\b(?:y|o|e|u)\s+(" + "|".join(_MONTHS_ES) + r")\b", text, re.IGNORECASE)
        for m in (list(more) if found else []):
            found.append((None, _MONTHS_ES[m[1].lower()]))
            text = _blank(text, m.span())
    if not found:
        for m in list(_EN_MONTH_ONLY_RE.finditer(text)):
            name, year = (m[1], m[2]) if m[1] else (m[3], m[4])
            found.append((_year(year), _MONTHS_EN[name.lower()]))
            text = _blank(text, m.span())
        more = re.finditer(r"\b(?:and|or|&)\s+(" + "|".join(_MONTHS_EN) + r")\b", text, re.IGNORECASE)
        for m in (list(more) if found else []):
            found.append((None, _MONTHS_EN[m[1].lower()]))
            text = _blank(text, m.span())
    year = None
    months = []
    for y, month in found:
        year = y or year
        if (year, month) not in months:
            months.append((year, month))
    return months, text


def _deadline_dates(text: str, day_first: bool) -> list[DateSpec]:
    """The dates a question names as a registration deadline ("截止日是 2026-12-19")."""
    found: list[DateSpec] = []
    for m in _DEADLINE_DATE.finditer(text):
        for spec in _parse_dates(m["date"], day_first)[0]:
            if spec not in found:
                found.append(spec)
    return found


def _seat_count(text: str) -> int | None:
    m = _SEAT_COUNT.search(text)
    if not m:
        return None
    value = int(m["n1"] or m["n2"])
    return value if 1 <= value <= 500 else None


def _parse_level(text: str) -> int | None:
    for rx in _LEVEL_RES:
        m = rx.search(text)
        if m:
            raw = m[1].lower()
            value = _WORD_NUMBERS.get(raw) or _ZH_DIGITS.get(raw) or (int(raw) if raw.isdigit() else None)
            if value in LEVELS:
                return value
    return None


def parse_exam_question(
    text: str, language: Language | None = None, *, follow_up: bool = False
) -> ExamQuery | None:
    """What a question asks of the exam calendar, or None when it is not a calendar question.

    `language` (the asker's language) only decides how "6/3" is read: day/month for "es",
    month/day otherwise; without it, a Spanish-looking question reads day/month.
    `follow_up`: the message follows a calendar answer ("which room?", "那英文場次呢？"), so it
    need not say that it is about the exams; what it asks or names is returned.
    """
    if not text or not text.strip():
        return None
    norm = unicodedata.normalize("NFKC", text)
    work = norm

    ids: list[str] = []
    for m in _SESSION_ID_RE.finditer(work):
        if m[1].upper() in _NOT_ROOM_PREFIX:
            continue
        key = f"{m[1].upper()}{m[2]}{m[3]}"
        if key not in ids:
            ids.append(key)
        work = _blank(work, m.span())

    building = None
    low = work.lower()
    for name, aliases in BUILDING_ALIASES.items():
        for alias in sorted(aliases, key=len, reverse=True):
            pos = low.find(alias)
            if pos >= 0:
                building = name
                work = _blank(work, (pos, pos + len(alias)))
                low = work.lower()
                break
        if building:
            break

    room = None
    for rx in (_ROOM_TIGHT_RE, _ROOM_SPACED_RE):
        for m in rx.finditer(work):
            if m[1].upper() in _NOT_ROOM_PREFIX:
                continue
            room = f"{m[1].upper()}{m[2]}"
            work = _blank(work, m.span())
            break
        if room:
            break

    level = _parse_level(work)
    day_first = language == "es" or (language is None and _looks_spanish(norm))
    deadline_dates = _deadline_dates(work, day_first)
    dates, work = _parse_dates(work, day_first)
    dates = [d for d in dates if d not in deadline_dates]
    month, more_months = None, []
    if not dates and not deadline_dates:
        months, work = _parse_months(work)
        month, more_months = (months[0], months[1:]) if months else (None, [])
    seats = _seat_count(work)

    english, chinese = bool(_ENGLISH_WORDS.search(work)), bool(_CHINESE_WORDS.search(work))
    session_language = "en" if english and not chinese else "zh-TW" if chinese and not english else None

    relative_days = tuple(n for n, rx in _RELATIVE_DAYS if not dates and rx.search(work))
    morning, afternoon = bool(_MORNING_WORDS.search(work)), bool(_AFTERNOON_WORDS.search(work))
    part_of_day = "morning" if morning and not afternoon else "afternoon" if afternoon and not morning else None

    # What is asked
    asks: set[str] = set()
    strong: set[str] = set()
    rules = bool(_RULES_WORDS.search(work))
    if _CHECKIN_WEAK.search(work) or _CHECKIN_STRONG.search(work):
        asks.add("checkin")
        if _CHECKIN_STRONG.search(work):
            strong.add("checkin")
    rest = _CHECKIN_REMOVE.sub(" ", work)
    if _START_STRONG.search(rest):
        asks.add("start")
        if _TIME_WEAK.search(rest) or _WHEN_WORDS.search(rest):
            strong.add("start")
    if _END_STRONG.search(rest):
        asks.add("end")
        if _TIME_WEAK.search(rest) or _WHEN_WORDS.search(rest):
            strong.add("end")
    if _DURATION.search(rest):
        asks.update(("start", "end"))
    if _TIME_WEAK.search(rest) and not asks & {"checkin", "start", "end"}:
        asks.add("start")
    if _ROOM_STRONG.search(work):
        asks.add("room")
        strong.add("room")
    elif _ROOM_WEAK.search(work):
        asks.add("room")
    if _DEADLINE_STRONG.search(work):
        asks.add("deadline")
        strong.add("deadline")
    elif _DEADLINE_WEAK.search(work) or (_REGISTRATION.search(work) and _WHEN_WORDS.search(work)):
        asks.add("deadline")
        if _REGISTRATION.search(work):
            strong.add("deadline")
    if _REGISTRATION_OPENS.search(work):
        asks.discard("deadline")
        strong.discard("deadline")
        rules = True
    if _SEATS.search(work):
        asks.add("seats")
        strong.add("seats")
    if _LANGUAGE_ASK.search(work) or session_language:
        asks.add("language")
        if _LANGUAGE_ASK.search(work):
            strong.add("language")
    if _WHEN_WORDS.search(work):
        asks.add("date")

    next_intent = bool(_NEXT_WORDS.search(work))
    upcoming = bool(_UPCOMING_WORDS.search(work))
    listing = bool(_LIST_WORDS.search(work))

    # Is it a calendar question at all?
    program_exam = bool(_PROGRAM_EXAM_WORDS.search(work))
    exam_word = bool(_EXAM_WORDS.search(work))
    certification = bool(ids or level or room and exam_word or _CERT_WORDS.search(work))
    if follow_up and not ids:
        named = bool(level or session_language or dates or month or relative_days or part_of_day
                     or room or building or deadline_dates or seats)  # fmt: skip
        if program_exam and not certification or not (asks or named or next_intent or upcoming):
            return None
    elif not ids:
        if program_exam and not certification:
            return None  # a module / Chinese-course exam of the training program
        if not (exam_word or level or "deadline" in strong or room and strong - {"room"}):
            return None
        when_filters = bool(dates or month or relative_days or part_of_day or room or building
                            or deadline_dates or seats)  # fmt: skip
        if not (asks or next_intent or upcoming or listing or when_filters):
            return None
        filters = bool(level or session_language or when_filters)
        if listing and not filters and not next_intent:
            upcoming = True  # "Are there any exams?": the upcoming sessions
        if not filters and not (next_intent or upcoming or listing) and not asks & {"date", "deadline"}:
            return None  # "What time should I arrive for the exam?": a rules question
    if rules and not strong and not next_intent:
        return None  # "How much does the Level 2 exam cost?", "When are the results out?"

    return ExamQuery(
        text=text, session_ids=tuple(ids), level=level, dates=tuple(dates), month=month, room=room,
        building=building, session_language=None if ids else session_language,
        part_of_day=None if ids else part_of_day, relative_days=() if ids else relative_days,
        next=next_intent, upcoming=upcoming,
        asks=tuple(f for f in FIELDS if f in asks), mentions_rules=rules,
        deadline_dates=() if ids else tuple(deadline_dates), more_months=tuple(more_months),
        seats=None if ids else seats,
    )
