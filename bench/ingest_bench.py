"""Ingest timings with the real pipeline, in a temp copy of the knowledge folder and a temp data dir.

  1. cold full ingest (`bot.ingestion.cli.run_ingest`): seconds, chunks, chunks/s (includes
     loading the model, loading and chunking the files, embedding, Chroma, BM25, manifest);
  2. model load alone (`load_embedder`), for reference;
  3. the raw embedding throughput of the model on the same chunk texts (`embed_text`):
     `embedder.embed_documents` in batches of 32, passages/s (`--embed-runs` runs, median);
  4. a no-change re-ingest (`--reingest-runs` runs, median): target <= 2 s, embedded must be 0;
  5. one changed file (a paragraph appended to one Markdown file): seconds and embedded count
     (`--change-runs` runs, each appending a new paragraph; the model load is included, since
     the pipeline loads the model only when something must be embedded).

Usage: python -m bench.ingest_bench [--knowledge DIR] [--embed-runs 2] [--reingest-runs 3]
                                    [--change-runs 2] [--json OUT]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench._common import (
    KNOWLEDGE,
    loadavg,
    machine,
    machine_table,
    md_table,
    settings_for,
    write_json,
)

TARGET_REINGEST_S = 2.0


def pick_changed_file(knowledge: Path) -> Path:
    from bot.ingestion.pipeline import knowledge_files

    md = [p for p in knowledge_files(knowledge) if p.suffix.lower() == ".md"]
    if not md:
        raise SystemExit(f"no Markdown file in {knowledge} to change")
    return min(md, key=lambda p: p.stat().st_size)


def run(knowledge_src: Path, embed_runs: int, reingest_runs: int, change_runs: int, log=print) -> dict:
    from bot.embeddings import load_embedder
    from bot.index import read_chunks
    from bot.ingestion.cli import run_ingest

    rows: list[list] = []
    out: dict = {"knowledge": str(knowledge_src)}
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        knowledge = Path(tmp) / "knowledge"
        shutil.copytree(knowledge_src, knowledge)
        data = Path(tmp) / "data"
        settings = settings_for(data, knowledge)

        log(f"cold full ingest (load {loadavg()})")
        load0 = loadavg()
        report = run_ingest(settings, progress=False)
        chunks = len(read_chunks(data))
        cold = {"seconds": round(report.seconds, 2), "chunks": chunks, "embedded": report.embedded,
                "chunks_per_s": round(chunks / report.seconds, 2), "files": report.files,
                "skipped": report.skipped, "load": f"{load0} → {loadavg()}"}
        out["cold"] = cold
        rows.append(["cold full ingest", f"{cold['seconds']} s", (f"{cold['chunks_per_s']} chunks/s "
                     f"({chunks} chunks, {report.files} files, embedded {report.embedded})"), "", cold["load"]])

        load0 = loadavg()
        t0 = time.perf_counter()
        embedder = load_embedder(settings.embedding_model)
        model_s = time.perf_counter() - t0
        out["model_load_s"] = round(model_s, 3)
        rows.append(["model load (load_embedder)", f"{model_s:.3f} s", "", "", f"{load0} → {loadavg()}"])

        texts = [c.embed_text for c in read_chunks(data)]
        rates, eloads = [], []
        embedder.embed_documents(texts[:2])  # warm
        for i in range(embed_runs):
            load0 = loadavg()
            t0 = time.perf_counter()
            for start in range(0, len(texts), 32):
                embedder.embed_documents(texts[start : start + 32])
            rates.append(len(texts) / (time.perf_counter() - t0))
            eloads.append(f"{load0} → {loadavg()}")
            log(f"  embedding run {i + 1}: {rates[-1]:.1f} passages/s (load {loadavg()})")
        out["embed_passages_per_s"] = [round(r, 2) for r in rates]
        out["embed_loads"] = eloads
        ingest_rate = cold["chunks_per_s"]
        rows.append([f"raw embedding, batches of 32 (median of {embed_runs})",
                     f"{statistics.median(rates):.1f} passages/s",
                     (f"runs: {', '.join(f'{r:.1f}' for r in rates)}; cold ingest reaches "
                     f"{100 * ingest_rate / statistics.median(rates):.0f}% of it"), "", "; ".join(eloads)])

        secs, embedded, rloads = [], [], []
        for _ in range(reingest_runs):
            load0 = loadavg()
            r = run_ingest(settings, progress=False)
            secs.append(r.seconds)
            embedded.append(r.embedded)
            rloads.append(f"{load0} → {loadavg()}")
        med = statistics.median(secs)
        out["reingest"] = {"seconds": [round(s, 3) for s in secs], "embedded": embedded, "loads": rloads}
        ok = med <= TARGET_REINGEST_S and not any(embedded)
        rows.append([f"no-change re-ingest (median of {reingest_runs})", f"{med:.3f} s",
                     f"embedded {embedded}; runs {', '.join(f'{s:.2f}' for s in secs)} s",
                     f"≤ {TARGET_REINGEST_S:g} s and 0 embedded: {'PASS' if ok else 'MISS'}", "; ".join(rloads)])

        target = pick_changed_file(knowledge)
        csecs, cemb, cloads = [], [], []
        for i in range(change_runs):
            with target.open("a", encoding="utf-8") as handle:
                handle.write(f"\n\nBenchmark paragraph {i}: the reading room opens at 08:{10 + i} on weekdays.\n")
            load0 = loadavg()
            r = run_ingest(settings, progress=False)
            csecs.append(r.seconds)
            cemb.append(r.embedded)
            cloads.append(f"{load0} → {loadavg()}")
        out["changed"] = {"file": target.relative_to(knowledge).as_posix(), "seconds": [round(s, 3) for s in csecs],
                          "embedded": cemb, "loads": cloads}
        rows.append([f"one changed file (median of {change_runs})", f"{statistics.median(csecs):.3f} s",
                     (f"{out['changed']['file']}: embedded {cemb}; runs {', '.join(f'{s:.2f}' for s in csecs)} s "
                     "(includes the model load)"), "", "; ".join(cloads)])
    out["rows"] = rows
    return out


def report(result: dict, info: dict) -> str:
    return "\n".join([
        "# Ingest benchmark", "", machine_table(info), "",
        f"Knowledge: a temp copy of `{result['knowledge']}`; data: a temp folder.", "",
        md_table(["step", "figure", "detail", "target", "load avg (before → after)"], result["rows"]),
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--knowledge", type=Path, default=KNOWLEDGE)
    parser.add_argument("--embed-runs", type=int, default=2)
    parser.add_argument("--reingest-runs", type=int, default=3)
    parser.add_argument("--change-runs", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    log = lambda m: print(m, file=sys.stderr, flush=True)

    import logging

    logging.getLogger("bot").setLevel(logging.WARNING)
    info = machine()
    result = run(args.knowledge, args.embed_runs, args.reingest_runs, args.change_runs, log)
    info["load_avg_at_end"] = loadavg()
    print(report(result, info))
    write_json(args.json, {"machine": info, **result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
