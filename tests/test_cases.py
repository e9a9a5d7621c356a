"""The case state machine, its guards and audit trail, the relay texts and claim reminders."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.escalation.cases import CaseNotFound, CaseStore, InvalidTransition, NotAllowed
from bot.escalation.relay import (
    case_card,
    notify_new_case,
    notify_resolved,
    relay_to_trainee,
)
from bot.escalation.reminders import due_reminders, send_reminders
from bot.escalation.roster import load_roster
from bot.escalation.routing import reply_promise, route
from bot.i18n import Translator, t
from bot.outbox import Outbox
from bot.storage import Database
from tests.pg import database_url, pg_server  # noqa: F401 - fixtures

ROSTER = load_roster(Path(__file__).resolve().parents[1] / "roster.example.yaml")
COUNSELOR, SPANISH, NIGHT, MENTOR = 100000001, 100000002, 100000009, 100000003
TRAINEE = 200000001


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock():
    return Clock(datetime(2026, 9, 7, 2, 0, tzinfo=timezone.utc))  # Monday 10:00 in Taipei


@pytest.fixture
def db(database_url):  # noqa: F811
    database = Database(database_url)
    database.migrate()
    yield database
    database.close()


@pytest.fixture
def desk(db, clock):
    return CaseStore(db, roster=ROSTER, clock=clock, reopen_window=timedelta(hours=72))


def open_case(desk, reason="explicit_request", topic="visa", user_id=TRAINEE):
    return desk.open_case(
        user_id, user_id, "Sofía", "es", reason, topic, "¿Cómo renuevo mi ARC?",
        ["¿Dónde está la oficina?", "En A412."], "Borrador", ["program/handbook.es.md"],
    )  # fmt: skip


def kinds(desk, case_id):
    return [e.kind for e in desk.audit(case_id)]


def test_the_happy_path_is_audited(desk, clock):
    case = open_case(desk)
    assert case.status == "open" and desk.active_case_for(TRAINEE).id == case.id
    desk.record_routing(case.id, route(case, ROSTER, clock()))
    clock.advance(minutes=5)
    claimed = desk.claim(case.id, COUNSELOR)
    assert claimed.status == "claimed" and claimed.assigned_to == COUNSELOR
    assert claimed.claimed_at == clock()
    desk.add_message(case.id, "out", COUNSELOR, "Ve a la oficina A412.")
    resolved = desk.resolve(case.id, COUNSELOR)
    assert resolved.status == "resolved" and desk.active_case_for(TRAINEE) is None
    assert desk.rate(case.id, 5, by=TRAINEE).rating == 5
    assert kinds(desk, case.id) == ["opened", "routed", "claimed", "relayed", "resolved", "rated"]
    events = desk.audit(case.id)
    assert events[2].actor == COUNSELOR and events[2].at == resolved.claimed_at
    assert [m.direction for m in desk.messages(case.id)] == ["in", "out"]


def test_claiming_is_exclusive_and_double_taps_are_harmless(desk):
    case = open_case(desk)
    desk.claim(case.id, COUNSELOR)
    assert desk.claim(case.id, COUNSELOR).assigned_to == COUNSELOR
    with pytest.raises(InvalidTransition):
        desk.claim(case.id, NIGHT)
    assert kinds(desk, case.id).count("claimed") == 1


def test_guards(desk):
    case = open_case(desk)
    with pytest.raises(CaseNotFound):
        desk.claim(999, COUNSELOR)
    with pytest.raises(InvalidTransition):
        desk.resolve(case.id, COUNSELOR)  # nobody claimed it
    with pytest.raises(InvalidTransition):
        desk.rate(case.id, 4)
    with pytest.raises(NotAllowed):
        desk.claim(case.id, 123)  # not on the roster
    desk.claim(case.id, COUNSELOR)
    with pytest.raises(NotAllowed):
        desk.resolve(case.id, MENTOR)  # someone else's case
    with pytest.raises(NotAllowed):
        desk.add_message(case.id, "out", MENTOR, "hola")
    desk.resolve(case.id, NIGHT)  # a desk admin may
    with pytest.raises(ValueError):
        desk.rate(case.id, 6)
    with pytest.raises(NotAllowed):
        desk.rate(case.id, 3, by=MENTOR)


def test_a_sensitive_case_is_claimed_only_by_its_routed_counselors(desk, clock):
    case = open_case(desk, reason="sensitive", topic="wellbeing")
    assert case.sensitive
    desk.record_routing(case.id, route(case, ROSTER, clock()))
    with pytest.raises(NotAllowed):
        desk.claim(case.id, MENTOR)
    assert desk.claim(case.id, COUNSELOR).status == "claimed"


def test_reassign(desk):
    case = open_case(desk)
    desk.claim(case.id, COUNSELOR)
    with pytest.raises(NotAllowed):
        desk.reassign(case.id, NIGHT, by=MENTOR)  # not the assignee, not an admin
    with pytest.raises(NotAllowed, match="off duty"):
        desk.reassign(case.id, SPANISH, by=COUNSELOR)  # Ana works on Wednesdays: reminders go on
    assert desk.get(case.id).assigned_to == COUNSELOR
    moved = desk.reassign(case.id, NIGHT, by=COUNSELOR)
    assert moved.assigned_to == NIGHT and NIGHT in moved.routed_to
    assert desk.open_cases_for(NIGHT)[0].id == case.id and desk.open_cases_for(COUNSELOR) == []


def test_writing_again_within_the_window_reopens(desk, clock):
    case = open_case(desk)
    desk.claim(case.id, COUNSELOR)
    desk.resolve(case.id, COUNSELOR)
    clock.advance(hours=71)
    assert desk.recent_case_for(TRAINEE).id == case.id
    desk.add_message(case.id, "in", TRAINEE, "Otra pregunta")
    reopened = desk.get(case.id)
    assert reopened.status == "reopened" and reopened.round == 1
    assert reopened.waiting_since == clock()
    assert desk.active_case_for(TRAINEE).id == case.id
    assert kinds(desk, case.id)[-2:] == ["reopened", "relayed"]
    assert desk.resolve(case.id, COUNSELOR).status == "resolved"


def test_no_reopening_after_the_window(desk, clock):
    case = open_case(desk)
    desk.claim(case.id, COUNSELOR)
    desk.resolve(case.id, COUNSELOR)
    clock.advance(hours=73)
    assert desk.recent_case_for(TRAINEE) is None
    with pytest.raises(InvalidTransition):
        desk.add_message(case.id, "in", TRAINEE, "hola")
    with pytest.raises(InvalidTransition):
        desk.reopen(case.id, TRAINEE)


def test_open_cases_for_lists_claimed_then_routed(desk, clock):
    first = open_case(desk, topic="visa")
    desk.record_routing(first.id, route(first, ROSTER, clock()))  # to 100000006
    second = open_case(desk, topic="visa", user_id=200000002)
    desk.claim(second.id, 100000006)
    assert [c.id for c in desk.open_cases_for(100000006)] == [second.id, first.id]
    assert [c.id for c in desk.unclaimed()] == [first.id]


# --- relay and reminders --------------------------------------------------


def test_new_case_notifications_are_localized_and_deduplicated(desk, db, clock):
    tr, outbox = Translator(), Outbox(db, clock=clock)
    case = open_case(desk, reason="sensitive", topic="wellbeing")
    routing = route(case, ROSTER, clock())
    promise = reply_promise(clock(), _settings())
    ids = notify_new_case(case, routing, ROSTER, outbox, tr, promise=promise, now=clock())
    again = notify_new_case(case, routing, ROSTER, outbox, tr, promise=promise, now=clock())
    assert ids == again and outbox.pending_count() == len(ids)
    ack = outbox.get(ids[0])
    assert ack.chat_id == TRAINEE and "hoy a las 12:00" in ack.text
    card = outbox.get(ids[1])
    assert card.chat_id == COUNSELOR and "¿Cómo renuevo mi ARC?" in card.text
    assert card.reply_markup["buttons"][0][0]["data"] == f"desk:claim:{case.id}"
    assert not any(outbox.get(i).chat_id == ROSTER.desk.chat_id for i in ids)  # sensitive


def test_a_crisis_desk_card_is_redacted(desk, db, clock):
    tr, outbox = Translator(), Outbox(db, clock=clock)
    case = open_case(desk, reason="crisis", topic="wellbeing")
    routing = route(case, ROSTER, clock())
    ids = notify_new_case(case, routing, ROSTER, outbox, tr, promise=clock(), now=clock())
    texts = {outbox.get(i).chat_id: outbox.get(i) for i in ids}
    assert "110" in texts[TRAINEE].text
    desk_card = texts[ROSTER.desk.chat_id]
    assert desk_card.thread_id == ROSTER.desk.thread_id
    assert "ARC" not in desk_card.text and "Lin Mei-hua" in desk_card.text


def test_relay_and_resolution_texts(desk, db, clock):
    tr, outbox = Translator(), Outbox(db, clock=clock)
    case = open_case(desk)
    desk.claim(case.id, COUNSELOR)
    message = desk.add_message(case.id, "out", COUNSELOR, "Ve a A412.")
    relayed = outbox.get(relay_to_trainee(case, ROSTER.person(COUNSELOR), message, outbox, tr))
    assert relayed.text == "Tu consejero/a Lin Mei-hua: Ve a A412."
    resolved = outbox.get(
        notify_resolved(desk.resolve(case.id, COUNSELOR), outbox, tr, reopen_hours=72)
    )
    assert "72" in resolved.text and len(resolved.reply_markup["buttons"][0]) == 5


def test_reminders_escalate_once_per_step_and_survive_restarts(desk, db, clock):
    tr, outbox = Translator(), Outbox(db, clock=clock)
    case = open_case(desk, topic="visa")
    desk.record_routing(case.id, route(case, ROSTER, clock()))
    assert due_reminders(desk, ROSTER, now=clock(), minutes=30) == []
    clock.advance(minutes=31)
    first = send_reminders(desk, ROSTER, outbox, tr, now=clock(), minutes=30)
    assert [(r.step, r.recipients, r.desk_chat) for r in first] == [(1, [100000006, NIGHT], False)]
    # A restart re-runs the job: nothing new.
    restarted = CaseStore(db, roster=ROSTER, clock=clock)
    assert send_reminders(restarted, ROSTER, outbox, tr, now=clock(), minutes=30) == []
    clock.advance(minutes=30)
    second = send_reminders(restarted, ROSTER, outbox, tr, now=clock(), minutes=30)
    assert [(r.step, r.desk_chat) for r in second] == [(2, True)]
    assert send_reminders(restarted, ROSTER, outbox, tr, now=clock(), minutes=30) == []
    assert kinds(desk, case.id).count("reminded") == 2
    assert outbox.pending_count() == 3
    # Claimed cases are never reminded.
    desk.claim(case.id, 100000006)
    clock.advance(hours=5)
    assert due_reminders(desk, ROSTER, now=clock(), minutes=30) == []


def _settings():
    from types import SimpleNamespace

    return SimpleNamespace(
        counseling_hours="Mon-Fri 08:30-17:00; Wed 08:30-20:00",
        response_promise_hours=2.0,
        next_day_reply_by="10:00",
        timezone="Asia/Taipei",
    )


# --- the facade a channel uses --------------------------------------------------


def test_escalation_desk_request_human_and_escalate(db, clock):
    from bot.escalation.service import EscalationDesk
    from bot.records import AnswerRecord, Citation

    service = EscalationDesk(db, ROSTER, _settings(), clock=clock)
    service.open()
    reply = service.request_human(
        user_id=TRAINEE,
        chat_id=TRAINEE,
        name="Sofía",
        language="es",
        text="Quiero hablar con alguien",
    )
    assert "Sofía" in reply.reply and "hoy a las 12:00" in reply.reply
    case = service.cases.active_case_for(TRAINEE)
    assert case.reason == "explicit_request" and case.routed_to == []  # general: the desk
    kinds_sent = [service.outbox.get(i).kind for i in range(1, 10) if service.outbox.get(i)]
    assert kinds_sent == ["desk_card"]  # the reply above is the acknowledgement
    again = service.request_human(
        user_id=TRAINEE, chat_id=TRAINEE, name="Sofía", language="es", text="¿Hola?"
    )
    assert f"#{case.id}" in again.reply and len(service.cases.messages(case.id)) == 2

    record = AnswerRecord(
        question="I feel hopeless", language="en", answer="", answered=False,
        sources=[Citation("program/handbook.en.md", "Mentorship")], escalate=True,
        escalation_reason="crisis", topic="wellbeing",
    )  # fmt: skip
    service.escalate(record=record, user_id=200000002, chat_id=200000002, name="Luis")
    crisis = service.cases.active_case_for(200000002)
    assert crisis.urgent and crisis.sensitive and COUNSELOR in crisis.routed_to
    assert crisis.sources == ["program/handbook.en.md"]


def test_human_with_nothing_said_yet_asks_what_it_is_about(db, clock):
    """/human alone opens a case whose card says no message came yet (not an empty "Message:"),
    the person is asked what it is about, and /human again adds no empty message."""
    from bot.escalation.service import EscalationDesk

    service = EscalationDesk(db, ROSTER, _settings(), clock=clock)
    service.open()
    reply = service.request_human(
        user_id=TRAINEE, chat_id=TRAINEE, name="Sofía", language="es", text=""
    )
    assert "de qué se trata" in reply.reply and "hoy a las 12:00" in reply.reply
    case = service.cases.active_case_for(TRAINEE)
    card = service.outbox.get(1)
    assert card.kind == "desk_card"
    assert "No message yet" in card.text and not card.text.rstrip().endswith(":")
    before = len(service.cases.messages(case.id))
    again = service.request_human(
        user_id=TRAINEE, chat_id=TRAINEE, name="Sofía", language="es", text="  "
    )
    assert f"#{case.id}" in again.reply and "Escribe aquí tu mensaje" in again.reply
    assert len(service.cases.messages(case.id)) == before
    assert service.outbox.get(2) is None  # nothing relayed to anyone


def test_an_unclaimed_crisis_is_reminded_every_few_minutes_until_claimed(desk, db, clock):
    """A crisis runs on the urgent interval (not 30 minutes): the routed people and the backup
    after 5 minutes, then everyone and the desk at every further interval, until claimed; its
    card never promises an answer "by tomorrow"."""
    tr, outbox = Translator(), Outbox(db, clock=clock)
    case = open_case(desk, reason="crisis", topic="wellbeing")
    routing = route(case, ROSTER, clock())
    desk.record_routing(case.id, routing)
    card = case_card(tr, "en", case, routing, "tomorrow at 10:00")
    assert "tomorrow" not in card and t("en", "desk.card.promise_urgent") in card
    clock.advance(minutes=4)
    assert send_reminders(desk, ROSTER, outbox, tr, now=clock(), minutes=30) == []
    clock.advance(minutes=1)
    first = send_reminders(desk, ROSTER, outbox, tr, now=clock(), minutes=30)
    assert [(r.step, r.desk_chat) for r in first] == [(1, False)]
    assert NIGHT in first[0].recipients  # the backup
    reminder = outbox.get(max(r.id for r in outbox.due(clock(), 100)))
    assert reminder.text.startswith("🚨") and reminder.reply_markup  # with the claim buttons
    steps = []
    for _ in range(4):
        clock.advance(minutes=5)
        steps += [(r.step, r.desk_chat) for r in
                  send_reminders(desk, ROSTER, outbox, tr, now=clock(), minutes=30)]  # fmt: skip
        assert send_reminders(desk, ROSTER, outbox, tr, now=clock(), minutes=30) == []
    assert steps == [(2, True), (3, True), (4, True), (5, True)]
    # A restart after a long outage sends the latest step only, not every missed one.
    clock.advance(minutes=30)
    restarted = CaseStore(db, roster=ROSTER, clock=clock)
    assert [r.step for r in send_reminders(restarted, ROSTER, outbox, tr, now=clock(),
                                            minutes=30)] == [11]  # fmt: skip
    desk.claim(case.id, COUNSELOR)
    clock.advance(hours=1)
    assert send_reminders(desk, ROSTER, outbox, tr, now=clock(), minutes=30) == []


def test_two_state_changes_at_once_do_not_lose_an_update(desk, db):
    """PostgreSQL runs transactions side by side: a resolve that read the case while another
    transaction was resolving it would resolve it a second time (a lost update). The first read
    of a state change locks the row, so the second one sees the case resolved and is refused."""
    import threading
    import time

    import sqlalchemy as sa

    from bot.storage import schema

    if db.is_sqlite:
        pytest.skip("SQLite serializes write transactions (BEGIN IMMEDIATE)")
    case = open_case(desk)
    desk.claim(case.id, COUNSELOR)
    outcome: list = []

    def resolve():
        try:
            outcome.append(desk.resolve(case.id, COUNSELOR))
        except InvalidTransition as exc:
            outcome.append(exc)

    with db.transaction() as first:  # someone else resolving it right now
        desk._get(first, case.id, lock=True)
        first.execute(schema.cases.update().where(schema.cases.c.id == case.id)
                      .values(status="resolved"))  # fmt: skip
        second = threading.Thread(target=resolve)
        second.start()
        deadline = time.monotonic() + 20
        with db.connect() as watch:  # wait until the second transaction waits for the row
            while not watch.execute(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            )).scalar():  # fmt: skip
                assert time.monotonic() < deadline, "the second resolve never waited"
                watch.rollback()
    second.join(20)
    assert len(outcome) == 1 and isinstance(outcome[0], InvalidTransition)
    assert kinds(desk, case.id).count("resolved") == 0  # only the raw update above resolved it


def test_a_case_turned_crisis_is_reminded_anew(desk, db, clock):
    """Reminded twice as a routine case, claimed by visa staff, then a crisis written inside it
    takes it back to waiting: the urgent reminders start again from that moment (the steps sent
    in the earlier waiting period do not count)."""
    tr, outbox = Translator(), Outbox(db, clock=clock)
    case = open_case(desk, topic="visa")
    desk.record_routing(case.id, route(case, ROSTER, clock()))
    clock.advance(minutes=61)
    assert [r.step for r in send_reminders(desk, ROSTER, outbox, tr, now=clock(), minutes=30)] == [1, 2]
    desk.claim(case.id, 100000006)
    message = desk.add_message(case.id, "in", TRAINEE, "ya no quiero vivir")
    crisis = desk.mark_crisis(case.id, message.id)
    assert crisis.assigned_to is None and crisis.urgent  # visa staff may not hold a crisis
    clock.advance(minutes=5)
    first = send_reminders(desk, ROSTER, outbox, tr, now=clock(), minutes=30)
    assert [(r.step, r.desk_chat) for r in first] == [(1, False)]
    clock.advance(minutes=5)
    assert [r.step for r in send_reminders(desk, ROSTER, outbox, tr, now=clock(), minutes=30)] == [2]


def test_a_crisis_cannot_be_cancelled_by_its_trainee(desk):
    crisis = open_case(desk, reason="crisis", topic="wellbeing")
    with pytest.raises(InvalidTransition):
        desk.cancel(crisis.id, TRAINEE)
    assert desk.get(crisis.id).active
    routine = open_case(desk, user_id=TRAINEE + 1)
    assert desk.cancel(routine.id, TRAINEE + 1).status == "resolved"
