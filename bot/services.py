"""What a channel adapter receives: the assistant, the user store and (later) the escalation desk.

The channels code against these Protocols; the real implementations live in the domain layers and
tests pass fakes. `Services` is built once in `main()` and opened / closed by the channel's
lifecycle (for Telegram: `post_init` / `post_shutdown`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.config import Settings
from bot.records import AnswerRecord


class AssistantLike(Protocol):
    def answer(
        self, text: str, *, language: str | None = None, user_id: int | None = None
    ) -> AnswerRecord:
        """Answer one question. Synchronous and slow (embedding + search): run it in a thread."""
        ...

    def detect_language(self, text: str) -> str | None:
        """"es" | "en" | "zh-TW", or None for an unsupported language."""
        ...


class UserStoreLike(Protocol):
    def get_language(self, user_id: int) -> str | None: ...

    def set_language(self, user_id: int, language: str) -> None: ...

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
        """Store one rating (+1 / -1) with the question and answer it is about."""
        ...

    def forget_user(self, user_id: int) -> int:
        """Delete everything stored about the person; return the number of rows removed."""
        ...

    def get_question(self, chat_id: int, message_id: int) -> str | None: ...


@dataclass
class Services:
    """The long-lived things a channel needs, built once and shared.

    `desk` is the escalation desk, or None when this deployment has none. A channel calls
    `desk.request_human(user_id=, chat_id=, name=, language=, text=)` when a person asks for a
    counselor and `desk.escalate(record=, user_id=, chat_id=, name=)` when an answer escalates.
    """

    settings: Settings
    assistant: AssistantLike
    users: UserStoreLike
    desk: object | None = None
    exams: object | None = None  # bot.exam_reminders.ExamReminders, or None

    def open(self) -> None:
        """Open every member that has an `open()` (index, database, desk); no-op otherwise."""
        for member in self._members():
            opener = getattr(member, "open", None)
            if callable(opener):
                opener()

    def close(self) -> None:
        """Close in reverse order of opening; a failing close does not skip the others."""
        errors: list[BaseException] = []
        for member in reversed(self._members()):
            closer = getattr(member, "close", None)
            if callable(closer):
                try:
                    closer()
                except Exception as exc:  # noqa: BLE001 - re-raised below, after the others
                    errors.append(exc)
        if errors:
            raise errors[0]

    def _members(self) -> list[object]:
        return [m for m in (self.users, self.assistant, self.desk, self.exams) if m is not None]
