"""The AI-certification exam calendar: `knowledge/certification/exam-sessions.csv`.

Domain only (no channel imports, nothing happens at import time). Three parts:

* `ExamCalendar.load(path)` reads and validates the CSV. Any bad value raises `CalendarError`
  naming the file, the row as a spreadsheet shows it (header = row 1) and the column.
* `load_calendar(settings)` loads the one in the knowledge folder, or gives None (logged).
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

The package
-----------
``model`` (records, constants, normalizers) · ``loading`` (the CSV and its "as of" date) ·
``calendar`` (`ExamCalendar`: queries and replies) · ``formatting`` (dates and sessions as text) ·
``patterns`` and ``questions`` (`parse_exam_question` and its word tables). Import from
``bot.exams``; the names below are its public face.
"""

from __future__ import annotations

from bot.exams.calendar import ExamCalendar, load_calendar
from bot.exams.formatting import format_date, format_session, format_session_line
from bot.exams.model import (
    BUILDING_ALIASES,
    COLUMNS,
    DEFAULT_FIELDS,
    DEFAULT_SOURCE,
    FIELDS,
    LEVELS,
    MAX_LISTED,
    NOON,
    SESSION_LANGUAGES,
    CalendarAnswer,
    CalendarError,
    DateSpec,
    ExamQuery,
    ExamSession,
    UnknownSession,
    normalize_room,
    normalize_session_id,
    normalize_session_language,
)
from bot.exams.questions import parse_exam_question

__all__ = [
    "BUILDING_ALIASES",
    "COLUMNS",
    "DEFAULT_FIELDS",
    "DEFAULT_SOURCE",
    "FIELDS",
    "LEVELS",
    "MAX_LISTED",
    "NOON",
    "SESSION_LANGUAGES",
    "CalendarAnswer",
    "CalendarError",
    "DateSpec",
    "ExamCalendar",
    "ExamQuery",
    "ExamSession",
    "UnknownSession",
    "format_date",
    "format_session",
    "format_session_line",
    "load_calendar",
    "normalize_room",
    "normalize_session_id",
    "normalize_session_language",
    "parse_exam_question",
]
