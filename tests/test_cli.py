"""The command line as a person runs it: `python -m bot ask/search` and `python ingest.py`, as
subprocesses over the real index (slow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

LANGUAGES = {"es", "en", "zh-TW"}
REASONS = {None, "explicit_request", "crisis", "sensitive", "low_confidence"}
CONTRACT = {"question", "language", "answer", "answered", "sources", "confidence", "escalate",
            "escalation_reason"}

# Runs `python -m bot` unchanged, counting how often the heavy things are built (on stderr).
COUNTING_MAIN = """\
import atexit, runpy, sys
import bot.embeddings, bot.index
calls = {"load_embedder": 0, "open_index": 0}
def counted(name, real):
    def wrapper(*args, **kwargs):
        calls[name] += 1
        return real(*args, **kwargs)
    return wrapper
bot.embeddings.load_embedder = counted("load_embedder", bot.embeddings.load_embedder)
bot.index.open_index = counted("open_index", bot.index.open_index)
atexit.register(lambda: print("COUNTS " + repr(calls), file=sys.stderr))
sys.argv = ["bot", *sys.argv[1:]]
runpy.run_module("bot", run_name="__main__", alter_sys=True)
"""


def env_for(data_dir: Path, knowledge_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    env.update(
        PUENTE_DATA_DIR=str(data_dir),
        PUENTE_KNOWLEDGE_DIR=str(knowledge_dir),
        PUENTE_TODAY="2026-11-21",
        PUENTE_LOG_LEVEL="INFO",
        PYTHONPATH=str(ROOT),
        PYTHONIOENCODING="utf-8",
        HF_HUB_OFFLINE="1",
    )
    return env


def run(args: list[str], env: dict[str, str], timeout: float = 900) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, *args], check=False, cwd=ROOT, env=env, capture_output=True, text=True,
        encoding="utf-8", timeout=timeout,
    )
    return proc, time.perf_counter() - started


@pytest.fixture(scope="module")
def real_env(real_settings) -> dict[str, str]:
    return env_for(real_settings.data_dir, real_settings.knowledge_dir)


def batch_questions(dev_items: list[dict], n: int = 120) -> list[str]:
    """The dev questions, then varied (lower case, extra words) until there are n lines."""
    base = [" ".join(item["question"].split()) for item in dev_items]
    variants = [
        lambda q: q,
        lambda q: q.lower(),
        lambda q: f"{q} (please)" if q.isascii() else f"{q} 🙏",
    ]
    out: list[str] = []
    round_ = 0
    while len(out) < n:
        out += [variants[round_ % len(variants)](q) for q in base]
        round_ += 1
    return out[:n]


def test_ask_batch_json_answers_every_line_in_order_with_one_model_load(
    real_env, dev_items, tmp_path
):
    questions = batch_questions(dev_items)
    assert len(questions) == 120
    batch = tmp_path / "questions.txt"
    batch.write_text("\n".join(questions) + "\n", encoding="utf-8")
    script = tmp_path / "counting_main.py"
    script.write_text(COUNTING_MAIN, encoding="utf-8")

    single, single_s = run(["-m", "bot", "ask", questions[0], "--json"], real_env)
    assert single.returncode == 0, single.stderr[-2000:]
    assert json.loads(single.stdout.strip().splitlines()[-1])["question"] == questions[0]

    proc, batch_s = run([str(script), "ask", "--batch", str(batch), "--json"], real_env)
    print(f"\none `ask`: {single_s:.1f} s; 120 questions in one batch: {batch_s:.1f} s")
    assert proc.returncode == 0, proc.stderr[-2000:]

    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == 120
    records = [json.loads(line) for line in lines]
    assert [r["question"] for r in records] == questions
    for r in records:
        assert CONTRACT <= set(r), r
        assert r["language"] in LANGUAGES, r
        assert isinstance(r["answer"], str) and r["answer"].strip(), r
        assert isinstance(r["answered"], bool) and isinstance(r["escalate"], bool)
        assert isinstance(r["sources"], list)
        for s in r["sources"]:
            assert set(s) == {"source", "section"} and s["source"], s
            assert (Path(real_env["PUENTE_KNOWLEDGE_DIR"]) / s["source"]).exists(), s
        assert 0.0 <= r["confidence"] <= 1.0
        assert r["escalation_reason"] in REASONS
        assert r["escalation_reason"] is None or r["escalate"]
    # The same question asked three times gets the same decision.
    by_question: dict[str, list[dict]] = {}
    for r in records:
        by_question.setdefault(r["question"], []).append(r)
    for same in by_question.values():
        assert len({(r["answered"], r["escalate"], r["answer"]) for r in same}) == 1
    assert sum(r["answered"] for r in records) >= 40
    assert sum(r["escalate"] for r in records) >= 10

    # Loaded once: counted exactly. The time bound is loose on purpose (a shared 2-core machine
    # varies 3x); the count is the real check, the time only catches something grossly wrong.
    assert "COUNTS {'load_embedder': 1, 'open_index': 1}" in proc.stderr
    assert batch_s < max(120.0, 20 * single_s), (batch_s, single_s)


def test_search_finds_the_csv_row_by_session_id(real_env):
    proc, _ = run(["-m", "bot", "search", "SC-2703-02", "-k", "3", "--json"], real_env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(rows) == 3
    # the passages naming the session come first: its calendar row, and the FAQ entry naming it
    assert "certification/exam-sessions.csv" in [r["source"] for r in rows]
    naming = ["SC-2703-02" in r["text"] for r in rows]
    assert naming[0] and naming == sorted(naming, reverse=True)
    assert {"source", "section", "score", "text"} <= set(rows[0])


def test_ingest_script_prints_a_summary(tmp_path):
    knowledge = tmp_path / "knowledge"
    (knowledge / "notes").mkdir(parents=True)
    (knowledge / "notes" / "hours.md").write_text(
        "---\ntitle: Office hours\nlanguage: en\n---\n\n# Office hours\n\n"
        "The programme office is open from 09:00 to 17:00 on weekdays.\n",
        encoding="utf-8",
    )
    (knowledge / "notes" / "broken.txt").write_bytes(b"\xff\xfe\x80 not utf-8")
    data = tmp_path / "data"
    env = env_for(data, knowledge)
    proc, _ = run(["ingest.py", "--data-dir", str(data), "--knowledge", str(knowledge), "--quiet"], env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "1 embedded" in proc.stdout
    assert "2 files" in proc.stdout
    assert "skipped notes/broken.txt: not valid UTF-8" in proc.stdout
    assert (data / "manifest.json").exists()

    again, _ = run(["ingest.py", "--data-dir", str(data), "--knowledge", str(knowledge), "--quiet"], env)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "0 embedded" in again.stdout and "1 unchanged" in again.stdout


def test_ask_without_an_index_names_ingest(tmp_path):
    empty = tmp_path / "no-index"
    empty.mkdir()
    env = env_for(empty, ROOT / "knowledge")
    proc, _ = run(["-m", "bot", "ask", "¿Dónde está la lavandería?", "--json"], env)
    assert proc.returncode != 0
    assert "ingest.py" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout.strip() == ""
