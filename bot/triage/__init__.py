"""Triage before answering: crisis > sensitive > explicit request for a person > nothing.

Learned, not listed. A linear model (`model.py`) reads the message's multilingual embedding (the
same vector the search uses: computed once per message) and its character n-grams, and gives the
probability of each reason, of danger to someone's life or body, and of each topic. It is trained
by ``python -m bot.triage train`` on the train part of a labelled corpus (`eval/triage/`), with
its thresholds chosen on cross-validation of that part: crisis recall 1.0 first, then precision.

A recall floor of self-harm and emergency cues (`floor.yaml`, data) makes a message a crisis
whatever the model says. A message that needs a person and whose likeliest reason is a crisis is a
crisis, even below the crisis threshold, and so is one where the crisis takes a share of the
probability of needing a person chosen on cross-validation; any escalated message with a danger
signal is marked `danger`: its reply carries the emergency numbers even when routed as sensitive.
A message whose crisis probability reaches the `caution` line (chosen on cross-validation: the
note under the answers of at most 15 % of the corpus's look-alikes) and whose reply would not
carry the numbers is marked `caution`: its answer, or its escalated reply, ends with a short note of the
emergency and suicide-prevention numbers. Nobody is alerted for the note.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

import numpy as np

from bot.topics import TOPICS
from bot.triage.floor import Floor
from bot.triage.model import TriageModel, TriageModelError
from bot.triage.text import normalize

__all__ = [
    "Triage", "Triager", "TriageModel", "TriageModelError", "default_triager", "normalize",
    "triage",
]  # fmt: skip

Reason = Literal["crisis", "sensitive", "explicit_request"]
CRISIS_TOPICS = ("wellbeing", "health", "safety")


@dataclass(frozen=True)
class Triage:
    reason: Reason | None
    topic: str | None  # one of bot.topics.TOPICS
    matched: str | None  # why, for logs: "floor:<cue>" or "model"
    danger: bool = False  # the reply carries the emergency numbers
    probability: float | None = None  # the model's probability of the chosen reason
    caution: bool = False  # no numbers in the reply otherwise: it ends with a note of them

    @property
    def escalate(self) -> bool:
        return self.reason is not None


NONE = Triage(None, None, None)


class Triager:
    """The model and the floor, loaded once; `classify` is thread-safe (read-only state)."""

    def __init__(
        self,
        model: TriageModel | None = None,
        floor: Floor | None = None,
        *,
        embedder_name: str | None = None,
    ) -> None:
        self.model = model or TriageModel.load()
        self.floor = floor or Floor.load()
        self.embedder_name = embedder_name

    def classify(
        self, text: str, language: str | None = None, *, vector: np.ndarray | None = None
    ) -> Triage:
        """The verdict for one message. `vector` is the message's query embedding from the
        running embedding model (shared with retrieval); without it, the n-gram model decides.
        `language` is a hint only (messages mix languages)."""
        if not text or not text.strip():
            return NONE
        norm = normalize(text)
        hit = self.floor.match(norm, text)
        if hit is not None:
            return Triage("crisis", hit.cue.topic, f"floor:{hit.cue.name}", True)
        scores = self.model.scores(norm, vector, embedder_name=self.embedder_name)
        limits = self.model.thresholds(scores.variant)
        p = scores.reason
        danger = scores.danger >= limits["danger"]
        if p["crisis"] >= limits["crisis"]:
            reason: Reason = "crisis"
        elif 1.0 - p["none"] >= limits["escalate"]:
            # It needs a person; a crisis when that is the likeliest reason, or when the crisis
            # takes a large enough share of the probability of needing a person (`crisis_share`),
            # even below the crisis line (that line is for messages that would not escalate
            # otherwise).
            share = p["crisis"] / max(1.0 - p["none"], 1e-9)
            if share >= limits.get("crisis_share", 1.0):
                reason = "crisis"
            else:
                reason = max(("crisis", "sensitive", "explicit_request"), key=p.__getitem__)
        elif p["crisis"] >= limits.get("caution", 1.0):
            return Triage(None, None, "model", caution=True, probability=p["crisis"])
        else:
            return NONE
        danger = danger or reason == "crisis"
        # An escalated reply without the numbers whose crisis probability reaches the safety
        # note's line gets the note too: a sensitive case with that signal must not get less than
        # an ordinary question with it.
        caution = not danger and p["crisis"] >= limits.get("caution", 1.0)
        return Triage(reason, self._topic(scores.topic, reason), "model", danger, p[reason], caution)

    __call__ = classify

    def cue(self, text: str) -> Triage:
        """The recall floor alone: a crisis when one of its cues is in `text`, else NONE. For
        words that are not a message of their own (a phrase quoted to be translated): the model
        reads whole messages, and on a bare phrase it is guessing ("sorry", "sore throat" read
        as a crisis)."""
        hit = self.floor.match(normalize(text), text) if text and text.strip() else None
        if hit is None:
            return NONE
        return Triage("crisis", hit.cue.topic, f"floor:{hit.cue.name}", True)

    @staticmethod
    def _topic(probabilities: dict[str, float], reason: str) -> str:
        allowed = CRISIS_TOPICS if reason == "crisis" else TOPICS
        return max(allowed, key=lambda t: probabilities.get(t, 0.0))


_default: Triager | None = None
_default_lock = threading.Lock()


def default_triager() -> Triager:
    """The shared triager (n-gram variant unless given vectors of its embedding model)."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Triager()
    return _default


def triage(text: str, language: str | None = None, *, vector: np.ndarray | None = None) -> Triage:
    """Triage one message with the shared `Triager`."""
    return default_triager().classify(text, language, vector=vector)
