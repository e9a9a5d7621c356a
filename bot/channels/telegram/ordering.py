"""The update processor: different chats run concurrently, one chat's updates run in order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Hashable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class ChatOrderedUpdateProcessor(BaseUpdateProcessor):
    """One `asyncio.Lock` per chat, created on demand and dropped once nobody holds or awaits it.

    The base class admits at most `max_admitted` updates (running or waiting for their chat);
    of those at most `max_running` run their handlers at once. Keeping the two apart means a
    burst from one chat waits on its own lock without taking the slots other chats need.
    Updates reach `do_process_update` in arrival order and asyncio locks wake waiters first in,
    first out, so one chat's updates are handled in the order Telegram sent them.
    """

    __slots__ = ("_chat_locks", "_running")

    def __init__(self, max_running: int = 32, *, max_admitted: int = 1024) -> None:
        if max_running < 1 or max_admitted < max_running:
            raise ValueError("need 1 <= max_running <= max_admitted")
        super().__init__(max_admitted)
        self._running = asyncio.BoundedSemaphore(max_running)
        # chat key -> [lock, number of updates holding or awaiting it]
        self._chat_locks: dict[Hashable, list[Any]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        if key is None:
            async with self._running:
                await coroutine
            return
        entry = self._chat_locks.setdefault(key, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0], self._running:
                await coroutine
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._chat_locks[key]

    @property
    def active_chats(self) -> int:
        """Chats with an update running or waiting (idle chats hold no lock)."""
        return len(self._chat_locks)

    async def initialize(self) -> None:
        """Nothing to allocate: locks are created per chat on demand."""

    async def shutdown(self) -> None:
        """Nothing to free: a lock disappears with the last update of its chat."""


def chat_key(update: object) -> Hashable | None:
    """The chat an update belongs to (or its user when it has no chat); None when neither."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return ("chat", update.effective_chat.id)
    if update.effective_user is not None:
        return ("user", update.effective_user.id)
    return None
