"""The learned part of triage: linear models over the message's embedding and its n-grams.

Three heads share one feature vector ``[alpha * embedding, hashed n-grams]``:

- reason: crisis / sensitive / explicit_request / none (softmax);
- danger: does the message show that someone's life or body is at risk (sigmoid), so that a
  sensitive case gets the emergency numbers too;
- topic: one of `bot.topics.TOPICS` (softmax), for routing.

In the ``full`` variant the reason head is blended with a nearest-neighbour vote over the train
part's embeddings (`knn_probs`): a linear read of one sentence embedding misses phrasings that sit
close to a few written examples (cross-validated crisis recall 0.83 -> 0.87 at the same false
alarms on ordinary messages).

Two variants are stored: ``full`` (embedding and n-grams) and ``ngrams`` (n-grams only), used
when the running embedding model is not the one the model was trained with (the vector spaces
differ) or no vector is given. Weights live in ``model.npz`` (only the n-gram buckets seen in
training), everything else (labels, thresholds, the embedding model's name, the corpus hash and
the cross-validated figures) in ``model.json``. Both are written by
``python -m bot.triage train`` and loaded once.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.errors import SetupError
from bot.triage.text import hashed

MODEL_DIR = Path(__file__).parent
LABELS = ("crisis", "sensitive", "explicit_request", "none")
VARIANTS = ("full", "ngrams")


class TriageModelError(SetupError, RuntimeError):
    """The triage model files are missing or do not fit together."""


@dataclass(frozen=True)
class Scores:
    reason: dict[str, float]  # label -> probability
    danger: float
    topic: dict[str, float]
    variant: str


@dataclass
class _Head:
    weights: np.ndarray  # (classes, dims + columns) float32
    bias: np.ndarray  # (classes,)


class TriageModel:
    def __init__(self, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        self.meta = meta
        self.labels: tuple[str, ...] = tuple(meta["labels"])
        self.topics: tuple[str, ...] = tuple(meta["topics"])
        self.embedder: str = meta["embedder"]
        self.dims: int = int(meta["dims"])
        self.alpha: float = float(meta["alpha"])
        columns = arrays["columns"]
        self._column = {int(bucket): i for i, bucket in enumerate(columns)}
        knn = meta.get("knn")
        self._knn = None
        if knn and "knn_vectors" in arrays:
            refs = arrays["knn_vectors"].astype(np.float32)
            refs /= np.maximum(np.linalg.norm(refs, axis=1, keepdims=True), 1e-12)
            self._knn = (
                refs, arrays["knn_labels"].astype(np.int64),
                int(knn["k"]), float(knn["temperature"]), float(knn["weight"]),
            )  # fmt: skip
        self._heads: dict[tuple[str, str], _Head] = {}
        for variant in VARIANTS:
            for head in ("reason", "danger", "topic"):
                key = f"{variant}_{head}"
                if f"{key}_w" not in arrays:
                    raise TriageModelError(f"triage model has no {key} weights")
                self._heads[(variant, head)] = _Head(
                    arrays[f"{key}_w"].astype(np.float32), arrays[f"{key}_b"].astype(np.float32)
                )

    @classmethod
    def load(cls, directory: Path = MODEL_DIR) -> TriageModel:
        meta_path, weights_path = directory / "model.json", directory / "model.npz"
        if not meta_path.exists() or not weights_path.exists():
            raise TriageModelError(
                f"no triage model in {directory} (run: python -m bot.triage train)"
            )
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        with np.load(weights_path) as data:
            arrays = {name: data[name] for name in data.files}
        return cls(meta, arrays)

    def thresholds(self, variant: str) -> dict[str, float]:
        return self.meta["thresholds"][variant]

    def variant_for(self, embedder_name: str | None, vector: np.ndarray | None) -> str:
        if vector is None or embedder_name != self.embedder or vector.shape[-1] != self.dims:
            return "ngrams"
        return "full"

    def scores(
        self, norm: str, vector: np.ndarray | None = None, *, embedder_name: str | None = None
    ) -> Scores:
        variant = self.variant_for(embedder_name, vector)
        grams = hashed(norm)
        cols, vals = [], []
        for bucket, value in grams.items():
            col = self._column.get(bucket)
            if col is not None:
                cols.append(col)
                vals.append(value)
        sparse_vals = np.asarray(vals, dtype=np.float32)
        dense = self.alpha * np.asarray(vector, dtype=np.float32) if variant == "full" else None

        def logits(head: str) -> np.ndarray:
            h = self._heads[(variant, head)]
            offset = self.dims if variant == "full" else 0
            out = h.bias.copy()
            if cols:
                out += h.weights[:, [offset + c for c in cols]] @ sparse_vals
            if dense is not None:
                out += np.einsum("cd,d->c", h.weights[:, :offset], dense)
            return out

        reason = _softmax(logits("reason"))
        if variant == "full" and self._knn is not None:
            refs, ref_labels, k, temperature, weight = self._knn
            vote = knn_probs(np.asarray(vector, dtype=np.float32)[None, :], refs, ref_labels,
                             len(self.labels), k=k, temperature=temperature,
                             refs_normalized=True)[0]  # fmt: skip
            reason = (1.0 - weight) * reason + weight * vote
        danger = 1.0 / (1.0 + math.exp(-float(logits("danger")[0])))
        topic = _softmax(logits("topic"))
        return Scores(
            dict(zip(self.labels, map(float, reason), strict=True)),
            danger,
            dict(zip(self.topics, map(float, topic), strict=True)),
            variant,
        )


def knn_probs(
    queries: np.ndarray, refs: np.ndarray, ref_labels: np.ndarray, classes: int, *,
    k: int, temperature: float, refs_normalized: bool = False,
) -> np.ndarray:
    """Each query's label distribution among its k most similar reference vectors (cosine),
    weighted by exp(temperature * (similarity - best similarity)). Rows sum to 1."""
    q = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
    r = refs if refs_normalized else refs / np.maximum(np.linalg.norm(refs, axis=1, keepdims=True), 1e-12)
    # einsum, not `@`: a BLAS matrix product leaves threads spinning that slow the next query
    # embedding on 2 cores (see bot/index.py, dense_search)
    sims = np.einsum("qd,rd->qr", q.astype(np.float32), r.astype(np.float32))
    k = min(k, sims.shape[1])
    top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    out = np.zeros((len(q), classes))
    for row, ids in enumerate(top):
        s = sims[row, ids]
        w = np.exp(temperature * (s - s.max()))
        np.add.at(out[row], ref_labels[ids], w)
        out[row] /= out[row].sum()
    return out


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max()
    e = np.exp(z)
    return e / e.sum()
