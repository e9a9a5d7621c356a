"""`python ingest.py`: arguments, settings and the summary; the work is in `pipeline`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.config import Settings
from bot.errors import SetupError
from bot.ingestion.pipeline import ingest
from bot.logging_setup import configure_logging


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ingest.py", description=__doc__)
    parser.add_argument("--knowledge", type=Path, help="knowledge folder (PUENTE_KNOWLEDGE_DIR)")
    parser.add_argument("--data-dir", type=Path, help="index folder (PUENTE_DATA_DIR)")
    parser.add_argument("--rebuild", action="store_true", help="drop the index and start over")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser

def run_ingest(settings: Settings, *, rebuild: bool = False, progress: bool = True):
    # deferred: bot.embeddings loads langchain_core and torch (heavy)
    from bot.embeddings import load_embedder

    return ingest(
        settings.knowledge_dir,
        settings.data_dir,
        lambda: load_embedder(settings.embedding_model, device=settings.embedding_device),
        embedding_model=settings.embedding_model,
        rebuild=rebuild,
        progress=progress,
        chroma_host=settings.chroma_host,
        chroma_port=settings.chroma_port,
    )

def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    updates = {}
    if args.knowledge:
        updates["knowledge_dir"] = args.knowledge
    if args.data_dir:
        updates["data_dir"] = args.data_dir
    settings = settings.model_copy(update=updates)
    configure_logging(settings.log_level)
    try:
        report = run_ingest(settings, rebuild=args.rebuild, progress=not args.quiet)
    except (FileNotFoundError, SetupError) as exc:  # no knowledge folder, a bad EMBEDDING_MODEL
        print(f"ingest: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0
