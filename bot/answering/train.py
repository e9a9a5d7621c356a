"""Train the learned parts of answering on the train part of the question set.

``python -m bot.answering train`` (defaults: `eval/questions/train.jsonl`, the configured
embedding model and index, `bot/answering/model.json`). The held-out part is never read.

1. The passage ranker (`bot.ranking`): for every answerable question, each candidate passage is
   labelled by whether it is in an expected source and holds every expected fact; a logistic
   regression over the standardized features. Figures: 5-fold cross-validation by question
   (the share of questions whose first, first three passages hold the answer).
2. The answerability gate (`bot.answering.gate`): for every question, the signals of the reply
   Puente would give, with a ranker fitted on the other folds (so the signals look as they will
   on new questions); label: the reply is right (answerable, facts present, an expected source
   cited). A logistic regression; its threshold, the one with the best out-of-fold utility (a
   wrong answer costs twice what a right one gains; see `choose_threshold`), then the gate
   fitted on all of the train part.
Reproducible: fixed folds (by position), deterministic solvers.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from bot.answering.gate import GATE_FEATURES, PLAIN_FEATURES, AnswerGate
from bot.evaluation import has_fact
from bot.informal import search_text
from bot.ranking import FEATURES, PassageRanker

logger = logging.getLogger(__name__)

CORPUS = Path("eval/questions/train.jsonl")
MODEL_PATH = Path(__file__).parent / "model.json"
FOLDS = 5
RANKER_C = 1.0
GATE_C = 1.0
TARGET_PRECISION = 0.97  # the bar, reported
WRONG_COST = 2.0

def read_items(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

def holds_answer(text: str, source: str, item: dict) -> bool:

    return source in set(item["expected_sources"]) and all(
        has_fact(text, f) for f in item["expected_facts"]
    )

def fit_ranker(xs: list[np.ndarray], ys: list[np.ndarray]) -> PassageRanker:
    return PassageRanker.fit(np.vstack(xs), np.concatenate(ys), RANKER_C)

def _ranks(ranker: PassageRanker, xs, ys) -> list[int]:
    """Per question, the rank of the first passage that holds the answer (999: none)."""
    out = []
    for x, y in zip(xs, ys, strict=True):
        order = np.argsort(-ranker.probability(x), kind="stable")
        out.append(next((r for r, j in enumerate(order) if y[j]), 999))
    return out

def train(assistant, corpus: Path = CORPUS, out: Path = MODEL_PATH) -> dict:

    items = read_items(corpus)
    retriever = assistant.retriever
    chunks = retriever.index.chunks
    prepared = []  # (item, search text, vector, candidates, labels)
    for item in items:
        text = search_text(item["question"], item["lang"])
        vector = retriever.embed_query(text)
        found = retriever.ranking_candidates(text, vector, item["lang"])
        labels = np.array([
            item["kind"] == "answer" and holds_answer(chunks[c.position].text, chunks[c.position].source, item)
            for c in found
        ])  # fmt: skip
        # Where the answer is also in a version in the question's language, that version is the
        # one to find: people read the document in their language (parallel versions list the
        # same facts, so the other versions would otherwise count as equally right).
        own = np.array([chunks[c.position].metadata.get("language") == item["lang"] for c in found])
        if (labels & own).any():
            labels = labels & own
        prepared.append((item, text, vector, found, labels))
    fold = np.arange(len(prepared)) % FOLDS
    answerable = np.array([p[0]["kind"] == "answer" for p in prepared])

    def xs_ys(mask):
        sel = [p for p, m in zip(prepared, mask, strict=True) if m]
        return [np.stack([c.features for c in p[3]]) for p in sel], [p[4] for p in sel]

    # 1. the ranker, cross-validated, then on everything
    ranks = np.full(len(prepared), 999)
    gate_rows: list[np.ndarray | None] = [None] * len(prepared)
    gate_labels = np.zeros(len(prepared), dtype=bool)
    for k in range(FOLDS):
        ranker = fit_ranker(*xs_ys(answerable & (fold != k)))
        test = np.where(fold == k)[0]
        for i in test:
            item, text, vector, found, labels = prepared[i]
            if answerable[i]:
                ranks[i] = _ranks(ranker, [np.stack([c.features for c in found])], [labels])[0]
            # 2. the gate's signals, with a ranker that never saw this question
            retriever.ranker = ranker
            row, right = gate_example(assistant, item, text, vector)
            gate_rows[i], gate_labels[i] = row, right
    retriever.ranker = fit_ranker(*xs_ys(answerable))
    x_gate = np.stack(gate_rows)
    oof = np.zeros(len(prepared))
    for k in range(FOLDS):
        gate = AnswerGate.fit(x_gate[fold != k], gate_labels[fold != k], GATE_C)
        oof[fold == k] = gate.probability(x_gate[fold == k])
    threshold, figures = choose_threshold(oof, gate_labels, answerable)
    # the plain gate (no anticipated questions' signals), for passages they do not cover
    columns = [GATE_FEATURES.index(f) for f in PLAIN_FEATURES]
    oof_plain = np.zeros(len(prepared))
    for k in range(FOLDS):
        gate = AnswerGate.fit(x_gate[fold != k][:, columns], gate_labels[fold != k], GATE_C,
                              features=PLAIN_FEATURES)  # fmt: skip
        oof_plain[fold == k] = gate.probability(x_gate[fold == k])
    plain_threshold, plain_figures = choose_threshold(oof_plain, gate_labels, answerable)
    plain = AnswerGate.fit(x_gate[:, columns], gate_labels, GATE_C, threshold=plain_threshold,
                           features=PLAIN_FEATURES)  # fmt: skip
    final_gate = AnswerGate.fit(x_gate, gate_labels, GATE_C, threshold=threshold, plain=plain)
    answered_ranks = ranks[answerable]
    meta = {
        "corpus": str(corpus),
        "corpus_sha256": hashlib.sha256(corpus.read_bytes()).hexdigest(),
        "embedder": getattr(retriever.embedder, "name", None),
        "chunks": len(chunks),
        "anticipated_sha256": getattr(getattr(retriever.bank, "source", None), "corpus", None),
        "anticipated_questions": len(retriever.bank) if retriever.bank is not None else 0,
        "ranker": {**retriever.ranker.to_dict(FEATURES), "C": RANKER_C},
        "gate": {
            **final_gate.to_dict(GATE_FEATURES), "C": GATE_C, "threshold": threshold,
            "wrong_cost": WRONG_COST,
            "plain": {**plain.to_dict(PLAIN_FEATURES), "threshold": plain_threshold},
        },  # fmt: skip
        "cross_validation": {
            "questions": len(prepared), "answerable": int(answerable.sum()),
            "answer_in_first_passage": float(np.mean(answered_ranks < 1)),
            "answer_in_first_three": float(np.mean(answered_ranks < 3)),
            **figures,
            "plain_gate": {k: v for k, v in plain_figures.items() if k != "curve"},
        },  # fmt: skip
    }
    out.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    logger.info("answering model written to %s: %s", out, meta["cross_validation"])
    return meta

def gate_example(assistant, item: dict, text: str, vector) -> tuple[np.ndarray, bool]:
    """The gate's signals for the reply Puente would compose, and whether that reply is right."""

    draft, signals = assistant.draft_answer(text, item["lang"], item["lang"], vector)
    cited = {c.source for c in draft.citations}
    right = (
        item["kind"] == "answer"
        and bool(draft.hits)
        and bool(cited & set(item["expected_sources"]))
        and all(has_fact(draft.text, f) for f in item["expected_facts"])
    )
    return signals, right

def choose_threshold(probability: np.ndarray, right: np.ndarray, answerable: np.ndarray):
    """The threshold with the best out-of-fold utility on the train part: +1 for a right answer,
    -WRONG_COST for a wrong one, 0 for a decline (which offers a counselor). With WRONG_COST 2 a
    reply is given when it is right at least two times in three. Measured (cross-validated, with
    the anticipated questions): even odds (cost 1) answered 75 % of the answerable questions at
    precision 0.76 but abstained on only 46 % of the near-misses; cost 2 gives 0.88 / 53 % / 82 %;
    precision 0.97 (the issue's bar) answers about 5 % (the curve is in model.json)."""
    best, best_utility = 1.0, 0.0
    for t in sorted(set(np.round(probability, 4)), reverse=True):
        answered = probability >= t
        utility = float(right[answered].sum() - WRONG_COST * (~right[answered]).sum())
        if utility > best_utility:
            best, best_utility = float(t), utility
    answered = probability >= best
    curve = {}
    for t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        a = probability >= t
        curve[str(t)] = {
            "precision": round(float(right[a].mean()), 3) if a.any() else None,
            "coverage": round(float((a & right).sum() / max(1, answerable.sum())), 3),
            "abstention": round(float(np.mean(~a[~answerable])), 3) if (~answerable).any() else None,
        }
    return best, {
        "curve": curve,
        "gate_threshold": best,
        "precision_on_answered": float(right[answered].mean()) if answered.any() else None,
        "coverage": float((answered & right).sum() / max(1, answerable.sum())),
        "threshold_for_target_precision": _threshold_for(probability, right, TARGET_PRECISION),
        "abstention_on_unanswerable": float(np.mean(~answered[~answerable])) if (~answerable).any() else None,
        "right_if_all_answered": float(right[answerable].mean()) if answerable.any() else None,
    }

def _threshold_for(probability: np.ndarray, right: np.ndarray, precision: float) -> float:
    """The lowest threshold above which out-of-fold precision stays at `precision` or more."""
    best = 1.0
    for t in sorted(set(np.round(probability, 4)), reverse=True):
        answered = probability >= t
        if answered.any() and right[answered].mean() < precision:
            break
        best = float(t)
    return best
