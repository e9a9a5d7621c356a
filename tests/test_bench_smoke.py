"""Smoke tests of the benchmark scripts in bench/: each main() runs on a tiny input and prints its
markdown table with the machine. No assertion depends on a timing value.

The ones that load the real embedding model are marked slow; they use the index in `data/` when
`python ingest.py` built one, else the session's real index (the `real_settings` fixture).
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEV_SET = ROOT.parent / "shared" / "eval" / "dev.jsonl"


@pytest.fixture(scope="module")
def bench_data_dir(request) -> Path:
    data = ROOT / "data"
    if (data / "manifest.json").exists():
        return data
    return Path(request.getfixturevalue("real_settings").data_dir)


@pytest.fixture(scope="module")
def need_dev_set():
    if not DEV_SET.exists():
        pytest.skip(f"the shared dev set is not at {DEV_SET}")


def _assert_table(out: str, *needles: str) -> None:
    assert "| nproc |" in out and "load_avg_1_5_15" in out, out
    assert "|---|" in out, out
    for needle in needles:
        assert needle in out, out


# --- fast: no model ------------------------------------------------------------------------------


def test_helpers_percentile_and_table():
    from bench._common import md_table, percentile, summarize

    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert summarize([1.0, 2.0, 3.0])["n"] == 3
    table = md_table(["a", "b"], [[1, "x|y"], [None, 2.5]])
    assert table.splitlines()[1] == "|---|---|" and "x\\|y" in table and "| - | 2.5 |" in table


def test_synthetic_corpus_is_deterministic_and_perturbed():
    from bench.synthetic import variant_chunks
    from bot.index import Chunk

    base = [
        Chunk("a.md#1", "Room CC302 opens at 08:30. Bring your ID. Arrive early.",
              "Guide › Rooms\nRoom CC302 opens at 08:30. Bring your ID. Arrive early.",
              {"source": "a.md", "group": "a", "title": "Guide", "language": "en", "section": "Rooms"}),
        Chunk("b.md#2", "session_id: SC-2612-01 · room: CC301 · seats: 60",
              "Sessions › SC-2612-01\nsession_id: SC-2612-01 · room: CC301 · seats: 60",
              {"source": "b.md", "title": "Sessions", "language": "en", "section": "SC-2612-01"}),
    ]
    one = variant_chunks(base, 7)
    two = variant_chunks(base, 7)
    assert [c.id for c in one] == [c.id for c in two] and [c.text for c in one] == [c.text for c in two]
    assert len(one) == 7 and len({c.id for c in one}) == 7
    assert one[:2] == base
    copy = one[2]
    assert copy.source == "synthetic/v01/a.md" and copy.metadata["group"] == "synthetic/v01/a"
    assert copy.metadata["title"] == "Guide · v01" and copy.embed_text.startswith("Guide · v01")
    assert copy.text != base[0].text and "Bring your ID" in copy.text  # shuffled, digits remapped


# --- slow: the real model ------------------------------------------------------------------------


@pytest.mark.slow
def test_latency_smoke(bench_data_dir, need_dev_set, capsys):
    from bench import latency

    assert latency.main(["--limit", "3", "--passes", "1", "--skip-10k", "--data-dir", str(bench_data_dir)]) == 0
    out = capsys.readouterr().out
    _assert_table(out, "| sample knowledge |", "ask p95", "Where ask's time goes")


@pytest.mark.slow
def test_peer_langchain_smoke(bench_data_dir, need_dev_set, capsys):
    from bench import peer_langchain

    assert peer_langchain.main(["--limit", "3", "--passes", "1", "--data-dir", str(bench_data_dir)]) == 0
    out = capsys.readouterr().out
    _assert_table(out, "| Puente | LangChain peer |", "coverage", "latency p95 ms")


@pytest.mark.slow
def test_ingest_bench_smoke(tmp_path, capsys):
    from bench import ingest_bench

    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "hours.en.md").write_text(
        "# Library\n\nThe library opens at 08:00 and closes at 22:00 on weekdays.\n\n"
        "## Loans\n\nBooks may be borrowed for 14 days with a student card.\n",
        encoding="utf-8",
    )
    argv = ["--knowledge", str(knowledge), "--embed-runs", "1", "--reingest-runs", "1", "--change-runs", "1"]
    assert ingest_bench.main(argv) == 0
    out = capsys.readouterr().out
    _assert_table(out, "cold full ingest", "no-change re-ingest", "one changed file", "passages/s")
    assert "embedded [0]" in out  # the no-change re-ingest embeds nothing (not a timing)


@pytest.mark.slow
def test_memory_smoke(bench_data_dir, need_dev_set, capsys):
    from bench import memory

    assert memory.main(["--limit", "2", "--runs", "1", "--data-dir", str(bench_data_dir)]) == 0
    out = capsys.readouterr().out
    _assert_table(out, "peak VmHWM MB", "≤ 800 MB")
