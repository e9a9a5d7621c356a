"""What a channel adapter receives: the assistant, the user store and (later) the escalation desk.

The channels code against these Protocols; the real implementations live in the domain layers and
tests pass fakes. `Services` is built once in `main()` and opened / closed by the channel's
lifecycle (for Telegram: `post_init` / `post_shutdown`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from bot.config import Settings
from bot.records import AnswerRecord, Turn

if TYPE_CHECKING:
    from bot.escalation.cases import Case, CaseEvent
    from bot.escalation.roster import Person, Roster
    from bot.escalation.service import (
        CounselorReply,
        Forgotten,
        Handoff,
        TraineeMessage,
    )
    from bot.i18n import Translator
    from bot.outbox import Outbox


class AssistantLike(Protocol):
    def answer(
        self, text: str, *, language: str | None = None, user_id: int | None = None,
        history: Sequence[Turn] = (),
    ) -> AnswerRecord:  # fmt: skip
        """Answer one question; `history`, the conversation's earlier turns (oldest first).
        Synchronous and slow (embedding + search): run it in a thread."""
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


class DeskLike(Protocol):
    """The escalation desk as a channel sees it (`bot.escalation.service.EscalationDesk`).

    Every action is authorized inside the desk by one policy: a refusal is a `DeskError`
    (`NotAllowed`, `InvalidTransition`, `CaseNotFound`), never a silent no-op. All calls are
    synchronous (run them in a thread)."""

    roster: Roster
    tr: Translator
    outbox: Outbox
    clock: Callable[[], datetime]

    def person(self, user_id: int | None) -> Person | None: ...
    def language_of(self, chat_id: int) -> str: ...
    def request_human(
        self, *, user_id: int, chat_id: int, name: str, language: str, text: str,
        username: str | None = None, private: bool = True,
    ) -> Handoff: ...  # fmt: skip
    def escalate(
        self, *, record: AnswerRecord, user_id: int, chat_id: int, name: str,
        username: str | None = None, context: list[str] | None = None, private: bool = True,
    ) -> Handoff: ...  # fmt: skip
    def crisis_in_case(self, case_id: int, message_id: int, text: str) -> Case: ...
    def claim(self, case_id: int, actor_id: int) -> Case: ...
    def resolve(self, case_id: int, actor_id: int) -> Case: ...
    def reassign(self, case_id: int, to: int, actor_id: int) -> Case: ...
    def reassign_candidates(self, case_id: int, actor_id: int) -> tuple[Case, list[Person]]: ...
    def reply(
        self, case_id: int, actor_id: int, text: str, where: tuple[int, int | None],
        copy_from: tuple[int, int] | None = None,
    ) -> CounselorReply: ...
    def cancel(self, case_id: int, actor_id: int) -> Case: ...
    def reopen(self, case_id: int, actor_id: int) -> Case: ...
    def reopen_offer(self, user_id: int) -> Case | None: ...
    def view(self, case_id: int, actor_id: int) -> tuple[Case, list[CaseEvent]]: ...
    def may_view(self, case: Case, actor_id: int) -> bool: ...
    def shown_name(self, case: Case, actor_id: int, chat_id: int) -> str | None: ...
    def cases_for(self, actor_id: int) -> tuple[bool, list[Case]]: ...
    def case_of_message(self, chat_id: int, message_id: int) -> Case | None: ...
    def sending_to(self, chat_id: int) -> bool: ...
    def cards(self, case_id: int) -> tuple[Case, list[tuple[int, int, str, str]]]: ...
    def active_case(self, user_id: int) -> Case | None: ...
    def trainee_message(
        self, user_id: int, text: str, *, replying_to: Case | None = None, crisis: bool = False,
        copy_from: tuple[int, int] | None = None, caution: bool = False,
    ) -> TraineeMessage | None: ...
    def rate(self, case_id: int, actor_id: int, score: int, *, round: int | None = None) -> Case: ...
    def forget(self, user_id: int) -> Forgotten: ...
    def send_reminders(self, minutes: int, crisis_minutes: float = 5) -> list[Any]: ...
    def settle_deliveries(self) -> int: ...
    def resend(self, outbox_id: int, actor_id: int) -> bool: ...
    def chat_opened(self, user_id: int) -> int: ...


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
    desk: DeskLike | None = None
    exams: object | None = None  # bot.exams.reminders.ExamReminders, or None
    # bot.conversation.Conversations: private chats' follow-ups read in context; None: every
    # message is answered on its own (assistant.answer)
    conversations: object | None = None
    practice: object | None = None  # bot.mandarin.practice.Practice (/practice), or None
    questions: object | None = None  # bot.learning.questions.QuestionLog (the weekly report)
    faq: object | None = None  # bot.learning.faq.FaqDesk (Save as FAQ, review), or None

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
