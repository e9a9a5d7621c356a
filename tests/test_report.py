"""The weekly picture (issue 15): figures, CSV files, PNG, fonts, the CLI and the weekly job.

The seeded week (tests/report_seed.py) has known figures; they are written out by hand here
(medians and p90s computed on paper: numpy's linear interpolation) or counted from the seed's own
list of what it inserted, never read back through the code under test.
"""

from __future__ import annotations

import csv
import logging
import struct
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from bot.report import Window, build_figures, make_report
from bot.report.clusters import cluster_questions
from bot.report.figures import BadWindow, declined_clusters
from bot.report.fonts import INSTALL_HINT, choose_fonts, find_cjk_font
from bot.report.render import write_report
from bot.report.runs import claim_week, mark_sent, release, sent_at, week_key
from bot.storage import Database
from tests.report_seed import (
    DECLINED_GROUPS,
    FAQ_PENDING,
    FEEDBACK_DOWN,
    FEEDBACK_UP,
    FIRST_DAY,
    LAST_DAY,
    TZ,
    seed_week,
)

WINDOW = Window(FIRST_DAY, LAST_DAY, TZ)
GROUP_OF = {text: group for group, texts in DECLINED_GROUPS.items() for text in texts}
GROUPS = list(DECLINED_GROUPS)
# By hand, from tests/report_seed.py CASES: minutes to the first claim of the 10 claimed cases
# (5 10 15 20 30 45 60 90 150 240; the reassigned one counts its first claim, 20) and to the
# first counselor message of the 8 answered ones (12 20 25 40 50 70 130 200).
CLAIM = {"median": 37.5, "p90": 159.0, "cases": 10, "within": 8, "waiting": 1}
REPLY = {"median": 45.0, "p90": 151.0, "cases": 8, "within": 6, "waiting": 3}
ESCALATIONS = [
    ("low_confidence", "none", 4), ("explicit_request", "housing", 3),
    ("crisis", "wellbeing", 2), ("explicit_request", "finance", 1), ("sensitive", "conduct", 1),
]  # fmt: skip


class GroupEmbedder:
    """Vectors with meaning: the texts of one `DECLINED_GROUPS` group point (almost) the same
    way (cosine 0.998), texts of different groups are orthogonal."""

    def __init__(self) -> None:
        self.texts = list(GROUP_OF)

    def __call__(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), len(GROUPS) + len(self.texts)))
        for row, text in enumerate(texts):
            vectors[row, GROUPS.index(GROUP_OF[text])] = 1.0
            vectors[row, len(GROUPS) + self.texts.index(text)] = 0.05
        return vectors


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'puente.db'}")
    database.migrate()
    yield database
    database.close()


@pytest.fixture
def seeded(db):
    return seed_week(db)


def expected_per_day(seeded) -> Counter:
    return Counter((at.astimezone(TZ).date(), lang, aud) for at, lang, aud, _, _ in seeded.questions)


# --- clusters -------------------------------------------------------------------------------------


def test_cluster_questions_groups_by_cosine_and_picks_the_member_nearest_the_centroid():
    texts = ["a1", "b1", "a2", "a3", "c1", "b2"]
    vectors = [
        [1.0, 0.3, 0.0, 0.0],  # a: the middle member, a2, is nearest the centroid
        [0.0, 0.0, 1.0, 0.0],
        [1.0, 0.0, 0.0, 0.0],
        [1.0, -0.3, 0.0, 0.0],
        [0.0, 0.0, 0.0, 1.0],
        [0.0, 0.0, 2.0, 0.1],  # any length: normalized
    ]
    clusters = cluster_questions(texts, vectors, threshold=0.85)
    assert [(c.size, c.members, c.example) for c in clusters] == [
        (3, (0, 2, 3), "a2"), (2, (1, 5), "b1"), (1, (4,), "c1"),
    ]  # fmt: skip
    assert clusters[0].cohesion == pytest.approx((2 / np.sqrt(1.09) + 1) / 3)
    # a1 and a3 are at cosine 0.835 of each other, 0.958 of a2: once a1 and a2 are together, a3
    # is at 0.896 of them on average, so 0.9 splits a; 0.97 keeps every a alone.
    assert [c.size for c in cluster_questions(texts, vectors, threshold=0.9)] == [2, 2, 1, 1]
    assert [c.size for c in cluster_questions(texts, vectors, threshold=0.97)] == [2, 1, 1, 1, 1]


def test_cluster_questions_uses_average_linkage_not_single_linkage():
    # A chain: x-y and y-z are close, x-z are not; the average of y's and z's cosines with x
    # stays under the threshold, so z does not join x and y (single linkage would chain it).
    angles = np.radians([0.0, 20.0, 40.0])
    vectors = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    clusters = cluster_questions(["x", "y", "z"], vectors, threshold=0.9)
    assert sorted(c.size for c in clusters) == [1, 2]
    assert [c.size for c in cluster_questions(["x", "y", "z"], vectors, threshold=0.85)] == [3]


def test_cluster_questions_does_not_depend_on_the_order_and_handles_edge_cases():
    rng = np.random.default_rng(7)
    centers = rng.normal(size=(4, 16))
    vectors = np.concatenate([c + 0.05 * rng.normal(size=(n, 16)) for c, n in zip(centers, (6, 4, 3, 1))])
    texts = [f"q{i}" for i in range(len(vectors))]
    sizes = [c.size for c in cluster_questions(texts, vectors, threshold=0.95)]
    assert sizes == [6, 4, 3, 1]
    order = rng.permutation(len(texts))
    shuffled = cluster_questions([texts[i] for i in order], vectors[order], threshold=0.95)
    assert [c.size for c in shuffled] == sizes
    assert {frozenset(texts[order[i]] for i in c.members) for c in shuffled} == {
        frozenset(texts[i] for i in c.members)
        for c in cluster_questions(texts, vectors, threshold=0.95)
    }
    assert cluster_questions([], np.zeros((0, 3))) == []
    zero = cluster_questions(["a", "b", "c"], [[0, 0], [1, 0], [0, 0]], threshold=0.5)
    assert [c.size for c in zero] == [1, 1, 1]  # a zero vector has no direction: alone
    with pytest.raises(ValueError, match="one vector per text"):
        cluster_questions(["a", "b"], [[1.0, 0.0]])


# --- the figures ----------------------------------------------------------------------------------


def test_the_figures_match_the_seeded_week(db, seeded):
    figures = build_figures(db, WINDOW, promise_hours=2, embed=GroupEmbedder())

    per_day = {(r.day, r.language, r.audience): r.count for r in figures.questions_per_day}
    assert per_day == expected_per_day(seeded)
    assert all(count > 0 for count in per_day.values())
    # The window's edges: 00:00 local on the first day (16:00 UTC the day before) counts.
    assert per_day[(FIRST_DAY, "en", "examinee")] == 4
    assert figures.questions == len(seeded.questions) == 108
    assert figures.outcomes == {"answered": 73, "declined": 12, "escalated": 23}
    assert figures.per_day("language")["zh-TW"] == [
        sum(n for (day, lang, _), n in per_day.items() if lang == "zh-TW" and day == d)
        for d in WINDOW.days
    ]

    assert [(e.reason, e.topic, e.count) for e in figures.escalations] == ESCALATIONS
    for measure, truth in (("claim", CLAIM), ("first_reply", REPLY)):
        got = figures.response(measure)
        assert (got.median_minutes, got.p90_minutes) == pytest.approx((truth["median"], truth["p90"]))
        assert (got.cases, got.within_promise, got.waiting) == (
            truth["cases"], truth["within"], truth["waiting"],
        )  # fmt: skip
        assert got.promise_minutes == 120

    assert (figures.feedback.up, figures.feedback.down) == (FEEDBACK_UP, FEEDBACK_DOWN)
    assert figures.feedback.up_rate == pytest.approx(14 / 18)
    assert figures.faq_waiting == FAQ_PENDING

    assert figures.declined_texts == 12
    assert [c.size for c in figures.clusters] == [5, 3, 2, 1, 1]
    assert [GROUP_OF[c.example] for c in figures.clusters] == GROUPS


def test_without_an_embedder_identical_questions_are_grouped(db):
    from bot.learning.questions import QuestionLog

    log = QuestionLog(db)
    at = datetime(2026, 11, 24, 12, tzinfo=TZ)
    for text in ("Where is the gym?", "where is  the GYM?", "Is there a pool?"):
        log.add(user_id=1, language="en", audience="trainee", outcome="declined", question=text, at=at)
    clusters = declined_clusters(db, WINDOW)
    assert [(c.size, c.example) for c in clusters] == [(2, "Where is the gym?"), (1, "Is there a pool?")]


def test_an_empty_week_has_zeros_and_still_draws(db, tmp_path):
    figures = build_figures(db, WINDOW, promise_hours=2)
    assert figures.questions == 0 and figures.questions_per_day == ()
    assert figures.response("claim").median_minutes is None
    assert figures.feedback.up_rate is None
    written = write_report(figures, tmp_path / "out")
    assert png_size(written.png) == (1440, 990)
    rows = read_csv(tmp_path / "out" / "response_times.csv")
    assert rows[0]["median_minutes"] == "" and rows[0]["cases"] == "0"


def test_the_window_is_parsed_from_days_or_dates():
    tz = ZoneInfo("Asia/Taipei")
    today = date(2026, 12, 1)
    assert Window.parse("7d", None, today=today, tz=tz) == Window(date(2026, 11, 25), today, tz)
    assert Window.parse("7d", "2026-11-29", today=today, tz=tz) == WINDOW
    assert Window.parse("2026-11-01", "2026-11-30", today=today, tz=tz).days[-1] == date(2026, 11, 30)
    assert WINDOW.since == datetime(2026, 11, 22, 16, tzinfo=timezone.utc)
    assert WINDOW.until == datetime(2026, 11, 29, 16, tzinfo=timezone.utc)
    # Monday 2026-11-30: last week is Monday 23 to Sunday 29.
    assert Window.week_before(date(2026, 11, 30), tz) == WINDOW
    for since, until in (("yesterday", None), ("0d", None), ("2026-12-05", "2026-12-01")):
        with pytest.raises(BadWindow):
            Window.parse(since, until, today=today, tz=tz)


# --- files ----------------------------------------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR, after checking its signature."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def assert_csvs_match_the_seeded_week(out: Path, seeded) -> None:
    per_day = {
        (date.fromisoformat(r["day"]), r["language"], r["audience"]): int(r["count"])
        for r in read_csv(out / "questions_per_day.csv")
    }
    assert per_day == expected_per_day(seeded)
    assert [(r["outcome"], r["count"], r["share"]) for r in read_csv(out / "outcomes.csv")] == [
        ("answered", "73", "0.6759"), ("declined", "12", "0.1111"), ("escalated", "23", "0.213"),
    ]  # fmt: skip
    assert [
        (r["reason"], r["topic"], int(r["count"])) for r in read_csv(out / "escalations.csv")
    ] == ESCALATIONS
    times = {r["measure"]: r for r in read_csv(out / "response_times.csv")}
    for measure, truth in (("claim", CLAIM), ("first_reply", REPLY)):
        row = times[measure]
        assert float(row["median_minutes"]) == truth["median"]
        assert float(row["p90_minutes"]) == truth["p90"]
        assert float(row["promise_minutes"]) == 120
        assert (int(row["cases"]), int(row["within_promise"]), int(row["waiting"])) == (
            truth["cases"], truth["within"], truth["waiting"],
        )  # fmt: skip
    assert read_csv(out / "feedback.csv") == [
        {"thumbs_up": "14", "thumbs_down": "4", "total": "18", "up_rate": "0.7778"}
    ]
    summary = {r["measure"]: r["value"] for r in read_csv(out / "summary.csv")}
    assert summary["faq_waiting"] == str(FAQ_PENDING)
    assert (summary["first_day"], summary["last_day"]) == ("2026-11-23", "2026-11-29")
    assert (summary["questions"], summary["cases_opened"], summary["declined_texts"]) == (
        "108", "11", "12"
    )  # fmt: skip
    width, height = png_size(out / "report.png")
    assert (width, height) == (1440, 990)
    assert 30_000 < (out / "report.png").stat().st_size < 400_000


def test_the_report_files_match_the_seeded_week(db, seeded, tmp_path):
    report = make_report(db, WINDOW, tmp_path / "out", promise_hours=2, embed=GroupEmbedder())
    assert_csvs_match_the_seeded_week(tmp_path / "out", seeded)
    clusters = read_csv(tmp_path / "out" / "declined_clusters.csv")
    assert [(r["rank"], r["size"]) for r in clusters] == [
        ("1", "5"), ("2", "3"), ("3", "2"), ("4", "1"), ("5", "1")
    ]
    assert [GROUP_OF[r["example"]] for r in clusters] == GROUPS
    assert report.written.language == "en"
    assert "108" in report.summary and "👍 14" in report.summary
    assert "FAQ" in report.summary and ": 3" in report.summary


def test_the_command_line_writes_the_report_of_the_seeded_week(tmp_path, monkeypatch, capsys):
    """`python -m bot report` over a seeded SQLite file, with the real (offline) embedder."""
    from bot.__main__ import main

    data = tmp_path / "data"
    db = Database(f"sqlite:///{data / 'puente.db'}")
    db.migrate()
    seeded = seed_week(db)
    db.close()
    monkeypatch.chdir(tmp_path)  # no .env from the repository
    monkeypatch.setenv("PUENTE_DATA_DIR", str(data))
    monkeypatch.setenv("PUENTE_TIMEZONE", "Asia/Taipei")
    monkeypatch.setenv("PUENTE_RESPONSE_PROMISE_HOURS", "2")
    monkeypatch.setenv("PUENTE_ROSTER_FILE", str(tmp_path / "no-roster.yaml"))
    for name in ("DATABASE_URL", "EMBEDDING_MODEL", "PUENTE_TODAY"):
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / "out"

    code = main(["report", "--since", "7d", "--until", "2026-11-29", "--out", str(out), "--lang", "es"])

    assert code == 0
    assert_csvs_match_the_seeded_week(out, seeded)
    printed = capsys.readouterr().out
    assert str(out / "report.png") in printed and str(out / "summary.csv") in printed
    assert "Preguntas: 108 (73 respondidas, 12 sin respuesta, 23 derivadas)" in printed
    # multilingual-e5-small groups the four Spanish and English library questions (cosine
    # 0.89-1.0); it does not join every translation (the Chinese one stays apart).
    clusters = read_csv(out / "declined_clusters.csv")
    assert int(clusters[0]["size"]) == 4 and GROUP_OF[clusters[0]["example"]] == "library"
    assert sum(int(r["size"]) for r in clusters) <= 12


def test_the_command_line_explains_a_bad_window(tmp_path, monkeypatch, capsys):
    from bot.__main__ import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PUENTE_DATA_DIR", str(tmp_path / "data"))
    code = main(["report", "--since", "last week", "--out", str(tmp_path / "out")])
    assert code == 2
    assert "--since 'last week'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# --- fonts ----------------------------------------------------------------------------------------


def test_chinese_labels_are_drawn_with_a_cjk_font(db, seeded, tmp_path):
    if find_cjk_font() is None:
        pytest.skip(f"no CJK font on this machine ({INSTALL_HINT})")
    # filterwarnings = error: a missing glyph ("Glyph ... missing from font(s)") fails here.
    report = make_report(db, WINDOW, tmp_path, promise_hours=2, language="zh-TW",
                         embed=GroupEmbedder())  # fmt: skip
    assert report.written.language == "zh-TW"
    assert "提問：108 題" in report.summary
    assert png_size(report.written.png) == (1440, 990)


def test_without_a_cjk_font_chinese_falls_back_to_english_with_a_hint(db, seeded, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="bot.report.fonts"):
        fonts = choose_fonts("zh-TW", files=(), families=())
    assert (fonts.language, fonts.cjk) == ("en", None)
    assert "apt-get install fonts-noto-cjk" in caplog.text
    # The Chinese question quoted in the picture cannot be drawn: boxes, and no warning.
    assert fonts.displayable("圖書館 library") == "□□□ library"
    figures = build_figures(db, WINDOW, promise_hours=2, embed=GroupEmbedder())
    written = write_report(figures, tmp_path, language="zh-TW", fonts=fonts)
    assert written.language == "en"
    assert png_size(written.png) == (1440, 990)


# --- once a week ----------------------------------------------------------------------------------


def test_the_week_is_claimed_once(db):
    now = datetime(2026, 11, 30, 0, 30, tzinfo=timezone.utc)
    week = week_key(FIRST_DAY)
    assert week == "2026-W48"
    assert claim_week(db, week, now) is True
    assert claim_week(db, week, now) is False  # another replica, a second run
    release(db, week)  # the send failed: the claim is given back
    assert claim_week(db, week, now + timedelta(minutes=10)) is True
    mark_sent(db, week, now + timedelta(minutes=11))
    release(db, week)  # a sent week is never given back
    assert claim_week(db, week, now) is False
    assert sent_at(db, week) == now + timedelta(minutes=11)
    assert claim_week(db, week_key(LAST_DAY + timedelta(days=1)), now) is True  # next week


class RecordingBot:
    """The two calls the job makes, recorded; `fail` makes send_photo raise once."""

    def __init__(self, *, fail: Exception | None = None) -> None:
        self.photos: list[dict] = []
        self.fail = fail

    async def send_photo(self, chat_id, photo, **kwargs):
        if self.fail is not None:
            error, self.fail = self.fail, None
            raise error
        self.photos.append({"chat_id": chat_id, "png": photo.read(), **kwargs})


def desk_services(db):
    from bot.config import Settings
    from bot.escalation.roster import parse_roster
    from tests.telegram_fakes import desk_roster

    roster = parse_roster(desk_roster(
        trainee=42, counselor=100, mentor=200, admin=900, desk_chat=-1009, desk_thread=7,
        counselor_name="Ana Ruiz", counselor_languages="es, en",
    ))  # fmt: skip
    settings = Settings(_env_file=None, PUENTE_RESPONSE_PROMISE_HOURS=2)
    return SimpleNamespace(
        settings=settings, desk=SimpleNamespace(roster=roster, person=roster.person),
        users=SimpleNamespace(db=db), assistant=SimpleNamespace(),
    )  # fmt: skip


async def test_two_replicas_send_one_report_and_a_failed_send_is_tried_again(db, seeded):
    from telegram.error import NetworkError

    from bot.channels.telegram.report_job import FAQ, GAPS, send_weekly_report

    services = desk_services(db)
    monday = datetime(2026, 11, 30, 8, 30, tzinfo=TZ)
    failing = RecordingBot(fail=NetworkError("down"))
    with pytest.raises(NetworkError):
        await send_weekly_report(failing, services, now=monday)
    assert sent_at(db, "2026-W48") is None and not failing.photos

    first, second = RecordingBot(), RecordingBot()
    assert await send_weekly_report(first, services, now=monday) == "sent"
    assert await send_weekly_report(second, services, now=monday + timedelta(minutes=1)) == "taken"
    (photo,) = first.photos
    assert not second.photos
    assert (photo["chat_id"], photo["message_thread_id"]) == (-1009, 7)
    assert photo["png"][:8] == b"\x89PNG\r\n\x1a\n"
    assert photo["caption"].startswith("📊 Puente, 2026-11-23 to 2026-11-29")
    assert "Questions: 108 (73 answered, 12 declined, 23 escalated)" in photo["caption"]
    assert [b.callback_data for row in photo["reply_markup"].inline_keyboard for b in row] == [
        GAPS, FAQ,
    ]  # fmt: skip
    assert sent_at(db, "2026-W48") is not None


def test_the_job_runs_on_the_configured_weekday_and_time_in_the_roster_zone(db):
    from telegram.ext import ApplicationBuilder

    from bot.channels.telegram import report_job

    application = ApplicationBuilder().token("999:TEST").build()
    services = desk_services(db)
    services.settings = services.settings.model_copy(
        update={"report_weekday": "wed", "report_time": "18:05"}
    )
    application.bot_data["services"] = services
    report_job.register(application)
    (job,) = application.job_queue.get_jobs_by_name(report_job.JOB_NAME)
    after = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)  # a Monday
    fire = job.job.trigger.get_next_fire_time(None, after)
    assert fire == datetime(2026, 12, 2, 18, 5, tzinfo=TZ)  # Wednesday, Taipei time
    assert fire.weekday() == 2


def test_no_roster_no_job(db):
    from telegram.ext import ApplicationBuilder

    from bot.channels.telegram import report_job

    application = ApplicationBuilder().token("999:TEST").build()
    services = desk_services(db)
    services.desk = None
    application.bot_data["services"] = services
    report_job.register(application)
    assert application.job_queue.get_jobs_by_name(report_job.JOB_NAME) == ()


async def test_the_buttons_answer_roster_people_only(db):
    from bot.channels.telegram import build_application
    from bot.escalation.service import EscalationDesk
    from bot.i18n import t
    from bot.services import Services
    from tests.telegram_fakes import FakeAssistant, FakeUserStore
    from tests.test_telegram_handlers import OfflineBotApi, feed, make_settings, press

    settings = make_settings(PUENTE_TODAY="2026-11-29")
    roster = desk_services(db).desk.roster
    desk = EscalationDesk(db, roster, settings)
    services = Services(settings=settings, assistant=FakeAssistant(), users=FakeUserStore(),
                        desk=desk)  # fmt: skip
    api = OfflineBotApi()
    app = build_application(settings, services, request=api, get_updates_request=api)
    await app.initialize()
    try:
        photo = {"chat_id": -1009, "message_id": 77, "text": ""}
        await feed(app, press("report:gaps", on=photo, user_id=555))  # not on the roster
        assert api.sent("answerCallbackQuery")[-1]["text"] == t("en", "report.not_allowed")
        assert api.sent("sendMessage") == []

        # The gap list is the last 7 days up to now: questions declined today.
        from bot.learning.questions import QuestionLog
        from tests.report_seed import seed_faq

        seed_faq(db)
        for text in ("Where is the gym?", "where is the gym?", "Is there a pool?"):
            QuestionLog(db).add(user_id=1, language="en", audience="trainee",
                                outcome="declined", question=text)  # fmt: skip
        await feed(app, press("report:gaps", on=photo, user_id=100))
        await feed(app, press("report:faq", on=photo, user_id=900))
        gaps, faq = api.texts(-1009)
        assert gaps.splitlines() == [
            t("en", "report.gaps_heading"), "• 2× Where is the gym?", "• 1× Is there a pool?",
        ]  # fmt: skip
        assert faq == t("en", "report.summary.faq", count=FAQ_PENDING)
    finally:
        await app.shutdown()
    assert not api.unexpected


def test_the_report_is_caught_up_after_a_restart_within_a_day_and_a_dead_claim_is_taken_over(tmp_path):
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from bot.channels.telegram.report_job import last_due_day
    from bot.report.runs import STALE_CLAIM, claim_week, mark_sent
    from bot.storage import Database

    tz = ZoneInfo("Asia/Taipei")
    monday = datetime(2026, 11, 30, 8, 30, tzinfo=tz)  # a Monday
    at = time(8, 30)
    assert last_due_day(monday - timedelta(minutes=1), "mon", at) is None  # not due yet
    assert last_due_day(monday + timedelta(hours=3), "mon", at) == monday.date()
    assert last_due_day(monday + timedelta(hours=23), "mon", at) == monday.date()  # Tuesday 07:30
    assert last_due_day(monday + timedelta(hours=25), "mon", at) is None  # too old: not sent
    assert last_due_day(monday + timedelta(hours=3), "tue", at) is None

    db = Database(f"sqlite:///{tmp_path / 'runs.db'}")
    db.migrate()
    now = monday.astimezone(ZoneInfo("UTC"))
    assert claim_week(db, "2026-W48", now) is True
    assert claim_week(db, "2026-W48", now + timedelta(minutes=5)) is False  # another replica
    assert claim_week(db, "2026-W48", now + STALE_CLAIM + timedelta(minutes=1)) is True  # it died
    mark_sent(db, "2026-W48", now + STALE_CLAIM + timedelta(minutes=2))
    assert claim_week(db, "2026-W48", now + timedelta(days=1)) is False  # sent: never again
