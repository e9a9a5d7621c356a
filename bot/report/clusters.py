"""Questions grouped by meaning: `cluster_questions(texts, vectors, threshold)`.

Average-linkage agglomerative clustering on the cosine of unit vectors, stopped at `threshold`:
two groups merge while the mean cosine over every pair of their members is at least `threshold`,
most similar first. Each `Cluster` carries its size, its members (indices into `texts`) and a
representative example, the member closest to the group's centroid. Pure: numpy only, no model;
the caller embeds (`Embedder.embed_query`, one vector per question) and passes the vectors, so
the weekly report and the gap list share it and tests pass hand-made vectors.

Cost: an n x n similarity matrix (n = 2,000 questions: 16 MB) and at most n merges, each a few
vector operations over it; a week's declined questions take milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# For the default model (multilingual-e5-small): paraphrases and translations of one question
# score 0.85-0.99, unrelated campus questions 0.72-0.84 (e5 vectors share a large common part).
# Another embedding model needs its own value.
DEFAULT_THRESHOLD = 0.85


@dataclass(frozen=True)
class Cluster:
    """Questions that mean about the same thing."""

    size: int
    example: str  # the member closest to the centroid
    example_index: int  # its index in the `texts` given
    members: tuple[int, ...]  # indices into `texts`, ascending
    cohesion: float  # mean cosine of the members to their centroid direction (1.0: one member)


def cluster_questions(
    texts: Sequence[str], vectors: np.ndarray | Sequence[Sequence[float]], threshold: float = DEFAULT_THRESHOLD
) -> list[Cluster]:
    """Group `texts` by meaning; largest cluster first (ties: the one whose first member came
    first). `vectors[i]` embeds `texts[i]`; they are normalized here, so any length works (a zero
    vector stays alone). `threshold` is a cosine in [-1, 1]: higher, tighter clusters."""
    matrix = np.asarray(vectors, dtype=np.float64)
    if len(texts) == 0:
        return []
    if matrix.ndim != 2 or matrix.shape[0] != len(texts):
        raise ValueError(
            f"need one vector per text: {len(texts)} texts, vectors of shape {matrix.shape}"
        )
    unit = _normalized(matrix)
    groups = _agglomerate(unit, threshold)
    clusters = [_cluster(texts, unit, members) for members in groups]
    clusters.sort(key=lambda c: (-c.size, c.members[0]))
    return clusters


def _normalized(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def _agglomerate(unit: np.ndarray, threshold: float) -> list[list[int]]:
    """Average linkage with Lance-Williams updates; each row keeps its best partner so a merge
    costs O(n) except for the rows whose best partner just changed."""
    n = unit.shape[0]
    sim = unit @ unit.T
    zero = ~unit.any(axis=1)  # a zero vector has no direction: never merged
    sim[zero, :] = -np.inf
    sim[:, zero] = -np.inf
    np.fill_diagonal(sim, -np.inf)
    members: list[list[int] | None] = [[i] for i in range(n)]
    best = sim.argmax(axis=1)
    best_sim = sim[np.arange(n), best]
    while True:
        i = int(best_sim.argmax())
        j = int(best[i])
        if not best_sim[i] >= threshold:  # also stops on -inf (nothing left to merge)
            break
        a, b = len(members[i]), len(members[j])
        merged = (a * sim[i] + b * sim[j]) / (a + b)  # -inf stays -inf: no +inf anywhere
        sim[i], sim[:, i] = merged, merged
        sim[i, i] = -np.inf
        sim[j], sim[:, j] = -np.inf, -np.inf
        members[i] = members[i] + members[j]
        members[j] = None
        best_sim[j] = -np.inf
        # Rows that pointed at i or j, and i itself, look again; the others may now prefer i.
        stale = (best == i) | (best == j)
        stale[i] = True
        stale[j] = False
        for row in np.flatnonzero(stale):
            best[row] = sim[row].argmax()
            best_sim[row] = sim[row, best[row]]
        better = ~stale & (sim[:, i] > best_sim)
        best[better] = i
        best_sim[better] = sim[better, i]
    return [sorted(group) for group in members if group is not None]


def _cluster(texts: Sequence[str], unit: np.ndarray, members: list[int]) -> Cluster:
    vectors = unit[members]
    centroid = vectors.mean(axis=0)
    norm = float(np.linalg.norm(centroid))
    if norm == 0.0:
        scores = np.ones(len(members))
    else:
        scores = vectors @ (centroid / norm)
    pick = int(scores.argmax())  # the first of equals: the earliest member
    return Cluster(
        size=len(members), example=texts[members[pick]], example_index=members[pick],
        members=tuple(members), cohesion=float(scores.mean()),
    )  # fmt: skip
