"""`IndexStore`: the writer of the index in a data folder, and the one owner of its layout.

The ingest (bot/ingestion/pipeline.py) and the benchmarks write an index only through it:
`reset()` to start over, `existing_ids()` / `delete()` / `add()` (or `add_vectors()`) for the
vectors, then `commit()`, which writes the sentence vectors, chunks.jsonl, the keyword index and,
last, the manifest that marks the index complete.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from bot.index.chunks import CHUNKS, Chunk, read_chunks, write_chunks
from bot.index.errors import IndexCorrupt
from bot.index.keywords import BM25, build_bm25
from bot.index.manifest import MANIFEST, Manifest
from bot.index.sentences import SENTENCES, sentences_missing, update_sentences
from bot.index.vectors import (
    CHROMA,
    chroma_client,
    chroma_metadata,
    drop_collection,
    open_collection,
    vector_store,
)

logger = logging.getLogger(__name__)

EMBED_BATCH = 32
DELETE_BATCH = 500
ADD_BATCH = 500


class IndexStore:
    """The index files in `data_dir` (and the Chroma collection, there or on a server)."""

    def __init__(self, data_dir: Path, *, chroma_host: str | None = None, chroma_port: int = 8000):
        self.data_dir = Path(data_dir)
        self.chroma_host = chroma_host
        self.chroma_port = chroma_port
        self._client = None
        self._stores: dict[int, object] = {}

    # -- reading what is there ------------------------------------------------------------------

    def manifest(self) -> Manifest | None:
        """The manifest of the last complete commit; None when there is none or it is unreadable
        (logged: the caller starts over)."""
        try:
            return Manifest.read(self.data_dir)
        except IndexCorrupt as exc:
            logger.warning("%s: starting over", exc)
            return None

    def chunks(self) -> list[Chunk]:
        return read_chunks(self.data_dir)

    def sentences_missing(self, ids: set[str]) -> bool:
        """Whether some chunk has no sentence vectors (an index built before they existed)."""
        return sentences_missing(self.data_dir, ids)

    # -- vectors --------------------------------------------------------------------------------

    @property
    def client(self):
        if self._client is None:
            self._client = chroma_client(self.data_dir, self.chroma_host, self.chroma_port)
        return self._client

    def vector_store(self, embedder):
        """LangChain's Chroma over the collection, embedding with `embedder` (ours)."""
        # bot.embeddings imports langchain_core (heavy): loaded when vectors are written.
        from bot.embeddings import LangChainEmbeddings

        key = id(embedder)
        if key not in self._stores:
            self._stores[key] = vector_store(self.client, LangChainEmbeddings(embedder))
        return self._stores[key]

    def existing_ids(self) -> set[str]:
        """Ids of every vector stored (also ones an interrupted run left behind)."""
        return set(open_collection(self.client).get(include=[])["ids"])

    def count(self) -> int:
        return open_collection(self.client).count()

    def vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """The stored vectors of `ids` (float32), by id."""
        got = open_collection(self.client).get(ids=ids, include=["embeddings"])
        return dict(zip(got["ids"], np.asarray(got["embeddings"], dtype=np.float32)))

    def delete(self, ids: Iterable[str]) -> None:
        doomed = sorted(ids)
        if not doomed:
            return
        coll = open_collection(self.client)
        for start in range(0, len(doomed), DELETE_BATCH):
            coll.delete(ids=doomed[start : start + DELETE_BATCH])

    def add(self, chunks: list[Chunk], embedder, *, progress: bool = False) -> int:
        """Embed the chunks (their `embed_text`) and store them; the number embedded."""
        if not chunks:
            return 0
        from tqdm import tqdm

        store = self.vector_store(embedder)
        bar = tqdm(total=len(chunks), unit="chunk", desc="embedding", disable=not progress)
        for start in range(0, len(chunks), EMBED_BATCH):
            batch = chunks[start : start + EMBED_BATCH]
            store.add_texts(
                texts=[c.embed_text for c in batch],
                metadatas=[chroma_metadata(c) for c in batch],
                ids=[c.id for c in batch],
            )
            bar.update(len(batch))
        bar.close()
        return len(chunks)

    def add_vectors(self, chunks: list[Chunk], vectors) -> None:
        """Store chunks with vectors computed elsewhere (one per chunk, in order)."""
        coll = open_collection(self.client)
        vectors = np.asarray(vectors, dtype=np.float32)
        for start in range(0, len(chunks), ADD_BATCH):
            batch = chunks[start : start + ADD_BATCH]
            coll.add(
                ids=[c.id for c in batch],
                embeddings=vectors[start : start + len(batch)].tolist(),
                documents=[c.embed_text for c in batch],
                metadatas=[chroma_metadata(c) for c in batch],
            )

    # -- starting over and committing -----------------------------------------------------------

    def reset(self) -> None:
        """Remove the whole index: the collection, then every file of the layout."""
        self._drop_vectors()
        for name in (BM25, MANIFEST, CHUNKS, SENTENCES):
            target = self.data_dir / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()

    def _drop_vectors(self) -> None:
        """Delete the collection through Chroma. Removing the folder underneath a client that this
        process already opened on it (an earlier ingest, an open index) leaves that client writing
        to a deleted database ("attempt to write a readonly database"); the folder goes only when
        Chroma cannot open it at all."""
        folder = self.data_dir / CHROMA
        if not self.chroma_host and not folder.exists():
            return
        try:
            drop_collection(chroma_client(self.data_dir, self.chroma_host, self.chroma_port))
        except Exception as exc:  # a damaged folder: start from nothing
            if self.chroma_host:
                raise
            logger.warning("vector index in %s unreadable (%s): removing it", folder, exc)
            shutil.rmtree(folder, ignore_errors=True)
        self._client = None
        self._stores.clear()

    def commit(
        self,
        manifest: Manifest,
        chunks: list[Chunk],
        *,
        embedder=None,
        keep_sentences: set[str] = frozenset(),
        progress: bool = False,
    ) -> int:
        """Write the index files for `chunks`: with an embedder, the sentence vectors (those of
        chunks in `keep_sentences` already stored stay, the rest are embedded), then
        chunks.jsonl, the keyword index and the manifest, last. Returns the units embedded."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        embedded = 0
        if embedder is not None:
            embedded = update_sentences(
                self.data_dir, chunks, embedder, keep=set(keep_sentences), progress=progress
            )
        write_chunks(self.data_dir, chunks)
        build_bm25(chunks, self.data_dir)
        manifest.write(self.data_dir)
        return embedded
