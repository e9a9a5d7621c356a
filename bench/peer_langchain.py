"""Puente against a stock LangChain retrieval pipeline, on the dev set, in the same run.

The peer: `langchain_chroma.Chroma` as a dense-only retriever
(`as_retriever(search_kwargs={"k": 1})`) with the same embedding model
(`bot.embeddings.LangChainEmbeddings(load_embedder(...))`), and "the top passage is the answer":
always answered, its sources the passage's source/section, its language the question's detected
language (`bot.language.detect_language`, English when undetected). No triage, no calendar, no
abstention, no hybrid fusion.

Index of the peer (`--peer-index`):
  shared  (default) Puente's own Chroma collection in the data folder: the same vectors, no
          embedding cost. The passage text is what the ingest stored as the document, i.e. the
          chunk's `embed_text` (title › section, then the text).
  own     `Chroma.from_texts` over the same chunks (their `embed_text` and metadata) in a temp
          folder: the chunks are embedded once more, and that time is printed.

Both systems answer every question; quality is judged by `bot.evaluation.judge` and
`Scores.metrics()` (the peer gets AnswerRecord objects), latency is timed per question over
`--passes` passes after a warm-up pass, alternating the two systems per pass.

Usage: python -m bench.peer_langchain [--limit N] [--passes 3] [--peer-index shared|own] [--json OUT]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench._common import (
    DATA,
    DEV_SET,
    KNOWLEDGE,
    best_of_passes,
    ensure_index,
    load_questions,
    loadavg,
    machine,
    machine_table,
    md_table,
    median_of,
    settings_for,
    summarize,
    write_json,
)


class LangChainPeer:
    """Dense top-1 retrieval with stock LangChain; the passage is the answer."""

    def __init__(self, store) -> None:
        from bot.language import detect_language

        self.store = store
        self.retriever = store.as_retriever(search_kwargs={"k": 1})
        self.detect = detect_language

    def answer(self, question: str):
        from bot.records import AnswerRecord, Citation

        docs = self.retriever.invoke(question)
        lang = self.detect(question) or "en"
        if not docs:
            return AnswerRecord(question, lang, "", answered=True)
        doc = docs[0]
        meta = doc.metadata or {}
        sources = [Citation(meta.get("source", ""), meta.get("section", ""))]
        return AnswerRecord(question, lang, doc.page_content, answered=True, sources=sources)


def build_peer(settings, embedder, mode: str, workdir: Path | None, log=print) -> tuple[LangChainPeer, dict]:
    from langchain_chroma import Chroma

    from bot.embeddings import LangChainEmbeddings
    from bot.index import IndexStore, read_chunks

    embeddings = LangChainEmbeddings(embedder)
    if mode == "shared":  # LangChain's Chroma over Puente's own collection
        store = IndexStore(Path(settings.data_dir)).vector_store(embedder)
        return LangChainPeer(store), {"peer_index": f"shared: Puente's collection in {settings.data_dir}",
                                      "peer_embed_s": 0.0}
    chunks = read_chunks(Path(settings.data_dir))
    log(f"peer: embedding {len(chunks)} chunks with Chroma.from_texts (load {loadavg()})")
    t0 = time.perf_counter()
    store = Chroma.from_texts(
        texts=[c.embed_text for c in chunks],
        embedding=embeddings,
        metadatas=[{k: str(v) for k, v in c.metadata.items() if v is not None} for c in chunks],
        ids=[c.id for c in chunks],
        collection_name="peer",
        persist_directory=str(workdir),
        collection_metadata={"hnsw:space": "cosine"},
    )
    seconds = time.perf_counter() - t0
    return LangChainPeer(store), {"peer_index": f"own: Chroma.from_texts in a temp folder ({len(chunks)} chunks)",
                                  "peer_embed_s": round(seconds, 1), "peer_embed_load": loadavg()}


def timed_answers(system, items: list[dict]) -> tuple[list, list[float]]:
    records, ms = [], []
    for item in items:
        t0 = time.perf_counter()
        records.append(system.answer(item["question"]))
        ms.append((time.perf_counter() - t0) * 1000.0)
    return records, ms


def run(items: list[dict], settings, passes: int, peer_mode: str, log=print) -> dict:
    from bot.assistant import Assistant
    from bot.evaluation import Scores, judge

    assistant = Assistant.from_settings(settings)
    with tempfile.TemporaryDirectory(prefix="peer-chroma-") as tmp:
        peer, peer_info = build_peer(settings, assistant.retriever.embedder, peer_mode, Path(tmp), log)
        systems = {"Puente": assistant, "LangChain peer": peer}
        results = {}
        load_before = loadavg()
        for name, system in systems.items():  # warm-up pass, also the judged answers
            records, _ = timed_answers(system, items)
            scores = Scores([judge(item, rec) for item, rec in zip(items, records)])
            results[name] = {"metrics": scores.metrics(), "samples": [], "runs": [], "passes": []}
        for i in range(passes):
            order = list(systems.items()) if i % 2 == 0 else list(reversed(systems.items()))
            for name, system in order:
                _, ms = timed_answers(system, items)
                results[name]["samples"] += ms
                results[name]["passes"].append(ms)
                results[name]["runs"].append(summarize(ms))
            log(f"  pass {i + 1}/{passes} done (load {loadavg()})")
        for r in results.values():
            r["latency"] = summarize(r.pop("samples"))
            r["latency_best"] = summarize(best_of_passes(r.pop("passes")))
            r["p95_median_of_passes"] = median_of(r["runs"], "p95_ms")
    return {"load_before": load_before, "load_after": loadavg(), "systems": results, **peer_info}


def report(result: dict, info: dict) -> str:
    names = list(result["systems"])
    systems = result["systems"]
    metric_rows = [[key, *(systems[n]["metrics"][key] for n in names)]
                   for key in systems[names[0]]["metrics"]]
    lat_rows = []
    for key, label in (("p50_ms", "latency p50 ms"), ("p95_ms", "latency p95 ms"), ("mean_ms", "latency mean ms"),
                       ("n", "timed calls")):
        lat_rows.append([label, *(systems[n]["latency"][key] for n in names)])
    lat_rows.append(["median of per-pass p95 ms", *(systems[n]["p95_median_of_passes"] for n in names)])
    for key in ("p50_ms", "p95_ms"):
        lat_rows.append([f"best-of-passes {key[:3]} ms (per question, fastest pass)",
                         *(systems[n]["latency_best"][key] for n in names)])
    lat_rows.append(["load avg (before → after)", *([f"{result['load_before']} → {result['load_after']}"] * len(names))])
    out = ["# Puente vs a stock LangChain retriever (dense top-1, passage as answer)", "",
           machine_table(info), "",
           f"Peer index: {result['peer_index']}"
           + (f"; embedding took {result['peer_embed_s']} s (load {result.get('peer_embed_load')})"
              if result["peer_embed_s"] else "; no embedding cost (same vectors)"),
           "", md_table(["metric (dev set)", *names], metric_rows + lat_rows)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=Path, default=DEV_SET)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--peer-index", choices=("shared", "own"), default="shared")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    log = lambda m: print(m, file=sys.stderr, flush=True)

    import logging

    logging.getLogger("bot").setLevel(logging.WARNING)
    info = machine()
    items = load_questions(args.questions, args.limit)
    settings = settings_for(args.data_dir, KNOWLEDGE)
    ensure_index(settings, log)
    result = run(items, settings, args.passes, args.peer_index, log)
    info["load_avg_at_end"] = loadavg()
    print(report(result, info))
    write_json(args.json, {"machine": info, **result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
