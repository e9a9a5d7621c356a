"""Faults at start-up and in the database: `python -m bot` exits with one clear line (exit code
2, no traceback) for a missing or corrupt index, an embedding model that cannot be loaded and an
unusable database; the database retries while it is locked and says clearly when it gives up."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
import threading

import pytest

from bot.config import DEFAULT_EMBEDDING_MODEL
from bot.storage.db import Database, DatabaseUnavailable
from tests.conftest import KNOWLEDGE, ROOT


def run_bot(env_extra: dict, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": "123456:never-used",
        "TELEGRAM_API_URL": "http://127.0.0.1:9",  # nothing listens: must fail before any call
        "PUENTE_KNOWLEDGE_DIR": str(KNOWLEDGE),
        **env_extra,
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def assert_clear_exit(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "\npuente: " in "\n" + result.stderr, result.stderr[-2000:]  # our one message
    for needle in needles:
        assert needle in result.stderr, result.stderr[-2000:]


@pytest.mark.parametrize("damage", ["missing", "manifest-garbage", "chunks-garbage"])
def test_a_missing_or_corrupt_index_exits_naming_the_rebuild(tmp_path, damage):
    data = tmp_path / "data"
    data.mkdir()
    if damage == "manifest-garbage":
        (data / "manifest.json").write_text("{not json", encoding="utf-8")
    elif damage == "chunks-garbage":
        manifest = {
            "format": 1,
            "embedding_model": DEFAULT_EMBEDDING_MODEL,
            "files": {"a.md": {"hash": "0" * 64, "chunk_ids": ["a.md#0"]}},
        }
        (data / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        (data / "chunks.jsonl").write_text('{"id": "a.md#0", "te', encoding="utf-8")
    result = run_bot({"PUENTE_DATA_DIR": str(data), "DATABASE_URL": f"sqlite:///{tmp_path}/p.db"})
    assert_clear_exit(result, "ingest.py --rebuild")


@pytest.mark.slow
def test_an_unusable_database_path_exits_with_a_clear_message(real_settings, tmp_path):
    """The database file would live under a regular file: retried, then one clear line."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    result = run_bot({
        "PUENTE_DATA_DIR": str(real_settings.data_dir),
        "DATABASE_URL": f"sqlite:///{blocker}/puente.db",
        "PUENTE_ROSTER_FILE": str(tmp_path / "no-roster.yaml"),
    })  # fmt: skip
    assert_clear_exit(result, "cannot be opened or written", "DATABASE_URL")
    assert result.stderr.count("retrying in") == 2  # three attempts, logged


@pytest.mark.slow  # loads sentence-transformers (about 15 s)
@pytest.mark.parametrize("command", [["ask", "hola"], ["run"]])
def test_a_bad_embedding_model_setting_exits_with_one_line(tmp_path, command):
    """`EMBEDDING_MODEL=no-such-model`: one line naming the model and the setting, no traceback
    (an `EmbeddingModelError` is a `SetupError`), whether asking once or starting the bot."""
    result = run_bot({
        "EMBEDDING_MODEL": "no-such-model",
        "HF_HUB_OFFLINE": "1",  # never try the network for it
        "PUENTE_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": f"sqlite:///{tmp_path}/p.db",
        "PUENTE_LOG_LEVEL": "WARNING",
    }, *command)  # fmt: skip
    assert_clear_exit(result, "'no-such-model'", "EMBEDDING_MODEL")
    (line,) = result.stderr.splitlines()  # logging at WARNING: nothing else is said
    assert line.startswith("puente: cannot load embedding model 'no-such-model' (EMBEDDING_MODEL):")


def test_migrations_wait_out_a_short_lock_and_report_a_long_one(tmp_path, caplog, monkeypatch):
    from bot.storage import db as db_module

    monkeypatch.setattr(db_module, "SQLITE_BUSY_TIMEOUT_MS", 100)
    path = tmp_path / "puente.db"
    Database(f"sqlite:///{path}").migrate()
    locker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    locker.execute("BEGIN EXCLUSIVE")

    # Held for good: three attempts, each logged, then DatabaseUnavailable naming the reason.
    db = Database(f"sqlite:///{path}")
    with caplog.at_level(logging.WARNING, logger="bot.storage.db"), pytest.raises(
        DatabaseUnavailable
    ) as err:
        db.migrate_with_retries(attempts=3, delay_s=0.05)
    assert "database is locked" in str(err.value) and "DATABASE_URL" in str(err.value)
    assert len([r for r in caplog.records if "retrying" in r.getMessage()]) == 2

    # Released during the retries: the start-up goes on.
    released = threading.Event()

    def release_soon():
        released.wait(5)
        locker.execute("ROLLBACK")

    thread = threading.Thread(target=release_soon)
    thread.start()
    try:
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="bot.storage.db"):
            original = db.migrate

            def migrate_then_release():
                try:
                    return original()
                finally:
                    released.set()

            db.migrate = migrate_then_release
            db.migrate_with_retries(attempts=5, delay_s=0.3)
    finally:
        released.set()
        thread.join(5)
        locker.close()
    assert db.schema_version() > 0
    assert [r for r in caplog.records if "retrying" in r.getMessage()]
    db.close()
