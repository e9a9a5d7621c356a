"""``python -m bot.answering train``: the passage ranker and the answer gate, from the train part
of the question set (`eval/questions/train.jsonl`), with the configured embedding model and index
(run `python ingest.py` first). See `bot/answering/train.py`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from bot.answering.train import CORPUS, MODEL_PATH, train
from bot.anticipated import CORPUS_DIR, VECTORS, QuestionBank, build, corpus_hash, read_items
from bot.config import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.answering", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="fit the ranker and the gate on the train part")
    tr.add_argument("--corpus", type=Path, default=CORPUS)
    tr.add_argument("--out", type=Path, default=MODEL_PATH)
    tr.add_argument("--anticipated", type=Path, default=CORPUS_DIR,
                    help="the anticipated questions (embedded again when they changed)")
    tr.add_argument("--without-anticipated", action="store_true",
                    help="train without them (to measure what they add)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    # deferred: the assistant loads the models (heavy); parsing the arguments does not need them
    from bot.assistant import Assistant, attach_bank

    settings = Settings()
    assistant = Assistant.from_settings(settings)
    assistant.gate = None  # the signals are computed without the gate being trained
    retriever = assistant.retriever
    name = getattr(retriever.embedder, "name", None)
    bank = QuestionBank.load() if VECTORS.exists() else None
    if args.without_anticipated:
        if args.out == MODEL_PATH:
            parser.error("--without-anticipated measures: write it elsewhere (--out)")
        bank = None
    elif bank is None or bank.embedder != name or bank.corpus != corpus_hash(args.anticipated):
        items = read_items(args.anticipated)
        if not items:
            parser.error(f"no anticipated questions in {args.anticipated} (run from the repository)")
        vectors = VECTORS if args.out == MODEL_PATH else args.out.with_name("questions.npz")
        build(items, retriever.embedder, vectors, args.anticipated)
        bank = QuestionBank.load(vectors)
    retriever.bank = attach_bank(bank, name, retriever.index, retriever.embedder)
    meta = train(assistant, args.corpus, args.out)
    print(json.dumps(meta["cross_validation"], indent=2))
    return 0

if __name__ == "__main__":
    sys.exit(main())
