"""Database, migrations and the user store, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from bot.escalation.cases import CaseStore
from bot.outbox import Outbox
from bot.storage import Database, UnknownLanguage, UserStore, schema
from bot.storage.migrations import MIGRATIONS
from bot.storage.types import utcnow
from tests.pg import database_url, pg_server  # noqa: F401 - fixtures


@pytest.fixture
def db(database_url):  # noqa: F811
    database = Database(database_url)
    database.migrate()
    yield database
    database.close()


def test_migrate_is_idempotent_and_recorded(database_url):  # noqa: F811
    database = Database(database_url)
    assert database.migrate() == [m.__name__ for m in MIGRATIONS]
    assert database.migrate() == []
    assert database.schema_version() == len(MIGRATIONS)
    tables = set(sa.inspect(database.engine).get_table_names())
    assert {"schema_version", "user_prefs", "feedback", "cases", "case_events", "outbox"} <= tables
    database.close()


def test_a_later_migration_runs_once(database_url):  # noqa: F811
    calls = []

    def m002_add_nickname(conn):
        from bot.storage.migrations import add_column_if_missing

        calls.append(1)
        add_column_if_missing(conn, schema.user_prefs, sa.Column("nickname", sa.Text))

    database = Database(database_url)
    database.migrate()
    assert database.migrate([*MIGRATIONS, m002_add_nickname]) == ["m002_add_nickname"]
    assert database.migrate([*MIGRATIONS, m002_add_nickname]) == []
    assert calls == [1]
    columns = {c["name"] for c in sa.inspect(database.engine).get_columns("user_prefs")}
    assert "nickname" in columns
    database.close()


def test_sqlite_creates_the_data_folder_and_uses_wal(tmp_path):
    path = tmp_path / "nested" / "data" / "puente.db"
    database = Database(f"sqlite:///{path}")
    database.migrate()
    assert path.exists()
    with database.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    database.close()


def test_a_failed_transaction_rolls_back(db):
    store = UserStore(db)
    with pytest.raises(RuntimeError):
        with db.transaction() as conn:
            conn.execute(
                schema.user_prefs.insert().values(
                    user_id=1, language="es", updated_at=datetime.now(timezone.utc)
                )
            )
            raise RuntimeError("boom")
    assert store.get_language(1) is None


def test_language_round_trip_and_update(db):
    store = UserStore(db)
    assert store.get_language(42) is None
    store.set_language(42, "es")
    store.set_language(42, "zh-TW")
    assert store.get_language(42) == "zh-TW"
    with pytest.raises(UnknownLanguage):
        store.set_language(42, "fr")


def test_big_telegram_ids_fit(db):
    store = UserStore(db)
    store.record_feedback(
        user_id=7_000_000_001, chat_id=-1_001_234_567_890, message_id=5,
        question="¿Dónde está A412?", answer="A", sources=[], rating=1,
    )  # fmt: skip
    with db.connect() as conn:
        row = conn.execute(sa.select(schema.feedback)).one()
    assert (row.user_id, row.chat_id, row.question) == (
        7_000_000_001, -1_001_234_567_890, "¿Dónde está A412?"
    )


def test_feedback(db):
    store = UserStore(db)
    kwargs = dict(
        user_id=2,
        chat_id=20,
        message_id=200,
        question="Q",
        answer="A",
        sources=["program/faq.en.md"],
    )
    store.record_feedback(**kwargs, rating=1)
    store.record_feedback(**kwargs, rating=-1)  # changing one's mind replaces the rating
    with db.connect() as conn:
        rows = conn.execute(sa.select(schema.feedback)).all()
    assert [(r.rating, r.sources) for r in rows] == [(-1, ["program/faq.en.md"])]
    with pytest.raises(ValueError):
        store.record_feedback(**kwargs, rating=5)


def test_forget_user_deletes_their_data_and_anonymizes_cases(db):
    store = UserStore(db)
    desk = CaseStore(db)
    outbox = Outbox(db)
    store.set_language(5, "es")
    with db.transaction() as conn:  # a row of the old `messages` table (no longer written)
        conn.execute(schema.messages.insert().values(
            user_id=5, chat_id=5, message_id=1, question="tengo un problema", created_at=utcnow()
        ))  # fmt: skip
    store.record_feedback(
        user_id=5, chat_id=5, message_id=1, question="q", answer="a", sources=[], rating=1
    )
    case = desk.open_case(
        5, 5, "Sofía", "es", "sensitive", "wellbeing", "me siento sola", ["hola"], None, []
    )
    desk.claim(case.id, 100000001)
    desk.add_message(case.id, "out", 100000001, "¿Cómo estás?")
    outbox.enqueue(5, "pending text", kind="relay_out", case_id=case.id, dedupe_key="k1")
    store.set_language(6, "en")  # someone else: untouched

    removed = store.forget_user(5)

    assert removed >= 6
    assert store.get_language(5) is None and store.get_language(6) == "en"
    with db.connect() as conn:
        assert conn.execute(sa.select(schema.messages)).all() == []
    kept = desk.get(case.id)
    assert (kept.user_id, kept.chat_id, kept.name, kept.text, kept.context) == (0, 0, "", "", [])
    assert kept.anonymized and kept.status == "claimed"
    assert desk.messages(case.id) == []
    assert outbox.pending_count() == 0
    kinds = [e.kind for e in desk.audit(case.id)]
    assert kinds[:2] == ["opened", "claimed"]  # the audit trail survives
    assert all(e.actor != 5 for e in desk.audit(case.id))
    assert desk.active_case_for(5) is None
    assert store.forget_user(5) == 0
