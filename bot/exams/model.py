"""The exam calendar's records and constants: the CSV columns, a session, a parsed question, a reply.

Also the small normalizers (session ids, rooms, languages, building names) that loading, queries
and question parsing share, `CalendarError` and `UnknownSession`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path

from bot.errors import PuenteError, SetupError
from bot.records import Citation

COLUMNS: tuple[str, ...] = (
    "session_id", "level", "date", "checkin_opens", "starts", "ends",
    "building", "room", "seats", "registration_deadline", "language",
)
LEVELS: tuple[int, ...] = (1, 2, 3)
SESSION_LANGUAGES: tuple[str, ...] = ("zh-TW", "en")
DEFAULT_SOURCE = "certification/exam-sessions.csv"
MAX_LISTED = 6  # sessions listed in one reply; the rest are counted
NOON = time(12, 0)  # before it a session is a morning one

# What a question can ask about one session (the "fields" of a reply).
FIELDS: tuple[str, ...] = ("room", "checkin", "start", "end", "date", "deadline", "seats", "language")
DEFAULT_FIELDS: tuple[str, ...] = ("checkin", "start", "language")

# Other names for the buildings in the CSV (lower case, matched in a question).
BUILDING_ALIASES: dict[str, tuple[str, ...]] = {
    "Computer Center Building": (
        "computer center building", "computer centre building", "computer center", "computer centre",
        "centro de cómputo", "centro de computo", "centro de computación", "centro de computacion",
        "edificio del centro de cómputo", "電算中心大樓", "電算中心", "電算大樓", "計中",
    ),
    "AI Innovation Building": (
        "ai innovation building", "ai innovation", "ai building",
        "edificio de innovación en ia", "edificio de innovacion en ia", "edificio de innovación",
        "edificio de ia", "人工智慧創新大樓", "人工智慧創新", "ai創新大樓", "ai 創新大樓", "創新大樓",
    ),
}


class CalendarError(SetupError, ValueError):
    """The exam calendar file is malformed; the message names the file, row and column."""

    def __init__(self, path: Path | str, message: str, *, row: int | None = None,
                 column: str | None = None) -> None:
        self.path = str(path)
        self.row = row
        self.column = column
        where = self.path
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")


class UnknownSession(PuenteError, KeyError):
    """A session id that is not in the exam calendar (a KeyError too, for callers that catch
    one)."""

    def __init__(self, session_id: str) -> None:
        super().__init__(session_id)
        self.session_id = session_id


@dataclass(frozen=True)
class ExamSession:
    session_id: str
    level: int
    date: date
    checkin_opens: time
    starts: time
    ends: time
    building: str
    room: str
    seats: int
    registration_deadline: date
    language: str  # "zh-TW" | "en": the language the exam is held in
    row: int  # row in the CSV file (header = row 1)

    @property
    def key(self) -> str:
        return normalize_session_id(self.session_id)


@dataclass(frozen=True)
class DateSpec:
    """A date as asked: the year may be missing ("March 6"), then any year matches."""

    month: int
    day: int
    year: int | None = None

    def matches(self, d: date) -> bool:
        return d.month == self.month and d.day == self.day and (self.year is None or d.year == self.year)


@dataclass(frozen=True)
class ExamQuery:
    """What a question asks of the exam calendar."""

    text: str
    session_ids: tuple[str, ...] = ()  # normalized ("SC270302")
    level: int | None = None
    dates: tuple[DateSpec, ...] = ()
    month: tuple[int | None, int] | None = None  # (year or None, month) for "exams in April"
    room: str | None = None  # normalized room code ("CC302")
    building: str | None = None  # a building name (canonical when it is a known alias)
    session_language: str | None = None  # "en" / "zh-TW" when the question names one
    relative_days: tuple[int, ...] = ()  # 0 = today, 1 = tomorrow, 2 = the day after tomorrow
    part_of_day: str | None = None  # "morning" / "afternoon" (by start time, noon split)
    next: bool = False  # "next", "próximo", "下一場", "最近"
    upcoming: bool = False  # plural "upcoming exams", "próximos exámenes", "接下來"
    asks: tuple[str, ...] = ()  # subset of FIELDS, in FIELDS order
    mentions_rules: bool = False  # the question also asks about fees, ID, refunds...
    deadline_dates: tuple[DateSpec, ...] = ()  # dates named as a registration deadline
    more_months: tuple[tuple[int | None, int], ...] = ()  # "March and April": April
    seats: int | None = None  # a seat count asked as a filter ("sessions with 30 seats")

    @property
    def has_filters(self) -> bool:
        return bool(self.session_ids or self.level or self.dates or self.month or self.room
                    or self.building or self.session_language or self.part_of_day
                    or self.relative_days or self.deadline_dates or self.seats)


@dataclass(frozen=True)
class CalendarAnswer:
    text: str
    sessions: tuple[ExamSession, ...]
    citations: tuple[Citation, ...]
    as_of: date
    found: bool = True


# --------------------------------------------------------------------------------------------
# Normalizing helpers
# --------------------------------------------------------------------------------------------

def normalize_session_id(text: str) -> str:
    """"sc 2703 02", "SC-2703-02", "SC270302" -> "SC270302"."""
    return re.sub(r"[^0-9A-Z]", "", unicodedata.normalize("NFKC", text).upper())


def normalize_room(text: str) -> str:
    """"cc 302", "CC-302" -> "CC302"."""
    return re.sub(r"[^0-9A-Z]", "", unicodedata.normalize("NFKC", text).upper())


def normalize_session_language(text: str) -> str | None:
    value = re.sub(r"[\s_]", "-", unicodedata.normalize("NFKC", text).strip().lower())
    if value in {"en", "english", "inglés", "ingles", "英文", "英語", "英语"}:
        return "en"
    if value in {"zh-tw", "zh", "zh-hant", "zh-hant-tw", "chinese", "mandarin", "chino", "中文",
                 "華語", "华语", "國語", "正體中文", "繁體中文"}:
        return "zh-TW"
    return None


def _canonical_building(text: str) -> str | None:
    low = unicodedata.normalize("NFKC", text).lower().strip()
    for name, aliases in BUILDING_ALIASES.items():
        if low == name.lower() or low in aliases:
            return name
    return None
