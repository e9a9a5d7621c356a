"""`UserStore`: a person's language, their feedback, and /forget."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa

from bot.errors import PuenteError
from bot.records import LANGUAGES
from bot.storage import schema
from bot.storage.db import Database
from bot.storage.types import utcnow

ANONYMIZED_USER_ID = 0


class UnknownLanguage(PuenteError, ValueError):
    """`set_language` was given something other than es / en / zh-TW."""


class UserStore:
    """Implements `bot.services.UserStoreLike` over a `Database`."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    # --- language -----------------------------------------------------------------------------

    def get_language(self, user_id: int) -> str | None:
        with self.db.connect() as conn:
            return conn.execute(
                sa.select(schema.user_prefs.c.language).where(
                    schema.user_prefs.c.user_id == user_id
                )
            ).scalar()

    def set_language(self, user_id: int, language: str) -> None:
        if language not in LANGUAGES:
            raise UnknownLanguage(language)
        prefs = schema.user_prefs
        now = self.clock()
        with self.db.transaction() as conn:
            updated = conn.execute(
                prefs.update()
                .where(prefs.c.user_id == user_id)
                .values(language=language, updated_at=now)
            ).rowcount
            if not updated:
                conn.execute(
                    prefs.insert().values(user_id=user_id, language=language, updated_at=now)
                )

    # --- feedback ---------------------------------------------------------------------

    def record_feedback(
        self,
        *,
        user_id: int,
        chat_id: int,
        message_id: int,
        question: str,
        answer: str,
        sources: list[str],
        rating: int,
    ) -> None:
        """Store a +1 / -1; rating the same answer again replaces the earlier rating."""
        if rating not in (1, -1):
            raise ValueError(f"rating must be +1 or -1, not {rating!r}")
        fb = schema.feedback
        with self.db.transaction() as conn:
            conn.execute(
                fb.delete().where(
                    fb.c.chat_id == chat_id, fb.c.message_id == message_id, fb.c.user_id == user_id
                )
            )
            conn.execute(
                fb.insert().values(
                    user_id=user_id,
                    chat_id=chat_id,
                    message_id=message_id,
                    question=question,
                    answer=answer,
                    sources=list(sources),
                    rating=rating,
                    created_at=self.clock(),
                )
            )

    # --- forgetting ---------------------------------------------------------------------------

    def forget_user(self, user_id: int) -> int:
        """Delete the person's preferences, questions, conversation, /practice progress,
        feedback, the report's log of their questions and case messages.

        Their cases stay as anonymized audit rows: the user id and chat id become 0 and every
        text (message, context, draft answer, name) is emptied; events keep their kind and time.
        Messages about their cases, and those waiting for their chat about no case, are dropped;
        other people's cases and their messages are never touched (a counselor may run it too).
        Their active case is closed first by the desk (`EscalationDesk.forget`).
        Returns the number of rows deleted or anonymized.
        """
        if user_id == ANONYMIZED_USER_ID:
            return 0
        s = schema
        total = 0
        with self.db.transaction() as conn:
            for table in (s.user_prefs, s.messages, s.feedback, s.conversations, s.practice_cards,
                          s.question_log):  # fmt: skip
                total += conn.execute(table.delete().where(table.c.user_id == user_id)).rowcount
            # Exam-session reminders (bot/exam_reminders/): the subscriptions and their reminders.
            subscriptions = sa.select(s.exam_subscriptions.c.id).where(
                s.exam_subscriptions.c.user_id == user_id
            )
            total += conn.execute(
                s.exam_reminders.delete().where(s.exam_reminders.c.subscription_id.in_(subscriptions))
            ).rowcount
            total += conn.execute(
                s.exam_subscriptions.delete().where(s.exam_subscriptions.c.user_id == user_id)
            ).rowcount
            case_rows = conn.execute(
                sa.select(s.cases.c.id, s.cases.c.chat_id).where(s.cases.c.user_id == user_id)
            ).all()
            case_ids = [row.id for row in case_rows]
            chat_ids = {row.chat_id for row in case_rows} | {user_id}
            # What belongs to the person: anything about their cases, and what waits for their
            # chat that is not about someone else's case (a counselor's /forget must not drop
            # the cards of other people's cases waiting for them).
            o = s.outbox.c
            total += conn.execute(
                s.outbox.delete().where(
                    sa.or_(
                        o.case_id.in_(case_ids),
                        sa.and_(o.chat_id.in_(chat_ids), o.case_id.is_(None)),
                    )
                )
            ).rowcount
            if case_ids:
                total += conn.execute(
                    s.case_messages.delete().where(s.case_messages.c.case_id.in_(case_ids))
                ).rowcount
                conn.execute(
                    s.case_events.update()
                    .where(s.case_events.c.case_id.in_(case_ids), s.case_events.c.actor == user_id)
                    .values(actor=ANONYMIZED_USER_ID)
                )
                total += conn.execute(
                    s.cases.update()
                    .where(s.cases.c.id.in_(case_ids))
                    .values(
                        user_id=ANONYMIZED_USER_ID,
                        chat_id=ANONYMIZED_USER_ID,
                        name="",
                        username=None,
                        text="",
                        context=[],
                        draft_answer=None,
                        anonymized=True,
                        updated_at=self.clock(),
                    )
                ).rowcount
        return total
