"""Warm, in-process latency of `Assistant.answer` against its floor, on the sample knowledge and
on a synthetic corpus of ~10,000 chunks.

  ask    `Assistant.answer(question)`: language detection, triage, calendar, hybrid retrieval
         (query embedding, exact dense search, BM25, fusion, the learned ranking), extractive
         composition and the answer gate.
  floor  what any dense retriever pays: `embedder.embed_query(q)` plus one Chroma query,
         `index.collection.query(query_embeddings=[v], n_results=6)` (Chroma directly).

Protocol: the assistant is built once; one warm-up pass over the questions (not timed), then
`--passes` passes; each pass times ask over every question, then the floor over every question
(interleaved, so load drift hits both alike). p50/p95/mean are over all timed calls; the
per-pass p50/p95 are printed too, with their median, and the load average beside each phase.
A stage breakdown (one extra pass with timers wrapped around the assistant's parts, at run time;
no code in bot/ is changed) shows where ask's time goes; when a target is missed, a cProfile of
one pass is printed as well (`--profile` forces it).

  follow-up  `Assistant.answer(last message, history=the turns before it)` on the conversations
         of `eval/conversations/train.jsonl` (the earlier turns played once, not timed): the
         standalone and the carried-over search, both gated (sample knowledge only).

Targets: ask p95 <= 50 ms on the sample knowledge and <= 1.5 x the floor's p95; a follow-up's
ask p95 <= 1.5 x the floor's p95; ask p95 <= 100 ms at 10,000 chunks.

The 10k corpus (`bench/synthetic.py`) is cached under `bench/.cache/`; the first build embeds
~9,300 chunks (~10 min on 2 quiet cores). `--skip-10k` leaves it out; `--no-build` uses it only
when it is already built.

Usage: python -m bench.latency [--limit N] [--passes 5] [--skip-10k] [--no-build] [--profile]
                               [--json OUT]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

from bench._common import (
    DATA,
    DEV_SET,
    KNOWLEDGE,
    ROOT,
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

TARGET_ASK_P95_MS = 50.0
TARGET_RATIO = 1.5
TARGET_10K_P95_MS = 100.0
FLOOR_K = 6


def floor_call(assistant, question: str, k: int = FLOOR_K) -> None:
    """The floor: embedding the query plus one Chroma query, straight on the collection."""
    index = assistant.retriever.index
    vector = assistant.retriever.embedder.embed_query(question)
    index.collection.query(query_embeddings=[vector.tolist()], n_results=k, include=["distances"])


def time_calls(fn, questions: list[str]) -> list[float]:
    out = []
    for q in questions:
        t0 = time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


CONVERSATIONS = ROOT / "eval" / "conversations" / "train.jsonl"


def follow_up_calls(assistant, path: Path = CONVERSATIONS) -> list[tuple[str, list]]:
    """(last message, the turns before it) of each conversation, its earlier turns played once
    through `Conversations` as Telegram and the console do."""
    import json
    from datetime import datetime, timezone

    from bot.conversation import Conversations, MemoryConversationStore

    calls = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        turns = json.loads(line)["turns"]
        store = MemoryConversationStore()
        chat = Conversations(assistant, store)
        for text in turns[:-1]:
            chat.reply(1, text, user_id=1)
        history = store.load(1, since=datetime(2000, 1, 1, tzinfo=timezone.utc))
        if history:
            calls.append((turns[-1], history))
    return calls


def measure(assistant, questions: list[str], passes: int, log=print, follow_ups=None) -> dict:
    """Warm-up, then `passes` interleaved passes of ask, the follow-ups (when given) and floor."""
    load_before = loadavg()
    follow_ups = follow_ups or []
    for q in questions:  # warm-up: detector tables, vocabulary, Chroma caches
        assistant.answer(q)
        floor_call(assistant, q)
    for text, history in follow_ups:
        assistant.answer(text, history=history)
    follow_all, follow_passes = [], []
    ask_all, floor_all, ask_runs, floor_runs, loads, wide_all = [], [], [], [], [], []
    ask_passes, floor_passes, wide_passes = [], [], []
    wide_k = assistant.retriever.candidates
    for i in range(passes):
        ask = time_calls(assistant.answer, questions)
        if follow_ups:
            follow = time_calls(lambda call: assistant.answer(call[0], history=call[1]), follow_ups)
            follow_all += follow
            follow_passes.append(follow)
        flo = time_calls(lambda q: floor_call(assistant, q), questions)
        wide = time_calls(lambda q: floor_call(assistant, q, wide_k), questions)
        wide_all += wide
        ask_passes.append(ask)
        floor_passes.append(flo)
        wide_passes.append(wide)
        ask_all += ask
        floor_all += flo
        ask_runs.append(summarize(ask))
        floor_runs.append(summarize(flo))
        loads.append(loadavg())
        log(f"  pass {i + 1}/{passes}: ask p50 {ask_runs[-1]['p50_ms']} p95 {ask_runs[-1]['p95_ms']} ms, "
            f"floor p50 {floor_runs[-1]['p50_ms']} p95 {floor_runs[-1]['p95_ms']} ms (load {loads[-1]})")
    ask_s, floor_s = summarize(ask_all), summarize(floor_all)
    out = {
        "questions": len(questions),
        "passes": passes,
        "load_before": load_before,
        "load_after": loadavg(),
        "load_per_pass": loads,
        "ask": ask_s,
        "floor": floor_s,
        "floor_wide": summarize(wide_all),
        "ask_best": summarize(best_of_passes(ask_passes)),
        "floor_best": summarize(best_of_passes(floor_passes)),
        "floor_wide_best": summarize(best_of_passes(wide_passes)),
        "floor_wide_k": wide_k,
        "ask_per_pass": ask_runs,
        "floor_per_pass": floor_runs,
        "ask_p95_median_of_passes": median_of(ask_runs, "p95_ms"),
        "floor_p95_median_of_passes": median_of(floor_runs, "p95_ms"),
        "ratio_p50": round(ask_s["p50_ms"] / floor_s["p50_ms"], 2),
        "ratio_p95": round(ask_s["p95_ms"] / floor_s["p95_ms"], 2),
    }
    for key in ("p50_ms", "p95_ms"):
        out[f"ratio_best_{key[:3]}"] = round(out["ask_best"][key] / out["floor_best"][key], 2)
    if follow_all:
        out["follow_up"] = summarize(follow_all)
        out["follow_up_best"] = summarize(best_of_passes(follow_passes))
        out["follow_up_ratio_p95"] = round(out["follow_up"]["p95_ms"] / floor_s["p95_ms"], 2)
    return out


class _Timers:
    """Wraps callables on live objects/modules with accumulating timers (restored afterwards)."""

    def __init__(self) -> None:
        self.totals: dict[str, list[float]] = {}
        self._undo: list[tuple[object, str, object, bool]] = []

    def wrap(self, owner, attr: str, label: str) -> None:
        original = getattr(owner, attr)
        had_own = isinstance(owner, type(sys)) or attr in getattr(owner, "__dict__", {})
        bucket = self.totals.setdefault(label, [])

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                bucket.append((time.perf_counter() - t0) * 1000.0)

        setattr(owner, attr, timed)
        self._undo.append((owner, attr, original, had_own))

    def restore(self) -> None:
        for owner, attr, original, had_own in reversed(self._undo):
            if had_own:
                setattr(owner, attr, original)
            else:
                delattr(owner, attr)


def stage_breakdown(assistant, questions: list[str]) -> list[list]:
    """ms per question spent in each part of `answer` (one pass)."""
    import bot.assistant as assistant_module
    import bot.retrieval as retrieval_module

    retriever = assistant.retriever
    index = retriever.index
    timers = _Timers()
    timers.wrap(assistant.detector, "detect", "language detection")
    timers.wrap(assistant.triager, "classify", "triage")
    timers.wrap(assistant, "_calendar_answer", "calendar (parse + answer)")
    timers.wrap(retriever, "search", "retriever.search (total)")
    timers.wrap(retriever, "embed_query", "  query embedding")
    timers.wrap(retrieval_module, "dense_search", "  dense search (k=40)")
    timers.wrap(index.bm25, "get_scores", "  BM25 get_scores")
    timers.wrap(retriever, "_exact_matches", "  exact-identifier scan")
    if getattr(retriever, "ranker", None) is not None:
        timers.wrap(retriever, "ranking_candidates", "  learned ranking: candidates and features")
    timers.wrap(assistant_module, "compose", "extractive compose")
    import bot.answering.gate as gate_module

    timers.wrap(gate_module, "signals", "answer gate signals")
    total = []
    try:
        total = time_calls(assistant.answer, questions)
    finally:
        timers.restore()
    n = len(questions)
    mean = sum(total) / n
    rows = [["answer (total, with timer overhead)", round(mean, 2), 100]]
    for label, samples in timers.totals.items():
        per_q = sum(samples) / n
        rows.append([label, round(per_q, 2), round(100 * per_q / mean)])
    return rows


def profile_pass(assistant, questions: list[str], top: int = 18) -> str:
    prof = cProfile.Profile()
    prof.enable()
    for q in questions:
        assistant.answer(q)
    prof.disable()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return buf.getvalue()


def run_corpus(name: str, settings, questions: list[str], passes: int, target_p95: float,
               profile: bool, log=print, ratio_target: bool = True, follow_ups: bool = False) -> dict:
    from bot.assistant import Assistant

    log(f"[{name}] loading the assistant over {settings.data_dir} (load {loadavg()})")
    t0 = time.perf_counter()
    assistant = Assistant.from_settings(settings)
    load_s = time.perf_counter() - t0
    calls = follow_up_calls(assistant) if follow_ups else None
    result = measure(assistant, questions, passes, log, follow_ups=calls)
    result["corpus"] = name
    result["chunks"] = len(assistant.retriever.index.chunks)
    result["assistant_load_s"] = round(load_s, 2)
    result["breakdown"] = stage_breakdown(assistant, questions)
    result["breakdown_load"] = loadavg()
    result["target_p95_ms"] = target_p95
    result["meets_p95"] = result["ask"]["p95_ms"] <= target_p95
    result["meets_ratio"] = result["ratio_p95"] <= TARGET_RATIO if ratio_target else None
    if "follow_up" in result:
        result["follow_up_meets_ratio"] = result["follow_up_ratio_p95"] <= TARGET_RATIO
    if profile or not result["meets_p95"] or result["meets_ratio"] is False:
        result["profile"] = profile_pass(assistant, questions)
        result["profile_load"] = loadavg()
    return result


def report(results: list[dict], info: dict) -> str:
    out = ["# Puente latency (warm, in-process)", "", machine_table(info), ""]
    rows = []
    for r in results:
        load = f"{r['load_before']} → {r['load_after']}"
        for what, label in (("ask", "ask"), ("follow_up", "ask, a follow-up (with its history)"),
                            ("floor", "floor (k=6)"),
                            ("floor_wide", f"floor at k={r['floor_wide_k']} (the retriever's candidates)")):
            if what not in r:
                continue
            s, b = r[what], r[f"{what}_best"]
            rows.append([r["corpus"], r["chunks"], label, s["n"], s["p50_ms"], s["p95_ms"], s["mean_ms"],
                         r.get(f"{what}_p95_median_of_passes", "-"), b["p50_ms"], b["p95_ms"], load])
    out.append(md_table(
        ["corpus", "chunks", "call", "timed calls", "p50 ms", "p95 ms", "mean ms",
         "median of per-pass p95", "best-of-passes p50", "best-of-passes p95",
         "load avg (before → after)"], rows))
    out.append("")
    out.append("best-of-passes: per question, the fastest of its timed passes, then p50/p95 over the "
               "questions; an estimate of the uncontended cost when the load average is high.")
    out.append("")
    trows = []
    for r in results:
        trows.append([r["corpus"], f"ask p95 ≤ {r['target_p95_ms']:g} ms", r["ask"]["p95_ms"],
                      "PASS" if r["meets_p95"] else "MISS", r["load_after"]])
        verdict = {True: "PASS", False: "MISS", None: "(info)"}[r["meets_ratio"]]
        trows.append([r["corpus"], f"ask p95 ≤ {TARGET_RATIO}× floor p95", r["ratio_p95"],
                      verdict, r["load_after"]])
        trows.append([r["corpus"], "ask/floor at p50 (info)", r["ratio_p50"], "", r["load_after"]])
        if "follow_up" in r:
            trows.append([r["corpus"], f"follow-up ask p95 ≤ {TARGET_RATIO}× floor p95",
                          r["follow_up_ratio_p95"], "PASS" if r["follow_up_meets_ratio"] else "MISS",
                          r["load_after"]])
        best = r["ask_best"]["p95_ms"]
        trows.append([r["corpus"], f"best-of-passes ask p95 ≤ {r['target_p95_ms']:g} ms (info)", best,
                      "pass" if best <= r["target_p95_ms"] else "miss", r["load_after"]])
        trows.append([r["corpus"], "best-of-passes ask/floor p95 (p50) (info)",
                      f"{r['ratio_best_p95']} ({r['ratio_best_p50']})", "", r["load_after"]])
    out.append(md_table(["corpus", "target", "measured", "verdict", "load avg"], trows))
    for r in results:
        out += ["", (f"## Where ask's time goes: {r['corpus']} ({r['chunks']} chunks, "
                f"load {r['breakdown_load']})"), "",
                md_table(["stage", "ms per question (mean)", "% of answer"], r["breakdown"])]
        if r.get("profile"):
            out += ["", (f"<details><summary>cProfile, one pass, {r['corpus']} (load {r['profile_load']})"
                    "</summary>"), "", "```", r["profile"].strip(), "```", "</details>"]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=Path, default=DEV_SET)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--synthetic-chunks", type=int, default=10_000)
    parser.add_argument("--skip-10k", action="store_true", help="only the sample knowledge")
    parser.add_argument("--no-build", action="store_true", help="skip the 10k corpus unless cached")
    parser.add_argument("--synthetic-vectors", choices=("embedded", "noisy"), default="embedded",
                        help="embedded: copies embedded with the model (slow first build); noisy: "
                             "original vectors plus noise (fast build, see bench/synthetic.py)")
    parser.add_argument("--profile", action="store_true", help="cProfile one pass even when targets pass")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    log = lambda m: print(m, file=sys.stderr, flush=True)

    import logging

    logging.getLogger("bot").setLevel(logging.WARNING)
    info = machine()
    questions = [item["question"] for item in load_questions(args.questions, args.limit)]
    sample = settings_for(args.data_dir, KNOWLEDGE)
    ensure_index(sample, log)
    results = [run_corpus("sample knowledge", sample, questions, args.passes, TARGET_ASK_P95_MS,
                          args.profile, log, follow_ups=True)]
    if not args.skip_10k:
        from bench import synthetic

        folder = None
        if args.no_build:
            from bot.config import DEFAULT_EMBEDDING_MODEL

            candidate = synthetic.cache_dir(args.synthetic_chunks, args.data_dir, DEFAULT_EMBEDDING_MODEL,
                                            args.synthetic_vectors)
            if (candidate / "manifest.json").exists():
                folder = candidate
            else:
                log("10k corpus not cached; build it with `python -m bench.synthetic` (skipped)")
        else:
            folder = synthetic.build(args.synthetic_chunks, log=log, vectors=args.synthetic_vectors)
        if folder is not None:
            big = settings_for(folder, KNOWLEDGE)
            results.append(run_corpus(f"synthetic {args.synthetic_chunks // 1000}k ({args.synthetic_vectors})", big, questions,
                                      args.passes, TARGET_10K_P95_MS, args.profile, log,
                                      ratio_target=False))
    info["load_avg_at_end"] = loadavg()
    print(report(results, info))
    write_json(args.json, {"machine": info, "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
