"""Ingest the knowledge folder into the index: incremental by content hash, idempotent.

A second run with nothing changed embeds nothing; a changed file re-embeds only its new or
changed chunks; a deleted file's chunks disappear; another embedding model, or `rebuild=True`,
starts over. Files that cannot be read are reported with the reason and skipped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot import language
from bot.index import Chunk, IndexStore, Manifest
from bot.ingestion.chunking import chunk_document, default_metadata
from bot.ingestion.documents import LoaderError, content_hash
from bot.ingestion.loaders import LOADERS, load_document
from bot.mandarin.vocabulary import build_vocabulary

logger = logging.getLogger(__name__)
SKIPPED_NAMES = {"README.md", "readme.md"}


@dataclass
class IngestReport:
    files: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    embedded: int = 0
    sentences: int = 0  # sentences, list items and rows embedded for the sentence-level evidence
    skipped: list[tuple[str, str]] = field(default_factory=list)
    rebuilt: bool = False
    seconds: float = 0.0
    vocabulary: int = 0  # entries of the Mandarin vocabulary index (words and dialogue lines)

    def summary(self) -> str:
        lines = [
            f"{self.files} files: {self.added} chunks added, {self.updated} updated, "
            f"{self.removed} removed, {self.unchanged} unchanged; {self.embedded} embedded "
            f"({self.sentences} sentences) in {self.seconds:.1f} s" + (" (full rebuild)" if self.rebuilt else "")
            + (f"; {self.vocabulary} Mandarin vocabulary entries" if self.vocabulary else "")
        ]
        lines += [f"skipped {path}: {reason}" for path, reason in self.skipped]
        return "\n".join(lines)


def knowledge_files(root: Path) -> list[Path]:
    """Files the loaders understand, in a stable order; READMEs and hidden files are not content."""
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix.lower() in LOADERS
        and p.name not in SKIPPED_NAMES
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def _unique_ids(chunks: list[Chunk]) -> list[Chunk]:
    """Chunk ids are `source#content-hash`; a repeated text in one file gets a counter."""
    seen: dict[str, int] = {}
    for c in chunks:
        seen[c.id] = seen.get(c.id, 0) + 1
        if seen[c.id] > 1:
            c.id = f"{c.id}-{seen[c.id]}"
    return chunks


def ingest(
    knowledge_dir: Path,
    data_dir: Path,
    embedder_factory: Callable[[], object],
    *,
    embedding_model: str,
    rebuild: bool = False,
    progress: bool = True,
    detect_language: Callable[[str], str | None] | None = None,
    chroma_host: str | None = None,
    chroma_port: int = 8000,
) -> IngestReport:
    """Bring the index in `data_dir` in line with `knowledge_dir`; return what changed."""
    started = time.perf_counter()
    report = IngestReport()
    knowledge_dir, data_dir = Path(knowledge_dir), Path(data_dir)
    if not knowledge_dir.is_dir():
        raise FileNotFoundError(f"knowledge folder {knowledge_dir} does not exist")
    detect = detect_language or language.detect_language

    index = IndexStore(data_dir, chroma_host=chroma_host, chroma_port=chroma_port)
    old = None if rebuild else index.manifest()
    if old is not None and old.embedding_model != embedding_model:
        logger.warning(
            "index was built with %s, now %s: rebuilding", old.embedding_model, embedding_model
        )
        old = None
    if old is None:
        report.rebuilt = True
        index.reset()
    data_dir.mkdir(parents=True, exist_ok=True)
    old_chunks = {c.id: c for c in index.chunks()} if old else {}
    manifest = Manifest(embedding_model)

    new_chunks: list[Chunk] = []
    to_embed: list[Chunk] = []
    seen_sources: set[str] = set()
    for path in knowledge_files(knowledge_dir):
        source = path.relative_to(knowledge_dir).as_posix()
        seen_sources.add(source)
        report.files += 1
        digest = content_hash(path.read_bytes())
        previous = old.files.get(source) if old else None
        old_ids = set(previous["chunk_ids"]) if previous else set()
        if previous and previous.get("hash") == digest and old_ids <= old_chunks.keys():
            kept = [old_chunks[cid] for cid in previous["chunk_ids"]]
            new_chunks += kept
            report.unchanged += len(kept)
            manifest.files[source] = previous
            continue
        try:
            doc = load_document(path, knowledge_dir)
            chunks = _unique_ids(
                chunk_document(doc, default_metadata(doc, path.stat().st_mtime, detect))
            )
            if not chunks:
                raise LoaderError("no text found")
        except LoaderError as exc:
            report.skipped.append((source, str(exc)))
            report.removed += len(old_ids)  # never serve a stale copy of an unreadable file
            logger.warning("skipped %s: %s", source, exc)
            continue
        fresh = [c for c in chunks if c.id not in old_chunks]
        gone = old_ids - {c.id for c in chunks}
        replaced = min(len(fresh), len(gone))
        report.updated += replaced
        report.added += len(fresh) - replaced
        report.removed += len(gone) - replaced
        report.unchanged += len(chunks) - len(fresh)
        to_embed += fresh
        new_chunks += chunks
        manifest.files[source] = {"hash": digest, "chunk_ids": [c.id for c in chunks]}
    if old:
        for source, entry in old.files.items():
            if source not in seen_sources:
                report.removed += len(entry["chunk_ids"])

    new_ids = {c.id for c in new_chunks}
    stale = [cid for cid in old_chunks if cid not in new_ids]

    embedder = embedder_factory() if (to_embed or stale or report.rebuilt) else None
    if embedder is not None:
        # Stale vectors go, and any left behind by an interrupted run.
        keep = new_ids - {c.id for c in to_embed}
        existing = index.existing_ids()
        index.delete((existing - keep) | (set(stale) & existing))
        report.embedded = index.add(to_embed, embedder, progress=progress)
    fresh_ids = {c.id for c in to_embed}
    if embedder is None and index.sentences_missing(new_ids):
        embedder = embedder_factory()
    report.vocabulary = _write_vocabulary(knowledge_dir, data_dir)
    report.sentences = index.commit(
        manifest, new_chunks, embedder=embedder, keep_sentences=new_ids - fresh_ids, progress=progress
    )
    report.seconds = time.perf_counter() - started
    return report


def _write_vocabulary(knowledge_dir: Path, data_dir: Path) -> int:
    """The Mandarin vocabulary index of the lesson files (`bot.mandarin.vocabulary`), rebuilt on
    every ingest (milliseconds), before the index's commit; the number of entries."""
    vocabulary = build_vocabulary(knowledge_dir)
    vocabulary.write(data_dir)
    return len(vocabulary.entries)
