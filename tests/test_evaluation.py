"""The judge of the question sets: what counts as stating a fact."""

from __future__ import annotations

import pytest

from bot.evaluation import has_fact, judge
from bot.records import AnswerRecord, Citation


@pytest.mark.parametrize(
    "reply",
    [
        "registration deadline Saturday, November 28, 2026 (closed)",
        "fecha límite de inscripción: sábado 28 de noviembre de 2026",
        "報名截止：2026年11月28日（星期六）",
        "deadline 2026-11-28",
        "the 28 November 2026 session",
        "on November 28th, 2026",
        "2026年11月28日，星期六",
    ],
)
def test_a_date_fact_counts_written_out_in_each_language(reply: str) -> None:
    assert has_fact(reply, "2026-11-28")


@pytest.mark.parametrize(
    "reply",
    [
        "Saturday, November 29, 2026",  # another day
        "sábado 28 de octubre de 2026",  # another month
        "2027年11月28日",  # another year
        "November 28",  # no year: not the fact as given
        "2026年11月2日",
    ],
)
def test_a_date_fact_does_not_count_for_another_day(reply: str) -> None:
    assert not has_fact(reply, "2026-11-28")


def test_a_one_digit_day_is_not_read_inside_a_two_digit_one() -> None:
    assert has_fact("el 2 de noviembre de 2026", "2026-11-02")
    assert not has_fact("el 12 de noviembre de 2026", "2026-11-02")
    assert not has_fact("on 12 November 2026", "2026-11-02")
    assert not has_fact("2026年11月12日", "2026-11-02")


def test_a_date_after_another_number_or_in_a_slash_form_is_read_exactly() -> None:
    assert has_fact("(nivel 2, 28 de noviembre de 2026)", "2026-11-28")
    assert has_fact("21 de noviembre de 2026, 28 de noviembre de 2026", "2026-11-28")
    assert has_fact("2026/11/02", "2026-11-02") and has_fact("2026/11/2", "2026-11-02")
    assert not has_fact("2026/11/28", "2026-11-02")
    assert not has_fact("2026-11-280", "2026-11-28")


def test_other_facts_match_ignoring_spacing_and_thousands_separators() -> None:
    assert has_fact("NT$20000 al mes", "NT$20,000")
    assert has_fact("Room CC 108", "CC108")
    assert not has_fact("NT$2000", "NT$20,000")
    assert has_fact("2026-11-28T09:00", "2026-11-28")  # an ISO date inside a longer reply word


def test_a_calendar_reply_with_the_date_written_out_is_judged_right() -> None:
    item = {
        "kind": "answer", "expected_facts": ["2027-05-01"],
        "expected_sources": ["certification/exam-sessions.csv"],
    }  # fmt: skip
    record = AnswerRecord(
        "hasta cuando me inscribo al del 22 de mayo?", "es",
        "• SC-2705-02 (nivel 2) — sábado 22 de mayo de 2027 · fecha límite de inscripción: "
        "sábado 1 de mayo de 2027",
        answered=True, sources=[Citation("certification/exam-sessions.csv", "SC-2705-02", "")],
    )  # fmt: skip
    assert judge(item, record).correct
    wrong = AnswerRecord(record.question, "es", record.answer.replace("1 de mayo", "8 de mayo"),
                         answered=True, sources=record.sources)  # fmt: skip
    assert not judge(item, wrong).correct
