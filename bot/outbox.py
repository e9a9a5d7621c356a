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

The claim's token guards every later update of the row: a worker whose claim went stale (a long
429 wait, a paused process) and was taken over cannot put the row back to pending, so one slow
worker never causes a third copy.

Each chat's messages go out in the order they were enqueued. A row waits while an earlier row of
the same chat (among the kinds its worker delivers) is unsent and not merely scheduled for later
(being sent, or waiting for a retry):
a counselor's second message never overtakes a first one that hit a transient error, across
workers and processes too (the condition is part of the guarded claim). A row scheduled for a
later time (an exam reminder) holds back nothing.

Failures are classified by `classify_error()`: network errors, timeouts, HTTP 5xx and 429 are
retried with exponential backoff capped at `max_delay` (or exactly after Telegram's
`retry_after`) for as long as `retry_budget` lasts from the first attempt (24 h: a Bot API
outage of minutes or hours loses nothing); 403 (the person blocked the bot) and 400 (chat not
found) fail permanently; an error nobody classified (a bug, most likely) gets
`UNKNOWN_ERROR_ATTEMPTS` attempts. `RetryableSendError` and `PermanentSendError` let an adapter
say so explicitly. `max_attempts`, when set, also ends the retries after that many attempts.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.errors import PuenteError
from bot.storage import schema
from bot.storage.db import Database
from bot.storage.types import utcnow

logger = logging.getLogger(__name__)

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
HELD = "held"  # stored, not to be sent until `release()` (a receipt waiting for its message)


class SendError(PuenteError):
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
    copy_from: tuple[int, int] | None = None  # (chat, message): send a copy of that message


@dataclass(frozen=True)
class Failure:
    retryable: bool
    retry_after: float | None = None
    description: str = ""
    known: bool = True  # False: an error nobody classified (a bug?), retried a few times only


UNKNOWN_ERROR_ATTEMPTS = 8  # an unclassified error is not retried for 24 h (it holds its chat)


class Outbox:
    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime] = utcnow,
        base_delay: float = 5.0,
        max_delay: float = 60.0,
        max_attempts: int | None = None,
        retry_budget: timedelta = timedelta(hours=24),
        claim_timeout: timedelta = timedelta(minutes=5),
    ) -> None:
        self.db = db
        self.clock = clock
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_attempts = max_attempts
        self.retry_budget = retry_budget
        self.claim_timeout = claim_timeout

    def _scope(self, table: Any = schema.outbox) -> list:
        """Extra conditions on the rows this outbox delivers (all of them here)."""
        return []

    def _waits_behind(self, row: Any, now: datetime, *, strict: bool) -> Any:
        """An earlier row of the same chat, among the kinds this outbox delivers, holds `row`
        back (per-chat order; the desk's relays never wait for an exam reminder that another
        worker, on its own timer, has not sent yet).

        `strict` (the claim): any earlier unsent row that is not merely scheduled for later.
        Otherwise (`due`, listing a run's work): only an earlier row that cannot go in this run
        either (being sent by someone, or waiting for its retry); rows behind a due row are
        listed after it, and each one's claim checks strictly once the earlier ones are done."""
        b = schema.outbox.alias("earlier")
        if strict:
            scheduled = sa.and_(b.c.status == PENDING, b.c.attempts == 0, b.c.not_before > now)
            holds = sa.and_(b.c.status.in_((PENDING, SENDING)), sa.not_(scheduled))
        else:
            holds = sa.or_(
                sa.and_(b.c.status == SENDING, b.c.claimed_at > now - self.claim_timeout),
                sa.and_(b.c.status == PENDING, b.c.attempts > 0, b.c.not_before > now),
            )
        return sa.exists().where(
            b.c.chat_id == row.c.chat_id, b.c.id < row.c.id, holds, *self._scope(b)
        )

    def _claimable(self, o: Any, now: datetime, *, strict: bool) -> Any:
        return sa.and_(
            sa.or_(
                sa.and_(o.c.status == PENDING, o.c.not_before <= now),
                sa.and_(o.c.status == SENDING, o.c.claimed_at <= now - self.claim_timeout),
            ),
            sa.not_(self._waits_behind(o, now, strict=strict)),
            *self._scope(),
        )

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
        held: bool = False,
        copy_from: tuple[int, int] | None = None,
    ) -> int:
        """Store a message; return its id. A second call with the same key returns the first id.
        `held`: stored but not sent until `release()`. `copy_from` (chat id, message id): the
        message sent is a copy of that one (a photo, a voice note...); `text` then describes it
        (for logs and the case history)."""
        existing = self._id_for_key(dedupe_key)
        if existing is not None:
            return existing
        if isinstance(reply_markup_json, dict):
            reply_markup_json = json.dumps(reply_markup_json, ensure_ascii=False)
        now = self.clock()
        values = {
            "dedupe_key": dedupe_key, "chat_id": chat_id, "thread_id": thread_id, "text": text, "kind": kind,
            "case_id": case_id, "reply_markup_json": reply_markup_json, "status": HELD if held else PENDING, "attempts": 0,
            "copy_from": f"{copy_from[0]}:{copy_from[1]}" if copy_from else None,
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
        """Pending rows whose time has come, and rows whose claim went stale (a crashed worker),
        each only once no earlier message of its chat is waiting; oldest first."""
        now = now or self.clock()
        o = schema.outbox
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(o).where(self._claimable(o, now, strict=False)).order_by(o.c.id).limit(limit)
            ).all()
        return [_message(r) for r in rows]

    def claim(self, message_id: int, now: datetime | None = None) -> str | None:
        """pending (or stale sending) -> sending; returns a claim token, or None if taken (or an
        earlier message of the chat is now waiting: it goes first)."""
        now = now or self.clock()
        token = str(uuid.uuid4())
        o = schema.outbox
        with self.db.transaction() as conn:
            claimed = conn.execute(
                o.update()
                .where(o.c.id == message_id, self._claimable(o, now, strict=True))
                .values(
                    status=SENDING, claimed_at=now, claim_token=token, attempts=o.c.attempts + 1,
                    # typed, so PostgreSQL stores UTC whatever the session's time zone
                    first_attempt_at=sa.func.coalesce(
                        o.c.first_attempt_at, sa.literal(now, o.c.first_attempt_at.type)
                    ),
                )  # fmt: skip
            ).rowcount
        return token if claimed else None

    def mark_sent(
        self, message_id: int, telegram_message_id: int | None, token: str | None = None
    ) -> bool:
        """Record a delivery. With the claim's `token`: a worker whose claim was taken over still
        records that Telegram accepted the message (it did), unless the row is already sent;
        False then (a second copy went out: logged)."""
        o = schema.outbox
        guard = [o.c.id == message_id]
        if token is not None:
            guard.append(sa.or_(o.c.claim_token == token, o.c.status != SENT))
        with self.db.transaction() as conn:
            return bool(conn.execute(
                o.update()
                .where(*guard)
                .values(
                    status=SENT,
                    sent_at=self.clock(),
                    telegram_message_id=telegram_message_id,
                    claim_token=None,
                    last_error=None,
                )
            ).rowcount)

    def mark_failed(
        self,
        message_id: int,
        error: str,
        retry_at: datetime | None = None,
        *,
        retry_after: float | None = None,
        permanent: bool = False,
        token: str | None = None,
    ) -> str | None:
        """Record a failed attempt; return the new status (pending again, or failed for good),
        or None when `token` no longer holds the claim (another worker took the row over: its
        outcome stands, this one changes nothing).

        The next attempt is at `retry_at` if given, else `retry_after` seconds from now (Telegram's
        flood-control hint), else after an exponential backoff: base * 2**(attempts-1), capped.
        The message fails for good when the error is permanent, when the retry budget since its
        first attempt is spent, or after `max_attempts` attempts if that is set.
        """
        now = self.clock()
        o = schema.outbox
        with self.db.transaction() as conn:
            row = conn.execute(
                sa.select(o.c.attempts, o.c.first_attempt_at, o.c.claim_token, o.c.status)
                .where(o.c.id == message_id)
            ).first()
            if row is None:
                return FAILED
            if token is not None and (row.claim_token != token or row.status != SENDING):
                return None
            attempts, first = row.attempts, row.first_attempt_at or now
            spent = now - first >= self.retry_budget
            capped = self.max_attempts is not None and attempts >= self.max_attempts
            if permanent or spent or capped:
                status, not_before = FAILED, now
            else:
                status = PENDING
                if retry_at is not None:
                    not_before = retry_at
                elif retry_after is not None:
                    not_before = now + timedelta(seconds=max(0.0, retry_after))
                else:
                    not_before = now + timedelta(seconds=self.backoff(attempts))
            guard = [o.c.id == message_id] + ([o.c.claim_token == token] if token else [])
            updated = conn.execute(
                o.update()
                .where(*guard)
                .values(
                    status=status, not_before=not_before, last_error=error[:1000], claim_token=None
                )
            ).rowcount
        return status if updated else None

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
                .values(status=PENDING, not_before=self.clock(), attempts=0, claim_token=None,
                        first_attempt_at=None, reported_at=None)  # a fresh budget
            ).rowcount

    # --- what became of a message (receipts, dead letters) -------------------------------------

    def held(self, kinds: Iterable[str]) -> list[OutboxMessage]:
        o = schema.outbox
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(o).where(o.c.status == HELD, o.c.kind.in_(tuple(kinds))).order_by(o.c.id)
            ).all()
        return [_message(r) for r in rows]

    def by_keys(self, keys: Iterable[str]) -> dict[str, OutboxMessage]:
        keys = tuple(keys)
        if not keys:
            return {}
        o = schema.outbox
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(o).where(o.c.dedupe_key.in_(keys))).all()
        return {r.dedupe_key: _message(r) for r in rows}

    def family(self, key: str, kinds: Iterable[str]) -> list[OutboxMessage]:
        """The row stored under `key` and the rows that complete it (`key:p2`, `key:copy`...),
        of these kinds, in order: one relayed message in all its parts."""
        o = schema.outbox
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(o)
                .where(
                    sa.or_(o.c.dedupe_key == key, o.c.dedupe_key.like(f"{key}:%")),
                    o.c.kind.in_(tuple(kinds)),
                )
                .order_by(o.c.id)
            ).all()
        return [_message(r) for r in rows]

    def release(self, message_id: int, text: str | None = None) -> bool:
        """held -> pending (with a new text if given); False if it was not held (any more)."""
        o = schema.outbox
        values = {"status": PENDING, "not_before": self.clock()} | ({"text": text} if text else {})
        with self.db.transaction() as conn:
            return bool(
                conn.execute(
                    o.update().where(o.c.id == message_id, o.c.status == HELD).values(**values)
                ).rowcount
            )

    def unreported_failures(self, kinds: Iterable[str], limit: int = 50) -> list[OutboxMessage]:
        """Rows that failed for good and that nobody has been told about yet (`mark_reported`)."""
        o = schema.outbox
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(o)
                .where(o.c.status == FAILED, o.c.reported_at.is_(None), o.c.kind.in_(tuple(kinds)))
                .order_by(o.c.id)
                .limit(limit)
            ).all()
        return [_message(r) for r in rows]

    def resend(self, message_id: int, kinds: Iterable[str]) -> bool:
        """A row that failed for good (of these kinds) becomes due again with a fresh retry
        budget; False if there is no such row (sent, pending, another kind, unknown)."""
        o = schema.outbox
        with self.db.transaction() as conn:
            return bool(conn.execute(
                o.update()
                .where(o.c.id == message_id, o.c.status == FAILED, o.c.kind.in_(tuple(kinds)))
                .values(status=PENDING, not_before=self.clock(), attempts=0, claim_token=None,
                        first_attempt_at=None, reported_at=None)
            ).rowcount)  # fmt: skip

    def mark_reported(self, message_id: int) -> None:
        o = schema.outbox
        with self.db.transaction() as conn:
            conn.execute(o.update().where(o.c.id == message_id).values(reported_at=self.clock()))

    def backoff(self, attempts: int) -> float:
        return min(self.max_delay, self.base_delay * 2.0 ** min(max(0, attempts - 1), 60))

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
    (claims stay guarded, so it can run next to a worker over the whole outbox; per-chat order
    holds among these kinds)."""

    def __init__(self, outbox: Outbox, kinds: Iterable[str]) -> None:
        super().__init__(
            outbox.db, clock=outbox.clock, base_delay=outbox.base_delay,
            max_delay=outbox.max_delay, max_attempts=outbox.max_attempts,
            retry_budget=outbox.retry_budget, claim_timeout=outbox.claim_timeout,
        )  # fmt: skip
        self.kinds = tuple(kinds)

    def _scope(self, table: Any = schema.outbox) -> list:
        return [table.c.kind.in_(self.kinds)]


def _message(row: Any) -> OutboxMessage:
    return OutboxMessage(
        id=row.id, chat_id=row.chat_id, thread_id=row.thread_id, text=row.text, kind=row.kind,
        case_id=row.case_id, dedupe_key=row.dedupe_key,
        reply_markup=json.loads(row.reply_markup_json) if row.reply_markup_json else None,
        status=row.status, attempts=row.attempts, not_before=row.not_before,
        telegram_message_id=row.telegram_message_id, last_error=row.last_error,
        copy_from=_pair(row.copy_from),
    )  # fmt: skip


def _pair(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    chat, _, message = value.partition(":")
    return int(chat), int(message)


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
    if isinstance(exc, (OSError, TimeoutError)):  # network trouble by another name
        return Failure(True, None, description)
    return Failure(True, None, description, known=False)


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
    dead: list[OutboxMessage] = field(default_factory=list)  # failed for good in this run


class OutboxWorker:
    """Delivers due messages through `send(chat_id, text, reply_markup)` -> message id.

    A row with a forum topic is sent as `send(chat_id, text, reply_markup, thread_id=...)`, a
    copy of a message with `copy_from=(chat_id, message_id)`.
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
            # None: another worker took it, or an earlier message of its chat failed just now in
            # this run and waits for its retry (this one goes after it).
            token = self.outbox.claim(message.id, self.clock())
            if token is None:
                report.skipped += 1
                continue
            options: dict[str, Any] = {}
            if message.thread_id is not None:
                options["thread_id"] = message.thread_id
            if message.copy_from is not None:
                options["copy_from"] = message.copy_from
            try:
                sent_id = await self.send(
                    message.chat_id, message.text, message.reply_markup, **options
                )
            except Exception as exc:  # noqa: BLE001 - every failure is classified and recorded
                failure = self.classify(exc)
                # An error nobody classified may be a bug that no retry fixes: a few attempts,
                # not a day of them holding back the chat's later messages.
                given_up = not failure.known and message.attempts + 1 >= UNKNOWN_ERROR_ATTEMPTS
                status = self.outbox.mark_failed(
                    message.id, failure.description, retry_after=failure.retry_after,
                    permanent=not failure.retryable or given_up, token=token,
                )  # fmt: skip
                if status is None:
                    report.skipped += 1
                    logger.warning("outbox %s: claim taken over while sending (%s)",
                                   message.id, failure.description)  # fmt: skip
                elif status == FAILED:
                    report.failed += 1
                    report.dead.append(message)
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
            if not self.outbox.mark_sent(message.id, sent_id, token):
                logger.warning("outbox %s was sent by another worker too (a stale claim)", message.id)
            report.sent += 1
        return report
