"""Shared helpers of the benchmark scripts: the machine, percentiles, markdown tables, settings.

Every figure a script prints sits beside the load average at the time it was measured
(`os.getloadavg()`, 1/5/15 minutes): on a 2-core machine shared with other sessions, a load
above ~2 means the timings are inflated by CPU contention.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
DATA = ROOT / "data"
DEV_SET = ROOT.parent / "shared" / "eval" / "dev.jsonl"
CACHE = Path(__file__).resolve().parent / ".cache"


def loadavg() -> str:
    """The 1/5/15-minute load averages, e.g. '1.52/1.80/2.01'."""
    try:
        return "/".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        cores = os.cpu_count() or 0
    return {
        "nproc": str(cores),
        "cpu": model,
        "python": platform.python_version(),
        "load_avg_1_5_15": loadavg(),
    }


def machine_table(info: dict[str, str] | None = None) -> str:
    info = info or machine()
    return md_table(["machine", "value"], [[k, v] for k, v in info.items()])


def percentile(values: list[float], p: float) -> float:
    """Linear-interpolated percentile (numpy's default), without numpy."""
    if not values:
        return float("nan")
    xs = sorted(values)
    pos = (len(xs) - 1) * p / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summarize(samples_ms: list[float]) -> dict[str, float]:
    return {
        "n": len(samples_ms),
        "p50_ms": round(percentile(samples_ms, 50), 2),
        "p95_ms": round(percentile(samples_ms, 95), 2),
        "mean_ms": round(statistics.fmean(samples_ms), 2) if samples_ms else float("nan"),
        "max_ms": round(max(samples_ms), 2) if samples_ms else float("nan"),
    }


def best_of_passes(passes: list[list[float]]) -> list[float]:
    """Per question, the fastest of its timed passes: an estimate of the uncontended cost that a
    busy machine (other processes preempting us) inflates much less than the raw samples."""
    return [min(times) for times in zip(*passes)] if passes else []


def median_of(runs: list[dict[str, float]], key: str) -> float:
    return round(statistics.median(r[key] for r in runs), 2)


def md_table(headers: list[str], rows: list[list]) -> str:
    def cell(v) -> str:
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:g}"
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def settings_for(data_dir: Path, knowledge_dir: Path = KNOWLEDGE, **extra):
    """Settings that ignore `.env`, over a given index and knowledge folder, no LLM, no Telegram."""
    from bot.config import Settings

    return Settings(
        _env_file=None,
        PUENTE_DATA_DIR=Path(data_dir),
        PUENTE_KNOWLEDGE_DIR=Path(knowledge_dir),
        TELEGRAM_BOT_TOKEN=None,
        LLM_PROVIDER="none",
        **extra,
    )


def ensure_index(settings, log=print) -> None:
    """Build the index with the real pipeline when the data folder has none."""
    if (Path(settings.data_dir) / "manifest.json").exists():
        return
    from bot.ingestion.cli import run_ingest

    log(f"no index in {settings.data_dir}: ingesting {settings.knowledge_dir} ...")
    log(run_ingest(settings, progress=False).summary())


def load_questions(path: Path = DEV_SET, limit: int | None = None) -> list[dict]:
    from bot.evaluation import read_items

    items = read_items(path)
    return items[:limit] if limit else items


def write_json(path: Path | None, payload: dict) -> None:
    if path:
        Path(path).write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
