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


class AnswerGate(Logistic):
    """P(the composed reply is right) over GATE_FEATURES, and the threshold to answer at."""

    def __init__(self, weights, bias: float, mean, scale, threshold: float = 0.5) -> None:
        super().__init__(weights, bias, mean, scale)
        self.threshold = float(threshold)

    @classmethod
    def from_dict(cls, data: dict) -> AnswerGate:
        if tuple(data["features"]) != GATE_FEATURES:
            raise ValueError("the answer gate was trained on other signals; retrain it")
        return cls(data["weights"], data["bias"], data["mean"], data["scale"], data["threshold"])


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
