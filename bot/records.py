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
    unsupported_language: bool = False

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
