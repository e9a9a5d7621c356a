"""What loaders produce: a document's blocks and metadata (the chunks made of them are
`bot.index.Chunk`)."""

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


def content_hash(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()
