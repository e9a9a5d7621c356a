"""Structure-aware chunking: blocks become chunks that stay inside one section.

Table rows stay whole, one chunk each with their header names; list items stay whole; short
neighbours in the same section are merged up to a budget; long paragraphs are split at sentence
ends. Every chunk carries its section path ("Housing > Laundry") and the document's metadata.
"""

from __future__ import annotations

import re
from datetime import date

from bot.index import Chunk
from bot.ingestion.documents import Block, LoadedDocument, content_hash

MAX_CHARS = 700
MERGE_BELOW = 160
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])")
_LANG_SUFFIX = re.compile(r"\.(en|es|zh-tw|zh-hant|zh)$", re.IGNORECASE)


def parallel_group(source: str) -> str:
    """`program/handbook.en.md` and `program/handbook.es.md` share the group `program/handbook`."""
    stem = source.rsplit(".", 1)[0] if "." in source.rsplit("/", 1)[-1] else source
    return _LANG_SUFFIX.sub("", stem)


def _split_long(text: str, limit: int = MAX_CHARS) -> list[str]:
    if len(text) <= limit:
        return [text]
    parts, current = [], ""
    for sentence in (s for s in _SENTENCE_END.split(text) if s and s.strip()):
        if current and len(current) + len(sentence) + 1 > limit:
            parts.append(current.strip())
            current = ""
        current += sentence if not current else " " + sentence
    if current.strip():
        parts.append(current.strip())
    return parts


def _group_blocks(blocks: list[Block]) -> list[tuple[tuple[str, ...], str, str | None, str]]:
    """(section, text, row_id, kind) units after merging short neighbours and splitting long ones."""
    units: list[tuple[tuple[str, ...], str, str | None, str]] = []
    pending: list[Block] = []

    def flush() -> None:
        if pending:
            text = "\n".join(("• " if b.kind == "item" else "") + b.text for b in pending)
            units.append((pending[0].section, text, None, pending[0].kind))
            pending.clear()

    for block in blocks:
        if block.kind == "row":
            flush()
            units.append((block.section, block.text, block.row_id, "row"))
            continue
        for piece in _split_long(block.text):
            piece_block = Block(block.kind, piece, block.section)
            same_section = pending and pending[0].section == block.section
            size = sum(len(b.text) for b in pending) + len(piece)
            small = len(piece) < MERGE_BELOW or all(len(b.text) < MERGE_BELOW for b in pending)
            if same_section and size <= MAX_CHARS and small:
                pending.append(piece_block)
            else:
                flush()
                pending.append(piece_block)
    flush()
    return units


def chunk_document(doc: LoadedDocument, defaults: dict[str, str]) -> list[Chunk]:
    """Chunks for one loaded document; `defaults` fills metadata the document does not set."""
    meta = {**defaults, **doc.metadata}
    meta["source"] = doc.source
    meta["title"] = doc.title
    meta["group"] = parallel_group(doc.source)
    chunks = []
    for index, (section, text, row_id, kind) in enumerate(_group_blocks(doc.blocks)):
        section_path = " > ".join(section)
        context = " › ".join(p for p in (meta["title"], section_path) if p)
        chunk_meta = {**meta, "section": section_path, "kind": kind, "chunk_index": str(index)}
        if row_id:
            chunk_meta["row_id"] = row_id
        digest = content_hash(f"{context}\n{text}")[:16]
        chunks.append(
            Chunk(
                id=f"{doc.source}#{digest}",
                text=text,
                embed_text=f"{context}\n{text}",
                metadata=chunk_meta,
            )
        )
    return chunks


def default_metadata(doc: LoadedDocument, mtime: float, detect) -> dict[str, str]:
    """Metadata a document without front matter gets: detected language, file date, folder type."""
    sample = " ".join(b.text for b in doc.blocks[:40])[:4000]
    folder = doc.source.split("/", 1)[0] if "/" in doc.source else ""
    return {
        "language": detect(sample) or "en",
        "audience": "all",
        "doc_type": folder or "document",
        "updated": date.fromtimestamp(mtime).isoformat(),
    }
