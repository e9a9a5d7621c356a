"""Is this FAQ draft the same question as a candidate already there, in any language?

Two counselors answering the same question write different words, often in different languages;
two questions on one topic ("is the allowance taxed?", "what day is it paid?") look alike but are
not the same. Closeness of the questions alone cannot tell them apart (on the question set, pairs
of different questions reach a cosine of 0.95), so a pair is judged on the questions and the
answers together: a logistic model over
- the cosine of the two questions, of the two answers, and of question + answer;
- the numbers, times, amounts and ids the two answers share (the same facts in any language);
- for the same language, the share of keywords in common.

It is trained on `eval/faq_dedup/` (intents written several times by different people in
several languages, grouped in families of near misses), split by family; the threshold keeps
merges precise (a wrong merge hides a question from the reviewers; a missed one shows it twice).
`python -m bot.learning train` refits it; `bot/learning/duplicates.json` holds the weights.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.textnorm import fold, tokenize

logger = logging.getLogger(__name__)

MODEL_PATH = Path(__file__).with_name("duplicates.json")
FEATURES = (
    "cos_question", "cos_answer", "cos_both", "facts_shared", "facts_both", "same_language",
    "keywords_same_language",
)  # fmt: skip
_FACT = re.compile(r"\d+(?:[.,:]\d+)*|[A-Z]{2,}\d+|\b[A-Z]{2,}[-\d]+\b")


@dataclass(frozen=True)
class Text:
    """One side of a pair: what the features read."""

    language: str
    question: str
    answer: str


def facts(text: str) -> set[str]:
    """Numbers, times, amounts and ids, written the same in every language."""
    return {m.group(0).replace(",", "").rstrip(".:") for m in _FACT.finditer(text)}


def _keywords(text: str) -> set[str]:
    return set(tokenize(fold(text)))


class Embedded:
    """A `Text` with its vectors, computed once."""

    def __init__(self, text: Text, embed: Callable[[str], np.ndarray]) -> None:
        self.text = text
        self.q = embed(text.question)
        self.a = embed(text.answer)
        self.both = embed(f"{text.question}\n{text.answer}")
        self.facts = facts(text.answer)
        self.words = _keywords(f"{text.question} {text.answer}")


def pair_features(x: Embedded, y: Embedded) -> list[float]:
    same = float(x.text.language == y.text.language)
    union = x.facts | y.facts
    shared = len(x.facts & y.facts) / len(union) if union else 0.0
    words = x.words | y.words
    overlap = len(x.words & y.words) / len(words) if words else 0.0
    return [
        float(x.q @ y.q), float(x.a @ y.a), float(x.both @ y.both), shared,
        float(bool(x.facts) and bool(y.facts)), same, overlap * same,
    ]  # fmt: skip


@dataclass
class PairModel:
    weights: np.ndarray
    bias: float
    threshold: float
    embedder: str | None = None

    def probability(self, features: Sequence[float]) -> float:
        z = float(np.dot(self.weights, np.asarray(features, dtype=float)) + self.bias)
        return 1.0 / (1.0 + np.exp(-z))

    def to_dict(self) -> dict:
        return {
            "features": list(FEATURES), "weights": [round(float(w), 6) for w in self.weights],
            "bias": round(self.bias, 6), "threshold": round(self.threshold, 4),
            "embedder": self.embedder,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict) -> PairModel:
        if list(data["features"]) != list(FEATURES):
            raise ValueError("the duplicate model was trained on other features")
        return cls(np.asarray(data["weights"], dtype=float), float(data["bias"]),
                   float(data["threshold"]), data.get("embedder"))  # fmt: skip

    @classmethod
    def load(cls, embedder: str | None, path: Path = MODEL_PATH) -> PairModel | None:
        """The trained model, or None (logged) when it is missing or for another embedder."""
        try:
            model = cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError) as exc:
            logger.warning("no usable FAQ duplicate model in %s (%s): drafts are never merged", path, exc)
            return None
        if model.embedder != embedder:
            logger.warning("the FAQ duplicate model was trained with %s, not %s: drafts are "
                           "never merged", model.embedder, embedder)  # fmt: skip
            return None
        return model


class DuplicateFinder:
    """`find(variant, candidates)`: the candidate that asks the same question, or None."""

    def __init__(self, embed: Callable[[str], np.ndarray], model: PairModel) -> None:
        self.embed = functools.lru_cache(maxsize=4096)(embed)  # candidates are compared often
        self.model = model

    def probability(self, a: Text, b: Text) -> float:
        return self.model.probability(pair_features(Embedded(a, self.embed), Embedded(b, self.embed)))

    def find(self, variant, candidates) -> object | None:
        new = Embedded(Text(variant.language, variant.question, variant.answer), self.embed)
        best, best_p = None, self.model.threshold
        for candidate in candidates:
            for other in candidate.variants:
                old = Embedded(Text(other.language, other.question, other.answer), self.embed)
                p = self.model.probability(pair_features(new, old))
                if p >= best_p:
                    best, best_p = candidate, p
        return best
