"""The weekly figures as CSV files and one PNG picture (matplotlib, Agg, no pyplot).

`write_report(figures, out_dir, language=...)` writes, in `out_dir`:

| file | columns |
|---|---|
| `questions_per_day.csv` | day, language, audience, count (non-zero counts only) |
| `outcomes.csv` | outcome, count, share |
| `escalations.csv` | reason, topic, count (cases opened in the window) |
| `response_times.csv` | measure, median_minutes, p90_minutes, promise_minutes, cases, within_promise, waiting |
| `feedback.csv` | thumbs_up, thumbs_down, total, up_rate |
| `declined_clusters.csv` | rank, size, example |
| `summary.csv` | measure, value (the window, the totals, faq_waiting) |
| `report.png` | seven panels, labels in `language` |

UTF-8, a header row, empty cells for "not measured", minutes and shares rounded to 0.1 and
0.0001. Labels come from `bot/locales/report.<lang>.yaml`; Chinese needs a CJK font
(`fonts.choose_fonts`), without one the picture is drawn in English.
"""

from __future__ import annotations

import csv
import textwrap
from dataclasses import dataclass
from pathlib import Path

from bot.i18n import t
from bot.learning.questions import AUDIENCES, OUTCOMES
from bot.records import LANGUAGES
from bot.report.figures import WeeklyFigures
from bot.report.fonts import FontChoice, choose_fonts
from bot.report.summary import duration, percent, shorten

PNG_NAME = "report.png"
DPI = 90
FIGSIZE = (16, 11)  # inches: 1440 x 990 pixels at DPI
MAX_ESCALATION_BARS = 8
TITLE_CHARS_PER_INCH = 10.5  # bold 10-point characters (a CJK character counts as two)
CLUSTER_WRAP = 46  # characters per line in the declined panel (a CJK character counts as two)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
COLORS = {
    "es": "#d1495b", "en": "#00798c", "zh-TW": "#edae49",
    "trainee": "#30638e", "examinee": "#66a182", "unknown": "#b8b8b8",
    "answered": "#66a182", "declined": "#edae49", "escalated": "#d1495b",
    "median": "#00798c", "p90": "#30638e", "promise": "#d1495b",
    "up": "#66a182", "down": "#d1495b", "bar": "#30638e",
}  # fmt: skip


@dataclass(frozen=True)
class WrittenReport:
    png: Path
    csvs: tuple[Path, ...]
    language: str  # the labels' language (en when zh-TW was asked without a CJK font)


def write_report(
    figures: WeeklyFigures, out_dir: Path, *, language: str = "en", fonts: FontChoice | None = None
) -> WrittenReport:
    """The CSV files and the picture; `fonts` defaults to `choose_fonts(language)`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csvs = write_csvs(figures, out_dir)
    used = render_png(figures, out_dir / PNG_NAME, language=language, fonts=fonts)
    return WrittenReport(out_dir / PNG_NAME, tuple(csvs), used)


# --- CSV ------------------------------------------------------------------------------------------


def _num(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{round(value, digits):g}"


def write_csvs(figures: WeeklyFigures, out_dir: Path) -> list[Path]:
    total = figures.questions
    fb = figures.feedback
    tables: dict[str, tuple[list[str], list[list[object]]]] = {
        "questions_per_day.csv": (
            ["day", "language", "audience", "count"],
            [[r.day.isoformat(), r.language, r.audience, r.count] for r in figures.questions_per_day],
        ),
        "outcomes.csv": (
            ["outcome", "count", "share"],
            [[o, n, _num(n / total if total else None, 4)] for o, n in figures.outcomes.items()],
        ),
        "escalations.csv": (
            ["reason", "topic", "count"],
            [[e.reason, e.topic, e.count] for e in figures.escalations],
        ),
        "response_times.csv": (
            ["measure", "median_minutes", "p90_minutes", "promise_minutes", "cases",
             "within_promise", "waiting"],
            [[r.measure, _num(r.median_minutes), _num(r.p90_minutes), _num(r.promise_minutes),
              r.cases, r.within_promise, r.waiting] for r in figures.response_times],
        ),  # fmt: skip
        "feedback.csv": (
            ["thumbs_up", "thumbs_down", "total", "up_rate"],
            [[fb.up, fb.down, fb.total, _num(fb.up_rate, 4)]],
        ),
        "declined_clusters.csv": (
            ["rank", "size", "example"],
            [[rank, c.size, c.example] for rank, c in enumerate(figures.clusters, 1)],
        ),
        "summary.csv": (["measure", "value"], _summary_rows(figures)),
    }
    paths = []
    for name, (header, rows) in tables.items():
        path = out_dir / name
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows)
        paths.append(path)
    return paths


def _summary_rows(figures: WeeklyFigures) -> list[list[object]]:
    w = figures.window
    return [
        ["first_day", w.first_day.isoformat()],
        ["last_day", w.last_day.isoformat()],
        ["timezone", str(w.tz)],
        ["questions", figures.questions],
        *[[outcome, figures.outcomes[outcome]] for outcome in OUTCOMES],
        ["cases_opened", figures.cases],
        ["declined_texts", figures.declined_texts],
        ["thumbs_up", figures.feedback.up],
        ["thumbs_down", figures.feedback.down],
        ["up_rate", _num(figures.feedback.up_rate, 4)],
        ["promise_minutes", _num(figures.response("claim").promise_minutes)],
        ["faq_waiting", figures.faq_waiting],
        ["generated_at", figures.generated_at.isoformat(timespec="seconds")],
    ]


# --- the picture ----------------------------------------------------------------------------------


def render_png(
    figures: WeeklyFigures, path: Path, *, language: str = "en", fonts: FontChoice | None = None
) -> str:
    """Draw the picture; return the labels' language (en when a zh-TW font is missing)."""
    import matplotlib
    from matplotlib.figure import Figure

    fonts = fonts or choose_fonts(language)
    language = fonts.language
    style = {"font.family": list(fonts.families), "axes.spines.top": False,
             "axes.spines.right": False, "font.size": 10}  # fmt: skip
    with matplotlib.rc_context(style):
        fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
        grid = fig.add_gridspec(3, 3, width_ratios=(1.1, 1.1, 1.0))
        labels = _Labels(language, fonts)
        fig.suptitle(labels("title", first=figures.window.first_day.isoformat(),
                            last=figures.window.last_day.isoformat()),
                     fontsize=16, fontweight="bold")  # fmt: skip
        _per_day(fig.add_subplot(grid[0, :2]), figures, "language", labels)
        _outcomes(fig.add_subplot(grid[0, 2]), figures, labels)
        _per_day(fig.add_subplot(grid[1, :2]), figures, "audience", labels)
        _feedback(fig.add_subplot(grid[1, 2]), figures, labels)
        _escalations(fig.add_subplot(grid[2, 0]), figures, labels)
        _response(fig.add_subplot(grid[2, 1]), figures, labels)
        _declined(fig.add_subplot(grid[2, 2]), figures, labels)
        fig.savefig(path, format="png", dpi=DPI, metadata={"Software": "Puente"})
    return language


class _Labels:
    """`report.*` texts in one language, made drawable by the chosen fonts."""

    def __init__(self, language: str, fonts: FontChoice) -> None:
        self.language = language
        self.fonts = fonts

    def __call__(self, key: str, **values: object) -> str:
        return self.fonts.displayable(t(self.language, f"report.{key}", **values))

    def other(self, key: str) -> str:
        """A text of another area (`desk.reasons.crisis`), or the key's last part."""
        try:
            return self.fonts.displayable(t(self.language, key))
        except KeyError:
            return key.rsplit(".", 1)[-1]

    def text(self, text: str) -> str:
        return self.fonts.displayable(text)


def _title(ax, text: str) -> None:
    """A panel's title, left-aligned, wrapped to the panel's width."""
    width_in = ax.get_position().width * ax.figure.get_figwidth()
    chars = max(20, int(width_in * TITLE_CHARS_PER_INCH / (2 if _mostly_wide(text) else 1)))
    ax.set_title(textwrap.fill(text, chars), loc="left", fontweight="bold")


def _mostly_wide(text: str) -> bool:
    """Most characters are wide (CJK): fewer of them fit on a line."""
    wide = sum(1 for ch in text if ord(ch) >= 0x2E80)
    return wide * 2 > len(text)


def _counts(axis) -> None:
    """Counts are whole numbers: no 2.5 on their axis."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _empty(ax, labels: _Labels) -> None:
    ax.text(0.5, 0.5, labels("no_data"), ha="center", va="center", color="#777777",
            transform=ax.transAxes)  # fmt: skip
    ax.set_xticks([])
    ax.set_yticks([])


def _per_day(ax, figures: WeeklyFigures, by: str, labels: _Labels) -> None:
    _title(ax, labels(f"panels.per_day_{by}"))
    days = figures.window.days
    table = figures.per_day(by)
    names = LANGUAGES if by == "language" else AUDIENCES
    group = "languages" if by == "language" else "audiences"
    x = list(range(len(days)))
    bottom = [0] * len(days)
    for value, counts in table.items():
        if not any(counts):
            continue
        name = labels(f"{group}.{value}") if value in names else labels.text(value)
        ax.bar(x, counts, bottom=bottom, label=name, color=COLORS.get(value), width=0.7)
        bottom = [b + c for b, c in zip(bottom, counts)]
    for xi, height in zip(x, bottom):
        if height:
            ax.text(xi, height, str(height), ha="center", va="bottom", fontsize=9)
    ax.set_xticks(x, [f"{labels('weekdays.' + WEEKDAYS[d.weekday()])}\n{d:%m-%d}" for d in days])
    ax.set_xlim(-0.6, len(days) - 0.4)
    _counts(ax.yaxis)
    if any(bottom):
        ax.set_ylim(0, max(bottom) * 1.15)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    else:
        ax.set_yticks([])


def _outcomes(ax, figures: WeeklyFigures, labels: _Labels) -> None:
    total = figures.questions
    _title(ax, labels("panels.outcomes", total=total))
    if not total:
        return _empty(ax, labels)
    names = [labels(f"outcomes.{o}") for o in OUTCOMES]
    counts = [figures.outcomes[o] for o in OUTCOMES]
    y = list(range(len(OUTCOMES)))[::-1]
    ax.barh(y, counts, color=[COLORS[o] for o in OUTCOMES], height=0.6)
    ax.set_yticks(y, names)
    for yi, count in zip(y, counts):
        ax.text(count, yi, f" {count} ({percent(count / total)})", va="center", fontsize=9)
    ax.set_xlim(0, max(counts) * 1.45)
    _counts(ax.xaxis)


def _feedback(ax, figures: WeeklyFigures, labels: _Labels) -> None:
    fb = figures.feedback
    title = labels("panels.feedback")
    if fb.total:
        title += f": {labels('rate', rate=percent(fb.up_rate))}"
    _title(ax, title)
    if not fb.total:
        return _empty(ax, labels)
    ax.bar([0, 1], [fb.up, fb.down], color=[COLORS["up"], COLORS["down"]], width=0.6)
    ax.set_xticks([0, 1], [labels("helpful"), labels("not_helpful")])
    for xi, count in enumerate((fb.up, fb.down)):
        ax.text(xi, count, str(count), ha="center", va="bottom", fontsize=9)
    ax.set_ylim(0, max(fb.up, fb.down) * 1.2)
    ax.set_xlim(-0.7, 1.7)
    _counts(ax.yaxis)


def _escalations(ax, figures: WeeklyFigures, labels: _Labels) -> None:
    _title(ax, labels("panels.escalations", total=figures.cases))
    rows = figures.escalations[:MAX_ESCALATION_BARS]
    if not rows:
        return _empty(ax, labels)
    names = [
        f"{labels.other('desk.reasons.' + e.reason)} · {labels.other('desk.topics.' + e.topic)}"
        for e in rows
    ]
    y = list(range(len(rows)))[::-1]
    ax.barh(y, [e.count for e in rows], color=COLORS["bar"], height=0.6)
    ax.set_yticks(y, names)
    for yi, e in zip(y, rows):
        ax.text(e.count, yi, f" {e.count}", va="center", fontsize=9)
    ax.set_xlim(0, max(e.count for e in rows) * 1.25)
    _counts(ax.xaxis)


def _response(ax, figures: WeeklyFigures, labels: _Labels) -> None:
    _title(ax, labels("panels.response"))
    times = figures.response_times
    if not any(r.cases for r in times):
        return _empty(ax, labels)
    width = 0.36
    x = list(range(len(times)))
    for offset, key, attr in ((-width / 2, "median", "median_minutes"),
                              (width / 2, "p90", "p90_minutes")):  # fmt: skip
        values = [getattr(r, attr) or 0 for r in times]
        ax.bar([xi + offset for xi in x], values, width, label=labels(key), color=COLORS[key])
        for xi, value in zip(x, values):
            ax.text(xi + offset, value, f"{value:.0f}", ha="center", va="bottom", fontsize=9)
    promise = times[0].promise_minutes
    ax.axhline(promise, color=COLORS["promise"], linestyle="--", linewidth=1.5,
               label=labels("promise", value=duration(labels.language, promise)))  # fmt: skip
    ticks = [
        f"{labels('measures.' + r.measure)}\n{labels('measured', count=r.cases)}" for r in times
    ]
    ax.set_xticks(x, ticks)
    top = max([promise] + [r.p90_minutes or 0 for r in times])
    ax.set_ylim(0, top * 1.6)  # room for the legend above the bars
    ax.legend(loc="upper left", frameon=False, fontsize=9)


def _declined(ax, figures: WeeklyFigures, labels: _Labels) -> None:
    _title(ax, labels("panels.declined"))
    ax.axis("off")
    lines = [labels("declined_total", count=figures.declined_texts), ""]
    for cluster in figures.clusters:
        example = labels.text(shorten(cluster.example, 110))
        wrapped = textwrap.wrap(
            labels("cluster_line", size=cluster.size, example=example),
            width=_wrap_width(example), subsequent_indent="      ",
        )  # fmt: skip
        lines += wrapped[:3]
    if not figures.clusters:
        lines.append(labels("no_data"))
    ax.text(0.0, 1.0, "\n".join(lines), ha="left", va="top", fontsize=9.5,
            transform=ax.transAxes, linespacing=1.5)  # fmt: skip
    ax.text(0.0, 0.0, labels("faq_waiting", count=figures.faq_waiting), ha="left",
            va="bottom", fontsize=11, fontweight="bold", transform=ax.transAxes)  # fmt: skip


def _wrap_width(text: str) -> int:
    return CLUSTER_WRAP // 2 if _mostly_wide(text) else CLUSTER_WRAP
