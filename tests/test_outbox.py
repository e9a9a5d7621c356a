"""The outbox and its worker: dedupe, exactly-once claims, retries, permanent failures."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.escalation.cases import CaseStore
from bot.outbox import Outbox, OutboxWorker, classify_error
from bot.storage import Database
from tests.pg import database_url, pg_server  # noqa: F401 - fixtures


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 9, 7, 2, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


# Errors shaped like the ones a real transport raises (no telegram import needed).
class Forbidden(Exception):
    """403: the person blocked the bot."""


class BadRequest(Exception):
    """400: chat not found."""


class RetryAfter(Exception):
    def __init__(self, seconds: int) -> None:
        super().__init__(f"flood control, retry in {seconds}s")
        self.retry_after = seconds


class ServerError(Exception):
    status_code = 502


class FakeSend:
    """Fails with the queued errors first, then succeeds; records every real delivery."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls: list[tuple] = []
        self.delivered: list[tuple] = []
        self.next_id = 1000

    async def __call__(self, chat_id, text, reply_markup, **kwargs):
        self.calls.append((chat_id, text))
        if self.errors:
            raise self.errors.pop(0)
        self.next_id += 1
        self.delivered.append((chat_id, text, reply_markup, kwargs))
        return self.next_id


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def db(database_url):  # noqa: F811
    database = Database(database_url)
    database.migrate()
    yield database
    database.close()


@pytest.fixture
def outbox(db, clock):
    return Outbox(db, clock=clock, base_delay=10, max_delay=300, max_attempts=5)


def enqueue(outbox, key="k", chat_id=7, **kwargs):
    return outbox.enqueue(
        chat_id, f"text {key}", kind="relay_out", case_id=None, dedupe_key=key, **kwargs
    )


async def test_delivers_once_and_maps_replies_to_cases(db, outbox, clock):
    case = CaseStore(db, clock=clock).open_case(
        1, 1, "A", "en", "explicit_request", None, "hi", [], None, []
    )
    first = outbox.enqueue(
        100000001, "card", kind="card", case_id=case.id, dedupe_key="case:1:card",
        reply_markup_json={"buttons": [[{"text": "Claim", "data": "desk:claim:1"}]]},
    )  # fmt: skip
    assert (
        outbox.enqueue(100000001, "card", kind="card", case_id=case.id, dedupe_key="case:1:card")
        == first
    )
    send = FakeSend()
    worker = OutboxWorker(outbox, send, clock)
    report = await worker.run_once()
    assert report.sent == 1 and outbox.pending_count() == 0
    assert (await worker.run_once()).sent == 0
    assert len(send.delivered) == 1
    assert send.delivered[0][2]["buttons"][0][0]["data"] == "desk:claim:1"
    assert outbox.case_for_message(100000001, 1001) == case.id
    assert outbox.case_for_message(100000001, 9999) is None


async def test_forum_topics_are_passed_as_thread_id(outbox, clock):
    enqueue(outbox, chat_id=-1001000000001, thread_id=2)
    send = FakeSend()
    await OutboxWorker(outbox, send, clock).run_once()
    assert send.delivered[0][3] == {"thread_id": 2}


async def test_network_and_5xx_errors_back_off_exponentially(outbox, clock):
    message_id = enqueue(outbox)
    send = FakeSend(ConnectionError("reset"), ServerError("bad gateway"))
    worker = OutboxWorker(outbox, send, clock)
    assert (await worker.run_once()).retried == 1
    assert outbox.get(message_id).not_before == clock() + timedelta(seconds=10)
    assert (await worker.run_once()).sent == 0  # not due yet
    clock.advance(10)
    assert (await worker.run_once()).retried == 1
    assert outbox.get(message_id).not_before == clock() + timedelta(seconds=20)
    assert "ServerError" in outbox.get(message_id).last_error
    clock.advance(20)
    assert (await worker.run_once()).sent == 1
    assert outbox.get(message_id).status == "sent" and outbox.get(message_id).attempts == 3
    assert len(send.delivered) == 1


async def test_429_honours_retry_after(outbox, clock):
    message_id = enqueue(outbox)
    worker = OutboxWorker(outbox, FakeSend(RetryAfter(37)), clock)
    await worker.run_once()
    assert outbox.get(message_id).not_before == clock() + timedelta(seconds=37)
    clock.advance(36)
    assert (await worker.run_once()).sent == 0
    clock.advance(1)
    assert (await worker.run_once()).sent == 1


async def test_blocked_or_missing_chats_fail_permanently(outbox, clock):
    blocked, missing, fine = enqueue(outbox, "a"), enqueue(outbox, "b"), enqueue(outbox, "c")
    send = FakeSend(Forbidden("bot was blocked by the user"), BadRequest("chat not found"))
    report = await OutboxWorker(outbox, send, clock).run_once()
    assert (report.failed, report.sent) == (2, 1)
    assert outbox.get(blocked).status == outbox.get(missing).status == "failed"
    assert outbox.get(fine).status == "sent"
    clock.advance(10_000)
    assert (await OutboxWorker(outbox, send, clock).run_once()).sent == 0
    assert len(send.calls) == 3


async def test_gives_up_after_max_attempts(outbox, clock):
    message_id = enqueue(outbox)
    worker = OutboxWorker(outbox, FakeSend(*[TimeoutError()] * 10), clock)
    for _ in range(5):
        await worker.run_once()
        clock.advance(1000)
    assert outbox.get(message_id).status == "failed" and outbox.pending_count() == 0


async def test_a_claimed_row_is_not_taken_twice_until_its_claim_goes_stale(outbox, clock):
    message_id = enqueue(outbox)
    assert outbox.claim(message_id) is not None
    assert outbox.claim(message_id) is None  # a second worker
    send = FakeSend()
    assert (await OutboxWorker(outbox, send, clock).run_once()).sent == 0
    # The first worker crashed without marking: after the claim timeout it is sent again.
    clock.advance(5 * 60)
    assert (await OutboxWorker(outbox, send, clock).run_once()).sent == 1
    assert len(send.delivered) == 1


async def test_not_before_delays_delivery(outbox, clock):
    enqueue(outbox, not_before=clock() + timedelta(minutes=1))
    send = FakeSend()
    assert (await OutboxWorker(outbox, send, clock).run_once()).sent == 0
    clock.advance(60)
    assert (await OutboxWorker(outbox, send, clock).run_once()).sent == 1


def test_classification():
    assert classify_error(ConnectionError()).retryable
    assert classify_error(RetryAfter(5)).retry_after == 5
    assert classify_error(ServerError()).retryable
    assert not classify_error(Forbidden()).retryable
    assert not classify_error(BadRequest()).retryable

    class Http(Exception):
        def __init__(self, status):
            self.status_code = status

    assert classify_error(Http(429)).retryable and not classify_error(Http(404)).retryable


# --- per-chat order, retry budget, claim guard -------------------------------------------------


def default_outbox(db, clock):
    """The production defaults (no attempt cap, a 24-hour budget)."""
    return Outbox(db, clock=clock)


async def test_a_transient_error_on_the_first_of_two_messages_keeps_their_order(outbox, clock):
    first, second = enqueue(outbox, "first"), enqueue(outbox, "second")
    other_chat = enqueue(outbox, "other", chat_id=8)
    send = FakeSend(ServerError("bad gateway"))
    worker = OutboxWorker(outbox, send, clock)
    report = await worker.run_once()
    # The second message waits behind the first one's retry; another chat is not held up.
    assert (report.retried, report.sent) == (1, 1)
    assert outbox.get(second).status == "pending" and outbox.get(second).attempts == 0
    assert outbox.get(other_chat).status == "sent"
    assert outbox.due(clock()) == []
    clock.advance(10)
    assert (await worker.run_once()).sent == 2
    assert [t for c, t, *_ in send.delivered if c == 7] == ["text first", "text second"]
    assert outbox.get(first).attempts == 2 and outbox.get(second).attempts == 1


async def test_consecutive_messages_of_one_chat_go_in_one_run(outbox, clock):
    for key in "abcd":
        enqueue(outbox, key)
    send = FakeSend()
    assert (await OutboxWorker(outbox, send, clock).run_once()).sent == 4
    assert [t for _, t, *_ in send.delivered] == ["text a", "text b", "text c", "text d"]


async def test_a_message_scheduled_for_later_holds_back_nothing(outbox, clock):
    later = enqueue(outbox, "reminder", not_before=clock() + timedelta(days=3))
    now = enqueue(outbox, "relay")
    send = FakeSend()
    assert (await OutboxWorker(outbox, send, clock).run_once()).sent == 1
    assert outbox.get(now).status == "sent" and outbox.get(later).status == "pending"


async def test_a_later_message_cannot_be_claimed_while_an_earlier_one_is_in_flight(outbox, clock):
    """Two workers (two processes): the second never sends message 2 while message 1 is being
    sent by the first, so the chat's order holds across workers."""
    first, second = enqueue(outbox, "first"), enqueue(outbox, "second")
    assert outbox.claim(first) is not None  # worker A is sending message 1
    assert outbox.due(clock()) == []  # worker B lists nothing for the chat
    assert outbox.claim(second) is None  # and could not claim message 2 anyway
    outbox.mark_sent(first, 1)
    assert outbox.claim(second) is not None


async def test_a_15_minute_outage_loses_nothing(db, clock):
    outbox = default_outbox(db, clock)
    ids = [enqueue(outbox, key) for key in ("card", "relay 1", "relay 2")]
    send = FakeSend(*[ServerError("bad gateway")] * 40)
    worker = OutboxWorker(outbox, send, clock)
    started = clock()
    while clock() - started < timedelta(minutes=15):
        await worker.run_once()
        clock.advance(5)
    send.errors.clear()  # the Bot API is back
    for _ in range(30):
        await worker.run_once()
        clock.advance(5)
    assert [outbox.get(i).status for i in ids] == ["sent"] * 3
    assert [t for _, t, *_ in send.delivered] == ["text card", "text relay 1", "text relay 2"]


async def test_50_consecutive_429s_then_delivered_once(db, clock):
    outbox = default_outbox(db, clock)
    first, second = enqueue(outbox, "first"), enqueue(outbox, "second")
    send = FakeSend(*[RetryAfter(3) for _ in range(50)])
    worker = OutboxWorker(outbox, send, clock)
    for _ in range(60):
        await worker.run_once()
        clock.advance(3)
    assert outbox.get(first).status == outbox.get(second).status == "sent"
    assert [t for _, t, *_ in send.delivered] == ["text first", "text second"]


async def test_retryable_errors_fail_for_good_only_when_the_budget_is_spent(db, clock):
    outbox = Outbox(db, clock=clock, retry_budget=timedelta(hours=24))
    # Enqueued a week ahead (an exam reminder): the budget runs from the first attempt.
    message_id = enqueue(outbox, not_before=clock() + timedelta(days=7))
    clock.advance(7 * 86400)
    send = FakeSend(*[TimeoutError()] * 10_000)
    worker = OutboxWorker(outbox, send, clock)
    dead = []
    while outbox.get(message_id).status != "failed":
        report = await worker.run_once()
        dead += report.dead
        clock.advance(600)
    row = outbox.get(message_id)
    first_attempt = datetime(2026, 9, 14, 2, 0, tzinfo=timezone.utc)  # the fixture's start + 7 days
    gave_up = clock() - timedelta(seconds=600)
    assert timedelta(hours=24) <= gave_up - first_attempt <= timedelta(hours=24, seconds=600)
    assert row.attempts > 8  # many more than the old attempt cap
    assert [m.id for m in dead] == [message_id]  # reported once, for the desk to alert


async def test_a_stale_claim_cannot_put_a_sent_message_back_to_pending(outbox, clock):
    """Worker A's claim goes stale (a long 429 wait); worker B takes the row over and sends it;
    A's late failure changes nothing, so there is no third copy."""
    message_id = enqueue(outbox)
    token_a = outbox.claim(message_id)
    clock.advance(5 * 60)
    send = FakeSend()
    assert (await OutboxWorker(outbox, send, clock).run_once()).sent == 1  # worker B
    assert outbox.mark_failed(message_id, "TimedOut: A gave up", token=token_a) is None
    assert outbox.get(message_id).status == "sent"
    # A's late success does not overwrite B's record either.
    assert outbox.mark_sent(message_id, 999, token_a) is False
    assert outbox.get(message_id).telegram_message_id == 1001
    clock.advance(10_000)
    assert (await OutboxWorker(outbox, send, clock).run_once()).sent == 0
    assert len(send.delivered) == 1


async def test_relays_never_wait_for_another_workers_kinds(outbox, clock):
    """An exam reminder due for the same chat, left to the exam worker's own timer, does not
    hold back the desk's relays (order is kept among the kinds one worker delivers)."""
    from bot.outbox import KindsOutbox

    outbox.enqueue(7, "exam tomorrow", kind="exam_reminder", case_id=None, dedupe_key="exam")
    relay = enqueue(outbox, "relay")
    desk = KindsOutbox(outbox, ("relay_out",))
    send = FakeSend()
    assert (await OutboxWorker(desk, send, clock).run_once()).sent == 1
    assert outbox.get(relay).status == "sent"


async def test_the_retry_budget_holds_on_a_server_in_another_time_zone(db, clock):
    """PostgreSQL converts untyped timestamps with the session's time zone (a server set up in
    Taipei runs at UTC+8): the first attempt must still be stored as the same instant."""
    import sqlalchemy as sa

    if db.is_sqlite:
        pytest.skip("SQLite stores what it is given")
    with db.transaction() as conn:
        name = conn.execute(sa.text("SELECT current_database()")).scalar()
        conn.execute(sa.text(f'ALTER DATABASE "{name}" SET timezone = \'Asia/Taipei\''))
    db.close()  # new connections take the database's time zone
    outbox = default_outbox(db, clock)
    message_id = enqueue(outbox)
    outbox.claim(message_id)
    with db.connect() as conn:
        assert conn.execute(sa.text("SHOW timezone")).scalar() == "Asia/Taipei"
        first = conn.execute(sa.text("SELECT first_attempt_at FROM outbox")).scalar()
    assert first.replace(tzinfo=None) == clock().replace(tzinfo=None)  # 02:00 UTC, not 10:00


async def test_a_refused_message_made_due_again_gets_a_fresh_budget(db, clock):
    """Refused (the person had never pressed Start), reported, then made due again days later
    when they do: a transient error then is retried, not failed at once and unreported."""
    outbox = default_outbox(db, clock)
    case = CaseStore(db, clock=clock).open_case(
        7, 7, "A", "en", "explicit_request", None, "hi", [], None, []
    )
    message_id = outbox.enqueue(7, "hi", kind="relay_out", case_id=case.id, dedupe_key="r")
    worker = OutboxWorker(outbox, FakeSend(Forbidden("bot can't initiate conversation")), clock)
    await worker.run_once()
    outbox.mark_reported(message_id)
    clock.advance(3 * 86400)
    assert outbox.retry_refused(7, case.id, ["relay_out"]) == 1
    await OutboxWorker(outbox, FakeSend(ServerError("bad gateway")), clock).run_once()
    assert outbox.get(message_id).status == "pending"
    assert outbox.unreported_failures(["relay_out"]) == []


async def test_an_unclassified_error_is_given_up_after_a_few_attempts(db, clock):
    """A bug (say a malformed keyboard) is not a Telegram outage: it does not hold the chat's
    later messages for a day."""
    from bot.outbox import UNKNOWN_ERROR_ATTEMPTS

    outbox = default_outbox(db, clock)
    broken, after = enqueue(outbox, "broken"), enqueue(outbox, "after")
    worker = OutboxWorker(outbox, FakeSend(*[ValueError("bad markup")] * 50), clock)
    dead = []
    for _ in range(UNKNOWN_ERROR_ATTEMPTS):
        dead += (await worker.run_once()).dead
        clock.advance(120)
    assert outbox.get(broken).status == "failed" and [m.id for m in dead] == [broken]
    assert outbox.get(broken).attempts == UNKNOWN_ERROR_ATTEMPTS
    worker.send.errors.clear()
    await worker.run_once()
    assert outbox.get(after).status == "sent"
