"""Fakes with meaning for the Telegram adapter's tests: predictable answers, an in-memory store.

FakeAssistant answers "ANSWER: <question>" with one citation, detects the language with a few
obvious rules, and can be told to answer a question with a given record, to raise, or to wait
on an event (to test concurrency). Its triage (`assess`, for messages inside a case) returns the
verdicts it is given, and nothing for any other message.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from bot.escalation.cases import CaseNotFound, NotAllowed
from bot.escalation.service import Forgotten, Handoff
from bot.records import AnswerRecord, Citation
from bot.triage import NONE, Triage

CITATION = Citation(source="program/handbook.en.md", section="Housing", title="Trainee Handbook")
_SPANISH = re.compile(
    r"[¿¡ñáéíóú]|\b(c[oó]mo|d[oó]nde|qu[eé]|cu[aá]ndo|hola|el|la|los|mi)\b", re.IGNORECASE
)
_CJK = re.compile(r"[\u4e00-\u9fff]")


class FakeAssistant:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None, int | None]] = []
        self.records: dict[str, AnswerRecord | Exception | Callable[[], AnswerRecord]] = {}
        self.gates: dict[str, threading.Event] = {}
        self.started: list[str] = []  # questions whose answering has begun, in order
        self.opened = self.closed = False
        self.verdicts: dict[str, Triage] = {}  # text -> triage verdict (assess)
        self.histories: list[list] = []  # the conversation's earlier turns, per answer call

    # -- AssistantLike ---------------------------------------------------------------------
    def detect_language(self, text: str) -> str | None:
        if _CJK.search(text):
            return "zh-TW"
        if _SPANISH.search(text):
            return "es"
        if re.search(r"[A-Za-z]", text):
            return "en"
        return None

    def answer(
        self, text: str, *, language: str | None = None, user_id: int | None = None,
        history=(),
    ) -> AnswerRecord:  # fmt: skip
        self.started.append(text)
        self.histories.append(list(history))
        self.calls.append((text, language, user_id))
        gate = self.gates.get(text)
        if gate is not None and not gate.wait(timeout=10):
            raise TimeoutError(f"gate for {text!r} never opened")
        canned = self.records.get(text)
        if isinstance(canned, Exception):
            raise canned
        if callable(canned):
            return canned()
        if canned is not None:
            return replace(canned, question=text)
        detected = language or self.detect_language(text) or "en"
        return AnswerRecord(
            question=text,
            language=detected,
            answer=f"ANSWER: {text}",
            answered=True,
            sources=[CITATION],
            confidence=0.9,
        )

    def assess(self, text: str, *, language: str | None = None) -> tuple[str, Triage]:
        return language or self.detect_language(text) or "en", self.verdicts.get(text, NONE)

    def escalation_reply(self, text: str, language: str, verdict: Triage) -> AnswerRecord:
        return AnswerRecord(
            question=text, language=language, answer=CRISIS_REPLY, answered=False,
            escalate=True, escalation_reason=verdict.reason, topic=verdict.topic, danger=True,
        )  # fmt: skip

    def safety_note(self, language: str, *, person: bool = False) -> str:
        return SAFETY_NOTE + ("" if person else " Ask me for a person.")

    def crisis_lines(self, language: str):
        from bot.assistant import CrisisLines

        return CrisisLines("Police: 110\nFire and ambulance: 119\nSuicide-prevention line: 1925", None)

    # -- lifecycle (Services.open / close reach it) -------------------------------------------
    def open(self) -> None:
        self.opened = True

    def close(self) -> None:
        self.closed = True


@dataclass
class Feedback:
    user_id: int
    chat_id: int
    message_id: int
    question: str
    answer: str
    sources: list[str]
    rating: int


@dataclass
class FakeUserStore:
    """UserStoreLike in memory."""

    languages: dict[int, str] = field(default_factory=dict)
    feedback: list[Feedback] = field(default_factory=list)

    def get_language(self, user_id: int) -> str | None:
        return self.languages.get(user_id)

    def set_language(self, user_id: int, language: str) -> None:
        self.languages[user_id] = language

    def record_feedback(self, **values) -> None:
        self.feedback.append(Feedback(**values))

    def forget_user(self, user_id: int) -> int:
        removed = int(self.languages.pop(user_id, None) is not None)
        kept = [f for f in self.feedback if f.user_id != user_id]
        removed += len(self.feedback) - len(kept)
        self.feedback = kept
        return removed


@dataclass
class FakeDesk:
    """A desk (`bot.services.DeskLike`) with no cases: the two ways in are recorded, every
    other action is refused as the real desk refuses an unknown case."""

    requests: list[dict] = field(default_factory=list)
    escalations: list[dict] = field(default_factory=list)
    forgotten: list[int] = field(default_factory=list)
    roster: Any = None
    tr: Any = None
    outbox: Any = None
    clock: Any = None

    def request_human(self, **values) -> Handoff:
        self.requests.append(values)
        return Handoff(None, None, values.get("private", True))

    def escalate(self, **values) -> Handoff:
        self.escalations.append(values)
        return Handoff(None, None, values.get("private", True))

    def person(self, user_id):
        return None

    def language_of(self, chat_id):
        return "en"

    def active_case(self, user_id):
        return None

    def case_of_message(self, chat_id, message_id):
        return None

    def sending_to(self, chat_id):
        return False

    def trainee_message(self, user_id, text, *, replying_to=None, crisis=False, copy_from=None,
                        caution=False):  # fmt: skip
        return None

    def forget(self, user_id):
        self.forgotten.append(user_id)
        return Forgotten([], [])

    def send_reminders(self, minutes, crisis_minutes=5):
        return []

    def reopen_offer(self, user_id):
        return None

    def chat_opened(self, user_id):
        return 0

    def _none(self, case_id, *args, **kwargs):
        raise CaseNotFound(case_id)

    crisis_in_case = claim = resolve = reassign = reassign_candidates = reply = view = _none
    rate = cards = _none

    def may_view(self, case, actor_id):
        return False

    def shown_name(self, case, actor_id, chat_id):
        return None

    def cases_for(self, actor_id):
        raise NotAllowed(0, actor_id, "list cases", "not on the roster")


# --- the escalation desk's test roster and messages (tests/test_desk_telegram.py, e2e) ----------

THESIS = "I need to talk to my mentor about my thesis"
CRISIS = "I want to disappear"
CRISIS_REPLY = "Please call 1925 (24 hours) or 119 now. A counselor will contact you."
SAFETY_NOTE = "If you are not safe: 119 (ambulance), 1925 (24 hours)."


def desk_roster(
    *, trainee: int, counselor: int, mentor: int, admin: int, desk_chat: int, desk_thread: int,
    counselor_name: str, counselor_languages: str,
) -> str:  # fmt: skip
    """A roster (YAML) with a desk topic, an on-duty counselor, the trainee's mentor and a desk
    admin who is also the backup."""
    return f"""
timezone: Asia/Taipei
desk:
  chat_id: {desk_chat}
  thread_id: {desk_thread}
  language: en
backup: {admin}
people:
  - id: {counselor}
    name: "{counselor_name}"
    languages: [{counselor_languages}]
    topics: [wellbeing]
    roles: [counselor]
    on_duty: true
  - id: {mentor}
    name: "Dr. Chen Wei"
    languages: [en, zh-TW]
    topics: [academic]
    roles: [mentor]
    on_duty: true
  - id: {admin}
    name: "Night duty officer"
    languages: [en]
    roles: [counselor, desk_admin]
    on_duty: true
mentors:
  {trainee}: {mentor}
"""


def escalation(reason: str, answer: str, topic: str | None = None) -> AnswerRecord:
    """The assistant's record for a message that escalates."""
    return AnswerRecord(
        question="x", language="en", answer=answer, answered=False, escalate=True,
        escalation_reason=reason, topic=topic,
    )  # fmt: skip
