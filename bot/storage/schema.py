"""The tables, defined once with SQLAlchemy Core; `migrations.py` creates and evolves them.

Telegram ids are 64-bit (group chat ids look like -1001234567890), hence BigInteger.
JSON columns hold short lists (context lines, source paths, recipient ids).
"""

from __future__ import annotations

import sqlalchemy as sa

from bot.storage.types import UTCDateTime

metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("applied_at", UTCDateTime, nullable=False),
)

# --- the person's own data (deleted by /forget) --------------------------------------------------

user_prefs = sa.Table(
    "user_prefs",
    metadata,
    sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("chat_id", sa.BigInteger, nullable=False),
    sa.Column("message_id", sa.BigInteger, nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("chat_id", "message_id", name="uq_messages_chat_message"),
)

conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("chat_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("user_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("turns", sa.JSON, nullable=False),  # the last few `bot.records.Turn`s, oldest first
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

practice_cards = sa.Table(  # /practice: one row per person and lesson word (bot/mandarin/practice.py)
    "practice_cards",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("entry_key", sa.String(200), nullable=False),  # "chinese/lesson-01.md#謝謝"
    sa.Column("card", sa.Text, nullable=False),  # the FSRS card (fsrs.Card.to_dict) as JSON
    sa.Column("due", UTCDateTime, nullable=False),
    sa.Column("reviews", sa.Integer, nullable=False),
    sa.Column("lapses", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("user_id", "entry_key", name="uq_practice_cards_user_entry"),
)

feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("chat_id", sa.BigInteger, nullable=False),
    sa.Column("message_id", sa.BigInteger, nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("sources", sa.JSON, nullable=False),
    sa.Column("rating", sa.SmallInteger, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("chat_id", "message_id", "user_id", name="uq_feedback_once"),
)

question_log = sa.Table(  # one row per question answered or declined (the weekly report)
    "question_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.BigInteger, nullable=False, index=True),  # for /forget
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("audience", sa.String(16), nullable=False),  # trainee | examinee | unknown
    sa.Column("outcome", sa.String(16), nullable=False),  # answered | declined | escalated
    sa.Column("reason", sa.String(32)),  # the escalation reason, when escalated
    sa.Column("topic", sa.String(32)),  # the triage topic, when escalated
    # The question's words, kept only for a declined question (a gap in the documents) and
    # blanked by the purge after `QUESTION_TEXT_DAYS`; every other row is counts only.
    sa.Column("question", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False, index=True),
)

# --- the escalation desk --------------------------------------------------

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.BigInteger, nullable=False, index=True),  # 0 once anonymized
    sa.Column("chat_id", sa.BigInteger, nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("username", sa.String(64)),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("topic", sa.String(32)),
    sa.Column("sensitive", sa.Boolean, nullable=False, default=False),
    sa.Column("urgent", sa.Boolean, nullable=False, default=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("context", sa.JSON, nullable=False),
    sa.Column("draft_answer", sa.Text),
    sa.Column("sources", sa.JSON, nullable=False),
    sa.Column("routed_to", sa.JSON, nullable=False),
    sa.Column("assigned_to", sa.BigInteger, index=True),
    sa.Column("round", sa.Integer, nullable=False, default=0),  # +1 on each reopen
    sa.Column("rating", sa.SmallInteger),
    sa.Column("anonymized", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("claimed_at", UTCDateTime),
    sa.Column("resolved_at", UTCDateTime),
    sa.Column("waiting_since", UTCDateTime, nullable=False),  # opened or reopened
)

case_events = sa.Table(
    "case_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("actor", sa.BigInteger),  # a Telegram user id; None for Puente itself
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
)

case_messages = sa.Table(
    "case_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True),
    sa.Column("direction", sa.String(8), nullable=False),  # in | out | note
    sa.Column("author", sa.BigInteger, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("dedupe_key", sa.String(200), nullable=False, unique=True),
    sa.Column("chat_id", sa.BigInteger, nullable=False),
    sa.Column("thread_id", sa.BigInteger),  # forum topic of a supergroup
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id", ondelete="SET NULL"), index=True),
    sa.Column("reply_markup_json", sa.Text),
    sa.Column("status", sa.String(16), nullable=False),  # pending|sending|sent|failed|held
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("not_before", UTCDateTime, nullable=False),
    sa.Column("claimed_at", UTCDateTime),
    sa.Column("claim_token", sa.String(36)),
    sa.Column("first_attempt_at", UTCDateTime),  # the retry budget runs from here
    sa.Column("reported_at", UTCDateTime),  # a failure for good was reported to the desk admins
    sa.Column("copy_from", sa.String(48)),  # "chat:message": send a copy of that message
    sa.Column("sent_at", UTCDateTime),
    sa.Column("telegram_message_id", sa.BigInteger),
    sa.Column("last_error", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_outbox_due", "status", "not_before"),
    sa.Index("ix_outbox_sent_message", "chat_id", "telegram_message_id"),
)

# --- exam reminders (bot/exams/reminders/) ---------------------------------------------------

exam_subscriptions = sa.Table(
    "exam_subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("user_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("chat_id", sa.BigInteger, nullable=False),
    sa.Column("session_key", sa.String(32), nullable=False, index=True),  # "SC270302"
    sa.Column("session_id", sa.String(32), nullable=False),  # as the calendar writes it
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("cancelled_at", UTCDateTime),
    sa.UniqueConstraint("user_id", "session_key", name="uq_exam_subscriptions_user_session"),
)

exam_reminders = sa.Table(
    "exam_reminders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "subscription_id",
        sa.Integer,
        sa.ForeignKey("exam_subscriptions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("kind", sa.String(16), nullable=False),  # deadline | eve
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),  # too late to be useful after this
    sa.Column("status", sa.String(16), nullable=False),  # pending | sent | expired | cancelled
    sa.Column("outbox_id", sa.Integer),
    sa.Column("sent_at", UTCDateTime),
    sa.UniqueConstraint("subscription_id", "kind", name="uq_exam_reminders_once"),
    sa.Index("ix_exam_reminders_due", "status", "due_at"),
)

exam_notices = sa.Table(
    "exam_notices",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("session_key", sa.String(32), nullable=False),
    sa.Column("session_id", sa.String(32), nullable=False),
    sa.Column("sender_id", sa.BigInteger, nullable=False),
    sa.Column("sender_chat_id", sa.BigInteger, nullable=False),
    sa.Column("sender_language", sa.String(8), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("recipients", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("reported_at", UTCDateTime),
)

exam_calendar_snapshots = sa.Table(
    "exam_calendar_snapshots",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),  # the calendar's source path
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)


# --- the learning loop (bot/learning/): FAQ candidates from resolved cases ------------------------

faq_candidates = sa.Table(
    "faq_candidates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    # draft (shown to the counselor) | pending (waits for a desk admin) | approved | rejected
    # | expired (past its review-by date)
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("audience", sa.String(16), nullable=False),
    sa.Column("submitted_by", sa.BigInteger),
    sa.Column("reviewed_by", sa.BigInteger),
    sa.Column("reviewed_at", UTCDateTime),
    sa.Column("review_by", sa.Date),  # an approved answer is checked again by then, else expires
    sa.Column("existing", sa.JSON),  # [source, section] of a passage that already answers it
    # +1 on every change: a review button carries it, so a stale one approves nothing unseen
    sa.Column("revision", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

faq_variants = sa.Table(  # one per language of a candidate (the same question in es and en: two)
    "faq_variants",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "candidate_id", sa.Integer, sa.ForeignKey("faq_candidates.id", ondelete="CASCADE"),
        nullable=False, index=True,
    ),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("question", sa.Text, nullable=False),  # personal details already removed
    sa.Column("answer", sa.Text, nullable=False),
    sa.Column("case_id", sa.Integer),  # the case it was drafted from (None: written by an admin)
    # Set when a desk admin approves it: only approved variants are ever published, so a version
    # merged into an approved candidate waits for review like any other.
    sa.Column("approved", sa.Boolean, nullable=False, default=False),
    sa.Column("author", sa.BigInteger, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

report_runs = sa.Table(  # the weekly picture sent to the desk group: one row per week, claimed once
    "report_runs",
    metadata,
    sa.Column("week", sa.String(16), primary_key=True),  # "2026-W49"
    sa.Column("claimed_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
)
