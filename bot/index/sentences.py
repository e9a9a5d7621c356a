"""`sentences.npz`: a unit vector (float16) for every sentence, list item and table row of every
chunk, the ranking's sentence-level evidence."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from bot.index.chunks import Chunk

logger = logging.getLogger(__name__)

SENTENCES = "sentences.npz"


def passage_units(text: str) -> list[str]:
    """The sentences, list items and table rows of a passage: what the sentence vectors embed."""
    # Imported here to break a cycle: bot.answering.extractive imports bot.retrieval, which
    # imports bot.index.
    from bot.answering.extractive import split_sentences

    return [u for line in text.split("\n") if line.strip() for u in split_sentences(line)]


def read_sentences(data_dir: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """(chunk id per unit, unit vectors float16) from `sentences.npz`, or None."""
    path = data_dir / SENTENCES
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            return data["ids"], data["vectors"]
    except (OSError, ValueError, KeyError) as exc:
        logger.warning("%s is unreadable (%s): its vectors are computed again", path, exc)
        return None


def sentences_missing(data_dir: Path, ids: set[str]) -> bool:
    """Whether some chunk has no sentence vectors (an index built before they existed)."""
    stored = read_sentences(data_dir)
    return stored is None or not ids <= set(stored[0].tolist())


def update_sentences(
    data_dir: Path, chunks: list[Chunk], embedder, *, keep: set[str], progress: bool = False
) -> int:
    """Bring `sentences.npz` in line with `chunks`: the units of chunks in `keep` that are already
    stored stay, every other chunk's units are embedded (as passages). Returns units embedded."""
    old = read_sentences(data_dir)
    kept_ids: list[np.ndarray] = []
    kept_vectors: list[np.ndarray] = []
    have: set[str] = set()
    if old is not None:
        ids, vectors = old
        mask = np.array([i in keep for i in ids.tolist()], dtype=bool)
        if mask.any():
            kept_ids.append(ids[mask])
            kept_vectors.append(vectors[mask])
            have = set(ids[mask].tolist())
    texts, owners = [], []
    for c in chunks:
        if c.id not in have:
            for unit in passage_units(c.text):
                texts.append(unit)
                owners.append(c.id)
    if texts:
        from tqdm import tqdm

        parts = []
        with tqdm(total=len(texts), unit="sentence", desc="sentences", disable=not progress) as bar:
            for start in range(0, len(texts), 64):
                parts.append(np.asarray(embedder.embed_documents(texts[start : start + 64]), dtype=np.float32))
                bar.update(len(parts[-1]))
        fresh = np.concatenate(parts)
        fresh /= np.maximum(np.linalg.norm(fresh, axis=1, keepdims=True), 1e-12)
        kept_ids.append(np.array(owners))
        kept_vectors.append(fresh.astype(np.float16))
    ids = np.concatenate(kept_ids) if kept_ids else np.array([], dtype=str)
    vectors = np.concatenate(kept_vectors) if kept_vectors else np.zeros((0, 0), np.float16)
    tmp = data_dir / (SENTENCES + ".tmp.npz")
    np.savez(tmp, ids=ids.astype(str), vectors=vectors)
    os.replace(tmp, data_dir / SENTENCES)
    return len(texts)


def load_sentence_vectors(data_dir: Path, by_id: dict[str, int]) -> tuple[np.ndarray, np.ndarray] | None:
    """(unit vectors float32, owning chunk position per unit), when every unit's chunk is in the
    index; None (logged) otherwise: the ranking then reads whole passages only."""
    stored = read_sentences(data_dir)
    if stored is None:
        logger.warning("no sentence vectors in %s: run `python ingest.py`", data_dir)
        return None
    ids, vectors = stored
    owners = [by_id.get(i) for i in ids.tolist()]
    if any(o is None for o in owners) or len(set(owners)) != len(by_id):
        logger.warning("the sentence vectors in %s do not match the chunks: run `python ingest.py`",
                       data_dir)  # fmt: skip
        return None
    return vectors.astype(np.float32), np.asarray(owners, dtype=np.int64)
