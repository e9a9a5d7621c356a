"""`Conversations`: a chat's questions read in the context of its last turns.

Telegram and the console chat both go through `reply`; `python -m bot ask` stays stateless.
A conversation is the chat's last turns that follow each other within `ttl` of silence
(30 minutes by default, `PUENTE_CONVERSATION_MINUTES`). A question answered on its own starts a
new topic (the earlier turns are dropped); a follow-up read with the earlier topic is kept
with it (up to `keep` turns); a message handed to a person or not understood leaves the
conversation as it was. `/forget` deletes it with the rest of the person's data.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.conversation.state import Clock, ConversationStore, default_clock
from bot.records import AnswerRecord

logger = logging.getLogger(__name__)

DEFAULT_TTL = timedelta(minutes=30)
KEEP_TURNS = 3


class Conversations:
    def __init__(
        self, assistant, store: ConversationStore, *, ttl: timedelta = DEFAULT_TTL,
        keep: int = KEEP_TURNS, clock: Clock = default_clock,
    ) -> None:  # fmt: skip
        self.assistant = assistant
        self.store = store
        self.ttl = ttl
        self.keep = keep
        self.clock = clock

    def reply(
        self, chat_id: int, text: str, *, user_id: int | None = None, language: str | None = None
    ) -> AnswerRecord:
        """Answer `text` as the next message of the chat's conversation (thread-safe per chat
        as far as the store is: two messages of one chat answered at once may each see the
        turns before both, as a person who sends two questions in a row expects)."""
        now = self.clock()
        history = self._load(chat_id, now)
        record = self.assistant.answer(text, language=language, user_id=user_id, history=history)
        turn = record.turn
        if turn is None:  # escalated, not understood, empty: the conversation stays as it was
            return record
        if record.carried:
            turns = [*history[max(0, len(history) - self.keep + 1):], turn]
        elif turn.kind == "declined" and history:
            return record  # not understood: the topic before it is still the one to carry
        else:
            turns = [turn]
        try:
            self.store.save(chat_id, user_id if user_id is not None else chat_id, turns, now)
        except Exception:  # the answer matters more than the context
            logger.exception("the conversation of a chat could not be stored")
        return record

    def forget(self, chat_id: int) -> None:
        self.store.clear(chat_id)

    def _load(self, chat_id: int, now) -> list:
        try:
            return self.store.load(chat_id, since=now - self.ttl)
        except Exception:  # answered on its own rather than not at all
            logger.exception("the conversation of a chat could not be read")
            return []
