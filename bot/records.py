"""Plain values that cross layers: a citation, an answer record, a triage verdict.

No I/O, no imports from the rest of the package, so every layer (and every channel) can use them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Language = Literal["es", "en", "zh-TW"]
LANGUAGES: tuple[Language, ...] = ("es", "en", "zh-TW")
EscalationReason = Literal["explicit_request", "crisis", "sensitive", "low_confidence"]


@dataclass(frozen=True)
class Citation:
    """Where an answer came from: a path relative to the knowledge folder and a section."""

    source: str
    section: str
    title: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"source": self.source, "section": self.section}


@dataclass(frozen=True)
class Turn:
    """One exchange of a conversation, as the next message may need it: what the person wrote,
    what it was taken to mean (a follow-up with the earlier topic carried over), what answered
    it. Stored per chat by `bot.conversation.ConversationStore`."""

    question: str  # what the person wrote
    resolved: str  # what it was searched as (the question, or the follow-up with its topic)
    language: str
    kind: str  # "documents" | "calendar" | "vocabulary" | "declined"
    sources: tuple[tuple[str, str], ...] = ()  # (source, section) of what answered it
    topic: str | None = None  # how a reply names it ("Monthly living allowance")
    data: dict = field(default_factory=dict)  # kind-specific: a calendar query, a word

    def to_dict(self) -> dict:
        return {
            "question": self.question, "resolved": self.resolved, "language": self.language,
            "kind": self.kind, "sources": [list(s) for s in self.sources], "topic": self.topic,
            "data": self.data,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Turn:
        return cls(
            question=str(data.get("question", "")), resolved=str(data.get("resolved", "")),
            language=str(data.get("language", "en")), kind=str(data.get("kind", "declined")),
            sources=tuple(tuple(s) for s in data.get("sources", ()) if len(s) == 2),
            topic=data.get("topic"), data=dict(data.get("data") or {}),
        )


@dataclass
class AnswerRecord:
    """What Puente decided for one question: the contract of `python -m bot ask --json`."""

    question: str
    language: Language
    answer: str
    answered: bool
    sources: list[Citation] = field(default_factory=list)
    confidence: float = 0.0
    escalate: bool = False
    escalation_reason: EscalationReason | None = None
    # Not part of the JSON contract: what a channel needs to act on the record.
    body: str | None = None  # `answer` without its sources line, for channels that list sources
    topic: str | None = None
    offer_counselor: bool = False
    danger: bool = False  # a crisis or a danger signal: the reply carries the emergency numbers
    caution: bool = False  # the reply ends with a short note of the numbers (triage: `caution`)
    unsupported_language: bool = False
    # What a conversation keeps of this reply (`bot.conversation`): set by the assistant.
    turn: Turn | None = None
    carried: str | None = None  # the earlier topic a follow-up was read with ("the laundry")

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "language": self.language,
            "answer": self.answer,
            "answered": self.answered,
            "sources": [c.to_dict() for c in self.sources],
            "confidence": round(float(self.confidence), 4),
            "escalate": self.escalate,
            "escalation_reason": self.escalation_reason,
        }
