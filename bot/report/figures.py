"""Every number of the weekly picture, read from the database for a window of whole days.

`build_figures(db, window, promise_hours=...)` returns a `WeeklyFigures`: questions per day by
language and audience, answered / declined / escalated, the cases opened by reason and topic,
time to claim and to the first human reply (median and p90, in minutes) against the promise,
the 👍 / 👎 counts, the declined questions grouped by meaning, and the FAQ candidates waiting.
No drawing here (`render.py` draws), no model either: the caller passes `embed` to group the
declined questions by meaning; without it, identical questions (ignoring case and spacing) are
grouped.

Days are local days in the window's time zone (the desk's, `PUENTE_TIMEZONE`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa

from bot.errors import PuenteError
from bot.learning.pii import scrub
from bot.learning.questions import AUDIENCES, OUTCOMES, QuestionLog
from bot.records import LANGUAGES
from bot.report.clusters import DEFAULT_THRESHOLD, Cluster, cluster_questions
from bot.storage import schema
from bot.storage.db import Database
from bot.storage.types import utcnow

TOP_CLUSTERS = 5
NO_TOPIC = "none"  # a case without a topic (the desk's texts call it "general")
CLAIM_KINDS = ("claimed", "reassigned")  # audit events that give a case its first owner
_SINCE_DAYS = re.compile(r"^(\d{1,3})d$")

Embed = Callable[[list[str]], np.ndarray]  # texts -> one vector per text


class BadWindow(PuenteError, ValueError):
    """`--since` / `--until` that do not make a window (a typo, or since after until)."""


@dataclass(frozen=True)
class Window:
    """Whole local days, `first_day` to `last_day` included, in time zone `tz`."""

    first_day: date
    last_day: date
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    def __post_init__(self) -> None:
        if self.first_day > self.last_day:
            raise BadWindow(f"the window starts ({self.first_day}) after it ends ({self.last_day})")

    @property
    def since(self) -> datetime:
        """The first instant inside the window (aware)."""
        return datetime.combine(self.first_day, time(), self.tz)

    @property
    def until(self) -> datetime:
        """The first instant after the window (aware): midnight after `last_day`."""
        return datetime.combine(self.last_day + timedelta(days=1), time(), self.tz)

    @property
    def days(self) -> list[date]:
        count = (self.last_day - self.first_day).days + 1
        return [self.first_day + timedelta(days=i) for i in range(count)]

    def day_of(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    @classmethod
    def parse(cls, since: str, until: str | None, *, today: date, tz: ZoneInfo) -> Window:
        """`since`: "7d" (the 7 days ending with `until`) or a first day "YYYY-MM-DD";
        `until`: the last day, "YYYY-MM-DD", included; default `today`."""
        last = _parse_day(until, "--until") if until else today
        days = _SINCE_DAYS.match(since.strip())
        if days:
            count = int(days.group(1))
            if count < 1:
                raise BadWindow("--since needs at least 1 day (1d)")
            return cls(last - timedelta(days=count - 1), last, tz)
        return cls(_parse_day(since, "--since"), last, tz)

    @classmethod
    def week_before(cls, today: date, tz: ZoneInfo) -> Window:
        """The 7 days before `today` (on a Monday: Monday to Sunday of last week)."""
        return cls(today - timedelta(days=7), today - timedelta(days=1), tz)


def _parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadWindow(f"{option} {text!r}: write YYYY-MM-DD (or Nd for --since)") from None


@dataclass(frozen=True)
class DayCount:
    day: date
    language: str
    audience: str
    count: int


@dataclass(frozen=True)
class EscalationCount:
    reason: str
    topic: str  # NO_TOPIC when the case had none
    count: int


@dataclass(frozen=True)
class ResponseTime:
    """One measure over the window's cases, in minutes."""

    measure: str  # "claim" | "first_reply"
    median_minutes: float | None  # None: no case had it yet
    p90_minutes: float | None
    promise_minutes: float
    cases: int  # cases measured (those claimed / answered by a person)
    within_promise: int  # of those, how many within the promise
    waiting: int  # cases opened in the window still without it


@dataclass(frozen=True)
class FeedbackCount:
    up: int
    down: int

    @property
    def total(self) -> int:
        return self.up + self.down

    @property
    def up_rate(self) -> float | None:
        """The share of 👍 (0..1), None without any rating."""
        return self.up / self.total if self.total else None


@dataclass(frozen=True)
class WeeklyFigures:
    """Every number the report shows; `render.py` turns it into CSV files and a picture."""

    window: Window
    questions_per_day: tuple[DayCount, ...]  # non-zero counts, by day, language, audience
    outcomes: dict[str, int]  # every outcome of OUTCOMES, 0 included
    escalations: tuple[EscalationCount, ...]  # cases opened, most frequent first
    response_times: tuple[ResponseTime, ...]  # claim, first_reply
    feedback: FeedbackCount
    declined_texts: int  # declined questions whose words are kept (the clusters' input)
    clusters: tuple[Cluster, ...]  # the largest TOP_CLUSTERS groups of declined questions
    faq_waiting: int  # FAQ candidates waiting for a desk admin (now, not in the window)
    generated_at: datetime

    @property
    def questions(self) -> int:
        return sum(self.outcomes.values())

    @property
    def cases(self) -> int:
        return sum(e.count for e in self.escalations)

    def per_day(self, by: str) -> dict[str, list[int]]:
        """Questions per day of the window for each value of `by` ("language" | "audience"),
        zeros included, in the order of LANGUAGES / AUDIENCES."""
        values = LANGUAGES if by == "language" else AUDIENCES
        index = {day: i for i, day in enumerate(self.window.days)}
        table = {value: [0] * len(index) for value in values}
        for row in self.questions_per_day:
            table.setdefault(getattr(row, by), [0] * len(index))[index[row.day]] += row.count
        return table

    def response(self, measure: str) -> ResponseTime:
        return next(r for r in self.response_times if r.measure == measure)


def build_figures(
    db: Database, window: Window, *, promise_hours: float, embed: Embed | None = None,
    threshold: float = DEFAULT_THRESHOLD, top_clusters: int = TOP_CLUSTERS,
    now: datetime | None = None,
) -> WeeklyFigures:  # fmt: skip
    """Read the window's activity. `embed` turns the declined questions into vectors (one call,
    only when there are some); without it identical questions are grouped."""
    logged = QuestionLog(db).between(window.since, window.until)
    per_day = Counter((window.day_of(q.created_at), q.language, q.audience) for q in logged)
    outcomes = {outcome: 0 for outcome in OUTCOMES}
    outcomes.update(Counter(q.outcome for q in logged))
    declined = [scrub(q.question).text for q in logged if q.outcome == "declined" and q.question]
    clusters = group_questions(declined, embed, threshold)[:top_clusters]
    cases = _cases(db, window)
    promise = promise_hours * 60
    return WeeklyFigures(
        window=window,
        questions_per_day=tuple(
            DayCount(day, language, audience, count)
            for (day, language, audience), count in sorted(per_day.items(), key=_day_key)
        ),
        outcomes=outcomes,
        escalations=tuple(
            EscalationCount(reason, topic, count)
            for (reason, topic), count in sorted(
                Counter((c["reason"], c["topic"] or NO_TOPIC) for c in cases).items(),
                key=lambda item: (-item[1], item[0]),
            )
        ),
        response_times=(
            _response("claim", [c["claim"] for c in cases], promise),
            _response("first_reply", [c["reply"] for c in cases], promise),
        ),
        feedback=_feedback(db, window),
        declined_texts=len(declined),
        clusters=tuple(clusters),
        faq_waiting=faq_waiting(db),
        generated_at=now or utcnow(),
    )


def _day_key(item: tuple[tuple[date, str, str], int]) -> tuple:
    (day, language, audience), _ = item
    lang = LANGUAGES.index(language) if language in LANGUAGES else len(LANGUAGES)
    aud = AUDIENCES.index(audience) if audience in AUDIENCES else len(AUDIENCES)
    return day, lang, language, aud, audience


def declined_clusters(
    db: Database, window: Window, *, embed: Embed | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> list[Cluster]:  # fmt: skip
    """The gap list: the window's declined questions (those whose words are still kept) and the
    questions of answers rated 👎, personal details removed, grouped by meaning, largest first."""
    logged = QuestionLog(db).between(window.since, window.until)
    texts = [q.question for q in logged if q.outcome == "declined" and q.question]
    f = schema.feedback.c
    with db.connect() as conn:
        texts += conn.execute(
            sa.select(f.question).where(
                f.rating < 0, f.created_at >= window.since, f.created_at < window.until
            ).order_by(f.created_at)
        ).scalars().all()
    return group_questions([scrub(text).text for text in texts if text], embed, threshold)


def group_questions(
    texts: Sequence[str], embed: Embed | None, threshold: float = DEFAULT_THRESHOLD
) -> list[Cluster]:
    """`cluster_questions` over `embed(texts)`; without `embed`, one group per distinct text
    (ignoring case and spacing)."""
    texts = list(texts)
    if not texts:
        return []
    if embed is None:
        keys = [" ".join(text.casefold().split()) for text in texts]
        distinct = {key: i for i, key in enumerate(dict.fromkeys(keys))}
        vectors = np.zeros((len(texts), len(distinct)))
        vectors[np.arange(len(texts)), [distinct[key] for key in keys]] = 1.0
        return cluster_questions(texts, vectors, threshold=0.5)
    return cluster_questions(texts, embed(texts), threshold)


def _cases(db: Database, window: Window) -> list[dict]:
    """The cases opened in the window: reason, topic, minutes to the first claim and to the
    first counselor message (None when not yet)."""
    c, e, m = schema.cases.c, schema.case_events.c, schema.case_messages.c
    first_claim = (
        sa.select(e.case_id, sa.func.min(e.at).label("at"))
        .where(e.kind.in_(CLAIM_KINDS))
        .group_by(e.case_id)
        .subquery()
    )
    first_reply = (
        sa.select(m.case_id, sa.func.min(m.created_at).label("at"))
        .where(m.direction == "out")
        .group_by(m.case_id)
        .subquery()
    )
    at_type = schema.cases.c.created_at.type  # so the subqueries' min() comes back aware
    query = (
        sa.select(
            c.reason, c.topic, c.created_at, c.claimed_at,
            sa.type_coerce(first_claim.c.at, at_type).label("first_claim"),
            sa.type_coerce(first_reply.c.at, at_type).label("first_reply"),
        )  # fmt: skip
        .outerjoin(first_claim, first_claim.c.case_id == c.id)
        .outerjoin(first_reply, first_reply.c.case_id == c.id)
        .where(c.created_at >= window.since, c.created_at < window.until)
        .order_by(c.id)
    )
    with db.connect() as conn:
        rows = conn.execute(query).all()
    cases = []
    for row in rows:
        # The first claim event; a case whose audit trail lacks one still has claimed_at.
        claimed = row.first_claim or row.claimed_at
        cases.append({
            "reason": row.reason, "topic": row.topic,
            "claim": _minutes(row.created_at, claimed),
            "reply": _minutes(row.created_at, row.first_reply),
        })  # fmt: skip
    return cases


def _minutes(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else (end - start).total_seconds() / 60


def _response(measure: str, minutes: list[float | None], promise: float) -> ResponseTime:
    done = np.array([m for m in minutes if m is not None], dtype=float)
    return ResponseTime(
        measure=measure,
        median_minutes=float(np.median(done)) if done.size else None,
        p90_minutes=float(np.percentile(done, 90)) if done.size else None,  # linear interpolation
        promise_minutes=promise,
        cases=int(done.size),
        within_promise=int((done <= promise).sum()),
        waiting=len(minutes) - int(done.size),
    )


def _feedback(db: Database, window: Window) -> FeedbackCount:
    f = schema.feedback.c
    with db.connect() as conn:
        rows = conn.execute(
            sa.select(f.rating, sa.func.count())
            .where(f.created_at >= window.since, f.created_at < window.until)
            .group_by(f.rating)
        ).all()
    counts = {rating: count for rating, count in rows}
    return FeedbackCount(up=counts.get(1, 0), down=counts.get(-1, 0))


def faq_waiting(db: Database) -> int:
    """FAQ candidates waiting for a desk admin's review (status "pending")."""
    q = schema.faq_candidates.c
    with db.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(schema.faq_candidates).where(q.status == "pending")
            ).scalar()
            or 0
        )
