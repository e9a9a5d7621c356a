"""`chroma/`: the vectors, ids and metadata in a Chroma collection (embedded in the data folder,
or a Chroma server by host). The only module that talks to Chroma."""

from __future__ import annotations

import os
from pathlib import Path

from bot.index.chunks import Chunk

COLLECTION = "puente"
CHROMA = "chroma"
SPACE = {"hnsw:space": "cosine"}


def chroma_client(data_dir: Path, host: str | None = None, port: int = 8000):
    """A Chroma client with telemetry off: embedded in the data folder, or a server by host."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    # chromadb is heavy (seconds to import): loaded when an index is opened or written.
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    if host:
        return chromadb.HttpClient(host=host, port=port, settings=settings)
    return chromadb.PersistentClient(path=str(data_dir / CHROMA), settings=settings)


def vector_store(client, embeddings):
    """LangChain's Chroma over our collection, with our own embedding function (never Chroma's)."""
    # langchain_chroma is heavy: loaded when an index is opened or written.
    from langchain_chroma import Chroma

    return Chroma(
        client=client,
        collection_name=COLLECTION,
        embedding_function=embeddings,
        collection_metadata=SPACE,
    )


def open_collection(client):
    """The raw collection, created as LangChain's store creates it (cosine space, no embedding
    function of Chroma's), for what LangChain's wrapper does not offer: ids, counts, stored
    vectors, and adding vectors computed elsewhere. Use this, never LangChain's `_collection`."""
    return client.get_or_create_collection(name=COLLECTION, embedding_function=None, metadata=SPACE)


def drop_collection(client) -> None:
    """Delete our collection, when there is one."""
    if COLLECTION in {getattr(c, "name", c) for c in client.list_collections()}:
        client.delete_collection(COLLECTION)


def chroma_metadata(chunk: Chunk) -> dict[str, str]:
    """A chunk's metadata as Chroma stores it: strings, no empty values."""
    return {k: str(v) for k, v in chunk.metadata.items() if v is not None}
