"""The desk audit's findings outside the case policy: settings that would expose the bot, the
roster's own checks, data at rest and in logs, and hostile knowledge files."""

from __future__ import annotations

import logging
import stat
import zipfile
from datetime import datetime, timedelta, timezone

import pytest

from bot.channels.telegram.app import TelegramSetupError, check_settings
from bot.escalation.cases import CaseStore
from bot.escalation.roster import RosterError, parse_roster
from bot.escalation.routing import route
from bot.exams import CalendarError, ExamCalendar
from bot.ingestion.documents import LoaderError
from bot.ingestion.loaders import load_document, split_front_matter
from bot.logging_setup import configure_logging
from bot.storage import Database, UserStore
from bot.storage.retention import purge
from tests.test_roster import VALID
from tests.test_telegram_handlers import make_settings

# --- settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [None, "", "short", "x" * 31, "has spaces in it " * 3])
def test_webhook_mode_needs_a_strong_secret(secret):
    settings = make_settings(
        telegram_mode="webhook", webhook_url="https://example.org/hook", webhook_secret=secret
    )
    with pytest.raises(TelegramSetupError, match="TELEGRAM_WEBHOOK_SECRET") as info:
        check_settings(settings)
    assert settings.telegram_bot_token.get_secret_value() not in str(info.value)


def test_webhook_mode_with_a_strong_secret_and_polling_start():
    check_settings(make_settings(
        telegram_mode="webhook", webhook_url="https://example.org/hook",
        webhook_secret="A" * 20 + "-_b" * 6,
    ))  # fmt: skip
    check_settings(make_settings())  # polling needs no secret
    with pytest.raises(TelegramSetupError, match="TELEGRAM_WEBHOOK_URL"):
        check_settings(make_settings(telegram_mode="webhook", webhook_secret="A" * 40))


def test_without_configuration_there_is_no_desk():
    """The example roster (fictional ids) is never the default."""
    from bot.config import Settings

    assert Settings(_env_file=None).roster_file.name == "roster.yaml"


# --- the roster --------------------------------------------------------------------------------


def test_a_roster_without_a_desk_admin_is_refused():
    with pytest.raises(RosterError, match="desk_admin"):
        parse_roster(VALID.replace("roles: [counselor, desk_admin]", "roles: [counselor]"))


def test_a_mentor_key_must_be_an_id_or_a_username():
    with pytest.raises(RosterError, match="neither a Telegram user id nor an @username"):
        parse_roster(VALID.replace('"@Sofia_HMO"', '"Sofia HMO"'))


def test_a_username_mentor_gets_the_academic_case():
    roster = parse_roster(VALID)

    class Case:
        reason, topic, language, sensitive = "sensitive", "academic", "es", False
        user_id, username = 555, "sofia_hmo"

    routing = route(Case(), roster, datetime(2026, 9, 7, 2, 0, tzinfo=timezone.utc))
    assert [p.id for p in routing.recipients] == [100000001]


# --- data at rest and in logs ------------------------------------------------------------------


def test_the_data_folder_and_database_are_private(tmp_path):
    from bot.wiring import private_folder, private_sqlite_file

    folder = tmp_path / "data"
    folder.mkdir(mode=0o755)
    private_folder(folder)
    db = Database(f"sqlite:///{folder / 'puente.db'}")
    private_sqlite_file(db)
    db.migrate()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "puente.db").stat().st_mode) == 0o600
    db.close()


def test_the_retention_purge_keeps_what_the_privacy_text_promises(tmp_path):
    now = datetime(2027, 9, 1, tzinfo=timezone.utc)
    clock = {"now": now - timedelta(days=600)}
    db = Database(f"sqlite:///{tmp_path / 'p.db'}")
    db.migrate()
    users = UserStore(db, clock=lambda: clock["now"])
    store = CaseStore(db, clock=lambda: clock["now"])

    def feedback(user):
        users.record_feedback(user_id=user, chat_id=user, message_id=1, question="q", answer="a",
                              sources=[], rating=1)  # fmt: skip

    def case(user, resolve: bool):
        opened = store.open_case(user, user, "Ana", "es", "sensitive", "housing", "mi texto", [],
                                 None, [])  # fmt: skip
        store.add_message(opened.id, "in", user, "más texto")
        if resolve:
            store.claim(opened.id, 9)
            store.resolve(opened.id, 9)
        return opened.id

    feedback(1)
    old_resolved, old_active = case(1, True), case(2, False)  # 600 days ago
    from bot.outbox import Outbox

    outbox = Outbox(db, clock=lambda: clock["now"])
    sent = outbox.enqueue(9, "Case #1 · Ana: mi texto", kind="card", case_id=old_resolved,
                          dedupe_key="old-card")  # fmt: skip
    outbox.mark_sent(sent, 77)
    clock["now"] = now - timedelta(days=10)
    feedback(3)
    recent = case(3, True)

    purged = purge(db, now)
    assert purged.feedback == 1 and purged.cases == 1
    assert 1 not in [e.actor for e in store.audit(old_resolved)]  # no Telegram id left behind
    assert outbox.get(sent) is None  # the card that carried its text
    old = store.get(old_resolved)
    assert old.anonymized and old.text == "" and old.name == "" and store.messages(old.id) == []
    assert store.get(old_active).text == "mi texto"  # an active case is never purged
    assert store.get(recent).text == "mi texto" and not store.get(recent).anonymized
    assert purge(db, now).total == 0  # idempotent
    db.close()


def test_debug_logging_never_shows_peoples_messages(caplog):
    configure_logging("DEBUG")
    try:
        assert logging.getLogger("telegram.ext").getEffectiveLevel() >= logging.INFO
        assert logging.getLogger("telegram.bot").getEffectiveLevel() >= logging.INFO
    finally:
        configure_logging("INFO")


# --- hostile knowledge files -------------------------------------------------------------------


def test_yaml_aliases_are_refused_in_front_matter():
    bomb = "---\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
    bomb += "c: [*b, *b, *b, *b, *b, *b, *b, *b]\n---\nbody\n"
    with pytest.raises(LoaderError, match="aliases"):
        split_front_matter(bomb)
    meta, body = split_front_matter("---\ntitle: ok\n---\nbody\n")
    assert meta == {"title": "ok"} and body == "body\n"


def test_a_docx_that_inflates_too_far_is_skipped(tmp_path):
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", "\0" * (60 * 2**20))
    assert path.stat().st_size < 1_000_000
    with pytest.raises(LoaderError, match="inflates"):
        load_document(path, tmp_path)


def test_a_loader_crash_is_a_skipped_file_not_an_aborted_ingest(tmp_path, monkeypatch):
    from bot.ingestion import loaders

    def broken(path):
        raise TypeError("an internal error of the PDF library")

    monkeypatch.setitem(loaders.LOADERS, ".pdf", broken)
    (tmp_path / "odd.pdf").write_bytes(b"%PDF-1.4 garbage")
    with pytest.raises(LoaderError, match="TypeError"):
        load_document(tmp_path / "odd.pdf", tmp_path)
    (tmp_path / "deep.pdf").write_bytes(b"%PDF")
    monkeypatch.setitem(loaders.LOADERS, ".pdf", lambda p: (_ for _ in ()).throw(RecursionError()))
    with pytest.raises(LoaderError, match="nested"):
        load_document(tmp_path / "deep.pdf", tmp_path)


def test_a_huge_calendar_field_is_a_calendar_error_not_a_crash(tmp_path):
    from bot.exams.model import COLUMNS

    path = tmp_path / "exam-sessions.csv"
    row = ["x" * 200_000] + ["1"] * (len(COLUMNS) - 1)
    path.write_text(",".join(COLUMNS) + "\n" + ",".join(row) + "\n")
    with pytest.raises(CalendarError, match="not readable as CSV"):
        ExamCalendar.load(path, source="exam-sessions.csv")


def test_the_calendar_reads_no_yaml_aliases(tmp_path):
    path = tmp_path / "exam-sessions.csv"
    path.write_text("session_id\n")
    (tmp_path / "exam-sessions.meta.yaml").write_text("a: &a 2026-01-01\nupdated: *a\n")
    with pytest.raises(CalendarError):
        ExamCalendar.load(path, source="exam-sessions.csv")
