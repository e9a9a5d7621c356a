"""The AI-certification exam calendar: `knowledge/certification/exam-sessions.csv`.

Domain only (no channel imports, nothing happens at import time). Three parts:

* `ExamCalendar.load(path)` reads and validates the CSV. Any bad value raises `CalendarError`
  naming the file, the row as a spreadsheet shows it (header = row 1) and the column.
* Queries on the calendar (`by_id`, `on_date`, `upcoming`, `next_session`, ...).
* `parse_exam_question(text)` turns a question in es / en / zh-TW into an `ExamQuery` (or None
  when the question is not about the exam calendar), and `ExamCalendar.answer()` writes an exact,
  compact reply with one citation per session row used.

The CSV
-------
One row per session, with the columns of `COLUMNS` (their order does not matter, extra columns
are ignored). Values: `level` is "Level 1" (or just "1"), dates are YYYY-MM-DD (YYYY/MM/DD is
accepted too), times are HH:MM (24-hour), `language` is zh-TW or en. Blank lines are skipped.

The "as of" date
----------------
A CSV file has no front matter, and a comment line would break it in a spreadsheet, so the date
the calendar was last checked lives in a small file next to it, named like the CSV with
`.meta.yaml` instead of `.csv`::

    # knowledge/certification/exam-sessions.meta.yaml
    updated: 2026-10-15

If that file is missing (or has no `updated`), the CSV's modification date is used. An explicit
`as_of=` passed to `ExamCalendar.load()` wins over both.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Iterable, Iterator

from bot.i18n import t
from bot.records import Citation, Language

COLUMNS: tuple[str, ...] = (
    "session_id", "level", "date", "checkin_opens", "starts", "ends",
    "building", "room", "seats", "registration_deadline", "language",
)
LEVELS: tuple[int, ...] = (1, 2, 3)
SESSION_LANGUAGES: tuple[str, ...] = ("zh-TW", "en")
DEFAULT_SOURCE = "certification/exam-sessions.csv"
MAX_LISTED = 6
NOON = time(12, 0)  # sessions listed in one reply; the rest are counted

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


class CalendarError(ValueError):
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
    explicit: bool = True  # False when only a generic "exam" word made it a calendar question

    @property
    def has_filters(self) -> bool:
        return bool(self.session_ids or self.level or self.dates or self.month or self.room
                    or self.building or self.session_language or self.part_of_day
                    or self.relative_days)


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


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------

_DATE_RE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::00)?$")
_LEVEL_RE = re.compile(r"^(?:level|nivel|l|lv\.?)?\s*(\d+)$", re.IGNORECASE)


def _parse_date(value: str) -> date:
    m = _DATE_RE.match(value)
    if not m:
        raise ValueError(f"{value!r} is not a date (expected YYYY-MM-DD)")
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise ValueError(f"{value!r} is not a valid date") from None


def _parse_time(value: str) -> time:
    m = _TIME_RE.match(value)
    if not m:
        raise ValueError(f"{value!r} is not a time (expected HH:MM, 24-hour)")
    try:
        return time(int(m[1]), int(m[2]))
    except ValueError:
        raise ValueError(f"{value!r} is not a valid time") from None


def _read_as_of(csv_path: Path) -> date:
    meta = csv_path.with_suffix(".meta.yaml")
    if meta.is_file():
        import yaml

        try:
            data = yaml.safe_load(meta.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise CalendarError(meta, f"not valid YAML ({exc})") from None
        if not isinstance(data, dict):
            raise CalendarError(meta, "expected 'updated: YYYY-MM-DD'")
        value = data.get("updated")
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if value is not None:
            try:
                return _parse_date(str(value).strip())
            except ValueError as exc:
                raise CalendarError(meta, str(exc), column="updated") from None
    return date.fromtimestamp(csv_path.stat().st_mtime)


def _load_sessions(path: Path) -> list[ExamSession]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CalendarError(path, f"not UTF-8 text ({exc.reason})") from None
    reader = csv.reader(text.splitlines(keepends=True))
    header: list[str] | None = None
    header_row = 0
    for raw in reader:
        if any(cell.strip() for cell in raw):
            header = [cell.strip().lower() for cell in raw]
            header_row = reader.line_num
            break
    if header is None:
        raise CalendarError(path, "the file is empty (expected a header row)")
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise CalendarError(path, f"missing column(s): {', '.join(missing)}", row=header_row,
                            column=missing[0])
    dupes = {c for c in header if c and header.count(c) > 1}
    if dupes:
        raise CalendarError(path, "column appears twice", row=header_row, column=sorted(dupes)[0])
    index = {name: header.index(name) for name in COLUMNS}

    sessions: list[ExamSession] = []
    seen: dict[str, int] = {}
    for raw in reader:
        row = reader.line_num
        if not any(cell.strip() for cell in raw):
            continue
        if len(raw) > len(header) and any(cell.strip() for cell in raw[len(header):]):
            raise CalendarError(path, f"{len(raw)} values for {len(header)} columns", row=row)
        cells = {name: (raw[i].strip() if i < len(raw) else "") for name, i in index.items()}

        def bad(column: str, message: str) -> CalendarError:
            return CalendarError(path, message, row=row, column=column)

        for name in COLUMNS:
            if not cells[name]:
                raise bad(name, "empty value")

        sid = cells["session_id"]
        key = normalize_session_id(sid)
        if not key:
            raise bad("session_id", f"{sid!r} is not a session id")
        if key in seen:
            raise bad("session_id", f"duplicate session id {sid!r} (first on row {seen[key]})")
        seen[key] = row

        m = _LEVEL_RE.match(cells["level"])
        level = int(m[1]) if m else None
        if level not in LEVELS:
            raise bad("level", f"unknown level {cells['level']!r} (expected Level 1, 2 or 3)")

        parsed: dict[str, object] = {}
        for name in ("date", "registration_deadline"):
            try:
                parsed[name] = _parse_date(cells[name])
            except ValueError as exc:
                raise bad(name, str(exc)) from None
        for name in ("checkin_opens", "starts", "ends"):
            try:
                parsed[name] = _parse_time(cells[name])
            except ValueError as exc:
                raise bad(name, str(exc)) from None
        if not parsed["checkin_opens"] < parsed["starts"]:  # type: ignore[operator]
            raise bad("checkin_opens", "check-in must open before the start time")
        if not parsed["starts"] < parsed["ends"]:  # type: ignore[operator]
            raise bad("ends", "the end time is not after the start time")
        if parsed["registration_deadline"] > parsed["date"]:  # type: ignore[operator]
            raise bad("registration_deadline", "the registration deadline is after the exam date")

        try:
            seats = int(cells["seats"])
        except ValueError:
            raise bad("seats", f"{cells['seats']!r} is not a whole number") from None
        if seats <= 0:
            raise bad("seats", f"seats must be positive, not {seats}")

        lang = normalize_session_language(cells["language"])
        if lang is None:
            raise bad("language", f"unknown language {cells['language']!r} (expected zh-TW or en)")

        sessions.append(ExamSession(
            session_id=sid, level=level, date=parsed["date"],  # type: ignore[arg-type]
            checkin_opens=parsed["checkin_opens"], starts=parsed["starts"],  # type: ignore[arg-type]
            ends=parsed["ends"], building=cells["building"], room=cells["room"],  # type: ignore[arg-type]
            seats=seats, registration_deadline=parsed["registration_deadline"],  # type: ignore[arg-type]
            language=lang, row=row,
        ))
    return sessions


# --------------------------------------------------------------------------------------------
# The calendar
# --------------------------------------------------------------------------------------------

def _sort_key(s: ExamSession) -> tuple:
    return (s.date, s.starts, s.session_id)


class ExamCalendar:
    """The exam sessions, sorted by date and start time, with the date they were last checked."""

    def __init__(self, sessions: Iterable[ExamSession], *, as_of: date,
                 source: str = DEFAULT_SOURCE, path: Path | None = None) -> None:
        self.sessions: tuple[ExamSession, ...] = tuple(sorted(sessions, key=_sort_key))
        self.as_of = as_of
        self.source = source
        self.path = path
        self._by_key = {s.key: s for s in self.sessions}

    @classmethod
    def load(cls, path: Path, *, as_of: date | None = None, source: str | None = None) -> "ExamCalendar":
        """Read and validate the CSV. `source` is the citation path (default: "<folder>/<file>")."""
        path = Path(path)
        if not path.is_file():
            raise CalendarError(path, "file not found")
        sessions = _load_sessions(path)
        return cls(sessions, as_of=as_of or _read_as_of(path),
                   source=source or f"{path.parent.name}/{path.name}", path=path)

    def __len__(self) -> int:
        return len(self.sessions)

    def __iter__(self) -> Iterator[ExamSession]:
        return iter(self.sessions)

    # ---- lookups -----------------------------------------------------------------------------

    def by_id(self, session_id: str) -> ExamSession | None:
        """Case-insensitive, ignores spaces and dashes: "sc 2703 02", "SC270302"."""
        key = normalize_session_id(session_id)
        if not key:
            return None
        found = self._by_key.get(key)
        if found is None and key.isdigit():  # "2703-02" without the prefix
            hits = [s for s in self.sessions if re.sub(r"^[A-Z]+", "", s.key) == key]
            found = hits[0] if len(hits) == 1 else None
        return found

    def on_date(self, day: date) -> list[ExamSession]:
        return [s for s in self.sessions if s.date == day]

    def by_level(self, level: int) -> list[ExamSession]:
        return [s for s in self.sessions if s.level == level]

    def by_language(self, lang: str) -> list[ExamSession]:
        wanted = normalize_session_language(lang)
        return [s for s in self.sessions if s.language == wanted]

    def by_room(self, room: str) -> list[ExamSession]:
        wanted = normalize_room(room)
        return [s for s in self.sessions if normalize_room(s.room) == wanted]

    def by_building(self, text: str) -> list[ExamSession]:
        """A building's name or part of it ("computer center", "電算中心", "AI building")."""
        canonical = _canonical_building(text)
        if canonical is not None:
            hits = [s for s in self.sessions if s.building.lower() == canonical.lower()]
            if hits:
                return hits
        words = set(re.findall(r"\w+", unicodedata.normalize("NFKC", text).lower())) - {"building", "the"}
        if not words:
            return []
        return [s for s in self.sessions
                if words <= set(re.findall(r"\w+", s.building.lower()))
                or unicodedata.normalize("NFKC", text).lower().strip() in s.building.lower()]

    def upcoming(self, today: date, *, level: int | None = None, language: str | None = None,
                 limit: int | None = None) -> list[ExamSession]:
        """Sessions on `today` or later (a session held today counts), soonest first."""
        lang = normalize_session_language(language) if language else None
        hits = [s for s in self.sessions if s.date >= today
                and (level is None or s.level == level) and (lang is None or s.language == lang)]
        return hits[:limit] if limit is not None else hits

    def next_session(self, today: date, *, level: int | None = None,
                     language: str | None = None) -> ExamSession | None:
        hits = self.upcoming(today, level=level, language=language, limit=1)
        return hits[0] if hits else None

    def open_for_registration(self, today: date) -> list[ExamSession]:
        """Sessions whose registration deadline (closing 23:59 that day) has not passed.

        The CSV has no opening date or seat counts taken, so a session may still be full or not
        open yet (registration opens 60 days before the exam, see rules.en.md section 3).
        """
        return [s for s in self.sessions if s.registration_deadline >= today]

    def registration_deadlines(self, today: date) -> list[tuple[date, list[ExamSession]]]:
        """Deadlines not passed yet, soonest first, each with the sessions that close on it."""
        groups: dict[date, list[ExamSession]] = {}
        for s in self.open_for_registration(today):
            groups.setdefault(s.registration_deadline, []).append(s)
        return sorted(groups.items())

    # ---- answering ---------------------------------------------------------------------------

    def find(self, query: ExamQuery, today: date) -> tuple[list[ExamSession], list[str]]:
        """The sessions a query is about, and the session ids it named that do not exist."""
        if query.session_ids:
            hits, missing = [], []
            for sid in query.session_ids:
                s = self.by_id(sid)
                if s is None:
                    missing.append(sid)
                elif s not in hits:
                    hits.append(s)
            return sorted(hits, key=_sort_key), missing

        hits = list(self.sessions)
        if query.level is not None:
            hits = [s for s in hits if s.level == query.level]
        if query.session_language:
            hits = [s for s in hits if s.language == query.session_language]
        if query.room:
            hits = [s for s in hits if normalize_room(s.room) == query.room]
        if query.part_of_day:
            afternoon = query.part_of_day == "afternoon"
            hits = [s for s in hits if (s.starts >= NOON) == afternoon]
        if query.building:
            in_building = set(self.by_building(query.building))
            hits = [s for s in hits if s in in_building]
        if query.dates or query.relative_days:
            days = {date.fromordinal(today.toordinal() + n) for n in query.relative_days}
            hits = [s for s in hits if s.date in days or any(d.matches(s.date) for d in query.dates)]
        elif query.month:
            year, month = query.month
            hits = [s for s in hits if s.date.month == month and (year is None or s.date.year == year)]
        else:
            later = [s for s in hits if s.date >= today]
            if "deadline" in query.asks and not query.next:
                still_open = [s for s in later if s.registration_deadline >= today]
                later = still_open or later
            hits = later
            if query.next and hits and not query.upcoming:
                first = hits[0].date
                hits = [s for s in hits if s.date == first]
        return hits, []

    def answer(self, query: ExamQuery, language: Language, today: date) -> CalendarAnswer | None:
        """An exact reply in `language`; None when the query gives nothing to look up."""
        if not (query.has_filters or query.next or query.upcoming or query.asks):
            return None
        hits, missing = self.find(query, today)
        as_of = format_date(self.as_of, language, weekday=False)
        lines: list[str] = []
        if missing:
            lines.append(t(language, "exams.unknown_id", ids=", ".join(_display_ids(missing)),
                           as_of=as_of))
        if not hits:
            if not missing:
                key = "exams.none_upcoming" if not (query.dates or query.month or query.relative_days) \
                    else "exams.none_found"
                lines.append(t(language, key, as_of=as_of))
            return CalendarAnswer(text="\n".join(lines), sessions=(), citations=(),
                                  as_of=self.as_of, found=False)

        if set(query.asks) <= {"date"}:
            fields = list(DEFAULT_FIELDS)
        else:
            fields = [f for f in FIELDS if f in query.asks and f not in ("date", "room")]
        shown = hits[:MAX_LISTED]
        lines.insert(0, t(language, "exams.header", as_of=as_of))
        for s in shown:
            lines.append(format_session_line(s, language, fields, today))
        if len(hits) > len(shown):
            lines.append(t(language, "exams.more", count=len(hits) - len(shown)))
        citations = tuple(Citation(self.source, s.session_id, f"{s.session_id} ({s.date.isoformat()})")
                          for s in shown)
        return CalendarAnswer(text="\n".join(lines), sessions=tuple(shown), citations=citations,
                              as_of=self.as_of, found=True)


def _display_ids(keys: Iterable[str]) -> list[str]:
    out = []
    for key in keys:
        m = re.fullmatch(r"([A-Z]+)(\d{4})(\d{2})", key)
        out.append(f"{m[1]}-{m[2]}-{m[3]}" if m else key)
    return out


# --------------------------------------------------------------------------------------------
# Formatting (all words come from bot/locales/exams.<lang>.yaml)
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# Understanding a question
# --------------------------------------------------------------------------------------------

_A = r"(?<![A-Za-z0-9])"  # ASCII word boundaries: CJK characters count as \w for `\b`
_Z = r"(?![A-Za-z0-9])"

_SESSION_ID_RE = re.compile(_A + r"([A-Za-z]{2,3})[\s\-_]?(\d{4})[\s\-_]?(\d{2})" + _Z + r"(?![-/.]\d)")
_ROOM_TIGHT_RE = re.compile(_A + r"([A-Za-z]{1,3})-?(\d{3})" + _Z)
_ROOM_SPACED_RE = re.compile(_A + r"([A-Z]{1,3}|[Cc][Cc]|[Aa][Ii])\s(\d{3})" + _Z)
_NOT_ROOM_PREFIX = {"IN", "ON", "AT", "IS", "A", "DE", "EN", "EL", "LA", "TO", "BY", "OR", "Y", "L", "LV",
                    "NT", "NTD", "NO", "NR", "ES", "AN", "AM", "PM", "I"}

_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "兩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
              "八": 8, "九": 9, "壹": 1, "貳": 2, "參": 3}
_ZH_NUM = r"[零〇一二兩三四五六七八九十壹貳參]{1,3}"

_WORD_NUMBERS = {"one": 1, "two": 2, "three": 3, "uno": 1, "dos": 2, "tres": 3, "i": 1, "ii": 2, "iii": 3}

_LEVEL_RES = (
    re.compile(_A + r"(?:level|nivel|lvl|lv)\.?\s*[-#]?\s*(\d|one|two|three|uno|dos|tres|iii|ii|i)" + _Z,
               re.IGNORECASE),
    re.compile(_A + r"L(\d)" + _Z),
    re.compile(r"(\d)(?:st|nd|rd)[\s-]level" + _Z, re.IGNORECASE),
    re.compile(r"第?\s*([一二三壹貳參])\s*級"),
    re.compile(r"(?<![\d.])第?\s*(\d)\s*級"),
)

_MONTHS_EN = {name: i for i, names in enumerate((
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
    ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
    ("october", "oct"), ("november", "nov"), ("december", "dec")), start=1) for name in names}
_MONTHS_ES = {name: i for i, name in enumerate((
    "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
    "octubre", "noviembre", "diciembre"), start=1)}
_MONTHS_ES["setiembre"] = 9
_EN_MONTH = "|".join(sorted(_MONTHS_EN, key=len, reverse=True))
_ES_MONTH = "|".join(sorted(_MONTHS_ES, key=len, reverse=True))

_ISO_DATE_RE = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_ZH_DATE_RE = re.compile(r"(?:(\d{2,4})\s*年\s*)?(\d{1,2}|" + _ZH_NUM + r")\s*月\s*(\d{1,2}|" + _ZH_NUM
                         + r")\s*[日號号]?")
_ES_DATE_RE = re.compile(r"(?<!\d)(\d{1,2})\s+de\s+(" + _ES_MONTH + r")(?:\s+(?:de|del)\s+(\d{4}))?" + _Z,
                         re.IGNORECASE)
_EN_MD_RE = re.compile(_A + r"(" + _EN_MONTH + r")\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(\d{4}))?" + _Z,
                       re.IGNORECASE)
_EN_DM_RE = re.compile(r"(?<!\d)(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(" + _EN_MONTH + r")(?:,?\s+(\d{4}))?"
                       + _Z, re.IGNORECASE)
_SLASH_DATE_RE = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?:/(\d{4}))?(?![\d/])")
_ZH_MONTH_RE = re.compile(r"(?:(\d{2,4})\s*年\s*)?(\d{1,2}|" + _ZH_NUM + r")\s*月(?:份)?")
_ES_MONTH_ONLY_RE = re.compile(_A + r"(?:en|de|durante|para)\s+(" + _ES_MONTH + r")(?:\s+(?:de|del)\s+(\d{4}))?"
                               + _Z, re.IGNORECASE)
_EN_MONTH_ONLY_RE = re.compile(_A + r"(?:(?:in|during|for|of|this|next)\s+(" + _EN_MONTH + r")(?:\s+(\d{4}))?"
                               + _Z + r"|(" + _EN_MONTH + r")(?:\s+(\d{4}))?\s+(?=(?:exam|session|test|sitting)s?\b))",
                               re.IGNORECASE)


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


# "Is this about an exam?"
_EXAM_WORDS = _rx(
    r"\bexams?\b", r"\bexamination", r"\bex[aá]men(?:es)?\b", r"\btests?\b", r"\bsessions?\b",
    r"\bsesi[oó]n(?:es)?\b", r"\bsittings?\b", r"\bcertification\b", r"\bcertificaci[oó]n\b",
    r"考試", r"場次", r"考場", r"試場", r"認證", r"檢定", r"應試", r"測驗", r"報考", r"開考", r"考\b",
)
_CERT_WORDS = _rx(r"\bcertification\b", r"\bcertificaci[oó]n\b", r"認證", r"\bAI\b", r"場次",
                  r"\bsessions?\b", r"\bsesi[oó]n(?:es)?\b")
# Exams of the training program, not the certification (handbook.*.md)
_PROGRAM_EXAM_WORDS = _rx(
    r"\bmodules?\b", r"\bm[oó]dulos?\b", r"\bmid-?course\b", r"\bmid-?term\b", r"\bfinal\b", r"\bquiz",
    r"\boral\b", r"\bTOCFL\b", r"\binterview\b", r"\bentrevista\b", r"\bparcial\b", r"\bclass\b",
    r"\bclase\b", r"模組", r"期中", r"期末", r"口試", r"小考", r"華語課", r"中文課",
)
# Other topics of the rules (fees, ID, refunds...) and the venue guide.
_RULES_WORDS = _rx(
    r"\bfees?\b", r"\bcosts?\b", r"\bprice", r"\bpay(?:ment|ing)?\b", r"\brefund", r"how much",
    r"\bmoney\b", r"NT\$", r"\bdiscount", r"\bID\b", r"\bpassport", r"\bARC\b", r"\bbring\b",
    r"\ballowed\b", r"\bprohibit", r"\bphones?\b", r"\bcalculator", r"\bwater\b", r"\bfood\b",
    r"\blate\b", r"\bpass(?:ing)?\b", r"\bscores?\b", r"\bresults?\b", r"\bcertificates?\b",
    r"\beligib", r"\brequirements?\b", r"\bcheat", r"\bpenalt", r"\bpark", r"\bbus\b", r"\btrain\b",
    r"\btaxi\b", r"\blockers?\b", r"\btoilet", r"\baccommodation", r"\btransfer", r"\bcancel",
    r"\btyphoon", r"\bwithdraw", r"\bappeal", r"\bretake", r"\brules?\b", r"\bpolicy\b",
    r"\bcost(?:o|ar)\b", r"\bcuesta", r"\bprecio", r"\bpag(?:ar|o)\b", r"\bcuota", r"\btarifa",
    r"\breembolso", r"\bdevoluci[oó]n", r"cu[aá]nto (?:cuesta|es|pago|cobran|vale)",
    r"\bidentificaci[oó]n", r"\bpasaporte", r"\bllevar\b", r"\btraer\b", r"\bpermitid", r"\bprohibid",
    r"\bcelular", r"\btel[eé]fono", r"\bcalculadora", r"\bagua\b", r"\bcomida", r"\baprobar",
    r"\bcalificaci[oó]n", r"\bresultados?\b", r"\bcertificado", r"\brequisito", r"\bestacionamiento",
    r"\bautob[uú]s", r"\btren\b", r"\bcasillero", r"\bcancelar", r"\btif[oó]n", r"\breglas?\b",
    r"\bpol[ií]tica", r"費用", r"報名費", r"多少錢", r"價格", r"繳費", r"付款", r"退費", r"退款", r"優惠",
    r"證件", r"身分證", r"護照", r"居留證", r"攜帶", r"帶什麼", r"可以帶", r"禁止", r"手機", r"計算機",
    r"遲到", r"及格", r"分數", r"成績", r"證書", r"資格", r"作弊", r"停車", r"公車", r"火車",
    r"計程車", r"置物櫃", r"颱風", r"取消", r"轉換場次", r"延期", r"規則", r"規定", r"怎麼去", r"交通",
    # what the exam covers, and when registration opens (rules.*.md sections 2 and 3)
    r"\bcover", r"\bcontent", r"\btopics?\b", r"\bsyllabus", r"\bformat\b", r"\bquestions\b",
    r"\bwhat(?:'s| is) on\b", r"\btemario", r"\bcontenido", r"\bpreguntas\b", r"\btemas\b", r"範圍",
    r"題目", r"內容", r"題型",
)
# When registration opens (60 days before, rules.*.md section 3) is not in the calendar.
_REGISTRATION_OPENS = _rx(
    r"registration (?:open|start|begin)s?\b", r"\b(?:open|start|begin)s? (?:the )?registration\b",
    r"(?:abre|empieza|inicia|comienza)n? (?:la )?(?:inscripci[oó]n|registro)", r"開始報名", r"報名.{0,3}開始",
    r"開放報名",
)

_NEXT_WORDS = _rx(r"\bnext\b", r"\bsoonest\b", r"\bearliest\b", r"\bpr[oó]xim[oa]\b", r"\bsiguiente\b",
                  r"下一場", r"下一次", r"下次", r"最近", r"下一個", r"下個場次", r"最快")
_UPCOMING_WORDS = _rx(r"\bupcoming\b", r"\bcoming\b", r"\bfuture\b", r"\bpr[oó]xim[oa]s\b",
                      r"\bsiguientes\b", r"接下來", r"之後", r"未來", r"即將")
_LIST_WORDS = _rx(
    r"\bwhich (?:exams?|sessions?)\b", r"\bwhat (?:exams?|sessions?)\b", r"\bschedule\b",
    r"\bcalendar\b", r"\bexam dates\b", r"\bdates\b", r"\bany (?:exams?|sessions?)\b",
    r"\bis there\b", r"\bare there\b", r"\bqu[eé] (?:ex[aá]menes|sesiones|ex[aá]men)\b",
    r"\bcalendario\b", r"\bhorarios?\b", r"\bfechas\b", r"\bhay\b", r"哪些", r"有沒有", r"有幾場",
    r"時間表", r"場次表", r"考試日期", r"有.{0,6}(?:考試|場次)嗎", r"什麼(?:考試|場次)", r"哪幾場",
)
_MORNING_WORDS = _rx(r"\bmorning\b", r"\d\s*a\.?m\.?(?![A-Za-z])", r"\ba\.m\.", r"\b(?:por|de) la ma[ñn]ana\b",
                     r"\bmatutin", r"上午", r"早上", r"早場")
_AFTERNOON_WORDS = _rx(r"\bafternoon\b", r"\d\s*p\.?m\.?(?![A-Za-z])", r"\bp\.m\.", r"\b(?:por|de) la tarde\b",
                       r"\bvespertin", r"下午", r"午場", r"晚場")
_RELATIVE_DAYS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (2, _rx(r"\bday after tomorrow\b", r"\bpasado ma[ñn]ana\b", r"後天")),
    (1, _rx(r"\btomorrow\b", r"(?<!pasado )(?<!la )\bma[ñn]ana\b", r"明天", r"明日")),
    (0, _rx(r"\btoday\b", r"\bhoy\b", r"今天", r"今日")),
)
_ENGLISH_WORDS = _rx(r"\benglish\b", r"\bingl[eé]s\b", r"英文", r"英語")
_CHINESE_WORDS = _rx(r"\bchinese\b", r"\bmandarin\b", r"\bchino\b", r"\bmandar[ií]n\b", r"中文",
                     r"華語", r"國語")
_LANGUAGE_ASK = _rx(r"\blanguages?\b", r"\bidiomas?\b", r"\blengua\b", r"語言", r"語文", r"哪種語", r"什麼語")

# Asked fields: "strong" phrases are specific to the calendar; "weak" ones only count when the
# question mentions no other topic of the rules.
_CHECKIN_PHRASES = (
    r"\bcheck[\s-]?in\b", r"\bregistro de entrada\b", r"\bregistrarme en el sitio\b", r"報到",
)
_CHECKIN_STRONG = _rx(
    r"(?:what time|when)\b.{0,40}\bcheck[\s-]?in", r"\bcheck[\s-]?in (?:time|opens?|starts?|begins?)",
    r"\bcheck[\s-]?in\b.{0,20}\b(?:open|start|begin)", r"\bhora\b.{0,30}\bcheck[\s-]?in",
    r"(?:幾點|何時|什麼時候|時間).{0,8}報到", r"報到.{0,6}(?:幾點|時間|何時|什麼時候)",
    r"\barrive\b", r"\bllegar\b", r"\bpresentarme\b", r"幾點到",
    r"\bhora\b.{0,25}\b(?:abre|empieza|comienza|inicia)\b.{0,10}\bregistro\b",
)
_CHECKIN_WEAK = _rx(*_CHECKIN_PHRASES, r"\barrival\b", r"\bllegada\b")
_CHECKIN_REMOVE = _rx(
    r"\bcheck[\s-]?in (?:opens?|starts?|begins?)\b", r"\b(?:open|start|begin)s?\b.{0,12}\bcheck[\s-]?in\b",
    r"開始報到", r"報到.{0,4}開始", r"(?:empieza|comienza|inicia|abre)\b.{0,15}\b(?:check[\s-]?in|registro)",
)
_START_STRONG = _rx(
    r"\bstart", r"\bbegin", r"\bempiez", r"\bcomienz", r"\binicia", r"開始", r"開考",
)
_TIME_WEAK = _rx(r"\bwhat time\b", r"\ba qu[eé] hora\b", r"\bhorario\b", r"\btimes?\b", r"\bhoras?\b",
                 r"幾點", r"時間", r"何時開")
_END_STRONG = _rx(r"\bends?\b", r"\bfinish", r"\bover\b", r"\btermina", r"\bacaba", r"結束", r"考完",
                  r"\bending\b")
_DURATION = _rx(r"\bhow long\b", r"\bduraci[oó]n\b", r"\bcu[aá]nto dura\b", r"多久", r"多長")
_ROOM_STRONG = _rx(
    r"\b(?:which|what) (?:room|classroom)\b", r"\broom number\b", r"\bin which room\b",
    r"\b(?:qu[eé]|cu[aá]l) (?:sal[oó]n|aula|sala)\b", r"哪一?間", r"哪個(?:試場|教室|考場)",
    r"(?:試場|教室|考場)在", r"什麼(?:試場|教室)", r"幾號(?:試場|教室)", r"哪棟", r"哪一棟",
    r"\bwhich building\b", r"\bqu[eé] edificio\b",
)
_ROOM_WEAK = _rx(
    r"\brooms?\b", r"\bclassroom\b", r"\bwhere\b", r"\bbuilding\b", r"\bsal[oó]n\b", r"\baula\b",
    r"\bsala\b", r"\bd[oó]nde\b", r"\bedificio\b", r"試場", r"教室", r"考場", r"哪裡", r"在哪", r"大樓",
    r"地點", r"\blugar\b", r"\blocation\b", r"\bvenue\b",
)
_DEADLINE_STRONG = _rx(
    r"\bregistration (?:deadline|closes?|ends?|period)\b", r"\bdeadline (?:to|for) (?:register|sign|registration|enrol)",
    r"\blast day to (?:register|sign up|enrol)", r"\bregister (?:by|before|until)\b",
    r"\bfecha l[ií]mite (?:de|para) (?:inscripci[oó]n|registro|inscribir)",
    r"\b(?:plazo|cierre) (?:de|para) (?:la )?(?:inscripci[oó]n|registro|inscribir)",
    r"報名截止", r"截止報名", r"報名期限", r"報名.{0,6}(?:到|至)(?:什麼時候|何時|幾號|哪天)",
    r"\bstill (?:register|sign up|enrol)", r"\btodav[ií]a (?:puedo|me puedo) (?:inscribir|registrar)",
    r"還(?:能|可以)報名", r"可以報名嗎", r"\bopen for (?:registration|enrol)", r"\babiert[oa]s? (?:para|a) (?:la )?inscripci",
)
_REGISTRATION = _rx(r"\bregist", r"\bsign(?:ing)? up\b", r"\benrol", r"\binscrib", r"\binscripci",
                    r"報名")
_DEADLINE_WEAK = _rx(r"\bdeadline", r"\bfecha l[ií]mite\b", r"\bplazo\b", r"截止", r"期限")
_WHEN_WORDS = _rx(r"\bwhen\b", r"\buntil\b", r"\bcu[aá]ndo\b", r"\bhasta\b", r"什麼時候", r"何時", r"幾號",
                  r"哪天", r"哪一天", r"\bwhat day\b", r"\bqu[eé] d[ií]a\b", r"\bdate\b", r"\bfecha\b",
                  r"日期", r"\bwhich day\b", r"幾月")
_SEATS = _rx(r"\bseats?\b", r"\bcapacity\b", r"\bhow many (?:people|candidates|places|spots)\b",
             r"\bplaces\b", r"\bcupos?\b", r"\blugares\b", r"\basientos?\b", r"\bplazas\b",
             r"\bcapacidad\b", r"座位", r"名額", r"人數", r"容納", r"幾位", r"幾個位")


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
    for m in _ZH_MONTH_RE.finditer(text):
        month = _zh_number(m[2])
        if month and 1 <= month <= 12:
            return (_year(m[1]), month), _blank(text, m.span())
    for m in _ES_MONTH_ONLY_RE.finditer(text):
        return (_year(m[2]), _MONTHS_ES[m[1].lower()]), _blank(text, m.span())
    for m in _EN_MONTH_ONLY_RE.finditer(text):
        name, year = (m[1], m[2]) if m[1] else (m[3], m[4])
        return (_year(year), _MONTHS_EN[name.lower()]), _blank(text, m.span())
    return None, text


def _parse_level(text: str) -> int | None:
    for rx in _LEVEL_RES:
        m = rx.search(text)
        if m:
            raw = m[1].lower()
            value = _WORD_NUMBERS.get(raw) or _ZH_DIGITS.get(raw) or (int(raw) if raw.isdigit() else None)
            if value in LEVELS:
                return value
    return None


def parse_exam_question(text: str, language: Language | None = None) -> ExamQuery | None:
    """What a question asks of the exam calendar, or None when it is not a calendar question.

    `language` (the asker's language) only decides how "6/3" is read: day/month for "es",
    month/day otherwise; without it, a Spanish-looking question reads day/month.
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
    dates, work = _parse_dates(work, day_first)
    month = None
    if not dates:
        month, work = _parse_month(work)

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
    if not ids:
        if program_exam and not certification:
            return None  # a module / Chinese-course exam of the training program
        if not (exam_word or level or "deadline" in strong or room and strong - {"room"}):
            return None
        when_filters = bool(dates or month or relative_days or part_of_day or room or building)
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
        asks=tuple(f for f in FIELDS if f in asks), mentions_rules=rules, explicit=certification,
    )
