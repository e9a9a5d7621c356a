"""What loaders produce and the index stores: blocks of a document, and chunks with metadata."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

from bot.errors import PuenteError

BlockKind = Literal["text", "item", "row"]


class LoaderError(PuenteError):
    """A file could not be read (corrupt, bad encoding, broken front matter); it is skipped."""


@dataclass
class Block:
    """One structural unit of a document: a paragraph, a list item or a table row."""

    kind: BlockKind
    text: str
    section: tuple[str, ...] = ()
    row_id: str | None = None  # a table row's first cell, e.g. a session id


@dataclass
class LoadedDocument:
    """A file turned into blocks plus its document-level metadata (front matter or defaults)."""

    source: str  # path relative to the knowledge folder, with forward slashes
    blocks: list[Block]
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.metadata.get("title") or self.source


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


def content_hash(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()
