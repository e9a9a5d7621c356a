"""The learned ranking of passages: a logistic model over signals that mean the same in every
language pair, trained on questions written from the documents (`eval/questions/train.jsonl`).

Why: the multilingual embedding ranks a passage in the question's own language on a nearby topic
above the passage in another language that answers. On the question set, a Chinese question
whose answer is only in the English or Spanish handbook found a passage with the answer first
22 % of the time. Within one document language the cosines are comparable; across languages
they are not. So each passage is also scored against its own language's passages: how far its
cosine stands above the others of that language (`z_language`, `z_top`), which makes candidates
from every document language comparable ("drawn per language and fused on calibrated scores").

Candidates: the 20 best by cosine, the 20 best by the per-language score, the 20 best by BM25,
and every passage naming an identifier of the question. Each gets the features below; the model
(`bot/answering/model.json`, written by ``python -m bot.answering train``) gives the probability
that the passage holds the answer. Loaded once; a few hundred multiply-adds per candidate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bot.answering.evidence import answer_types, types_met
from bot.textnorm import fold

FEATURES = (
    "cosine",  # the question's cosine to the passage
    "z_language",  # that cosine against all passages of the passage's language (z-score)
    "z_top",  # ... against the 20 best of that language
    "keywords",  # BM25 over the best BM25 of the question, passage in the question's script
    "keywords_cross",  # ... passage in another script (Chinese words in an English passage)
    "same_language",  # the passage is in the question's language
    "mixed_language",  # the passage's document mixes languages (a Mandarin lesson)
    "other_version",  # a version of this document exists in the question's language
    "exact",  # the passage names an identifier of the question (a session id, a room)
    "type_met",  # the passage holds the kind of fact asked for (0.5: none asked)
    "rank_cosine",  # log(1 + rank by cosine)
    "rank_z",  # log(1 + rank by z_top)
    "row",  # a table row
    "zh_question",  # the question is in Chinese (with same_language: Chinese docs are few)
    "zh_same",  # zh_question and same_language
    "sentence_cosine",  # the best cosine of one of the passage's sentences, rows or items
    "sentence_z",  # that against the best sentences of the passage's language (z-score)
    "fused",  # the hand-weighted hybrid score (dense + keywords, language preference)
    "fused_rank",  # log(1 + its rank there; 40 when it is not among the hybrid's 40)
    "bank_unit",  # the best cosine of an anticipated question answered by this passage
    "bank_section",  # ... answered in this passage's section, any version (`bot.anticipated`)
    "bank_vote",  # the section's share of the nearest anticipated questions' soft vote
    "bank_rank",  # log(1 + rank by bank_section + bank_vote)
)
CANDIDATES = 20
BANK_CANDIDATES = 10  # the passages the anticipated questions point to most, added to the pool


@dataclass(frozen=True)
class Candidate:
    position: int  # chunk position in the index
    cosine: float
    keywords: float  # raw BM25
    exact: bool
    features: np.ndarray


class Logistic:
    """A logistic regression over standardized features: P = sigmoid(((x - mean) / scale) . w + b).
    The passage ranker and the answer gate (`bot.answering.gate`) are both one."""

    def __init__(self, weights, bias: float, mean, scale) -> None:
        self.weights = np.asarray(weights, dtype=np.float64)
        self.bias = float(bias)
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, c: float, **extra):
        """Fitted on (x, y) with L2 strength 1/c; a constant model when y has one class."""
        from sklearn.linear_model import LogisticRegression

        mean, scale = x.mean(axis=0), x.std(axis=0)
        scale[scale == 0] = 1.0
        if len(set(y.tolist())) < 2:
            return cls(np.zeros(x.shape[1]), 10.0 if y.all() else -10.0, mean, scale, **extra)
        model = LogisticRegression(C=c, max_iter=5000).fit((x - mean) / scale, y)
        return cls(model.coef_[0], float(model.intercept_[0]), mean, scale, **extra)

    def to_dict(self, features: tuple[str, ...]) -> dict:
        return {
            "features": list(features), "weights": self.weights.tolist(), "bias": self.bias,
            "mean": self.mean.tolist(), "scale": self.scale.tolist(),
        }  # fmt: skip

    def probability(self, features: np.ndarray):
        # einsum, not `@`: see bot/index.py, dense_search (BLAS threads slow the next embedding)
        z = np.einsum("...f,f->...", (features - self.mean) / self.scale, self.weights) + self.bias
        return 1.0 / (1.0 + np.exp(-z))


class PassageRanker(Logistic):
    """Weights over FEATURES; `probability(features)` -> P(the passage holds the answer)."""

    @classmethod
    def from_dict(cls, data: dict) -> PassageRanker:
        if tuple(data["features"]) != FEATURES:
            raise ValueError("the passage ranker was trained on other features; retrain it")
        return cls(data["weights"], data["bias"], data["mean"], data["scale"])


class LanguageStats:
    """Which chunks belong to which document language, computed once per index."""

    def __init__(self, chunk_languages: list[str]) -> None:
        self.languages = np.asarray(chunk_languages)
        self.masks = {lang: self.languages == lang for lang in sorted(set(chunk_languages))}


def candidates(
    similarities: np.ndarray,
    keyword_scores: np.ndarray,
    exact_positions: set[int],
    stats: LanguageStats,
    folded_texts: list[str],
    chunk_rows: np.ndarray,
    other_version: np.ndarray,
    question: str,
    language: str,
    sentence_similarities: np.ndarray | None = None,
    fused: tuple[np.ndarray, np.ndarray] | None = None,
    bank=None,
) -> list[Candidate]:
    """The candidates of one question with their features (see FEATURES).
    `sentence_similarities`: per passage, the best cosine of its sentences (None: the passage's).
    `bank`: the anticipated questions' `BankScores` (None: no bank, its features are 0)."""
    n = len(similarities)
    best_sentence = similarities if sentence_similarities is None else sentence_similarities
    sentence_z = np.zeros(n)
    for mask in stats.masks.values():
        sims = best_sentence[mask]
        if sims.size:
            top = np.sort(sims)[-CANDIDATES:]
            sentence_z[mask] = (sims - top.mean()) / (top.std() or 1.0)
    z_all = np.zeros(n)
    z_top = np.zeros(n)
    for mask in stats.masks.values():
        sims = similarities[mask]
        if sims.size == 0:
            continue
        z_all[mask] = (sims - sims.mean()) / (sims.std() or 1.0)
        top = np.sort(sims)[-CANDIDATES:]
        z_top[mask] = (sims - top.mean()) / (top.std() or 1.0)
    by_cosine = np.argsort(-similarities, kind="stable")
    by_z = np.argsort(-z_top, kind="stable")
    rank_cosine = np.empty(n, dtype=np.int64)
    rank_cosine[by_cosine] = np.arange(n)
    rank_z = np.empty(n, dtype=np.int64)
    rank_z[by_z] = np.arange(n)
    best_keywords = float(keyword_scores.max()) if n and keyword_scores.max() > 0 else 1.0
    pool = set(by_cosine[:CANDIDATES].tolist()) | set(by_z[:CANDIDATES].tolist()) | exact_positions
    pool |= set(np.argsort(-sentence_z, kind="stable")[:CANDIDATES].tolist())
    fused_score, fused_rank = fused if fused is not None else (np.zeros(n), np.full(n, 40))
    pool |= {int(p) for p in np.where(fused_rank < CANDIDATES)[0]}
    pool |= {int(p) for p in np.argsort(-keyword_scores, kind="stable")[:CANDIDATES] if keyword_scores[p] > 0}
    if bank is not None:
        bank_unit, bank_section, bank_vote = bank.unit, bank.section, bank.vote
        by_bank = np.argsort(-(bank_section + bank_vote), kind="stable")
        pool |= {int(p) for p in by_bank[:BANK_CANDIDATES] if bank_section[p] > 0}
        pool |= {int(p) for p in np.argsort(-bank_unit, kind="stable")[:BANK_CANDIDATES] if bank_unit[p] > 0}
    else:
        bank_unit = bank_section = bank_vote = np.zeros(n)
        by_bank = np.arange(n)
    rank_bank = np.empty(n, dtype=np.int64)
    rank_bank[by_bank] = np.arange(n)
    # a passage no anticipated question points to has no rank among them (as `fused_rank`: 40)
    rank_bank[(bank_section <= 0) & (bank_unit <= 0)] = 40
    types = answer_types(question)
    zh = float(language == "zh-TW")
    out = []
    for pos in sorted(pool):
        same = float(stats.languages[pos] == language)
        keywords = keyword_scores[pos] / best_keywords
        cross_script = (stats.languages[pos] == "zh-TW") != (language == "zh-TW")
        features = np.array([
            similarities[pos], z_all[pos], z_top[pos], 0.0 if cross_script else keywords,
            keywords if cross_script else 0.0, same,
            float(stats.languages[pos] == "multi"), float(other_version[pos] and not same),
            float(pos in exact_positions),
            types_met(types, folded_texts[pos], folded=True) if types else 0.5,
            math.log1p(rank_cosine[pos]), math.log1p(rank_z[pos]), float(chunk_rows[pos]),
            zh, zh * same, best_sentence[pos], sentence_z[pos], fused_score[pos],
            math.log1p(fused_rank[pos]), bank_unit[pos], bank_section[pos], bank_vote[pos],
            math.log1p(rank_bank[pos]),
        ])  # fmt: skip
        out.append(Candidate(pos, float(similarities[pos]), float(keyword_scores[pos]),
                             pos in exact_positions, features))  # fmt: skip
    return out


def exact_positions(folded_texts: list[str], idents: list[str]) -> set[int]:
    needles = [fold(i) for i in idents]
    return {pos for pos, text in enumerate(folded_texts) if any(n in text for n in needles)}
