"""The weekly figures as a few lines of text (the CLI prints them; the desk group reads them)."""

from __future__ import annotations

from bot.i18n import t
from bot.report.figures import WeeklyFigures

SUMMARY_CLUSTERS = 3
EXAMPLE_CHARS = 120


def duration(language: str, minutes: float | None) -> str:
    """"45 min" under two hours, "2.5 h" from there; "—" when there is nothing to measure."""
    if minutes is None:
        return t(language, "report.none")
    if minutes < 120:
        return t(language, "report.minutes", value=f"{minutes:.0f}")
    return t(language, "report.hours", value=f"{minutes / 60:.1f}")


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%}"


def shorten(text: str, limit: int = EXAMPLE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def summary_text(figures: WeeklyFigures, language: str) -> str:
    """Questions and outcomes, cases and response times against the promise, 👍 / 👎, FAQ
    candidates waiting, and the largest groups of declined questions."""
    def tr(key: str, **values: object) -> str:
        return t(language, f"report.summary.{key}", **values)

    claim, reply = figures.response("claim"), figures.response("first_reply")
    lines = [
        tr("heading", first=figures.window.first_day.isoformat(),
           last=figures.window.last_day.isoformat()),  # fmt: skip
        tr("questions", total=figures.questions, **figures.outcomes),
        tr(
            "cases", cases=figures.cases,
            claim_median=duration(language, claim.median_minutes),
            claim_p90=duration(language, claim.p90_minutes),
            reply_median=duration(language, reply.median_minutes),
            reply_p90=duration(language, reply.p90_minutes),
            promise=duration(language, claim.promise_minutes),
        ),  # fmt: skip
        tr("feedback", up=figures.feedback.up, down=figures.feedback.down,
           rate=percent(figures.feedback.up_rate))  # fmt: skip
        if figures.feedback.total
        else tr("feedback_none"),
        tr("faq", count=figures.faq_waiting),
    ]
    if figures.clusters:
        lines.append(tr("top_declined"))
        lines += [f"• {c.size}× {shorten(c.example)}" for c in figures.clusters[:SUMMARY_CLUSTERS]]
    return "\n".join(lines)
