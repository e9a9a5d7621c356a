"""The exam calendar: loading and validating the CSV, queries, question parsing and replies."""

from __future__ import annotations

import os
from datetime import date, datetime, time
from pathlib import Path

import pytest

from bot.exams import (
    CalendarError,
    DateSpec,
    ExamCalendar,
    ExamSession,
    format_date,
    format_session,
    parse_exam_question,
)
from bot.records import Citation

ROOT = Path(__file__).resolve().parents[1]
CSV = ROOT / "knowledge" / "certification" / "exam-sessions.csv"
SOURCE = "certification/exam-sessions.csv"
HEADER = "session_id,level,date,checkin_opens,starts,ends,building,room,seats,registration_deadline,language"
GOOD_ROW = "SC-2612-01,Level 1,2026-12-05,08:45,09:30,10:30,Computer Center Building,CC301,60,2026-11-14,zh-TW"
ROW_2 = "SC-2612-02,Level 1,2026-12-05,13:15,14:00,15:00,Computer Center Building,CC301,60,2026-11-14,en"
AS_OF = date(2026, 11, 21)


@pytest.fixture(scope="module")
def cal() -> ExamCalendar:
    return ExamCalendar.load(CSV, as_of=AS_OF)


def ids(sessions) -> list[str]:
    return [s.session_id for s in sessions]


def write(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "exam-sessions.csv"
    path.write_text("\n".join((header, *rows)) + "\n", encoding="utf-8")
    return path


# ---- loading ------------------------------------------------------------------------------------

def test_sample_csv_loads(cal):
    assert len(cal) == 18
    assert cal.source == SOURCE
    s = cal.by_id("SC-2612-03")
    assert s == ExamSession(
        session_id="SC-2612-03", level=2, date=date(2026, 12, 19), checkin_opens=time(8, 45),
        starts=time(9, 30), ends=time(11, 40), building="Computer Center Building", room="CC302",
        seats=48, registration_deadline=date(2026, 11, 28), language="zh-TW", row=4,
    )
    assert [s.date for s in cal] == sorted(s.date for s in cal)
    assert {s.language for s in cal} == {"zh-TW", "en"}


def test_as_of_from_sidecar_then_mtime(tmp_path):
    path = write(tmp_path, GOOD_ROW)
    stamp = datetime(2026, 10, 1, 12, 0).timestamp()
    os.utime(path, (stamp, stamp))
    assert ExamCalendar.load(path).as_of == date(2026, 10, 1)
    (tmp_path / "exam-sessions.meta.yaml").write_text("updated: 2026-10-15\n", encoding="utf-8")
    assert ExamCalendar.load(path).as_of == date(2026, 10, 15)
    assert ExamCalendar.load(path, as_of=date(2026, 11, 1)).as_of == date(2026, 11, 1)


def test_excel_style_file_loads(tmp_path):
    path = tmp_path / "sessions.csv"
    path.write_text("\ufeff" + HEADER + "\r\n" + GOOD_ROW.replace("2026-12-05", "2026/12/5") + "\r\n\r\n",
                    encoding="utf-8")
    cal = ExamCalendar.load(path, as_of=AS_OF)
    assert len(cal) == 1 and cal.sessions[0].date == date(2026, 12, 5)


@pytest.mark.parametrize("row, line, column, words", [
    (GOOD_ROW.replace("2026-12-05", "2026-13-05"), 2, "date", "not a valid date"),
    (GOOD_ROW.replace("2026-12-05", "5 Dec 2026"), 2, "date", "not a date"),
    (GOOD_ROW.replace("09:30", "9h30"), 2, "starts", "not a time"),
    (GOOD_ROW.replace("10:30", "25:00"), 2, "ends", "not a valid time"),
    (GOOD_ROW.replace("Level 1", "Level 4"), 2, "level", "unknown level"),
    (GOOD_ROW.replace(",60,", ",0,"), 2, "seats", "positive"),
    (GOOD_ROW.replace(",60,", ",sixty,"), 2, "seats", "whole number"),
    (GOOD_ROW.replace("2026-11-14", "2026-12-06"), 2, "registration_deadline", "after the exam date"),
    (GOOD_ROW.replace("10:30", "09:00"), 2, "ends", "not after the start"),
    (GOOD_ROW.replace("zh-TW", "fr"), 2, "language", "unknown language"),
    (GOOD_ROW.replace("CC301", ""), 2, "room", "empty"),
])
def test_bad_value_names_row_and_column(tmp_path, row, line, column, words):
    path = write(tmp_path, ROW_2, row)
    with pytest.raises(CalendarError) as err:
        ExamCalendar.load(path)
    message = str(err.value)
    assert str(path) in message and f"row {line + 1}" in message and repr(column) in message, message
    assert words in message
    assert err.value.row == line + 1 and err.value.column == column


def test_duplicate_id_names_both_rows(tmp_path):
    path = write(tmp_path, GOOD_ROW, ROW_2, GOOD_ROW.replace("SC-2612-01", "sc 2612 01"))
    with pytest.raises(CalendarError, match=r"row 4, column 'session_id': duplicate .*first on row 2"):
        ExamCalendar.load(path)


def test_missing_column(tmp_path):
    header = HEADER.replace(",room", "")
    row = GOOD_ROW.replace(",CC301", "")
    with pytest.raises(CalendarError, match=r"row 1, column 'room': missing column"):
        ExamCalendar.load(write(tmp_path, row, header=header))


def test_empty_file_and_bad_sidecar(tmp_path):
    path = tmp_path / "exam-sessions.csv"
    path.write_text("", encoding="utf-8")
    with pytest.raises(CalendarError, match="empty"):
        ExamCalendar.load(path)
    path = write(tmp_path, GOOD_ROW)
    (tmp_path / "exam-sessions.meta.yaml").write_text("updated: last week\n", encoding="utf-8")
    with pytest.raises(CalendarError, match="meta.yaml.*updated"):
        ExamCalendar.load(path)


# ---- queries ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["SC-2703-02", "sc 2703 02", "SC270302", "sc-2703-02", " Sc_2703_02 "])
def test_by_id_is_tolerant(cal, text):
    assert cal.by_id(text).session_id == "SC-2703-02"


def test_by_id_unknown(cal):
    assert cal.by_id("SC-2801-01") is None
    assert cal.by_id("") is None


def test_simple_queries(cal):
    assert ids(cal.on_date(date(2027, 3, 6))) == ["SC-2703-01", "SC-2703-02"]
    assert ids(cal.by_language("en")) == ["SC-2612-02", "SC-2703-02", "SC-2704-03", "SC-2705-03"]
    assert ids(cal.by_language("English")) == ids(cal.by_language("en"))
    assert len(cal.by_language("zh-TW")) == 14
    level_3 = ["SC-2701-02", "SC-2704-01", "SC-2705-03"]
    assert ids(cal.by_building("AI Innovation Building")) == level_3
    assert ids(cal.by_building("人工智慧創新大樓")) == level_3
    assert len(cal.by_building("computer center")) == 15
    assert cal.by_building("Library") == []


def test_upcoming_and_next(cal):
    today = date(2027, 3, 7)
    assert cal.next_session(today, level=1).session_id == "SC-2704-02"
    assert cal.next_session(today).session_id == "SC-2703-03"
    assert cal.next_session(today, language="en").session_id == "SC-2704-03"
    assert cal.next_session(today, level=1, language="en") is None
    assert ids(cal.upcoming(today, level=2, limit=2)) == ["SC-2703-03", "SC-2704-03"]
    assert cal.upcoming(date(2027, 3, 6))[0].session_id == "SC-2703-01"  # today's session counts
    assert cal.upcoming(date(2027, 7, 1)) == []


def test_registration(cal):
    today = date(2027, 2, 14)  # the day after the March 6 deadline
    open_ids = ids(cal.open_for_registration(today))
    assert "SC-2703-01" not in open_ids and open_ids[0] == "SC-2703-03"
    assert ids(cal.open_for_registration(date(2027, 2, 13)))[:2] == ["SC-2703-01", "SC-2703-02"]


# ---- parsing questions --------------------------------------------------------------------------

@pytest.mark.parametrize("question, expected", [
    ("SC-2612-03 在哪一間試場？幾點開始報到？",
     dict(session_ids=("SC261203",), asks=("room", "checkin"))),
    ("Which room is the Level 3 exam held in?", dict(level=3, asks=("room",))),
    ("¿Cuándo es el próximo examen de nivel 2?", dict(level=2, next=True)),
    ("when is the registration deadline for the March 20 exam?",
     dict(dates=(DateSpec(3, 20),), asks=("date", "deadline"))),
    ("3月6日有哪些場次？", dict(dates=(DateSpec(3, 6),))),
    ("下一場第二級考試是什麼時候？", dict(level=2, next=True)),
    ("第2級考試在哪裡？", dict(level=2, asks=("room",))),
    ("最近的一級考試幾點報到？", dict(level=1, next=True, asks=("checkin",))),
    ("What time does the L2 exam on 2027-04-17 start and end?",
     dict(level=2, dates=(DateSpec(4, 17, 2027),), asks=("start", "end"))),
    ("¿A qué hora empieza el check-in del examen del 6 de marzo?",
     dict(dates=(DateSpec(3, 6),), asks=("checkin",))),
    ("¿En qué salón es el examen sc 2704 03?", dict(session_ids=("SC270403",), asks=("room",))),
    ("How many seats are there in cc 302?", dict(room="CC302", asks=("seats",))),
    ("Is SC270302 in English?", dict(session_ids=("SC270302",), asks=("language",))),
    ("When is the next English Level 1 exam?", dict(level=1, next=True, session_language="en")),
    ("What language is the June 5 afternoon session in?",
     dict(dates=(DateSpec(6, 5),), part_of_day="afternoon", asks=("language",))),
    ("Which exams are held in the AI Innovation Building?", dict(building="AI Innovation Building")),
    ("¿Qué exámenes hay en abril?", dict(month=(None, 4))),
    ("Level 2 exam on 3/20: what time does it start?", dict(level=2, dates=(DateSpec(3, 20),), asks=("start",))),
    ("¿El examen de nivel 2 del 20/3 a qué hora empieza?", dict(level=2, dates=(DateSpec(3, 20),))),
    ("116年3月20日的考試在哪裡？", dict(dates=(DateSpec(3, 20, 2027),), asks=("room",))),
    ("¿Todavía me puedo inscribir al examen de nivel 3?", dict(level=3, asks=("deadline",))),
    ("第三級考試在哪一棟大樓？", dict(level=3, asks=("room",))),
    ("二級考試幾點結束？", dict(level=2, asks=("end",))),
    ("Is the Level 1 exam on March 6 in the morning?",
     dict(level=1, dates=(DateSpec(3, 6),), part_of_day="morning")),
    ("明天有考試嗎？", dict(relative_days=(1,))),
    ("¿Hay examen mañana por la tarde?", dict(relative_days=(1,), part_of_day="afternoon")),
    ("AI501 有什麼考試？", dict(room="AI501")),
    ("When is the May exam?", dict(month=(None, 5))),
    ("Which sessions are open for registration?", dict(asks=("deadline",))),
    ("When does the level two exam on December 19 end?", dict(level=2, dates=(DateSpec(12, 19),), asks=("end", "date"))),
])
def test_parse_calendar_questions(question, expected):
    query = parse_exam_question(question)
    assert query is not None, question
    for name, value in expected.items():
        assert getattr(query, name) == value, (question, name, getattr(query, name))


@pytest.mark.parametrize("question", [
    "how much does the exam cost?",
    "What's the refund policy?",
    "¿Cuánto cuesta el examen de nivel 2?",
    "第二級考試費用多少錢？",
    "Can I bring water into the exam room?",
    "When are the results of the March 6 exam released?",
    "What ID do I need for the exam?",
    "Where is CC302?",
    "What time should I arrive for the exam?",
    "When is the Module 2 exam?",
    "When is the Chinese final exam?",
    "¿Dónde puedo estacionar el día del examen?",
    "How do I get to STUST from the HSR station?",
    "我可以帶計算機進考場嗎？",
    "What is on the Level 1 exam?",
    "What topics does the Level 2 exam cover?",
    "When does registration open for the May exam?",
    "第二級什麼時候開放報名？",
    "May I bring my phone to the exam?",
    # "is there / hay" about something at the venue, not about sessions
    "is there a room where i can pump breast milk at the exam building?",
    "¿hay lockers en el edificio del examen?",
    "",
])
def test_parse_rejects_other_questions(question):
    assert parse_exam_question(question) is None


# ---- answers ------------------------------------------------------------------------------------

def test_is_there_lists_sessions_when_sessions_are_asked_about():
    for question in ("Are there any exams?", "hay examenes?", "有沒有考試？"):
        assert parse_exam_question(question).upcoming, question


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("when is the english-language Level 2 session, and what time does it start and check-in "
         "open?", {"start", "checkin"}),
        ("SC-2703-02 a que hora empieza y a que hora abre el registro?", {"start", "checkin"}),
        ("SC-2703-02 a que hora abre el check-in?", {"checkin"}),
        ("when does check-in open for SC-2703-02?", {"checkin"}),
    ],
)
def test_start_and_check_in_asked_together_are_both_answered(question, asked):
    """"start and check-in open" asks two times: the check-in phrase does not swallow "start"."""
    assert asked <= set(parse_exam_question(question).asks)
    assert ("start" in parse_exam_question(question).asks) == ("start" in asked)


def test_answer_zh_room_and_checkin(cal):
    query = parse_exam_question("SC-2612-03 在哪一間試場？幾點開始報到？")
    answer = cal.answer(query, "zh-TW", date(2026, 11, 21))
    assert answer.found
    assert "CC302" in answer.text and "08:45" in answer.text and "SC-2612-03" in answer.text
    assert "2026年12月19日（星期六）" in answer.text
    assert "2026年11月21日" in answer.text  # the "as of" date
    assert "09:30" not in answer.text and "48" not in answer.text  # only what was asked
    assert answer.citations == (Citation(SOURCE, "SC-2612-03", "SC-2612-03 (2026-12-19)"),)


def test_answer_level_3_room(cal):
    answer = cal.answer(parse_exam_question("Which room is the Level 3 exam held in?"), "en", date(2026, 11, 21))
    assert answer.text.count("AI501") == 3
    assert [c.section for c in answer.citations] == ["SC-2701-02", "SC-2704-01", "SC-2705-03"]
    assert all(c.source == SOURCE for c in answer.citations)
    assert "as of November 21, 2026" in answer.text


def test_answer_next_level_1_with_pinned_date(cal):
    query = parse_exam_question("When is the next Level 1 exam?")
    answer = cal.answer(query, "en", date(2027, 3, 7))
    assert [s.session_id for s in answer.sessions] == ["SC-2704-02"]
    assert "Saturday, April 17, 2027" in answer.text and "CC301" in answer.text
    assert [c.section for c in answer.citations] == ["SC-2704-02"]


def test_answer_next_lists_every_session_of_that_day(cal):
    answer = cal.answer(parse_exam_question("When is the next Level 1 exam?"), "en", date(2027, 3, 1))
    assert ids(answer.sessions) == ["SC-2703-01", "SC-2703-02"]
    assert "Traditional Chinese" in answer.text and "English" in answer.text


def test_answer_es_next_level_2(cal):
    answer = cal.answer(parse_exam_question("¿Cuándo es el próximo examen de nivel 2?"), "es", date(2027, 3, 7))
    assert ids(answer.sessions) == ["SC-2703-03"]
    assert "sábado 20 de marzo de 2027" in answer.text and "CC302" in answer.text and "09:30" in answer.text
    assert "actualizado al 21 de noviembre de 2026" in answer.text


def test_answer_registration_deadline(cal):
    query = parse_exam_question("when is the registration deadline for the March 20 exam?")
    answer = cal.answer(query, "en", date(2027, 1, 10))
    assert ids(answer.sessions) == ["SC-2703-03"]
    assert "February 27, 2027" in answer.text and "(closed)" not in answer.text
    late = cal.answer(query, "en", date(2027, 3, 1))
    assert "(closed)" in late.text


def test_answer_date_listing_in_chinese(cal):
    answer = cal.answer(parse_exam_question("3月6日有哪些場次？"), "zh-TW", date(2026, 11, 21))
    assert ids(answer.sessions) == ["SC-2703-01", "SC-2703-02"]
    assert "08:45" in answer.text and "13:15" in answer.text and "英文" in answer.text
    assert [c.section for c in answer.citations] == ["SC-2703-01", "SC-2703-02"]


def test_answer_past_session_is_marked(cal):
    answer = cal.answer(parse_exam_question("Where is session SC-2612-01?"), "en", date(2027, 1, 1))
    assert "already held" in answer.text and "CC301" in answer.text


def test_answer_nothing_found(cal):
    answer = cal.answer(parse_exam_question("Is there a Level 3 exam on March 6?"), "en", AS_OF)
    assert not answer.found and answer.citations == () and "November 21, 2026" in answer.text
    answer = cal.answer(parse_exam_question("What time does SC-2801-01 start?"), "es", AS_OF)
    assert not answer.found and "SC-2801-01" in answer.text


def test_answer_long_list_is_capped(cal):
    answer = cal.answer(parse_exam_question("When are the exams?"), "en", AS_OF)
    assert len(answer.sessions) == len(answer.citations) == 6
    assert "12 more" in answer.text


def test_format_session_in_each_language(cal):
    s = cal.by_id("SC-2703-02")
    en = format_session(s, "en")
    for fact in ("SC-2703-02", "Saturday, March 6, 2027", "13:15", "14:00", "15:00", "CC301",
                 "Computer Center Building", "60", "Saturday, February 13, 2027", "English"):
        assert fact in en, fact
    es = format_session(s, "es")
    assert "sábado 6 de marzo de 2027" in es and "inglés" in es and "CC301" in es
    zh = format_session(s, "zh-TW")
    assert "2027年3月6日（星期六）" in zh and "英文" in zh and "13:15" in zh


def test_format_date():
    d = date(2027, 3, 6)
    assert format_date(d, "en") == "Saturday, March 6, 2027"
    assert format_date(d, "es") == "sábado 6 de marzo de 2027"
    assert format_date(d, "zh-TW") == "2027年3月6日（星期六）"


def test_answer_relative_day_and_part_of_day(cal):
    answer = cal.answer(parse_exam_question("¿Hay examen mañana por la tarde?"), "es", date(2027, 3, 5))
    assert ids(answer.sessions) == ["SC-2703-02"]
    assert "13:15" in answer.text and "inglés" in answer.text
    nothing = cal.answer(parse_exam_question("明天有考試嗎？"), "zh-TW", date(2027, 3, 8))
    assert not nothing.found and "沒有" in nothing.text


def test_answer_open_for_registration(cal):
    answer = cal.answer(parse_exam_question("Which sessions are open for registration?"), "en", date(2027, 3, 21))
    assert ids(answer.sessions)[0] == "SC-2704-02"  # SC-2704-01 closed on March 20
    assert "registration deadline Saturday, March 27, 2027" in answer.text


@pytest.mark.parametrize("question,ids", [
    ("報名截止日是 2026-12-19 的是哪一場考試？", ["SC-2701-01"]),
    ("which exam has its registration deadline on December 19?", ["SC-2701-01"]),
    ("¿qué examen tiene fecha límite el 19 de diciembre?", ["SC-2701-01"]),
    ("CC302 教室在 2027 年 3 月和 4 月有哪些場次？", ["SC-2703-03", "SC-2704-03"]),
    ("which sessions only have 30 seats?", ["SC-2701-02", "SC-2704-01", "SC-2705-03"]),
])  # fmt: skip
def test_the_calendar_answers_by_deadline_by_several_months_and_by_seats(question, ids):
    calendar = ExamCalendar.load(CSV)
    query = parse_exam_question(question)
    hits, _ = calendar.find(query, date(2026, 10, 15))
    assert [s.session_id for s in hits] == ids


def test_a_date_of_the_exam_is_not_read_as_a_deadline_and_a_retake_is_a_rules_question():
    query = parse_exam_question("What is the registration deadline for the Level 2 exam on 2026-12-19?")
    assert query.dates and not query.deadline_dates and "deadline" in query.asks
    assert parse_exam_question("第一級沒過的話，多久之後可以再考？要重新繳全額嗎？") is None
