"""Who hears about a case (pure function of case, roster and time) and the reply promise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from bot.escalation.hours import InvalidHours, WeeklyHours
from bot.escalation.roster import load_roster
from bot.escalation.routing import reply_promise, route

TPE = ZoneInfo("Asia/Taipei")
ROSTER = load_roster(Path(__file__).resolve().parents[1] / "roster.example.yaml")
# 2026-09-07 is a Monday; 2026-09-09 a Wednesday (the Spanish-speaking counselor's day).
MON_10 = datetime(2026, 9, 7, 10, 0, tzinfo=TPE)
WED_10 = datetime(2026, 9, 9, 10, 0, tzinfo=TPE)
MON_22 = datetime(2026, 9, 7, 22, 0, tzinfo=TPE)


@dataclass
class FakeCase:
    reason: str = "explicit_request"
    topic: str | None = None
    language: str = "es"
    user_id: int = 200000001
    username: str | None = None
    sensitive: bool = False


def ids(routing):
    return [p.id for p in routing.recipients]


def test_crisis_goes_to_counselors_on_duty_and_the_desk_at_once():
    routing = route(FakeCase(reason="crisis"), ROSTER, MON_10)
    assert ids(routing) == [100000001, 100000009]
    assert routing.desk_chat and routing.urgent and routing.sensitive


def test_crisis_at_night_still_reaches_the_on_call_counselor_and_the_desk():
    routing = route(FakeCase(reason="crisis"), ROSTER, MON_22)
    assert ids(routing) == [100000009] and routing.desk_chat and routing.urgent


def test_academic_goes_to_the_trainees_mentor_by_id_or_username():
    assert ids(route(FakeCase(topic="academic"), ROSTER, MON_10)) == [100000003]
    case = FakeCase(topic="academic", user_id=1, username="Sofia_HMO")
    routing = route(case, ROSTER, MON_10)
    assert ids(routing) == [100000004] and not routing.desk_chat


def test_academic_without_a_mentor_goes_to_the_desk():
    routing = route(FakeCase(topic="academic", user_id=1), ROSTER, MON_10)
    assert routing.recipients == [] and routing.desk_chat


def test_wellbeing_in_spanish_puts_the_spanish_speaker_first_when_on_duty():
    wednesday = route(FakeCase(reason="sensitive", topic="wellbeing"), ROSTER, WED_10)
    assert ids(wednesday)[0] == 100000002
    assert not wednesday.desk_chat  # sensitive: only the routed counselors
    monday = route(FakeCase(reason="sensitive", topic="wellbeing"), ROSTER, MON_10)
    assert 100000002 not in ids(monday) and ids(monday)[0] == 100000001
    english = route(FakeCase(reason="sensitive", topic="wellbeing", language="en"), ROSTER, WED_10)
    assert ids(english)[0] == 100000001


def test_exams_visa_and_housing_go_to_their_staff():
    assert ids(route(FakeCase(topic="exams"), ROSTER, MON_10)) == [100000005]
    assert ids(route(FakeCase(topic="visa"), ROSTER, MON_10)) == [100000006]
    assert 100000006 in ids(route(FakeCase(topic="housing"), ROSTER, MON_10))


def test_anything_else_goes_to_the_desk():
    routing = route(FakeCase(topic=None), ROSTER, MON_10)
    assert routing.recipients == [] and routing.desk_chat and not routing.urgent


def test_after_hours_the_backup_and_the_desk():
    routing = route(FakeCase(topic="visa"), ROSTER, MON_22)
    assert ids(routing) == [100000009] and routing.desk_chat and routing.after_hours


def test_a_sensitive_case_after_hours_goes_to_the_backup_only():
    routing = route(FakeCase(reason="sensitive", topic="family"), ROSTER, MON_22)
    assert ids(routing) == [100000009] and not routing.desk_chat


# --- the reply promise ----------------------------------------------------------------------------

SETTINGS = SimpleNamespace(
    counseling_hours="Mon-Fri 08:30-17:00; Wed 08:30-20:00",
    response_promise_hours=2.0,
    next_day_reply_by="10:00",
    timezone="Asia/Taipei",
)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 9, 7, 9, 15, tzinfo=TPE), datetime(2026, 9, 7, 11, 15, tzinfo=TPE)),
        (datetime(2026, 9, 9, 19, 0, tzinfo=TPE), datetime(2026, 9, 9, 21, 0, tzinfo=TPE)),  # Wed
        (datetime(2026, 9, 7, 17, 30, tzinfo=TPE), datetime(2026, 9, 8, 10, 0, tzinfo=TPE)),
        (datetime(2026, 9, 7, 7, 0, tzinfo=TPE), datetime(2026, 9, 7, 10, 0, tzinfo=TPE)),
        (datetime(2026, 9, 11, 18, 0, tzinfo=TPE), datetime(2026, 9, 14, 10, 0, tzinfo=TPE)),  # Fri
        (datetime(2026, 9, 12, 12, 0, tzinfo=TPE), datetime(2026, 9, 14, 10, 0, tzinfo=TPE)),  # Sat
    ],
)
def test_reply_promise(now, expected):
    assert reply_promise(now, SETTINGS) == expected


def test_reply_promise_accepts_utc_and_skips_holidays():
    utc_now = datetime(2026, 9, 7, 10, 0, tzinfo=ZoneInfo("UTC"))  # 18:00 in Taipei
    holiday = datetime(2026, 9, 8).date()
    promise = reply_promise(utc_now, SETTINGS, holidays={holiday})
    assert promise == datetime(2026, 9, 9, 10, 0, tzinfo=TPE)


def test_weekly_hours_parsing():
    hours = WeeklyHours.parse("Mon-Fri 08:30-12:00 13:00-17:00; Sat 09:00-24:00")
    assert hours.is_open(datetime(2026, 9, 7, 8, 30))
    assert not hours.is_open(datetime(2026, 9, 7, 12, 30))
    assert hours.is_open(datetime(2026, 9, 12, 23, 59))
    assert not hours.is_working_day(6)
    with pytest.raises(InvalidHours):
        WeeklyHours.parse("Funday 09:00-10:00")
    with pytest.raises(InvalidHours):
        WeeklyHours.parse("Mon 17:00-09:00")


# --- one topic vocabulary: every topic triage can emit has a route and a text -------------------


def test_triage_roster_and_routing_share_one_topic_type():
    import typing

    from bot.escalation import roster
    from bot.topics import TOPICS, Topic
    from bot.triage.model import TriageModel

    assert roster.Topic is Topic
    assert set(TriageModel.load().topics) == set(TOPICS) == set(typing.get_args(Topic))


@pytest.mark.parametrize("reason", ["crisis", "sensitive", "explicit_request"])
@pytest.mark.parametrize("when", [MON_10, MON_22], ids=["day", "night"])
def test_every_triage_topic_is_routed_somewhere_and_named_in_every_language(reason, when):
    from bot.i18n import default_translator
    from bot.topics import TOPICS
    from bot.triage import CRISIS_TOPICS

    tr = default_translator()
    for topic in CRISIS_TOPICS if reason == "crisis" else TOPICS:
        routing = route(FakeCase(reason=reason, topic=topic), ROSTER, when)
        assert routing.recipients or routing.desk_chat, (reason, topic)
        if reason in ("crisis", "sensitive") and topic != "academic":
            assert routing.recipients, (reason, topic)  # a person, not only the group
        for lang in ("es", "en", "zh-TW"):
            assert tr.t(lang, f"desk.topics.{topic}") != f"desk.topics.{topic}"


def test_money_trouble_goes_to_the_staff_who_list_finance():
    routing = route(FakeCase(reason="sensitive", topic="finance"), ROSTER, MON_10)
    assert ids(routing) == [100000006]


def test_a_sensitive_topic_nobody_lists_goes_to_the_counselors():
    routing = route(FakeCase(reason="sensitive", topic="conduct"), ROSTER, MON_10)
    assert ids(routing) == [100000001, 100000009] and not routing.desk_chat
