"""`python -m bot.learning train`: refit the FAQ duplicate model on eval/faq_dedup/."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.config import Settings
from bot.learning.duplicates import MODEL_PATH
from bot.learning.train import CORPUS, train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.learning")
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="fit the FAQ duplicate model on eval/faq_dedup/")
    tr.add_argument("--corpus", type=Path, default=CORPUS)
    tr.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)
    # deferred: bot.embeddings loads langchain_core and torch (heavy)
    from bot.embeddings import load_embedder

    embedder = load_embedder(Settings().embedding_model)
    model, _ = train(embedder, args.corpus, log=lambda m: print(m, file=sys.stderr))
    args.out.write_text(json.dumps(model.to_dict(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0

if __name__ == "__main__":
    sys.exit(main())
