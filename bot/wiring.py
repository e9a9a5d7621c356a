"""Building the long-lived services from the settings, once, in `main()`."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from bot.config import Settings
from bot.services import Services

logger = logging.getLogger(__name__)


def build_services(settings: Settings, assistant) -> Services:
    """The database and user store, and the escalation desk when a roster is configured."""
    # deferred: SQLAlchemy and the storage layer (heavy), built only by the commands that use them
    from bot.learning.questions import QuestionLog
    from bot.storage import Database, UserStore

    private_folder(Path(settings.data_dir))
    db = Database(settings.resolved_database_url)
    private_sqlite_file(db)
    db.migrate_with_retries()  # DatabaseUnavailable (a clear message) when it never works
    users = UserStore(db)
    desk = build_desk(settings, db)
    exams = build_exam_reminders(settings, db, assistant, roster=getattr(desk, "roster", None))
    conversations = build_conversations(settings, db, assistant)
    practice = build_practice(db, assistant)
    questions = QuestionLog(db)
    faq = build_faq(settings, db, desk, assistant)
    return Services(settings=settings, assistant=assistant, users=users, desk=desk, exams=exams,
                    conversations=conversations, practice=practice, questions=questions,
                    faq=faq)  # fmt: skip


def build_faq(settings: Settings, db, desk, assistant):
    """The learning loop (Save as FAQ, review, publish) over the desk; None without a desk."""
    # deferred: the learning loop (SQLAlchemy, the pair model) is built only with a desk
    from bot.learning.duplicates import DuplicateFinder, PairModel
    from bot.learning.faq import FaqDesk
    from bot.learning.publish import Publisher
    from bot.learning.store import FaqStore

    if desk is None:
        return None
    retriever = getattr(assistant, "retriever", None)
    embedder = getattr(retriever, "embedder", None)
    model = PairModel.load(getattr(embedder, "name", None)) if embedder is not None else None
    duplicates = DuplicateFinder(embedder.embed_query, model) if model is not None else None

    def reindex() -> None:
        # deferred: the ingest (chromadb, loaders) runs only when an FAQ is published
        from bot.ingestion.pipeline import ingest

        report = ingest(
            settings.knowledge_dir, settings.data_dir, lambda: embedder,
            embedding_model=settings.embedding_model, progress=False,
            detect_language=assistant.detect_language, chroma_host=settings.chroma_host,
            chroma_port=settings.chroma_port,
        )  # fmt: skip
        chunks = assistant.reload_index()
        logger.info("learned answers indexed: %s; %d chunks", report.summary(), chunks)

    def documents(question: str, language: str):
        record = assistant.answer(question, language=language)
        cited = [c for c in record.sources if not c.source.startswith("learned/")]
        if record.answered and not record.escalate and cited:
            return cited[0].source, cited[0].section
        return None

    roster = desk.roster
    publisher = Publisher(
        settings.knowledge_dir, reindex if embedder is not None else None,
        approver_name=lambda pid: getattr(roster.person(pid), "name", ""),
    )  # fmt: skip
    return FaqDesk(desk.cases, roster, FaqStore(db), publisher=publisher, duplicates=duplicates,
                   documents=documents)  # fmt: skip


def build_practice(db, assistant):
    """/practice over the assistant's Mandarin vocabulary index; None (logged) without one."""
    # deferred: SQLAlchemy (heavy), built only for Telegram
    from bot.mandarin.practice import Practice

    lookup = getattr(assistant, "mandarin", None)
    if lookup is None or not lookup.vocabulary.words():
        logger.warning("no Mandarin vocabulary index: /practice is off (run `python ingest.py`)")
        return None
    return Practice(lookup.vocabulary, db)


def build_conversations(settings: Settings, db, assistant):
    """Each private chat's last turns, in the database (they survive a restart and are shared
    by every process)."""
    from datetime import timedelta

    # deferred: SQLAlchemy (heavy), built only for Telegram
    from bot.conversation import Conversations, SqlConversationStore

    ttl = timedelta(minutes=settings.conversation_minutes)
    return Conversations(assistant, SqlConversationStore(db), ttl=ttl)


def private_folder(path: Path) -> None:
    """The data folder holds people's messages: readable by the bot's user only (0700)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)


def private_sqlite_file(db) -> None:
    """A SQLite database file is created 0600 (and made so if it exists)."""
    database = getattr(getattr(db, "url", None), "database", None)
    if not getattr(db, "is_sqlite", False) or not database or database == ":memory:":
        return
    path = Path(database)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        path.chmod(0o600)
    except OSError as exc:  # opening the database reports it in one clear line
        logger.debug("could not create %s 0600: %s", path, exc)


def build_desk(settings: Settings, db):
    """The escalation desk over `db`, or None (logged) when no roster file exists."""
    # deferred: the desk (SQLAlchemy) is built only when a roster is configured
    from bot.escalation.roster import load_roster
    from bot.escalation.service import EscalationDesk

    roster_path = Path(settings.roster_file)
    if not roster_path.exists():
        logger.warning("no roster at %s: the counselor desk is off", roster_path)
        return None
    roster = load_roster(roster_path)  # RosterError names the line and field; main() reports it
    return EscalationDesk(db, roster, settings, reopen_window_hours=settings.reopen_window_hours)


def build_exam_reminders(settings: Settings, db, assistant, *, roster=None):
    """Exam-session reminders over `db` and the assistant's calendar (or the one in the
    knowledge folder); None (logged) when there is no calendar."""
    from bot.assistant import load_calendar
    from bot.escalation.roster import RosterError, load_roster
    from bot.exam_reminders import ExamReminders

    calendar = getattr(assistant, "calendar", None) or load_calendar(settings)
    if calendar is None:
        logger.warning("no exam calendar: exam reminders are off")
        return None
    if roster is None and Path(settings.roster_file).exists():
        try:
            roster = load_roster(settings.roster_file)
        except RosterError as exc:
            logger.error("roster not loaded, /notify is refused to everyone: %s", exc)
    return ExamReminders(
        db, calendar, timezone_name=settings.timezone, today=settings.today, roster=roster
    )
