"""Peak RSS of a bot process with the index loaded and a few questions answered.

A child `python -c` process builds `Assistant.from_settings(settings)` (embedding model, Chroma,
BM25, chunks, exam calendar), answers `--limit` dev-set questions (covering en/es/zh-TW, so the
language detector's tables and OpenCC are loaded too), and reports its RSS after import, after
loading and after answering, and its peak (VmHWM from /proc/self/status). The parent also reads
`resource.getrusage(RUSAGE_CHILDREN).ru_maxrss` (the peak of its largest waited-for child).
`--runs` children are started one after another; the median peak is the figure. Target: <= 800 MB.

`--cli` measures `python -m bot ask --batch FILE` instead (the command-line entry point; only the
parent's ru_maxrss and the child's exit status are available then).

Usage: python -m bench.memory [--limit 12] [--runs 3] [--data-dir data] [--cli] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench._common import (
    DATA,
    DEV_SET,
    KNOWLEDGE,
    ROOT,
    ensure_index,
    load_questions,
    loadavg,
    machine,
    machine_table,
    md_table,
    settings_for,
    write_json,
)

TARGET_MB = 800.0

CHILD = r"""
import json, sys
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024.0
    return float("nan")
out = {"after_import_mb": None}
import logging
logging.disable(logging.WARNING)
from bench._common import settings_for
from bot.assistant import Assistant
out["after_import_mb"] = status("VmRSS")
args = json.loads(sys.argv[1])
assistant = Assistant.from_settings(settings_for(args["data_dir"], args["knowledge_dir"]))
out["after_load_mb"] = status("VmRSS")
out["chunks"] = len(assistant.retriever.index.chunks)
answered = 0
for q in args["questions"]:
    answered += assistant.answer(q).answered
out["answered"] = answered
out["after_answers_mb"] = status("VmRSS")
out["peak_vmhwm_mb"] = status("VmHWM")
print("MEMORY " + json.dumps(out))
"""


def spread(items: list[dict], n: int) -> list[str]:
    """n questions, round-robin over the languages of the set."""
    by_lang: dict[str, list[str]] = {}
    for item in items:
        by_lang.setdefault(item.get("lang", "?"), []).append(item["question"])
    out: list[str] = []
    while len(out) < n and any(by_lang.values()):
        for qs in by_lang.values():
            if qs and len(out) < n:
                out.append(qs.pop(0))
    return out


def one_child(questions: list[str], data_dir: Path, knowledge: Path, cli: bool) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    load0 = loadavg()
    if cli:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
            f.write("\n".join(questions) + "\n")
            batch = f.name
        env.update(PUENTE_DATA_DIR=str(data_dir), PUENTE_KNOWLEDGE_DIR=str(knowledge), LLM_PROVIDER="none",
                   TELEGRAM_BOT_TOKEN="")
        cmd = [sys.executable, "-m", "bot", "ask", "--batch", batch]
    else:
        args = json.dumps({"data_dir": str(data_dir), "knowledge_dir": str(knowledge), "questions": questions})
        cmd = [sys.executable, "-c", CHILD, args]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = proc.communicate()
    # ru_maxrss of RUSAGE_CHILDREN is the largest waited-for child so far (KB on Linux)
    children_max_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    if cli:
        os.unlink(batch)
    if proc.returncode != 0:
        raise RuntimeError(f"child failed ({proc.returncode}): {stderr[-2000:]}")
    result: dict = {"children_ru_maxrss_mb": round(children_max_mb, 1), "load": f"{load0} → {loadavg()}"}
    if cli:
        result["answered"] = sum(json.loads(line).get("answered", False) for line in stdout.splitlines()
                                 if line.startswith("{"))
    else:
        line = next(ln for ln in stdout.splitlines() if ln.startswith("MEMORY "))
        result.update({k: (round(v, 1) if isinstance(v, float) else v)
                       for k, v in json.loads(line[len("MEMORY "):]).items()})
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--questions", type=Path, default=DEV_SET)
    parser.add_argument("--limit", type=int, default=12)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--knowledge", type=Path, default=KNOWLEDGE)
    parser.add_argument("--cli", action="store_true", help="measure `python -m bot ask --batch`")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    log = lambda m: print(m, file=sys.stderr, flush=True)

    info = machine()
    ensure_index(settings_for(args.data_dir, args.knowledge), log)
    questions = spread(load_questions(args.questions), args.limit)
    runs = []
    for i in range(args.runs):
        runs.append(one_child(questions, args.data_dir.resolve(), args.knowledge.resolve(), args.cli))
        log(f"  run {i + 1}/{args.runs}: {runs[-1]}")
    peak_key = "children_ru_maxrss_mb" if args.cli else "peak_vmhwm_mb"
    peak = statistics.median(r[peak_key] for r in runs)
    cols = ["after_import_mb", "after_load_mb", "after_answers_mb", "peak_vmhwm_mb", "children_ru_maxrss_mb",
            "answered", "load"]
    rows = [[i + 1, *(r.get(c) for c in cols)] for i, r in enumerate(runs)]
    what = "`python -m bot ask --batch`" if args.cli else "`python -c` building Assistant.from_settings"
    info["load_avg_at_end"] = loadavg()
    print("\n".join([
        "# Peak memory of a bot process", "", machine_table(info), "",
        f"Child: {what} over `{args.data_dir}`, {len(questions)} questions answered.", "",
        md_table(["run", "RSS after import MB", "after load MB", "after answers MB", "peak VmHWM MB",
                  "parent's RUSAGE_CHILDREN ru_maxrss MB", "answered", "load avg (before → after)"], rows),
        "",
        md_table(["figure", "value", "target", "verdict", "load avg"],
                 [[f"peak RSS, median of {len(runs)} ({peak_key})", f"{peak:.1f} MB", f"≤ {TARGET_MB:g} MB",
                   "PASS" if peak <= TARGET_MB else "MISS", info["load_avg_at_end"]]]),
    ]))
    write_json(args.json, {"machine": info, "questions": questions, "runs": runs, "peak_mb": peak})
    return 0


if __name__ == "__main__":
    sys.exit(main())
