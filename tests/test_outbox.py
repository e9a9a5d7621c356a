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
