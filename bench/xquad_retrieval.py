"""Cross-lingual retrieval benchmark on XQuAD: hybrid vs dense-only vs BM25-only, nine directions.

XQuAD (Artetxe et al., CC BY-SA 4.0) has 240 paragraphs translated into each language and 1190
questions per language; the i-th paragraph is the same text in every language and a question
has the same id in every language. We index the 240 paragraphs of each of en, es and zh (one
index each, built with the product's own machinery: Chunks with metadata, a persistent Chroma
collection written by `bot.index.IndexStore`, BM25 via `bot.index.build_bm25`,
searched with `bot.retrieval.HybridRetriever`), then ask every question of every language
against every index: 9 directions x 3 modes, scored by hit@1, hit@5 and MRR@10 where the gold is
the paragraph the question belongs to.

Notes
- Each paragraph is one chunk (no splitting at 700 characters as the ingest would do) and the
  article title is left out of both the embedded text and the BM25 tokens: XQuAD titles are
  English in every language and would leak the answer.
- Paragraphs are embedded once per language (added to Chroma with precomputed vectors);
  questions are embedded once per question language and the vector is reused for every
  paragraph language and mode (`search(..., query_vector=...)`).
- XQuAD zh is Simplified Chinese; the product serves zh-TW, so by default zh paragraphs and
  questions are converted to Traditional with `bot.language.to_traditional` (OpenCC s2twp) and the
  index's `language` metadata is "zh-TW". `--simplified` keeps the original text.
- `language=` of the question is passed to `search`, but the language preference only acts on
  parallel versions of one document inside one index; here every paragraph is its own group in
  a one-language index, so it has no effect.

Usage: python -m bench.xquad_retrieval [--limit N] [--out results.json] [--simplified]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench._common import machine

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "benchmarks" / "xquad"
LANGS = ("en", "es", "zh")
META_LANG = {"en": "en", "es": "es", "zh": "zh-TW"}
MODES = ("hybrid", "dense", "bm25")
K = 10  # depth of the ranking (MRR@10)


@dataclass
class Question:
    id: str
    text: str
    gold: int  # paragraph index, the same in every language


def load_xquad(path: Path, traditional: bool) -> tuple[list[str], list[Question]]:
    """The paragraphs in file order and the questions with the index of their paragraph."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    convert = (lambda s: s)
    if traditional:
        from bot.language import to_traditional

        convert = to_traditional
    paragraphs: list[str] = []
    questions: list[Question] = []
    for article in raw["data"]:
        for para in article["paragraphs"]:
            index = len(paragraphs)
            paragraphs.append(convert(para["context"]))
            for qa in para["qas"]:
                questions.append(Question(qa["id"], convert(qa["question"]), index))
    return paragraphs, questions


def make_chunks(lang: str, paragraphs: list[str]):
    from bot.index import Chunk
    from bot.ingestion.documents import content_hash

    chunks = []
    for i, text in enumerate(paragraphs):
        source = f"xquad/p{i:03d}.{lang}.txt"
        meta = {
            "source": source,
            "title": "",  # see the module notes: titles would leak
            "group": f"xquad/{lang}/p{i:03d}",  # every paragraph is its own group
            "language": META_LANG[lang],
            "audience": "all",
            "doc_type": "benchmark",
            "section": "",
            "kind": "text",
            "chunk_index": "0",
        }
        chunks.append(Chunk(f"{source}#{content_hash(text)[:16]}", text, text, meta))
    return chunks


def build_index(lang: str, paragraphs: list[str], embedder, workdir: Path):
    """A LoadedIndex like `open_index` returns, with each paragraph embedded exactly once."""
    from bot.index import IndexStore, LoadedIndex, build_bm25

    chunks = make_chunks(lang, paragraphs)
    data_dir = workdir / lang
    data_dir.mkdir(parents=True, exist_ok=True)
    writer = IndexStore(data_dir)
    store = writer.vector_store(embedder)
    started = time.perf_counter()
    vectors = embedder.embed_documents([c.embed_text for c in chunks])
    seconds = time.perf_counter() - started
    writer.add_vectors(chunks, vectors)
    index = LoadedIndex(chunks, build_bm25(chunks), store, embedder.name)
    return index, seconds


def score(ranked: list[int], gold: int) -> tuple[float, float, float]:
    """hit@1, hit@5, reciprocal rank within the first K."""
    try:
        rank = ranked.index(gold) + 1
    except ValueError:
        return 0.0, 0.0, 0.0
    return float(rank == 1), float(rank <= 5), (1.0 / rank if rank <= K else 0.0)


def run(limit: int | None, traditional: bool, data_dir: Path, log=print) -> dict:
    from bot.config import DEFAULT_EMBEDDING_MODEL
    from bot.embeddings import load_embedder
    from bot.retrieval import HybridRetriever

    t0 = time.perf_counter()
    data = {lang: load_xquad(data_dir / f"xquad.{lang}.json", traditional) for lang in LANGS}
    ids = [q.id for q in data["en"][1]]
    for lang in LANGS:
        paragraphs, questions = data[lang]
        assert len(paragraphs) == len(data["en"][0]), f"{lang}: paragraph count differs"
        assert [q.id for q in questions] == ids, f"{lang}: questions are not parallel"
        assert [q.gold for q in questions] == [q.gold for q in data["en"][1]]
    if limit:
        # Spread the sample over all paragraphs rather than taking the first articles only.
        step = max(1, len(ids) // limit)
        keep = list(range(0, len(ids), step))[:limit]
        data = {lang: (p, [qs[i] for i in keep]) for lang, (p, qs) in data.items()}
    load_s = time.perf_counter() - t0

    t = time.perf_counter()
    embedder = load_embedder(DEFAULT_EMBEDDING_MODEL)
    model_s = time.perf_counter() - t
    timings: dict[str, float] = {"load_data_s": load_s, "load_model_s": model_s}
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="xquad-bench-") as tmp:
        retrievers = {}
        for lang in LANGS:
            index, seconds = build_index(lang, data[lang][0], embedder, Path(tmp))
            retrievers[lang] = HybridRetriever(index, embedder)
            timings[f"embed_paragraphs_{lang}_s"] = seconds
            log(f"indexed {len(index.chunks)} {lang} paragraphs, embedded in {seconds:.1f} s")
        qvecs = {}
        for lang in LANGS:
            t = time.perf_counter()
            qvecs[lang] = [embedder.embed_query(q.text) for q in data[lang][1]]
            timings[f"embed_questions_{lang}_s"] = time.perf_counter() - t
            log(f"embedded {len(qvecs[lang])} {lang} questions in {timings[f'embed_questions_{lang}_s']:.1f} s")
        search_s = {m: 0.0 for m in MODES}
        searches = 0
        for qlang in LANGS:
            questions = data[qlang][1]
            for plang in LANGS:
                retriever = retrievers[plang]
                pos_of = {c.id: i for i, c in enumerate(retriever.index.chunks)}
                row = {}
                for mode in MODES:
                    sums = np.zeros(3)
                    t = time.perf_counter()
                    for q, vec in zip(questions, qvecs[qlang]):
                        hits = retriever.search(
                            q.text, k=K, language=META_LANG[qlang], mode=mode, query_vector=vec
                        )
                        sums += score([pos_of[h.chunk.id] for h in hits], q.gold)
                    search_s[mode] += time.perf_counter() - t
                    searches += len(questions)
                    n = max(1, len(questions))
                    row[mode] = {"hit@1": sums[0] / n, "hit@5": sums[1] / n, "mrr@10": sums[2] / n}
                results[f"{qlang}->{plang}"] = row
                log(
                    f"{qlang}->{plang}: "
                    + "  ".join(f"{m} {row[m]['hit@1']:.3f}" for m in MODES)
                    + "  (hit@1)"
                )
    for mode in MODES:
        timings[f"search_{mode}_s"] = search_s[mode]
    timings["total_s"] = time.perf_counter() - t0
    n_questions = len(data["en"][1])
    return {
        "benchmark": "XQuAD paragraph retrieval (240 paragraphs per language)",
        "model": embedder.name,
        "machine": machine(),
        "questions_per_language": n_questions,
        "zh_script": "Traditional (converted with bot.language.to_traditional)" if traditional else "Simplified (original)",
        "timings": {k: round(v, 2) for k, v in timings.items()},
        "searches": searches,
        "results": results,
        "acceptance": acceptance(results),
    }


def acceptance(results: dict) -> dict:
    """Hybrid hit@1 must be >= both baselines in every direction."""
    failures = [
        d
        for d, row in results.items()
        if row["hybrid"]["hit@1"] < max(row["dense"]["hit@1"], row["bm25"]["hit@1"])
    ]
    return {"passed": not failures, "failures": failures}


def markdown(report: dict) -> str:
    head = "| direction (q->p) | " + " | ".join(
        f"{m} hit@1 | {m} hit@5 | {m} MRR@10" for m in MODES
    ) + " |"
    lines = [head, "|" + "---|" * (1 + 3 * len(MODES))]
    means = {m: np.zeros(3) for m in MODES}
    for direction, row in report["results"].items():
        cells = []
        for m in MODES:
            values = (row[m]["hit@1"], row[m]["hit@5"], row[m]["mrr@10"])
            means[m] += values
            cells += [f"{v:.3f}" for v in values]
        lines.append(f"| {direction} | " + " | ".join(cells) + " |")
    n = max(1, len(report["results"]))
    lines.append(
        "| **mean** | " + " | ".join(f"**{v / n:.3f}**" for m in MODES for v in means[m]) + " |"
    )
    mach, t = report["machine"], report["timings"]
    embed_p = sum(v for k, v in t.items() if k.startswith("embed_paragraphs"))
    embed_q = sum(v for k, v in t.items() if k.startswith("embed_questions"))
    acc = report["acceptance"]
    lines += [
        "",
        f"- model: {report['model']}; zh text: {report['zh_script']}",
        f"- machine: {mach['nproc']} cores, {mach['cpu']}, Python {mach['python']}",
        (
            f"- questions per language: {report['questions_per_language']}; "
            f"{report['searches']} searches in all"
        ),
        (
            f"- time: total {t['total_s']:.1f} s; model load {t['load_model_s']:.1f} s; "
            f"embedding 720 paragraphs {embed_p:.1f} s; questions {embed_q:.1f} s; search "
            + ", ".join(f"{m} {t[f'search_{m}_s']:.1f} s" for m in MODES)
        ),
        "- language preference: passed, but no effect here (every paragraph is its own group)",
        "- acceptance (hybrid hit@1 >= dense and BM25 in all 9 directions): "
        + ("PASS" if acc["passed"] else "FAIL in " + ", ".join(acc["failures"])),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="questions per language")
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON")
    parser.add_argument("--simplified", action="store_true", help="keep XQuAD zh in Simplified")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with xquad.*.json")
    args = parser.parse_args(argv)
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    report = run(args.limit, not args.simplified, args.data, log=lambda s: print(s, file=sys.stderr))
    print(markdown(report))
    if args.out:
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0 if report["acceptance"]["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
