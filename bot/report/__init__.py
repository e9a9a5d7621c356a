"""The weekly picture: what people asked and how the desk kept its promise (issue 15).

* `figures`: the numbers, from the database and a window of days (`build_figures`, pure);
* `clusters`: questions grouped by meaning (`cluster_questions`, numpy only; the gap list uses
  it too);
* `render`: CSV files and one PNG (matplotlib), labels in the admin's language;
* `fonts`: a CJK font for Traditional Chinese labels, or English and a warning;
* `summary`: the same figures in a few lines of text;
* `runs`: one report a week across replicas (the `report_runs` table);
* `make_report`: all of it for the CLI (`python -m bot report`) and the weekly Telegram job.

Nothing here imports telegram; `bot/channels/telegram/report_job.py` sends the result.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from bot.report.figures import Embed, WeeklyFigures, Window, build_figures
from bot.report.render import WrittenReport, write_report
from bot.report.summary import summary_text

logger = logging.getLogger(__name__)

__all__ = [
    "Embed", "Report", "WeeklyFigures", "Window", "build_figures", "embed_with", "make_report",
    "summary_text", "write_report",
]  # fmt: skip


@dataclass(frozen=True)
class Report:
    figures: WeeklyFigures
    written: WrittenReport
    summary: str  # in the labels' language


def embed_with(embedder) -> Embed:
    """An `Embed` over an `Embedder` (`bot.embeddings`): each question embedded as a query."""
    import numpy as np

    def embed(texts: list[str]) -> np.ndarray:
        return np.stack([np.asarray(embedder.embed_query(text)) for text in texts])

    return embed


def make_report(
    db, window: Window, out_dir: Path, *, promise_hours: float, language: str = "en",
    embed: Embed | None = None, threshold: float | None = None,
) -> Report:  # fmt: skip
    """Figures, CSV files, picture and summary for `window` (synchronous: run it in a thread)."""
    options = {} if threshold is None else {"threshold": threshold}
    figures = build_figures(db, window, promise_hours=promise_hours, embed=embed, **options)
    written = write_report(figures, out_dir, language=language)
    return Report(figures, written, summary_text(figures, written.language))
