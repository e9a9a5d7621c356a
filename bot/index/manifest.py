"""`manifest.json`: which embedding model built the index, and every file's hash and chunk ids.
Written last by a commit, so a manifest marks a complete index."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from bot.index.errors import REBUILD_HINT, IndexCorrupt

MANIFEST = "manifest.json"
INDEX_FORMAT = 1


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
