"""The index in `PUENTE_DATA_DIR`: Chroma for vectors, BM25 for keywords, and a manifest.

Layout of the data folder (owned by `IndexStore`, bot/index/store.py; nothing else names these
files):
  manifest.json   which embedding model built the index, and every file's hash and chunk ids;
                  written last, so it marks a complete index            (manifest.py)
  chunks.jsonl    every chunk's text and metadata (the source of truth for the keyword index)
                                                                         (chunks.py)
  chroma/         the persistent Chroma collection (vectors, ids, metadata)  (vectors.py)
  bm25/           the BM25 keyword index (bm25s), rebuilt whenever the chunks change
                                                                         (keywords.py)
  sentences.npz   a unit vector per sentence, list item and row of every chunk  (sentences.py)

Writing: `IndexStore` (reset, existing ids, add, delete, commit). Reading: `open_index` →
`LoadedIndex`, `dense_search` (reader.py). The chunk record, `Chunk`, is defined here too: the
ingest produces chunks, the index stores them, the retriever returns them.

One embedding model per index: opening it with another model is an error for readers and a full
rebuild for the writer, so vectors from two models are never mixed.
"""

from bot.index.chunks import CHUNKS, Chunk, read_chunks
from bot.index.errors import (
    REBUILD_HINT,
    IndexCorrupt,
    IndexMissing,
    IndexModelMismatch,
    IndexProblem,
)
from bot.index.keywords import build_bm25
from bot.index.manifest import MANIFEST, Manifest
from bot.index.reader import EXACT_SEARCH_LIMIT, LoadedIndex, dense_search, open_index
from bot.index.sentences import passage_units, read_sentences
from bot.index.store import IndexStore
from bot.index.vectors import COLLECTION, chroma_client

__all__ = [
    "CHUNKS",
    "COLLECTION",
    "EXACT_SEARCH_LIMIT",
    "MANIFEST",
    "REBUILD_HINT",
    "Chunk",
    "IndexCorrupt",
    "IndexMissing",
    "IndexModelMismatch",
    "IndexProblem",
    "IndexStore",
    "LoadedIndex",
    "Manifest",
    "build_bm25",
    "chroma_client",
    "dense_search",
    "open_index",
    "passage_units",
    "read_chunks",
    "read_sentences",
]
