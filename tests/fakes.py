"""Test fakes with meaning: an embedder whose vectors you can predict.

`HashEmbedder` hashes each keyword token (`bot.textnorm.tokenize`, the same tokens BM25 sees) into
one of `dim` buckets and L2-normalizes the counts, so two texts are close exactly when they share
keywords, and a text with no keywords in common with a query has cosine 0 with it. It counts the
texts it embedded, so a test can check that a second ingest embeds nothing.
"""

from __future__ import annotations

import hashlib

import numpy as np

from bot.textnorm import tokenize


def bucket(token: str, dim: int) -> int:
    """The vector component a token adds to (stable across processes, unlike `hash`)."""
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "big") % dim


class HashEmbedder:
    """A deterministic bag-of-hashed-keywords embedder: fast, offline, predictable."""

    def __init__(self, name: str = "test/hash-embedder", dim: int = 64) -> None:
        self.name = name
        self.dim = dim
        self.embedded = 0  # texts passed to embed_documents
        self.queries = 0  # texts passed to embed_query

    def vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for token in tokenize(text):
            vec[bucket(token, self.dim)] += 1.0
        norm = float(np.linalg.norm(vec))
        if norm == 0.0:
            # No keywords: a fixed unit vector, so Chroma never sees a zero vector.
            vec[0] = 1.0
            return vec
        return vec / norm

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        self.embedded += len(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.vector(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        self.queries += 1
        return self.vector(text)

    def reset(self) -> None:
        self.embedded = 0
        self.queries = 0
