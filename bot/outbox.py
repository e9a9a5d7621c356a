"""The outbox: every message the desk relays is written here before it is sent.

`Outbox.enqueue()` stores a message under a `dedupe_key` (the same logical message is stored once,
however often a handler or a restarted reminder run asks). `OutboxWorker.run_once()` delivers the
due rows through an injected `send` callable, so this module knows nothing about Telegram.

Delivery is exactly once except for one window. The worker *claims* a row (pending -> sending, a
guarded UPDATE, so two workers never take the same row), sends it, and marks it sent in its own
short transaction straight after `send` returns. If the process dies after Telegram accepted the
message but before `mark_sent` committed, the row stays "sending"; once its claim is older than
`claim_timeout` it becomes due again and is re-sent: that gap (one HTTP response plus one small
commit) is the only at-least-once window. Nothing else runs between `send` and `mark_sent`.

Failures are classified by `classify_error()`: network errors, timeouts, HTTP 5xx and 429 are
retried with exponential backoff (or exactly after Telegram's `retry_after`); 403 (the person
blocked the bot) and 400 (chat not found) fail permanently. `RetryableSendError` and
`PermanentSendError` let an adapter say so explicitly.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.storage import schema
from bot.storage.db import Database
from bot.storage.types import utcnow

logger = logging.getLogger(__name__)

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"


class SendError(Exception):
    """Base for errors a `send` callable may raise to classify its own failure."""


class RetryableSendError(SendError):
    def __init__(self, message: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    pass


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    chat_id: int
    thread_id: int | None
    text: str
    kind: str
    case_id: int | None
    dedupe_key: str
    reply_markup: dict | None
    status: str
    attempts: int
    not_before: datetime
    telegram_message_id: int | None
    last_error: str | None


@dataclass(frozen=True)
class Failure:
    retryable: bool
    retry_after: float | None = None
    description: str = ""


class Outbox:
    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
        base_delay: float = 5.0,
        max_delay: float = 3600.0,
        max_attempts: int = 8,
        claim_timeout: timedelta = timedelta(minutes=5),
    ) -> None:
        self.db = db
        self.clock = clock
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_attempts = max_attempts
        self.claim_timeout = claim_timeout

    def enqueue(
        self,
        chat_id: int,
        text: str,
        *,
        kind: str,
        case_id: int | None,
        dedupe_key: str,
        reply_markup_json: str | dict | None = None,
        not_before: datetime | None = None,
        thread_id: int | None = None,
    ) -> int:
        """Store a message; return its id. A second call with the same key returns the first id."""
        existing = self._id_for_key(dedupe_key)
        if existing is not None:
            return existing
        if isinstance(reply_markup_json, dict):
            reply_markup_json = json.dumps(reply_markup_json, ensure_ascii=False)
        now = self.clock()
        values = {
            "dedupe_key": dedupe_key, "chat_id": chat_id, "thread_id": thread_id, "text": text, "kind": kind,
            "case_id": case_id, "reply_markup_json": reply_markup_json, "status": PENDING, "attempts": 0,
            "not_before": not_before or now, "created_at": now,
        }  # fmt: skip
        try:
            with self.db.transaction() as conn:
                return conn.execute(schema.outbox.insert().values(**values)).inserted_primary_key[0]
        except sa.exc.IntegrityError:
            # Another process enqueued the same key between our check and insert.
            existing = self._id_for_key(dedupe_key)
            if existing is None:
                raise
            return existing

    def get(self, message_id: int) -> OutboxMessage | None:
        with self.db.connect() as conn:
            row = conn.execute(
                sa.select(schema.outbox).where(schema.outbox.c.id == message_id)
            ).first()
        return _message(row) if row else None

    def due(self, now: datetime | None = None, limit: int = 50) -> list[OutboxMessage]:
        """Pending rows whose time has come, and rows whose claim went stale (a crashed worker)."""
        now = now or self.clock()
        o = schema.outbox
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(o)
                .where(
                    sa.or_(
                        sa.and_(o.c.status == PENDING, o.c.not_before <= now),
                        sa.and_(o.c.status == SENDING, o.c.claimed_at <= now - self.claim_timeout),
                    )
                )
                .order_by(o.c.not_before, o.c.id)
                .limit(limit)
            ).all()
        return [_message(r) for r in rows]

    def claim(self, message_id: int, now: datetime | None = None) -> str | None:
        """pending (or stale sending) -> sending; returns a claim token, or None if taken."""
        now = now or self.clock()
        token = str(uuid.uuid4())
        o = schema.outbox
        with self.db.transaction() as conn:
            claimed = conn.execute(
                o.update()
                .where(
                    o.c.id == message_id,
                    sa.or_(
                        sa.and_(o.c.status == PENDING, o.c.not_before <= now),
                        sa.and_(o.c.status == SENDING, o.c.claimed_at <= now - self.claim_timeout),
                    ),
                )
                .values(
                    status=SENDING, claimed_at=now, claim_token=token, attempts=o.c.attempts + 1
                )
            ).rowcount
        return token if claimed else None

    def mark_sent(self, message_id: int, telegram_message_id: int | None) -> None:
        o = schema.outbox
        with self.db.transaction() as conn:
            conn.execute(
                o.update()
                .where(o.c.id == message_id)
                .values(
                    status=SENT,
                    sent_at=self.clock(),
                    telegram_message_id=telegram_message_id,
                    claim_token=None,
                    last_error=None,
                )
            )

    def mark_failed(
        self,
        message_id: int,
        error: str,
        retry_at: datetime | None = None,
        *,
        retry_after: float | None = None,
        permanent: bool = False,
    ) -> str:
        """Record a failed attempt; return the new status (pending again, or failed for good).

        The next attempt is at `retry_at` if given, else `retry_after` seconds from now (Telegram's
        flood-control hint), else after an exponential backoff: base * 2**(attempts-1), capped.
        After `max_attempts` attempts the message fails for good.
        """
        now = self.clock()
        o = schema.outbox
        with self.db.transaction() as conn:
            attempts = conn.execute(sa.select(o.c.attempts).where(o.c.id == message_id)).scalar()
            if attempts is None:
                return FAILED
            if permanent or attempts >= self.max_attempts:
                status, not_before = FAILED, now
            else:
                status = PENDING
                if retry_at is not None:
                    not_before = retry_at
                elif retry_after is not None:
                    not_before = now + timedelta(seconds=max(0.0, retry_after))
                else:
                    not_before = now + timedelta(seconds=self.backoff(attempts))
            conn.execute(
                o.update()
                .where(o.c.id == message_id)
                .values(
                    status=status, not_before=not_before, last_error=error[:1000], claim_token=None
                )
            )
        return status

    def retry_refused(self, chat_id: int, case_id: int, kinds: Iterable[str]) -> int:
        """Make due again the messages of one case, of these kinds, that Telegram refused for
        good because the person had never started a chat with the bot (403 Forbidden, or 400
        chat not found): never a message that may have been delivered (a timeout), never
        another case's. Returns how many."""
        o = schema.outbox
        refused = sa.or_(
            sa.func.lower(o.c.last_error).like("%forbidden%"),
            sa.func.lower(o.c.last_error).like("%chat not found%"),
        )
        with self.db.transaction() as conn:
            return conn.execute(
                o.update()
                .where(
                    o.c.chat_id == chat_id, o.c.case_id == case_id, o.c.kind.in_(tuple(kinds)),
                    o.c.status == FAILED, o.c.telegram_message_id.is_(None), refused,
                )
                .values(status=PENDING, not_before=self.clock(), attempts=0, claim_token=None)
            ).rowcount

    def backoff(self, attempts: int) -> float:
        return min(self.max_delay, self.base_delay * 2 ** max(0, attempts - 1))

    def pending_count(self) -> int:
        o = schema.outbox
        with self.db.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(o)
                    .where(o.c.status.in_((PENDING, SENDING)))
                ).scalar()
            )

    def case_for_message(self, chat_id: int, message_id: int) -> int | None:
        """The case a sent message belongs to: a counselor replying to a relayed card or message."""
        o = schema.outbox
        with self.db.connect() as conn:
            return conn.execute(
                sa.select(o.c.case_id).where(
                    o.c.chat_id == chat_id, o.c.telegram_message_id == message_id
                )
            ).scalar()

    def sending_to(self, chat_id: int) -> bool:
        """Whether a message to this chat is being sent right now (sent, not yet recorded)."""
        o = schema.outbox
        with self.db.connect() as conn:
            return conn.execute(
                sa.select(o.c.id).where(o.c.chat_id == chat_id, o.c.status == SENDING).limit(1)
            ).first() is not None

    def delivered(self, case_id: int, kinds: Iterable[str]) -> list[tuple[int, int, str, str]]:
        """(chat_id, message_id, text, kind) of every message of these kinds delivered for a case
        (the cards whose buttons follow the case's state)."""
        o = schema.outbox
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(o.c.chat_id, o.c.telegram_message_id, o.c.text, o.c.kind)
                .where(
                    o.c.case_id == case_id,
                    o.c.kind.in_(tuple(kinds)),
                    o.c.telegram_message_id.is_not(None),
                )
                .order_by(o.c.id)
            ).all()
        return [(int(r[0]), int(r[1]), r[2], r[3]) for r in rows]

    def _id_for_key(self, dedupe_key: str) -> int | None:
        o = schema.outbox
        with self.db.connect() as conn:
            return conn.execute(sa.select(o.c.id).where(o.c.dedupe_key == dedupe_key)).scalar()



class KindsOutbox(Outbox):
    """The same outbox table, seen through some kinds only: a worker over it delivers just those
    (claims stay guarded, so it can run next to a worker over the whole outbox)."""

    def __init__(self, outbox: Outbox, kinds: Iterable[str]) -> None:
        super().__init__(
            outbox.db, clock=outbox.clock, base_delay=outbox.base_delay,
            max_delay=outbox.max_delay, max_attempts=outbox.max_attempts,
            claim_timeout=outbox.claim_timeout,
        )  # fmt: skip
        self.kinds = tuple(kinds)

    def due(self, now: datetime | None = None, limit: int = 50) -> list[OutboxMessage]:
        now = now or self.clock()
        o = schema.outbox
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(o.c.id)
                .where(
                    o.c.kind.in_(self.kinds),
                    sa.or_(
                        sa.and_(o.c.status == PENDING, o.c.not_before <= now),
                        sa.and_(
                            o.c.status == SENDING,
                            o.c.claimed_at <= now - self.claim_timeout,
                        ),
                    ),
                )
                .order_by(o.c.not_before, o.c.id)
                .limit(limit)
            ).all()
        return [m for m in (self.get(row.id) for row in rows) if m is not None]


def _message(row: Any) -> OutboxMessage:
    return OutboxMessage(
        id=row.id, chat_id=row.chat_id, thread_id=row.thread_id, text=row.text, kind=row.kind,
        case_id=row.case_id, dedupe_key=row.dedupe_key,
        reply_markup=json.loads(row.reply_markup_json) if row.reply_markup_json else None,
        status=row.status, attempts=row.attempts, not_before=row.not_before,
        telegram_message_id=row.telegram_message_id, last_error=row.last_error,
    )  # fmt: skip


# --- error classification --------------------------------------------------

_PERMANENT_NAMES = {"Forbidden", "BadRequest", "InvalidToken", "ChatMigrated", "Conflict"}
_RETRYABLE_NAMES = {"NetworkError", "TimedOut", "RetryAfter", "ConnectError", "ReadTimeout"}


def classify_error(exc: BaseException) -> Failure:
    """Retryable (network, timeouts, 5xx, 429 with its retry_after) or permanent (403, 400...).

    Duck-typed so the domain needs no Telegram import: python-telegram-bot's `RetryAfter` carries
    `retry_after`, `Forbidden` / `BadRequest` are recognised by class name, HTTP errors by a
    `status_code` / `status` attribute. Unknown errors are retried (bounded by `max_attempts`).
    """
    description = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, PermanentSendError):
        return Failure(False, None, description)
    retry_after = _seconds(getattr(exc, "retry_after", None))
    if isinstance(exc, RetryableSendError) or retry_after is not None:
        return Failure(True, retry_after, description)
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & _PERMANENT_NAMES:
        return Failure(False, None, description)
    status = getattr(exc, "status_code", None) or getattr(exc, "status", None)
    if isinstance(status, int):
        if status == 429 or status >= 500:
            return Failure(True, None, description)
        if 400 <= status < 500:
            return Failure(False, None, description)
    return Failure(True, None, description)


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


# --- the worker --------------------------------------------------

Send = Callable[..., Awaitable[int | None]]


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0


class OutboxWorker:
    """Delivers due messages through `send(chat_id, text, reply_markup)` -> message id.

    A row with a forum topic is sent as `send(chat_id, text, reply_markup, thread_id=...)`.
    `reply_markup` is the stored JSON, decoded (a dict) or None; the adapter turns it into its
    own keyboard type. Run `run_once()` from a periodic job (python-telegram-bot's JobQueue).
    """

    def __init__(
        self,
        outbox: Outbox,
        send: Send,
        clock: Callable[[], datetime] = utcnow,
        *,
        classify: Callable[[BaseException], Failure] = classify_error,
        batch_size: int = 20,
    ) -> None:
        self.outbox = outbox
        self.send = send
        self.clock = clock
        self.classify = classify
        self.batch_size = batch_size

    async def run_once(self) -> DeliveryReport:
        report = DeliveryReport()
        for message in self.outbox.due(self.clock(), self.batch_size):
            if self.outbox.claim(message.id, self.clock()) is None:
                report.skipped += 1  # another worker took it
                continue
            try:
                if message.thread_id is not None:
                    sent_id = await self.send(
                        message.chat_id,
                        message.text,
                        message.reply_markup,
                        thread_id=message.thread_id,
                    )
                else:
                    sent_id = await self.send(message.chat_id, message.text, message.reply_markup)
            except Exception as exc:  # noqa: BLE001 - every failure is classified and recorded
                failure = self.classify(exc)
                status = self.outbox.mark_failed(
                    message.id, failure.description,
                    retry_after=failure.retry_after, permanent=not failure.retryable,
                )  # fmt: skip
                if status == FAILED:
                    report.failed += 1
                    logger.warning(
                        "outbox %s to %s failed for good: %s",
                        message.id,
                        message.chat_id,
                        failure.description,
                    )
                else:
                    report.retried += 1
                    logger.info(
                        "outbox %s to %s will be retried: %s",
                        message.id,
                        message.chat_id,
                        failure.description,
                    )
                continue
            # The at-least-once window: nothing may run between send and this commit.
            self.outbox.mark_sent(message.id, sent_id)
            report.sent += 1
        return report
