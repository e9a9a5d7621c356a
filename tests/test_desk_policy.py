"""Who may do what on the desk: every action × every actor × open / claimed / resolved × sensitive
or not, through `EscalationDesk` (the desk's one API), and the findings of the desk audit that
the policy closes (forged reassign, stale ratings, removed people, /forget scoping, leaks to the
desk group).

The expected table below is written out by hand from the README's "who may do what" table, not
computed by the code under test."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.escalation.cases import DeskError, InvalidTransition, NotAllowed
from bot.escalation.roster import parse_roster
from bot.escalation.service import EscalationDesk
from bot.i18n import t
from bot.records import AnswerRecord
from bot.storage import Database, UserStore

COUNSELOR, MENTOR, STAFF, OTHER, ADMIN, EXAMS = 11, 12, 13, 14, 15, 16
OUTSIDER = 99
DESK_CHAT = -100500
ROSTER_YAML = f"""
timezone: Asia/Taipei
desk: {{chat_id: {DESK_CHAT}, language: en}}
people:
  - {{id: {COUNSELOR}, name: Lin, languages: [en], topics: [wellbeing], roles: [counselor],
      on_duty: true}}
  - {{id: {MENTOR}, name: Chen, languages: [en], topics: [academic], roles: [mentor],
      on_duty: true}}
  - {{id: {STAFF}, name: Tsai, languages: [en], topics: [housing], roles: [staff], on_duty: true}}
  - {{id: {OTHER}, name: Wang, languages: [en], topics: [visa], roles: [staff], on_duty: true}}
  - {{id: {ADMIN}, name: Boss, languages: [en], roles: [desk_admin], on_duty: true}}
  - {{id: {EXAMS}, name: Kao, languages: [en], topics: [exams], roles: [exam_staff],
      on_duty: true}}
"""
ROSTER = parse_roster(ROSTER_YAML)

ACTORS = {
    "trainee": None, "outsider": OUTSIDER, "counselor": COUNSELOR, "mentor": MENTOR,
    "staff": STAFF, "other": OTHER, "admin": ADMIN, "exam staff": EXAMS,
}  # fmt: skip
ACTIONS = ("view", "claim", "reply", "resolve", "reassign", "message", "rate", "forget", "cancel")

# (kind, state, action) -> the actors for whom it succeeds. "plain": a housing question routed to
# the housing staff (Tsai), not sensitive; "sensitive": a harassment case routed to the counselor.
# Claimed / resolved by the person it was routed to. Everyone else is refused or finds the state
# wrong; nothing changes for them.
A, C, S, T = "admin", "counselor", "staff", "trainee"
EXPECTED: dict[tuple[str, str, str], set[str]] = {}
for kind, handler in (("plain", S), ("sensitive", C)):
    may_see = {A, C, handler}
    EXPECTED |= {
        (kind, "open", "view"): may_see,
        (kind, "open", "claim"): may_see,
        (kind, "open", "reply"): may_see,
        (kind, "open", "resolve"): may_see,
        (kind, "open", "reassign"): may_see,
        (kind, "open", "message"): {T},
        (kind, "open", "rate"): set(),
        (kind, "open", "forget"): {T},
        (kind, "open", "cancel"): {T},
        (kind, "claimed", "view"): may_see,
        (kind, "claimed", "claim"): {handler},  # a double tap by the assignee changes nothing
        (kind, "claimed", "reply"): {A, handler},
        (kind, "claimed", "resolve"): {A, handler},
        (kind, "claimed", "reassign"): {A, handler},
        (kind, "claimed", "message"): {T},
        (kind, "claimed", "rate"): set(),
        (kind, "claimed", "forget"): {T},
        (kind, "claimed", "cancel"): {T},
        (kind, "resolved", "view"): may_see,
        (kind, "resolved", "claim"): set(),
        (kind, "resolved", "reply"): set(),
        (kind, "resolved", "resolve"): set(),
        (kind, "resolved", "reassign"): set(),
        (kind, "resolved", "message"): {T},  # within the window: reopens
        (kind, "resolved", "rate"): {T},
        (kind, "resolved", "forget"): set(),
        (kind, "resolved", "cancel"): set(),
    }


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 9, 7, 2, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


class Settings:
    counseling_hours = "Mon-Fri 08:30-17:00"
    response_promise_hours = 2.0
    next_day_reply_by = "10:00"
    timezone = "Asia/Taipei"


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('policy') / 'desk.db'}")
    service = EscalationDesk(db, ROSTER, Settings(), clock=Clock())
    service.open()
    yield service
    service.close()


_trainees = iter(range(500_000_000, 600_000_000))


def _case(desk: EscalationDesk, kind: str, state: str):
    trainee = next(_trainees)
    reason, topic = ("sensitive", "conduct") if kind == "sensitive" else ("sensitive", "housing")
    if kind == "plain":
        reason = "low_confidence"
    record = AnswerRecord(
        question="my case", language="en", answer="", answered=False, escalate=True,
        escalation_reason=reason, topic=topic,
    )  # fmt: skip
    case = desk.escalate(record=record, user_id=trainee, chat_id=trainee, name="Ana").case
    handler = COUNSELOR if kind == "sensitive" else STAFF
    assert case.routed_to == [handler] and case.sensitive == (kind == "sensitive")
    if state in ("claimed", "resolved"):
        desk.claim(case.id, handler)
    if state == "resolved":
        desk.resolve(case.id, handler)
    return desk.case(case.id)


def _outbox_size(desk: EscalationDesk) -> int:
    """Every message the desk ever stored (a refusal must store none)."""
    import sqlalchemy as sa

    from bot.storage import schema

    with desk.db.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(schema.outbox)).scalar()


def _do(desk: EscalationDesk, action: str, case, actor: int) -> None:
    if action == "view":
        desk.view(case.id, actor)
    elif action == "claim":
        desk.claim(case.id, actor)
    elif action == "reply":
        desk.reply(case.id, actor, "hello", (actor, None))
    elif action == "resolve":
        desk.resolve(case.id, actor)
    elif action == "reassign":
        desk.reassign(case.id, ADMIN if actor != ADMIN else COUNSELOR, actor)
    elif action == "message":
        desk.cases.add_message(case.id, "in", actor, "hola")
    elif action == "rate":
        desk.rate(case.id, actor, 5)
    elif action == "forget":
        desk.cases.close_forgotten(case.id, actor)
    elif action == "cancel":
        desk.cancel(case.id, actor)


@pytest.mark.parametrize("kind", ["plain", "sensitive"])
@pytest.mark.parametrize("state", ["open", "claimed", "resolved"])
@pytest.mark.parametrize("action", ACTIONS)
def test_authorization_matrix(desk, kind, state, action):
    wrong = []
    for name, actor_id in ACTORS.items():
        case = _case(desk, kind, state)
        actor = case.user_id if actor_id is None else actor_id
        before = (desk.case(case.id), len(desk.cases.audit(case.id)), _outbox_size(desk))
        try:
            _do(desk, action, case, actor)
            allowed = True
        except (NotAllowed, InvalidTransition):
            allowed = False
            after = (desk.case(case.id), len(desk.cases.audit(case.id)), _outbox_size(desk))
            assert after == before, f"{name} was refused {action} but something changed"
        if allowed != (name in EXPECTED[(kind, state, action)]):
            wrong.append(f"{name}: {'allowed' if allowed else 'refused'}")
    assert not wrong, f"{kind} case, {state}, {action}: {wrong}"


def test_a_forged_reassign_of_someone_elses_crisis_case_is_refused(desk):
    """A mentor copies a Reassign button's data with another trainee's unclaimed crisis case and
    his own id: refused, and the case stays unclaimed (its reminders go on)."""
    record = AnswerRecord(
        question="I want to end it", language="en", answer="", answered=False, escalate=True,
        escalation_reason="crisis", topic="wellbeing",
    )  # fmt: skip
    case = desk.escalate(record=record, user_id=next(_trainees), chat_id=1, name="Luis").case
    for by, to in ((MENTOR, MENTOR), (STAFF, MENTOR), (COUNSELOR, MENTOR)):
        with pytest.raises(NotAllowed):
            desk.reassign(case.id, to, by)
    assert desk.case(case.id).status == "open" and desk.case(case.id).assigned_to is None
    assert [p.id for p in desk.reassign_candidates(case.id, COUNSELOR)[1]] == [ADMIN]


def test_reassigning_to_someone_off_duty_is_refused_and_reminders_go_on(tmp_path):
    roster = parse_roster(ROSTER_YAML.replace(
        f"{{id: {ADMIN}, name: Boss, languages: [en], roles: [desk_admin], on_duty: true}}",
        f"{{id: {ADMIN}, name: Boss, languages: [en], roles: [desk_admin], on_duty: false}}",
    ))  # fmt: skip
    service = EscalationDesk(Database(f"sqlite:///{tmp_path / 'd.db'}"), roster, Settings(),
                             clock=Clock())  # fmt: skip
    service.open()
    case = _case(service, "sensitive", "claimed")
    with pytest.raises(NotAllowed, match="off duty"):
        service.reassign(case.id, ADMIN, COUNSELOR)
    assert service.case(case.id).assigned_to == COUNSELOR
    assert service.reassign_candidates(case.id, COUNSELOR)[1] == []


def test_a_rating_counts_once_and_a_stale_button_is_refused(desk):
    case = _case(desk, "plain", "resolved")
    assert desk.rate(case.id, case.user_id, 5, round=0).rating == 5
    with pytest.raises(InvalidTransition):
        desk.rate(case.id, case.user_id, 1, round=0)  # the buttons were removed: a forged press
    assert desk.case(case.id).rating == 5
    desk.trainee_message(case.user_id, "one more thing", replying_to=desk.case(case.id))  # round 1
    desk.resolve(case.id, STAFF)
    with pytest.raises(InvalidTransition):
        desk.rate(case.id, case.user_id, 1, round=0)  # a button of the first round
    assert desk.rate(case.id, case.user_id, 4, round=1).rating == 4


def test_someone_removed_from_the_roster_loses_their_cases(tmp_path):
    """On start with a new roster, the cases of a person no longer on it wait again and are
    routed anew; the removed person can no longer act on them."""
    db_url = f"sqlite:///{tmp_path / 'd.db'}"
    first = EscalationDesk(Database(db_url), ROSTER, Settings(), clock=Clock())
    first.open()
    case = _case(first, "plain", "claimed")
    assert first.case(case.id).assigned_to == STAFF
    first.close()

    without_staff = parse_roster(ROSTER_YAML.replace(
        f"  - {{id: {STAFF}, name: Tsai, languages: [en], topics: [housing], roles: [staff], "
        "on_duty: true}\n", "",
    ))  # fmt: skip
    assert without_staff.person(STAFF) is None
    second = EscalationDesk(Database(db_url), without_staff, Settings(), clock=Clock())
    second.open()
    moved = second.case(case.id)
    assert moved.status == "open" and moved.assigned_to is None and STAFF not in moved.routed_to
    assert "unassigned" in [e.kind for e in second.cases.audit(case.id)]
    with pytest.raises(NotAllowed):
        second.reply(case.id, STAFF, "still here?", (STAFF, None))
    with pytest.raises(DeskError):
        second.resolve(case.id, STAFF)
    # Nobody lists housing any more: the case went to the desk group, where anyone may take it.
    cards = [second.outbox.get(i) for i in range(1, 40) if second.outbox.get(i)]
    assert any(m.chat_id == DESK_CHAT and m.case_id == case.id for m in cards)
    assert second.claim(case.id, OTHER).assigned_to == OTHER
    second.close()


def test_forget_by_a_counselor_leaves_other_peoples_cases_alone(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'd.db'}")
    service = EscalationDesk(db, ROSTER, Settings(), clock=Clock())
    service.open()
    case = _case(service, "sensitive", "open")  # its card waits for the counselor
    pending = [m for m in (service.outbox.get(i) for i in range(1, 20)) if m]
    card = next(m for m in pending if m.chat_id == COUNSELOR)

    service.forget(COUNSELOR)
    UserStore(db).forget_user(COUNSELOR)
    assert service.outbox.get(card.id) is not None  # the crisis card is still to be delivered
    assert service.case(case.id).status == "open" and service.case(case.id).name == "Ana"
    service.reply(case.id, COUNSELOR, "I'm here", (COUNSELOR, None))  # and the relay works
    service.close()


def test_forget_by_the_trainee_closes_their_case_with_a_note_to_staff(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'd.db'}")
    service = EscalationDesk(db, ROSTER, Settings(), clock=Clock())
    service.open()
    mine = _case(service, "sensitive", "claimed")
    other = _case(service, "sensitive", "claimed")
    assert service.forget(mine.user_id).closed == [mine.id]
    UserStore(db).forget_user(mine.user_id)
    gone = service.case(mine.id)
    assert gone.status == "resolved" and gone.anonymized and gone.name == "" and gone.text == ""
    notes = [m for m in (service.outbox.get(i) for i in range(1, 40)) if m and m.kind == "note"]
    assert [(n.chat_id, f"#{mine.id}" in n.text) for n in notes] == [(COUNSELOR, True)]
    assert service.case(other.id).status == "claimed" and service.case(other.id).name == "Ana"
    assert service.active_case(mine.user_id) is None


def test_nothing_of_a_sensitive_case_reaches_the_desk_group(tmp_path):
    """Nobody routed (no counselor on the roster): the desk group gets a redacted card and
    redacted follow-ups; the full card goes privately to whoever claims it."""
    roster = parse_roster(f"""
desk: {{chat_id: {DESK_CHAT}, language: en}}
people:
  - {{id: {STAFF}, name: Tsai, languages: [en], topics: [housing], roles: [staff], on_duty: true}}
  - {{id: {ADMIN}, name: Boss, languages: [en], roles: [desk_admin], on_duty: true}}
""")
    service = EscalationDesk(Database(f"sqlite:///{tmp_path / 'd.db'}"), roster, Settings(),
                             clock=Clock())  # fmt: skip
    service.open()
    record = AnswerRecord(
        question="Prof. Gomez keeps touching my shoulder", language="en", answer="",
        answered=False, escalate=True, escalation_reason="sensitive", topic="conduct",
    )  # fmt: skip
    case = service.escalate(record=record, user_id=777, chat_id=777, name="Maria Lopez").case
    service.trainee_message(777, "and today he said Gomez will fail me")
    to_group = [m for m in (service.outbox.get(i) for i in range(1, 40))
                if m and m.chat_id == DESK_CHAT]  # fmt: skip
    assert len(to_group) == 2
    for m in to_group:
        assert "Maria" not in m.text and "Gomez" not in m.text and "shoulder" not in m.text
    service.claim(case.id, ADMIN)
    private = [m for m in (service.outbox.get(i) for i in range(1, 40)) if m and m.chat_id == ADMIN]
    assert any("Gomez" in m.text and m.kind == "card" for m in private)


def test_a_case_asked_for_in_a_group_lives_in_the_private_chat(desk):
    trainee = next(_trainees)
    handoff = desk.request_human(
        user_id=trainee, chat_id=-100777, name="Ana", language="es", text="necesito ayuda",
        private=False,
    )  # fmt: skip
    assert handoff.reply is None and handoff.case.chat_id == trainee
    sent = [m for m in (desk.outbox.get(i) for i in range(1, 5000)) if m and m.chat_id == -100777]
    assert sent == []
    ack = [m for m in (desk.outbox.get(i) for i in range(1, 5000))
           if m and m.case_id == handoff.case.id and m.kind == "ack"]  # fmt: skip
    assert [m.chat_id for m in ack] == [trainee]


def _messages(service: EscalationDesk) -> list:
    return [m for m in (service.outbox.get(i) for i in range(1, 400)) if m]


def test_a_possible_risk_heard_inside_a_case_is_marked_for_the_counselors_only(tmp_path):
    """Triage heard a possible danger below the crisis line (`caution`): the routed person's copy
    says so; the case stays as it was (not urgent), and a desk group's copy never says it."""
    service = EscalationDesk(Database(f"sqlite:///{tmp_path / 'd.db'}"), ROSTER, Settings(),
                             clock=Clock())  # fmt: skip
    service.open()
    case = _case(service, "plain", "open")  # routed to STAFF; the desk group has its card
    before = len(_messages(service))
    service.trainee_message(case.user_id, "no sé cuánto más pueda aguantar", caution=True)
    service.trainee_message(case.user_id, "gracias")
    sent = _messages(service)[before:]
    to_staff = [m.text for m in sent if m.chat_id == STAFF]
    marker = t("en", "desk.possible_risk")
    assert len(to_staff) == 2 and to_staff[0].startswith(marker + "\n")
    assert "no sé cuánto más pueda aguantar" in to_staff[0] and marker not in to_staff[1]
    assert all(marker not in m.text for m in sent if m.chat_id == DESK_CHAT)
    after = service.case(case.id)
    assert not after.urgent and after.reason == case.reason
    # nobody routed: the copy goes to the desk group, without the mark
    roster = parse_roster(f"""
desk: {{chat_id: {DESK_CHAT}, language: en}}
people:
  - {{id: {ADMIN}, name: Boss, languages: [en], roles: [desk_admin], on_duty: true}}
""")
    alone = EscalationDesk(Database(f"sqlite:///{tmp_path / 'e.db'}"), roster, Settings(),
                           clock=Clock())  # fmt: skip
    alone.open()
    record = AnswerRecord(question="my case", language="en", answer="", answered=False,
                          escalate=True, escalation_reason="low_confidence", topic="housing")  # fmt: skip
    alone.escalate(record=record, user_id=778, chat_id=778, name="Ana")
    alone.trainee_message(778, "no sé cuánto más pueda aguantar", caution=True)
    group = [m.text for m in _messages(alone) if m.chat_id == DESK_CHAT]
    assert any("aguantar" in text for text in group)
    assert all(marker not in text for text in group)


def test_a_crisis_inside_a_case_makes_it_a_crisis_case(tmp_path):
    """A housing case routed to the housing staff; the trainee then writes a crisis: the case is
    a crisis now (sensitive, urgent), so other staff may not see it and it goes to counselors."""
    service = EscalationDesk(Database(f"sqlite:///{tmp_path / 'd.db'}"), ROSTER, Settings(),
                             clock=Clock())  # fmt: skip
    service.open()
    case = _case(service, "plain", "open")
    taken = service.trainee_message(case.user_id, "I will end it tonight")
    crisis = service.crisis_in_case(case.id, taken.message.id, "I will end it tonight")
    assert (crisis.reason, crisis.sensitive, crisis.urgent) == ("crisis", True, True)
    assert COUNSELOR in crisis.routed_to
    with pytest.raises(NotAllowed):
        service.view(case.id, OTHER)
    with pytest.raises(NotAllowed):
        service.reassign(case.id, MENTOR, STAFF)  # a crisis goes to a counselor or an admin
    group = [m for m in _messages(service) if m.chat_id == DESK_CHAT]
    assert group and all("end it tonight" not in m.text and "Ana" not in m.text for m in group)


def test_a_crisis_asked_in_a_group_with_a_case_open_is_urgent(tmp_path):
    service = EscalationDesk(Database(f"sqlite:///{tmp_path / 'd.db'}"), ROSTER, Settings(),
                             clock=Clock())  # fmt: skip
    service.open()
    case = _case(service, "plain", "claimed")
    record = AnswerRecord(
        question="no aguanto más, me voy a matar", language="es", answer="", answered=False,
        escalate=True, escalation_reason="crisis", topic="wellbeing",
    )  # fmt: skip
    handoff = service.escalate(record=record, user_id=case.user_id, chat_id=-100777, name="Ana",
                               private=False)  # fmt: skip
    assert handoff.reply is None and handoff.case.id == case.id
    after = service.case(case.id)
    assert after.urgent and after.reason == "crisis"
    assert any(m.chat_id == COUNSELOR and m.case_id == case.id for m in _messages(service))
    assert not any(m.chat_id == -100777 for m in _messages(service))


def test_reminders_start_over_for_a_case_taken_back_from_a_removed_person(tmp_path):
    clock = Clock()
    db_url = f"sqlite:///{tmp_path / 'd.db'}"
    first = EscalationDesk(Database(db_url), ROSTER, Settings(), clock=clock)
    first.open()
    case = _case(first, "plain", "open")
    clock.now += timedelta(hours=2)
    assert [r.step for r in first.send_reminders(30)] == [1, 2]
    first.claim(case.id, STAFF)
    first.close()
    without_staff = parse_roster(ROSTER_YAML.replace(
        f"  - {{id: {STAFF}, name: Tsai, languages: [en], topics: [housing], roles: [staff], "
        "on_duty: true}\n", "",
    ))  # fmt: skip
    second = EscalationDesk(Database(db_url), without_staff, Settings(), clock=clock)
    second.open()
    assert second.send_reminders(30) == []  # it waits anew from now
    clock.now += timedelta(hours=2)
    assert [r.step for r in second.send_reminders(30)] == [1, 2]


def test_the_trainee_is_told_each_time_their_case_changes_hands(desk):
    case = _case(desk, "plain", "claimed")  # Tsai
    desk.reassign(case.id, OTHER, STAFF)  # to Wang
    desk.clock.now += timedelta(minutes=1)
    desk.reassign(case.id, STAFF, OTHER)  # back to Tsai
    told = [m for m in (desk.outbox.get(i) for i in range(1, 5000))
            if m and m.case_id == case.id and m.kind == "claimed"]  # fmt: skip
    assert len(told) == 3 and "Tsai" in told[-1].text


def test_a_crisis_in_a_case_waiting_in_the_desk_group_shows_nothing_there(tmp_path):
    service = EscalationDesk(Database(f"sqlite:///{tmp_path / 'd.db'}"), ROSTER, Settings(),
                             clock=Clock())  # fmt: skip
    service.open()
    handoff = service.request_human(user_id=4242, chat_id=4242, name="Maria", language="en",
                                    text="can someone call me")  # fmt: skip
    assert handoff.case.routed_to == [] and not handoff.case.sensitive  # posted in the group
    service.trainee_message(4242, "I will end it tonight", crisis=True)
    later = [m for m in _messages(service) if m.chat_id == DESK_CHAT][1:]
    assert later and all("end it" not in m.text and "Maria" not in m.text for m in later)
    assert any(m.chat_id == COUNSELOR and "end it" in m.text for m in _messages(service))


def test_a_crisis_takes_the_case_from_staff_who_may_not_handle_one(tmp_path):
    service = EscalationDesk(Database(f"sqlite:///{tmp_path / 'd.db'}"), ROSTER, Settings(),
                             clock=Clock())  # fmt: skip
    service.open()
    case = _case(service, "plain", "claimed")  # Tsai, housing staff
    service.trainee_message(case.user_id, "I will end it tonight", crisis=True)
    crisis = service.case(case.id)
    assert crisis.assigned_to is None and crisis.status == "open"
    for action in (service.claim, service.resolve):
        with pytest.raises(NotAllowed):
            action(case.id, STAFF)
    with pytest.raises(NotAllowed):
        service.reply(case.id, STAFF, "hi", (STAFF, None))  # a reply would claim it
    service.view(case.id, STAFF)  # it was theirs: they still read it
    assert service.claim(case.id, COUNSELOR).assigned_to == COUNSELOR


def test_start_resends_only_what_telegram_refused_for_this_persons_case(tmp_path):
    service = EscalationDesk(Database(f"sqlite:///{tmp_path / 'd.db'}"), ROSTER, Settings(),
                             clock=Clock())  # fmt: skip
    service.open()
    mine = _case(service, "plain", "resolved")  # acknowledged, claimed, resolved: all refused
    other = _case(service, "plain", "open")
    to_me = [m for m in _messages(service) if m.chat_id == mine.user_id]
    for m in to_me:
        service.outbox.mark_failed(m.id, "Forbidden: bot can't initiate conversation", permanent=True)
    timeout = service.outbox.enqueue(mine.user_id, "maybe delivered", kind="relay_out",
                                     case_id=mine.id, dedupe_key="t")  # fmt: skip
    service.outbox.mark_failed(timeout, "TimedOut: read timeout", permanent=True)
    theirs = [m for m in _messages(service) if m.case_id == other.id]
    for m in theirs:
        service.outbox.mark_failed(m.id, "Forbidden: blocked", permanent=True)
    assert service.chat_opened(mine.user_id) == len(to_me)
    assert service.outbox.get(timeout).status == "failed"  # it may have arrived: never twice
    assert all(service.outbox.get(m.id).status == "failed" for m in theirs)
