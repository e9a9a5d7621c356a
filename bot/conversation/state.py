"""Where a chat's conversation is kept: the database (Telegram: it survives a restart and is
shared by every process), or memory (the console chat, tests)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa

from bot.records import Turn
from bot.storage import schema
from bot.storage.types import utcnow


class ConversationStore(Protocol):
    def load(self, chat_id: int, *, since: datetime) -> list[Turn]:
        """The chat's turns, oldest first; none when the last one is older than `since`."""
        ...

    def save(self, chat_id: int, user_id: int, turns: list[Turn], at: datetime) -> None: ...

    def clear(self, chat_id: int) -> None: ...


class SqlConversationStore:
    """One row per chat in `conversations` (deleted with the person's data by /forget)."""

    def __init__(self, db) -> None:
        self.db = db

    def load(self, chat_id: int, *, since: datetime) -> list[Turn]:
        c = schema.conversations.c
        with self.db.connect() as conn:
            row = conn.execute(
                sa.select(c.turns, c.updated_at).where(c.chat_id == chat_id)
            ).first()
        if row is None or row.updated_at < since:
            return []
        return [Turn.from_dict(t) for t in row.turns or [] if isinstance(t, dict)]

    def save(self, chat_id: int, user_id: int, turns: list[Turn], at: datetime) -> None:
        table = schema.conversations
        values = {"user_id": user_id, "turns": [t.to_dict() for t in turns], "updated_at": at}
        with self.db.transaction() as conn:
            updated = conn.execute(
                table.update().where(table.c.chat_id == chat_id).values(**values)
            ).rowcount
            if not updated:
                conn.execute(table.insert().values(chat_id=chat_id, **values))

    def clear(self, chat_id: int) -> None:
        table = schema.conversations
        with self.db.transaction() as conn:
            conn.execute(table.delete().where(table.c.chat_id == chat_id))


class MemoryConversationStore:
    """For one process that need not survive a restart (the console chat)."""

    def __init__(self) -> None:
        self._chats: dict[int, tuple[list[Turn], datetime]] = {}
        self._lock = threading.Lock()

    def load(self, chat_id: int, *, since: datetime) -> list[Turn]:
        with self._lock:
            turns, at = self._chats.get(chat_id, ([], since))
            return list(turns) if at >= since else []

    def save(self, chat_id: int, user_id: int, turns: list[Turn], at: datetime) -> None:
        with self._lock:
            self._chats[chat_id] = (list(turns), at)

    def clear(self, chat_id: int) -> None:
        with self._lock:
            self._chats.pop(chat_id, None)


Clock = Callable[[], datetime]
default_clock: Clock = utcnow
