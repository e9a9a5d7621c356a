"""``python -m bot.triage split|train``: the triage corpus and model.

- ``split``: once, the written parts (`eval/triage/parts/*.jsonl`) into `train.jsonl` and
  `heldout.jsonl` (30 % held out, stratified by language and label, a fixed seed). It refuses to
  run again over an existing split: the held-out part must stay unseen.
- ``split --append --ids P,Q --seed N``: a later batch of parts split by the same rule and
  appended (train ids ``P…``, held-out ids ``Q…``); texts already in the corpus are dropped, and a
  batch whose ids are already there is refused (each batch is split once).
- ``train``: the model from `train.jsonl` with the configured embedding model (see `train.py`).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

from bot.config import Settings
from bot.topics import TOPICS
from bot.triage.model import LABELS, MODEL_DIR
from bot.triage.train import CORPUS_DIR, train

HELDOUT_SHARE = 0.3
SEED = 20261130
FIELDS = ("text", "lang", "label", "topic", "danger", "situation")

def _key(text: str) -> str:
    return " ".join(text.lower().split())

def split(
    parts_dir: Path, out_dir: Path, *, force: bool = False, append: bool = False,
    ids: tuple[str, str] = ("t", "h"), seed: int = SEED,
) -> dict[str, int]:  # fmt: skip
    train_path, heldout_path = out_dir / "train.jsonl", out_dir / "heldout.jsonl"
    existing: list[list[dict]] = [[], []]
    if append:
        existing = [[json.loads(x) for x in p.read_text(encoding="utf-8").splitlines() if x.strip()]
                    for p in (train_path, heldout_path)]  # fmt: skip
        taken = {r["id"].rstrip("0123456789") for part in existing for r in part}
        if taken & set(ids):
            raise SystemExit(f"ids {ids} are in the corpus already: each batch is split once")
    elif not force and (train_path.exists() or heldout_path.exists()):
        raise SystemExit(f"{train_path} exists: the corpus is split once (use --force to redo)")
    rows, duplicates = [], 0
    seen = {_key(r["text"]) for part in existing for r in part}
    for path in sorted(parts_dir.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            row = json.loads(line)
            problems = [f for f in FIELDS if f not in row]
            if problems or row["label"] not in LABELS or row["topic"] not in TOPICS:
                raise SystemExit(f"{path}:{number}: bad row ({problems or row})")
            if row["lang"] not in ("es", "en", "zh-TW"):
                raise SystemExit(f"{path}:{number}: language {row['lang']!r}")
            key = _key(row["text"])
            if key in seen:
                duplicates += 1
                continue
            seen.add(key)
            row["danger"] = bool(row["danger"]) or row["label"] == "crisis"
            rows.append({"part": path.stem, **{f: row[f] for f in FIELDS}})
    strata: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        strata[(row["lang"], row["label"])].append(row)
    rng = random.Random(seed)
    train, heldout = [], []
    for key in sorted(strata):
        group = strata[key]
        rng.shuffle(group)
        cut = round(len(group) * HELDOUT_SHARE)
        heldout += group[:cut]
        train += group[cut:]
    for name, part in zip(ids, (train, heldout), strict=True):
        part.sort(key=lambda r: (r["part"], r["lang"], r["label"], r["text"]))
        for i, row in enumerate(part, 1):
            row["id"] = f"{name}{i:04d}"
    for path, old, part in zip((train_path, heldout_path), existing, (train, heldout), strict=True):
        with path.open("w", encoding="utf-8") as f:
            for row in old:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
            for row in part:
                ordered = {"id": row["id"], **{k: v for k, v in row.items() if k != "id"}}
                f.write(json.dumps(ordered, ensure_ascii=False) + "\n")
    return {"train": len(train), "heldout": len(heldout), "duplicates_dropped": duplicates}

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.triage")
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("split", help="split the written parts into train and held-out, once")
    s.add_argument("--parts", type=Path, default=CORPUS_DIR / "parts")
    s.add_argument("--out", type=Path, default=CORPUS_DIR)
    s.add_argument("--force", action="store_true")
    s.add_argument("--append", action="store_true", help="split a later batch and append it")
    s.add_argument("--ids", default="t,h", help="id prefixes of its train and held-out rows")
    s.add_argument("--seed", type=int, default=SEED)
    t = sub.add_parser("train", help="train the model on the train part")
    t.add_argument("--corpus", type=Path, default=CORPUS_DIR / "train.jsonl")
    t.add_argument("--out", type=Path, default=MODEL_DIR)
    t.add_argument("--reproduce", action="store_true",
                   help="refit the weights with the hyper-parameters and thresholds of model.json")  # fmt: skip
    t.add_argument("--without-ordinary", action="store_true",
                   help="learn from the corpus alone, not the anticipated questions (to measure)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    if args.command == "split":
        train_id, heldout_id = args.ids.split(",")
        counts = split(args.parts, args.out, force=args.force, append=args.append,
                       ids=(train_id, heldout_id), seed=args.seed)  # fmt: skip
        print(json.dumps(counts))
        for name in ("train", "heldout"):
            rows = [json.loads(x) for x in (args.out / f"{name}.jsonl").read_text().splitlines()]
            table = Counter((r["lang"], r["label"]) for r in rows)
            print(name, dict(sorted(table.items())))
        return 0

    # deferred: bot.embeddings loads langchain_core and torch (heavy); `stats` does not need it
    from bot.embeddings import load_embedder

    settings = Settings()
    embedder = load_embedder(settings.embedding_model, device=settings.embedding_device)
    fixed = None
    if args.reproduce:
        fixed = json.loads((MODEL_DIR / "model.json").read_text())
    if args.without_ordinary and args.out.resolve() == MODEL_DIR.resolve():
        parser.error("--without-ordinary measures: write it elsewhere (--out)")
    ordinary = not args.without_ordinary
    if fixed is not None:  # as the shipped model was trained
        ordinary = bool(fixed.get("ordinary", {}).get("examples"))
    meta = train(args.corpus, embedder, args.out, hyperparameters=fixed, ordinary=ordinary)
    print(json.dumps({k: meta[k] for k in ("examples", "ordinary", "hyperparameters", "thresholds",
                                             "cross_validation")}, indent=2))  # fmt: skip
    return 0

if __name__ == "__main__":
    sys.exit(main())
