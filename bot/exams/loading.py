"""Reading and validating `exam-sessions.csv` and its "as of" date (`exam-sessions.meta.yaml`).

Every bad value raises `CalendarError` naming the file, the row (header = row 1) and the column.
"""

from __future__ import annotations

import csv
import re
from datetime import date, datetime, time
from pathlib import Path

from bot.exams.model import (
    COLUMNS,
    LEVELS,
    CalendarError,
    ExamSession,
    normalize_session_id,
    normalize_session_language,
)

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

        from bot.ingestion.loaders import safe_yaml

        try:
            data = safe_yaml(meta.read_text(encoding="utf-8")[:16384]) or {}
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


MAX_CALENDAR_BYTES = 2 * 1024 * 1024


def _load_sessions(path: Path) -> list[ExamSession]:
    try:
        return _read_sessions(path)
    except csv.Error as exc:  # e.g. a field over the csv module's 128 KB limit
        raise CalendarError(path, f"not readable as CSV ({exc})") from None


def _read_sessions(path: Path) -> list[ExamSession]:
    size = path.stat().st_size
    if size > MAX_CALENDAR_BYTES:
        raise CalendarError(path, f"{size} bytes, over the {MAX_CALENDAR_BYTES} byte limit")
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

        def bad(column: str, message: str, row: int = row) -> CalendarError:
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
