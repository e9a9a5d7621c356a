"""The chunk record (what the ingest produces and the index stores) and `chunks.jsonl`."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from bot.index.errors import REBUILD_HINT, IndexCorrupt

CHUNKS = "chunks.jsonl"


@dataclass
class Chunk:
    """A retrievable unit. `text` is what a person may be shown; `embed_text` adds context."""

    id: str
    text: str
    embed_text: str
    metadata: dict[str, str]

    @property
    def source(self) -> str:
        return self.metadata["source"]

    @property
    def section(self) -> str:
        return self.metadata.get("section", "")


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
