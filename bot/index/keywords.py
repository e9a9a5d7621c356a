"""`bm25/`: the BM25 keyword index (bm25s) over the chunks, rebuilt whenever they change."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from bot.index.chunks import Chunk
from bot.textnorm import tokenize

logger = logging.getLogger(__name__)

BM25 = "bm25"


def bm25_tokens(chunk: Chunk) -> list[str]:
    """Keywords of a chunk: its text plus its title and section path."""
    meta = chunk.metadata
    return tokenize(f"{meta.get('title', '')} {meta.get('section', '')} {chunk.text}")


def _bm25s():
    """bm25s, imported on first use; it sets its own logger to DEBUG on import, so quiet it."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


def build_bm25(chunks: list[Chunk], data_dir: Path | None = None):
    """A keyword index over `chunks`, saved in `data_dir/bm25` when a folder is given."""
    bm25s = _bm25s()

    retriever = bm25s.BM25()
    corpus = [bm25_tokens(c) or ["\u2205"] for c in chunks]
    retriever.index(corpus, show_progress=False)
    if data_dir is not None:
        retriever.save(str(data_dir / BM25), show_progress=False)
        (data_dir / BM25 / "ids.json").write_text(json.dumps([c.id for c in chunks]))
    return retriever


def load_bm25(data_dir: Path, chunks: list[Chunk]):
    """The saved keyword index, or a fresh one when it is missing or out of step with the chunks."""
    bm25s = _bm25s()

    folder = data_dir / BM25
    try:
        ids = json.loads((folder / "ids.json").read_text())
        if ids == [c.id for c in chunks]:
            return bm25s.BM25.load(str(folder), show_progress=False)
    except (OSError, ValueError) as exc:
        logger.warning("keyword index unreadable (%s); rebuilding it in memory", exc)
    return build_bm25(chunks)
