"""`ExamCalendar`: the loaded sessions, lookups on them, and exact replies to an `ExamQuery`;
`load_calendar(settings)`: the calendar of the knowledge folder, or None."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path

from bot.config import Settings
from bot.exams.formatting import format_date, format_session_line
from bot.exams.loading import _load_sessions, _read_as_of
from bot.exams.model import (
    DEFAULT_FIELDS,
    DEFAULT_SOURCE,
    FIELDS,
    MAX_LISTED,
    NOON,
    CalendarAnswer,
    CalendarError,
    ExamQuery,
    ExamSession,
    _canonical_building,
    normalize_room,
    normalize_session_id,
    normalize_session_language,
)
from bot.i18n import t
from bot.records import Citation, Language

logger = logging.getLogger(__name__)


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

    def by_language(self, lang: str) -> list[ExamSession]:
        wanted = normalize_session_language(lang)
        return [s for s in self.sessions if s.language == wanted]

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
        if query.seats:
            hits = [s for s in hits if s.seats == query.seats]
        if query.deadline_dates:
            hits = [s for s in hits if any(d.matches(s.registration_deadline) for d in query.deadline_dates)]
        if query.dates or query.relative_days:
            days = {date.fromordinal(today.toordinal() + n) for n in query.relative_days}
            hits = [s for s in hits if s.date in days or any(d.matches(s.date) for d in query.dates)]
        elif query.month:
            months = (query.month, *query.more_months)
            hits = [s for s in hits if any(s.date.month == m and (y is None or s.date.year == y)
                                           for y, m in months)]  # fmt: skip
        elif query.deadline_dates or query.seats:
            pass  # every session with that deadline or seat count, past ones too
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
                key = "exams.none_upcoming" if not (query.dates or query.month or query.relative_days or query.deadline_dates) \
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


def load_calendar(settings: Settings) -> ExamCalendar | None:
    """The exam calendar from the knowledge folder, or None (logged) when it is missing or bad."""
    path = Path(settings.knowledge_dir) / settings.exam_calendar_file
    if not path.exists():
        logger.info("no exam calendar at %s", path)
        return None
    try:
        return ExamCalendar.load(path, source=settings.exam_calendar_file)
    except CalendarError as exc:
        logger.error("exam calendar not loaded: %s", exc)
        return None
