"""A deterministic synthetic index of ~10,000 chunks for latency at scale, cached on disk.

The corpus is the real index's chunks (from `data/chunks.jsonl`, or a fresh ingest of
`knowledge/`) plus perturbed copies of them until the wanted size is reached. Copy v (1, 2, ...)
of a chunk:
  - its sentences (or table cells, ' · ') are shuffled with a seeded RNG,
  - its digits are remapped by a per-copy permutation (dates, rooms, session ids, phone numbers
    all change, so exact-identifier matches stay as rare as in the real corpus),
  - its source is `synthetic/vNN/<source>`, its group `synthetic/vNN/<group>` (the language
    preference acts per copy, as for real parallel documents) and its title gets ` · vNN`.
So the keyword and dense score distributions look like a larger knowledge base of the same
kind, not like 10,000 duplicates.

Vectors: the real chunks' vectors are copied from the real index (same model); every perturbed
chunk is embedded with the real model (`embed_documents`, batches of 32) and added to Chroma
with its vector (`IndexStore.add_vectors`), as `bench/xquad_retrieval.py` does. chunks.jsonl,
the BM25 index and the manifest are written by `IndexStore.commit`, so `bot.index.open_index` and
`Assistant.from_settings` open the result like any index.

`--vectors noisy` skips the embedding: each copy gets its original's vector plus Gaussian noise
(cosine ~0.93 to it), renormalized. Fast (under a minute) and fine for the cost of search at 10k
(HNSW, BM25, fusion), but the dense score distribution is less realistic than with `embedded`.

Cache: `bench/.cache/synthetic-<N>-<key>/` where key hashes the source chunks, the model and the
generator version. The manifest is written last and marks the build complete; an interrupted
build resumes (vectors already in Chroma are kept).

Usage: python -m bench.synthetic [--chunks 10000]   (prints the folder when done)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import time
from pathlib import Path

from bench._common import CACHE, DATA, KNOWLEDGE, ensure_index, loadavg, settings_for

GENERATOR_VERSION = 1
_SENTENCE = re.compile(r"(?<=[.!?;。！？；])\s*|\n+")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def perturb_text(text: str, rng: random.Random, digits: dict[str, str]) -> str:
    if " · " in text:
        parts, sep = text.split(" · "), " · "
    else:
        parts = [p.strip() for p in _SENTENCE.split(text) if p and p.strip()]
        sep = "" if _CJK.search(text) else " "
    if len(parts) > 1:
        rng.shuffle(parts)
    return "".join(digits.get(ch, ch) for ch in sep.join(parts))


def _remap(text: str, digits: dict[str, str]) -> str:
    return "".join(digits.get(ch, ch) for ch in text)


def variant_chunks(base: list, total: int) -> list:
    """`base` followed by perturbed copies until there are `total` chunks (deterministic)."""
    from bot.index import Chunk

    out = list(base)
    variant = 0
    while len(out) < total:
        variant += 1
        rng = random.Random(1000 + variant)
        perm = list("0123456789")
        rng.shuffle(perm)
        digits = dict(zip("0123456789", perm))
        tag = f"v{variant:02d}"
        for c in base:
            if len(out) >= total:
                break
            text = perturb_text(c.text, rng, digits)
            meta = dict(c.metadata)
            title = meta.get("title", "")
            meta["title"] = f"{title} · {tag}" if title else tag
            meta["source"] = f"synthetic/{tag}/{c.metadata['source']}"
            meta["group"] = f"synthetic/{tag}/{c.metadata.get('group', c.metadata['source'])}"
            if c.embed_text.endswith(c.text):
                head = c.embed_text[: len(c.embed_text) - len(c.text)]
                head = _remap(head, digits)
                head = head.replace(_remap(title, digits), meta["title"], 1) if title else head
                embed = head + text
            else:
                embed = f"{meta['title']}\n{text}"
            cid = f"{meta['source']}#{hashlib.sha256(text.encode()).hexdigest()[:16]}"
            out.append(Chunk(cid, text, embed, meta))
    seen: dict[str, int] = {}
    for c in out:
        seen[c.id] = seen.get(c.id, 0) + 1
        if seen[c.id] > 1:
            c.id = f"{c.id}-{seen[c.id]}"
    return out


def _base_index(log) -> Path:
    settings = settings_for(DATA, KNOWLEDGE)
    ensure_index(settings, log)
    return DATA


def cache_dir(total: int, base_dir: Path, model: str, vectors: str = "embedded") -> Path:
    digest = hashlib.sha256()
    digest.update((base_dir / "chunks.jsonl").read_bytes())
    digest.update(f"{model}|{total}|{GENERATOR_VERSION}".encode())
    suffix = "" if vectors == "embedded" else f"-{vectors}"
    return CACHE / f"synthetic-{total}-{digest.hexdigest()[:10]}{suffix}"


NOISE_NORM = 0.4  # noisy vectors: cosine to the original ~ 1/sqrt(1 + 0.4^2) ~ 0.93


def build(total: int = 10_000, *, log=print, embedder=None, vectors: str = "embedded") -> Path:
    """The folder of a complete synthetic index of `total` chunks (built now or reused)."""
    from bot.config import DEFAULT_EMBEDDING_MODEL
    from bot.embeddings import load_embedder
    from bot.index import IndexStore, Manifest

    base_dir = _base_index(log)
    model = json.loads((base_dir / "manifest.json").read_text())["embedding_model"]
    if model != DEFAULT_EMBEDDING_MODEL:
        raise SystemExit(f"{base_dir} was built with {model}, expected {DEFAULT_EMBEDDING_MODEL}")
    out = cache_dir(total, base_dir, model, vectors)
    if (out / "manifest.json").exists():
        log(f"synthetic index: reusing {out}")
        return out
    out.mkdir(parents=True, exist_ok=True)
    real = IndexStore(base_dir)
    base = real.chunks()
    chunks = variant_chunks(base, total)
    embedder = embedder or load_embedder(model)
    store = IndexStore(out)
    have = store.existing_ids()

    # The real chunks: their vectors from the real index.
    base_todo = [c for c in base if c.id not in have]
    for start in range(0, len(base_todo), 200):
        batch = base_todo[start : start + 200]
        by_id = real.vectors([c.id for c in batch])
        store.add_vectors(batch, [by_id[c.id] for c in batch])
    # The perturbed copies: embedded now, in batches of 32, resumable.
    todo = [c for c in chunks[len(base):] if c.id not in have]
    started, done = time.perf_counter(), 0
    if vectors == "noisy":  # no embedding: each copy gets its original's vector plus noise
        import numpy as np

        by_id = real.vectors([c.id for c in base])
        base_vecs = [by_id[c.id] for c in base]
        rng = np.random.default_rng(7)
        pos = {c.id: i for i, c in enumerate(chunks)}
        for start in range(0, len(todo), 500):
            batch = todo[start : start + 500]
            vecs = np.stack([base_vecs[(pos[c.id] - len(base)) % len(base)] for c in batch])
            vecs = vecs + rng.normal(size=vecs.shape).astype(np.float32) * (NOISE_NORM / np.sqrt(vecs.shape[1]))
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            store.add_vectors(batch, vecs)
        todo = []
    log(f"synthetic index: {len(chunks)} chunks, {len(todo)} to embed into {out} (load {loadavg()})")
    for start in range(0, len(todo), 32):
        batch = todo[start : start + 32]
        store.add_vectors(batch, embedder.embed_documents([c.embed_text for c in batch]))
        done += len(batch)
        if done % 640 < 32 or done == len(todo):
            rate = done / max(time.perf_counter() - started, 1e-9)
            log(f"  embedded {done}/{len(todo)} ({rate:.1f} chunks/s, load {loadavg()})")
    count = store.count()
    if count != len(chunks):
        raise SystemExit(f"synthetic index holds {count} vectors, expected {len(chunks)}")
    manifest = Manifest(model)
    for c in chunks:
        entry = manifest.files.setdefault(c.source, {"hash": "synthetic", "chunk_ids": []})
        entry["chunk_ids"].append(c.id)
    store.commit(manifest, chunks)  # the manifest last: marks the build complete
    log(f"synthetic index ready in {time.perf_counter() - started:.0f} s: {out}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--vectors", choices=("embedded", "noisy"), default="embedded",
                        help="embedded: copies embedded with the model (slow); noisy: the original's "
                             "vector plus Gaussian noise, no embedding (fast, less realistic dense scores)")
    args = parser.parse_args(argv)
    print(build(args.chunks, log=lambda m: print(m, flush=True), vectors=args.vectors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
