"""Keeping only what the privacy text promises: a daily purge (`purge`), run by the bot's job queue.

What /privacy says, enforced: feedback and remembered questions for `FEEDBACK_DAYS` (12 months);
a case for the length of the program plus 6 months after it was resolved (`CASE_DAYS`): then its
messages are deleted and it stays as an anonymous audit row, as after /forget; delivered or failed
outbox messages (they hold the text that was sent) as long as their case, or `FEEDBACK_DAYS`
for messages about no case; a conversation's last turns (they hold the questions) a day after
its last message (`CONVERSATION_DAYS`; it is not read after 30 minutes of silence anyway); the
weekly report's question log (`bot.learning.questions`): a declined question's words for
`QUESTION_TEXT_DAYS` (90), the counts for `FEEDBACK_DAYS`.
Active cases are never purged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.storage import schema
from bot.storage.db import Database

logger = logging.getLogger(__name__)

FEEDBACK_DAYS = 365
CASE_DAYS = 365 + 183  # a one-year program plus six months
CONVERSATION_DAYS = 1
QUESTION_TEXT_DAYS = 90
ANONYMIZED_USER_ID = 0


@dataclass(frozen=True)
class Purged:
    feedback: int = 0
    messages: int = 0
    cases: int = 0
    case_messages: int = 0
    outbox: int = 0

    @property
    def total(self) -> int:
        return self.feedback + self.messages + self.cases + self.case_messages + self.outbox


def purge(
    db: Database, now: datetime, *, feedback_days: int = FEEDBACK_DAYS,
    case_days: int = CASE_DAYS,
) -> Purged:  # fmt: skip
    """Delete or anonymize what is older than its retention period. Idempotent."""
    s = schema
    feedback_before = now - timedelta(days=feedback_days)
    cases_before = now - timedelta(days=case_days)
    with db.transaction() as conn:
        feedback = conn.execute(
            s.feedback.delete().where(s.feedback.c.created_at < feedback_before)
        ).rowcount
        messages = conn.execute(
            s.messages.delete().where(s.messages.c.created_at < feedback_before)
        ).rowcount
        messages += conn.execute(
            s.conversations.delete().where(
                s.conversations.c.updated_at < now - timedelta(days=CONVERSATION_DAYS)
            )
        ).rowcount
        q = s.question_log.c
        messages += conn.execute(
            s.question_log.update()
            .where(q.question.is_not(None), q.created_at < now - timedelta(days=QUESTION_TEXT_DAYS))
            .values(question=None)
        ).rowcount
        messages += conn.execute(
            s.question_log.delete().where(q.created_at < feedback_before)
        ).rowcount
        old = [
            row.id
            for row in conn.execute(
                sa.select(s.cases.c.id).where(
                    s.cases.c.status == "resolved",
                    s.cases.c.resolved_at < cases_before,
                    s.cases.c.anonymized.is_(False),
                )
            )
        ]
        case_messages = 0
        if old:
            case_messages = conn.execute(
                s.case_messages.delete().where(s.case_messages.c.case_id.in_(old))
            ).rowcount
            owner = (
                sa.select(s.cases.c.user_id)
                .where(s.cases.c.id == s.case_events.c.case_id)
                .scalar_subquery()
            )
            v = s.faq_variants.c
            conn.execute(  # their words in FAQ drafts nobody approved go with the case's text
                s.faq_variants.delete().where(v.case_id.in_(old), v.approved.is_(False))
            )
            conn.execute(  # the person's own steps stay as anonymous events, as after /forget
                s.case_events.update()
                .where(s.case_events.c.case_id.in_(old), s.case_events.c.actor == owner)
                .values(actor=ANONYMIZED_USER_ID)
            )
            conn.execute(
                s.cases.update()
                .where(s.cases.c.id.in_(old))
                .values(
                    user_id=ANONYMIZED_USER_ID, chat_id=ANONYMIZED_USER_ID, name="", username=None,
                    text="", context=[], draft_answer=None, anonymized=True, updated_at=now,
                )  # fmt: skip
            )
        o = s.outbox.c
        done = o.status.in_(("sent", "failed"))
        anonymized = sa.select(s.cases.c.id).where(s.cases.c.anonymized.is_(True))
        outbox = conn.execute(
            s.outbox.delete().where(
                done,
                sa.or_(
                    o.case_id.in_(anonymized),
                    sa.and_(o.case_id.is_(None), o.created_at < feedback_before),
                ),
            )
        ).rowcount
    purged = Purged(feedback, messages, len(old), case_messages, outbox)
    if purged.total:
        logger.info("retention purge: %s", purged)
    return purged
