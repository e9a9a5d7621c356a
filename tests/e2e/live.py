"""Helpers for the fault, security and load tests: Puente's real Application in-process (real
desk, SQLite, outbox jobs; a fake or the real assistant), and `python -m bot` as a process.

Both talk to the Bot API emulator (tests/e2e/emulator.py). Every wait is on a condition.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from telegram.ext import Application
from telegram.request import HTTPXRequest

from bot.channels.telegram import build_application
from bot.config import Settings
from bot.wiring import build_services
from tests.e2e.conftest import start_application, stop_application
from tests.e2e.emulator import BotApiEmulator

ROOT = Path(__file__).resolve().parents[2]

TRAINEE, TRAINEE_B = 4242, 4343
COUNSELOR, ADMIN = 100000001, 100000009
DESK_CHAT = -1001000000001

ROSTER = f"""
timezone: Asia/Taipei
desk:
  chat_id: {DESK_CHAT}
  language: en
backup: {ADMIN}
people:
  - id: {COUNSELOR}
    name: "Lin Mei-hua"
    languages: [en, zh-TW]
    topics: [wellbeing, academic]
    roles: [counselor]
    on_duty: true
  - id: {ADMIN}
    name: "Night duty officer"
    languages: [en]
    roles: [counselor, desk_admin]
    on_duty: true
mentors:
  {TRAINEE}: {COUNSELOR}
"""


def write_roster(folder: Path, text: str = ROSTER) -> Path:
    path = folder / "roster.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def desk_settings(emulator: BotApiEmulator, folder: Path, **extra) -> Settings:
    values = {
        "telegram_bot_token": emulator.token,
        "telegram_api_url": emulator.url,
        "data_dir": folder,
        "database_url": f"sqlite:///{folder / 'puente.db'}",
        "roster_file": write_roster(folder),
    }
    values.update(extra)
    return Settings(_env_file=None, **values)


def staff_chats(emulator: BotApiEmulator) -> None:
    """The staff have started the bot; the desk group exists."""
    for person in (COUNSELOR, ADMIN):
        emulator.create_chat(person, first_name="Staff")
    emulator.create_chat(DESK_CHAT, chat_type="supergroup", title="STUST desk")


@dataclass
class LiveBot:
    """The real Application long polling the emulator, startable and stoppable."""

    emulator: BotApiEmulator
    settings: Settings
    assistant: object
    read_timeout: float = 5.0
    outbox_base_delay: float | None = 0.2  # the outbox's backoff, short for tests
    app: Application | None = None

    async def start(self) -> Application:
        services = await asyncio.to_thread(build_services, self.settings, self.assistant)
        request = HTTPXRequest(connection_pool_size=64, read_timeout=self.read_timeout)
        app = build_application(self.settings, services, request=request)
        if self.outbox_base_delay is not None and services.desk is not None:
            services.desk.outbox.base_delay = self.outbox_base_delay
        self.app = await start_application(app)
        return app

    async def stop(self) -> None:
        app, self.app = self.app, None
        if app is None:
            return
        await stop_application(app)

    @property
    def desk(self):
        return self.app.bot_data["services"].desk

    @property
    def db_path(self) -> Path:
        return Path(self.settings.database_url.removeprefix("sqlite:///"))

    async def sends(self, chat_id: int, text: str, **kwargs) -> dict:
        kwargs.setdefault("user_id", chat_id)
        return await asyncio.to_thread(self.emulator.user_sends, chat_id, text, **kwargs)

    async def presses(self, chat_id: int, message_id: int, data: str, user_id: int) -> str:
        return await asyncio.to_thread(
            self.emulator.user_presses, chat_id, message_id, data, user_id=user_id
        )

    def texts(self, chat_id: int) -> list[str]:
        return [m.get("text", "") for m in self.emulator.bot_messages(chat_id)]

    async def message_with(self, chat_id: int, text: str, timeout: float = 30) -> dict:
        def find():
            return next((m for m in self.emulator.bot_messages(chat_id) if text in m["text"]), None)

        return await self.emulator.await_for(find, timeout=timeout, what=f"{text!r} in chat {chat_id}")

    async def outbox_settled(self, timeout: float = 30) -> None:
        """Every outbox row sent (nothing pending, sending or failed)."""
        path = self.db_path
        await self.emulator.await_for(
            lambda: outbox_statuses(path) and set(outbox_statuses(path)) == {"sent"},
            timeout=timeout, what="every outbox row sent",
        )


def outbox_statuses(db_path: Path, kinds: tuple[str, ...] | None = None) -> list[str]:
    return [row[1] for row in outbox_rows(db_path, kinds)]


def outbox_rows(db_path: Path, kinds: tuple[str, ...] | None = None) -> list[tuple]:
    """(kind, status, attempts, chat_id, text) of every outbox row, read with plain sqlite3."""
    if not db_path.exists():
        return []
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    try:
        rows = conn.execute(
            "SELECT kind, status, attempts, chat_id, text FROM outbox ORDER BY id"
        ).fetchall()
    except sqlite3.OperationalError:  # not migrated yet
        return []
    finally:
        conn.close()
    return [r for r in rows if kinds is None or r[0] in kinds]


def faults_left(emulator: BotApiEmulator) -> list[dict]:
    return emulator._get("/_test/faults")["result"]


# --- the entry point as a process -----------------------------------------------------------------


@dataclass
class BotProcess:
    """`python -m bot` with its stderr collected in the background."""

    env: dict
    proc: subprocess.Popen | None = None
    lines: list[str] = field(default_factory=list)
    _reader: threading.Thread | None = None

    def start(self) -> BotProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot"], cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        return self

    def _drain(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def kill(self) -> int:
        """SIGKILL: no shutdown code runs."""
        self.proc.kill()
        return self._reap()

    def terminate(self, timeout: float = 30) -> int:
        self.proc.terminate()
        return self._reap(timeout)

    def _reap(self, timeout: float = 30) -> int:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(timeout=10)
        if self._reader is not None:
            self._reader.join(timeout=10)
        self.proc.stderr.close()
        return code

    def ensure_stopped(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self._reap()


def entrypoint_env(emulator: BotApiEmulator, real_settings, folder: Path, **extra: str) -> dict:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": emulator.token,
        "TELEGRAM_API_URL": emulator.url,
        "PUENTE_DATA_DIR": str(real_settings.data_dir),
        "PUENTE_KNOWLEDGE_DIR": str(real_settings.knowledge_dir),
        "DATABASE_URL": f"sqlite:///{folder / 'puente.db'}",
        "PUENTE_ROSTER_FILE": str(write_roster(folder)),
        "PUENTE_LOG_LEVEL": "INFO",
        "PUENTE_TODAY": "2026-11-21",
    }
    env.update(extra)
    return env
