"""Schema migrations: a plain ordered list of functions, each applied once.

`Database.migrate()` records every applied function in `schema_version` (its position in the list,
starting at 1), so running it again changes nothing. Append new functions; never reorder or
edit an applied one. A later migration that adds a column to `schema.py` must use
`add_column_if_missing`, because migration 1 creates the tables from the current `schema.py`.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from bot.storage import schema

Migration = Callable[[sa.Connection], None]


def m001_initial(conn: sa.Connection) -> None:
    """Preferences, remembered questions, feedback, and the escalation desk."""
    tables = [
        schema.user_prefs,
        schema.messages,
        schema.feedback,
        schema.cases,
        schema.case_events,
        schema.case_messages,
        schema.outbox,
    ]
    schema.metadata.create_all(conn, tables=tables, checkfirst=True)


def add_column_if_missing(conn: sa.Connection, table: sa.Table, column: sa.Column) -> None:
    """`ALTER TABLE ... ADD COLUMN` unless the column exists (see the module docstring)."""
    existing = {c["name"] for c in sa.inspect(conn).get_columns(table.name)}
    if column.name in existing:
        return
    column_type = column.type.compile(dialect=conn.dialect)
    preparer = conn.dialect.identifier_preparer
    conn.execute(
        sa.text(
            f"ALTER TABLE {preparer.quote(table.name)} "
            f"ADD COLUMN {preparer.quote(column.name)} {column_type}"
        )
    )


def m002_exam_reminders(conn: sa.Connection) -> None:
    """Exam-session subscriptions, their reminders, staff notices and the calendar snapshot."""
    tables = [
        schema.exam_subscriptions,
        schema.exam_reminders,
        schema.exam_notices,
        schema.exam_calendar_snapshots,
    ]
    schema.metadata.create_all(conn, tables=tables, checkfirst=True)


def m003_outbox_first_attempt(conn: sa.Connection) -> None:
    """The outbox's retry budget runs from a row's first attempt (not from its enqueueing: an
    exam reminder is enqueued days before it is due); failures for good are reported once."""
    add_column_if_missing(conn, schema.outbox, schema.outbox.c.first_attempt_at)
    add_column_if_missing(conn, schema.outbox, schema.outbox.c.reported_at)


def m004_outbox_copies(conn: sa.Connection) -> None:
    """Relayed photos, voice notes, documents and locations: the outbox sends a copy."""
    add_column_if_missing(conn, schema.outbox, schema.outbox.c.copy_from)


def m005_conversations(conn: sa.Connection) -> None:
    """The last turns of each chat's conversation, so that a follow-up is read in context after
    a restart and by any process."""
    schema.metadata.create_all(conn, tables=[schema.conversations], checkfirst=True)


def m006_practice_cards(conn: sa.Connection) -> None:
    """/practice: each person's spaced-repetition card per lesson word."""
    schema.metadata.create_all(conn, tables=[schema.practice_cards], checkfirst=True)


def m007_learning_loop(conn: sa.Connection) -> None:
    """The weekly report's question log and runs, and FAQ candidates drafted from resolved cases."""
    tables = [schema.question_log, schema.faq_candidates, schema.faq_variants, schema.report_runs]
    schema.metadata.create_all(conn, tables=tables, checkfirst=True)


MIGRATIONS: list[Migration] = [
    m001_initial,
    m002_exam_reminders,
    m003_outbox_first_attempt,
    m004_outbox_copies,
    m005_conversations,
    m006_practice_cards,
    m007_learning_loop,
]
