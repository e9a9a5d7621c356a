"""`QuestionLog`: one row per question answered, declined or escalated, for the weekly report.

Counts only, except for a declined question, whose words are kept (a gap in the documents to
fill) for 90 days and then blanked; rows go after 12 months (both by the daily purge,
`bot.storage.retention`). `/forget` deletes a person's rows (`UserStore.forget_user`). The channel
records after it replied; a failure to record never costs an answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from bot.records import AnswerRecord
from bot.storage import schema
from bot.storage.db import Database
from bot.storage.types import utcnow

AUDIENCES = ("trainee", "examinee", "unknown")
OUTCOMES = ("answered", "declined", "escalated")


@dataclass(frozen=True)
class LoggedQuestion:
    id: int
    user_id: int
    language: str
    audience: str
    outcome: str
    reason: str | None
    topic: str | None
    question: str | None
    created_at: datetime


def outcome_of(record: AnswerRecord) -> str:
    if record.escalate:
        return "escalated"
    return "answered" if record.answered else "declined"


class QuestionLog:
    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    def record(self, user_id: int, record: AnswerRecord, *, audience: str = "unknown") -> int:
        """Log one reply; the words are kept only when it was declined."""
        outcome = outcome_of(record)
        if audience not in AUDIENCES:
            audience = "unknown"
        return self.add(
            user_id=user_id, language=record.language, audience=audience, outcome=outcome,
            reason=record.escalation_reason if record.escalate else None,
            topic=record.topic if record.escalate else None,
            question=record.question if outcome == "declined" else None,
        )  # fmt: skip

    def add(
        self, *, user_id: int, language: str, audience: str, outcome: str,
        reason: str | None = None, topic: str | None = None, question: str | None = None,
        at: datetime | None = None,
    ) -> int:  # fmt: skip
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        with self.db.transaction() as conn:
            return conn.execute(
                schema.question_log.insert().values(
                    user_id=user_id, language=language, audience=audience, outcome=outcome,
                    reason=reason, topic=topic, question=question,
                    created_at=at or self.clock(),
                )  # fmt: skip
            ).inserted_primary_key[0]

    def between(self, since: datetime, until: datetime) -> list[LoggedQuestion]:
        q = schema.question_log.c
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(schema.question_log)
                .where(q.created_at >= since, q.created_at < until)
                .order_by(q.created_at, q.id)
            ).all()
        return [LoggedQuestion(**row._mapping) for row in rows]
