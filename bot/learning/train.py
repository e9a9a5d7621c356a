"""Train and measure the FAQ duplicate model on `eval/faq_dedup/` (`python -m bot.learning train`).

The corpus is split once by family (a family holds near-miss intents: same topic, different
question), so no held-out question has a near miss or a paraphrase in train. Pairs: every two
items of the same intent are duplicates; every two items of one family but different intents
are the hard negatives; as many random pairs across families as easy negatives. The threshold is
the lowest probability at which the cross-validated merges of the train part are at least
`MIN_PRECISION` right (cross-validation by family); held-out figures are printed, never tuned on.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
from pathlib import Path

import numpy as np

from bot.learning.duplicates import (
    FEATURES,
    Embedded,
    PairModel,
    Text,
    pair_features,
)

CORPUS = Path(__file__).resolve().parents[2] / "eval" / "faq_dedup"
MIN_PRECISION = 0.95
HELD_OUT_SHARE = 0.3
EASY_PER_ITEM = 4
SEED = 20261201


def read_corpus(folder: Path = CORPUS) -> list[dict]:
    rows = []
    for path in sorted(folder.glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


def held_out(family: str) -> bool:
    """The fixed split: a family's hash, not its position, so adding files never moves one."""
    digest = hashlib.sha256(f"{SEED}:{family}".encode()).digest()
    return digest[0] / 256 < HELD_OUT_SHARE


def pairs(rows: list[dict], seed: int = SEED) -> list[tuple[int, int, bool]]:
    rng = random.Random(seed)
    out = []
    for i, j in itertools.combinations(range(len(rows)), 2):
        a, b = rows[i], rows[j]
        if a["intent"] == b["intent"]:
            out.append((i, j, True))
        elif a["family"] == b["family"]:
            out.append((i, j, False))
    for i in range(len(rows)):
        for _ in range(EASY_PER_ITEM):
            j = rng.randrange(len(rows))
            if rows[j]["family"] != rows[i]["family"]:
                out.append((min(i, j), max(i, j), False))
    return sorted(set(out))


def features(rows: list[dict], embedded: list[Embedded], index: list[tuple[int, int, bool]]):
    x = np.array([pair_features(embedded[i], embedded[j]) for i, j, _ in index], dtype=float)
    y = np.array([same for _, _, same in index], dtype=bool)
    return x, y


def fit(x: np.ndarray, y: np.ndarray):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=1.0, max_iter=5000).fit(x, y)


def choose_threshold(p: np.ndarray, y: np.ndarray, min_precision: float = MIN_PRECISION) -> float:
    """The lowest threshold whose merges are at least `min_precision` right (max recall)."""
    for t in np.unique(np.round(p, 4)):
        chosen = p >= t
        if chosen.any() and y[chosen].mean() >= min_precision:
            return float(t)
    return 1.0


def scores(p: np.ndarray, y: np.ndarray, threshold: float) -> dict:
    chosen = p >= threshold
    return {
        "pairs": int(len(y)), "duplicates": int(y.sum()),
        "precision": round(float(y[chosen].mean()), 3) if chosen.any() else None,
        "recall": round(float(chosen[y].mean()), 3) if y.any() else None,
        "false_merge_rate": round(float(chosen[~y].mean()), 4) if (~y).any() else None,
    }  # fmt: skip


def train(embedder, folder: Path = CORPUS, log=print) -> tuple[PairModel, dict]:
    rows = read_corpus(folder)
    if not rows:
        raise SystemExit(f"no corpus in {folder}")
    embedded = [Embedded(Text(r["lang"], r["question"], r["answer"]), embedder.embed_query) for r in rows]
    train_idx = [k for k, r in enumerate(rows) if not held_out(r["family"])]
    test_idx = [k for k, r in enumerate(rows) if held_out(r["family"])]

    def subset(idx):
        sub = [rows[k] for k in idx]
        return features(sub, [embedded[k] for k in idx], pairs(sub))

    x, y = subset(train_idx)
    # cross-validation by family on the train part, for the threshold
    families = sorted({rows[k]["family"] for k in train_idx})
    fold_of = {f: n % 5 for n, f in enumerate(random.Random(SEED).sample(families, len(families)))}
    sub = [rows[k] for k in train_idx]
    index = pairs(sub)
    fold_ids = np.array([fold_of[sub[i]["family"]] for i, _, _ in index])
    oof = np.zeros(len(y))
    for f in range(5):
        model = fit(x[fold_ids != f], y[fold_ids != f])
        oof[fold_ids == f] = model.predict_proba(x[fold_ids == f])[:, 1]
    threshold = choose_threshold(oof, y)
    final = fit(x, y)
    pair_model = PairModel(final.coef_[0], float(final.intercept_[0]), threshold,
                           getattr(embedder, "name", None))  # fmt: skip
    xh, yh = subset(test_idx)
    ph = np.array([pair_model.probability(row) for row in xh])
    report = {
        "items": len(rows), "train_items": len(train_idx), "held_out_items": len(test_idx),
        "threshold": round(threshold, 4),
        "cross_validated": scores(oof, y, threshold),
        "held_out": scores(ph, yh, threshold),
        "held_out_cosine_only": _cosine_baseline(x, y, xh, yh),
        "weights": dict(zip(FEATURES, [round(float(w), 3) for w in final.coef_[0]], strict=True)),
    }  # fmt: skip
    log(json.dumps(report, ensure_ascii=False, indent=1))
    return pair_model, report


def _cosine_baseline(x, y, xh, yh) -> dict:
    """The question cosine alone, its threshold chosen the same way: what the answers add."""
    t = choose_threshold(x[:, 0], y)
    return {"threshold": round(t, 4), **scores(xh[:, 0], yh, t)}
