"""The answerability gate: the probability that the reply Puente composed is right.

A logistic regression over signals of the question and its evidence (below), trained by
``python -m bot.answering train`` on the train part of the question set with a threshold chosen on
cross-validation for precision on answered questions (`bot/answering/model.json`). The record's
`confidence` is this probability. Without a trained model the hand-weighted score of
`confidence.py` decides, as before.
"""

from __future__ import annotations

import math

import numpy as np

from bot.answering.confidence import STRICT_TYPES, unknown_words
from bot.answering.confidence import confidence as hand_score
from bot.answering.evidence import answer_types, types_met
from bot.ranking import Logistic
from bot.textnorm import tokenize

GATE_FEATURES = (
    "top_probability",  # the ranker's probability for the first passage
    "second_probability",
    "top_cosine",
    "top_keywords",  # log(1 + BM25) of the first passage
    "unknown_words",  # content words of the question the knowledge folder never uses (0..2)
    "types_asked",  # the question asks for a kind of fact (a time, a price, a place...)
    "type_in_top",  # share of those the first passage holds
    "strict_type_missing",  # a price, a rate or an e-mail is asked and the first passage has none
    "exact",  # the first passage names an identifier of the question
    "same_language",  # the first passage is in the question's language
    "lesson",  # the first passage is from a Mandarin lesson
    "question_words",  # log(1 + tokens)
    "hand_score",  # the hand-weighted confidence (semantic closeness, agreement, types)
    "bank_top",  # the best cosine of an anticipated question answered in the first passage's section
    "vote_top",  # that section's share of the nearest anticipated questions' vote
    "near_miss",  # the cosine of the closest anticipated near-miss (a question with no answer)
    "bank_margin",  # the closest answerable anticipated question's cosine minus near_miss
    "top_margin",  # the ranker's probability for the first passage minus the second's
    "bank_agrees",  # the first passage's section holds the closest answerable anticipated question
)


# The signals of the anticipated questions: a passage whose section they do not speak of (an FAQ
# approved on the desk after they were written) is judged by a gate trained without them.
BANK_SIGNALS = ("bank_top", "vote_top", "near_miss", "bank_margin", "bank_agrees")
PLAIN_FEATURES = tuple(f for f in GATE_FEATURES if f not in BANK_SIGNALS)


class AnswerGate(Logistic):
    """P(the composed reply is right) over GATE_FEATURES (or the subset `features`), and the
    threshold to answer at. `plain`: the gate without the anticipated questions' signals, for
    passages they do not cover."""

    def __init__(
        self, weights, bias: float, mean, scale, threshold: float = 0.5,
        features: tuple[str, ...] = GATE_FEATURES, plain: AnswerGate | None = None,
    ) -> None:  # fmt: skip
        super().__init__(weights, bias, mean, scale)
        self.threshold = float(threshold)
        self.features = tuple(features)
        self.columns = np.array([GATE_FEATURES.index(f) for f in self.features])
        self.plain = plain

    @classmethod
    def from_dict(cls, data: dict) -> AnswerGate:
        features = tuple(data["features"])
        if features not in (GATE_FEATURES, PLAIN_FEATURES):
            raise ValueError("the answer gate was trained on other signals; retrain it")
        plain = cls.from_dict(data["plain"]) if data.get("plain") else None
        return cls(data["weights"], data["bias"], data["mean"], data["scale"], data["threshold"],
                   features, plain)  # fmt: skip

    def probability(self, features: np.ndarray):
        """Over the full signal vector(s) (GATE_FEATURES); the gate reads its own columns."""
        return super().probability(np.asarray(features)[..., self.columns])

    def decide(self, signals: np.ndarray, covered: bool) -> tuple[float, float]:
        """(probability, threshold): this gate's, or the plain one's for an uncovered passage."""
        gate = self if covered or self.plain is None else self.plain
        return float(gate.probability(signals)), gate.threshold


def signals(question: str, language: str, hits, chosen, vocabulary) -> np.ndarray:
    """GATE_FEATURES for a question, the ranked hits and the passages chosen for the reply."""
    top = chosen[0] if chosen else None
    second = hits[1].score if len(hits) > 1 else 0.0
    types = answer_types(question)
    strict = [t for t in types if t in STRICT_TYPES]
    unknown = unknown_words(question, vocabulary)  # once: jieba is the slow part
    meta = top.chunk.metadata if top else {}
    return np.array([
        top.score if top else 0.0,
        second,
        top.dense if top else 0.0,
        math.log1p(top.bm25) if top else 0.0,
        float(min(len(unknown), 2)),
        float(bool(types)),
        types_met(types, top.chunk.text) if (top and types) else 0.0,
        float(bool(strict) and types_met(strict, top.chunk.text if top else "") < 1.0),
        float(top.exact) if top else 0.0,
        float(meta.get("language") == language),
        float(meta.get("doc_type") == "lesson"),
        math.log1p(len(tokenize(question, keep_stopwords=True))),
        hand_score(question, hits, chosen, vocabulary, unknown),
        top.bank if top else 0.0,
        top.vote if top else 0.0,
        hits[0].near_miss if hits else 0.0,
        (hits[0].bank_best - hits[0].near_miss) if hits else 0.0,
        (top.score - second) if top else 0.0,
        float(top is not None and top.bank > 0 and top.bank >= top.bank_best - 1e-9),
    ])  # fmt: skip
