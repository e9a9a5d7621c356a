"""Conversations: follow-ups read with the earlier turn, kept per chat in the database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest

from bot.conversation import (
    Conversations,
    MemoryConversationStore,
    SqlConversationStore,
)
from bot.conversation.followup import NONE, STRONG, WEAK, carried_terms, ellipsis
from bot.records import AnswerRecord, Turn
from bot.storage import Database, UserStore
from bot.storage.retention import purge

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


# --- what a follow-up looks like -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("¿y el domingo?", "es"),
        ("y para el nivel 2?", "es"),
        ("and how long does it take?", "en"),
        ("what about the deposit?", "en"),
        ("那英文場次呢？", "zh-TW"),
        ("還有呢？要帶什麼？", "zh-TW"),
    ],
)
def test_a_message_opening_with_a_connective_leans_on_the_earlier_turn(text, language):
    assert ellipsis(text, language) == STRONG


@pytest.mark.parametrize(
    ("text", "language"),
    [("weekends?", "en"), ("is it free?", "en"), ("¿cuánto cuesta eso?", "es"), ("這個要多久？", "zh-TW"),
     ("幾點開？", "zh-TW")],
)
def test_a_short_message_or_one_that_points_back_may_lean_on_it(text, language):
    assert ellipsis(text, language) == WEAK


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("¿A qué hora abre la biblioteca los sábados?", "es"),
        ("How much is the Level 2 exam for students?", "en"),
        ("請問第三級考試的及格標準是多少分？", "zh-TW"),
        ("¿Cuántos días de vacaciones tenemos en invierno?", "es"),
    ],
)
def test_a_whole_question_stands_on_its_own(text, language):
    assert ellipsis(text, language) == NONE


def test_the_earlier_topic_words_are_carried_in_their_own_spelling_minus_what_is_said():
    rare = {"lavanderia", "dormitorio", "abre"}.__contains__
    terms = carried_terms("¿A qué hora abre la lavandería del dormitorio?", "¿y el domingo abre?", rare)
    assert terms == ["lavandería", "dormitorio"]  # "abre" is said again; "hora" names no topic


def test_chinese_topic_words_are_cut_at_function_characters():
    terms = carried_terms("請問宿舍的洗衣房在哪裡？", "開放時間呢？", None)
    assert "洗衣房" in terms
    assert not any("的" in t or "在" in t for t in terms)


# --- the conversation service ----------------------------------------------------------------


@dataclass
class ScriptedAssistant:
    """Answers from a script: text -> (kind, carried); records the history it was given."""

    script: dict[str, tuple[str | None, bool]] = field(default_factory=dict)
    seen: list[list[str]] = field(default_factory=list)

    def answer(self, text, *, language=None, user_id=None, history=()):
        self.seen.append([t.question for t in history])
        kind, carried = self.script.get(text, ("documents", False))
        turn = None if kind is None else Turn(text, text, "en", kind, (("faq.en.md", "Laundry"),))
        return AnswerRecord(text, "en", f"A: {text}", answered=kind in ("documents", "calendar"),
                            turn=turn, carried="Laundry" if carried else None)  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def conversation(script=None, store=None, **kwargs):
    clock = Clock()
    assistant = ScriptedAssistant(script or {})
    return Conversations(assistant, store or MemoryConversationStore(), clock=clock, **kwargs), assistant, clock


def test_the_next_message_is_answered_with_the_turns_before_it():
    chat, assistant, _ = conversation({"and on Sunday?": ("documents", True), "how much?": ("documents", True)})
    chat.reply(7, "laundry hours?", user_id=7)
    chat.reply(7, "and on Sunday?", user_id=7)
    chat.reply(7, "how much?", user_id=7)
    assert assistant.seen == [[], ["laundry hours?"], ["laundry hours?", "and on Sunday?"]]


def test_a_question_answered_on_its_own_starts_a_new_topic():
    chat, assistant, _ = conversation({"and on Sunday?": ("documents", True)})
    for text in ("laundry hours?", "and on Sunday?", "where is the gym?", "next"):
        chat.reply(7, text, user_id=7)
    assert assistant.seen[-1] == ["where is the gym?"]


def test_only_the_last_turns_are_kept():
    chat, assistant, _ = conversation({f"q{i}": ("documents", True) for i in range(1, 6)}, keep=3)
    chat.reply(7, "q0", user_id=7)
    for i in range(1, 6):
        chat.reply(7, f"q{i}", user_id=7)
    assert assistant.seen[-1] == ["q2", "q3", "q4"]  # q0 and q1 dropped out


def test_a_declined_message_or_an_escalation_leaves_the_topic_as_it_was():
    chat, assistant, _ = conversation({"blah?": ("declined", False), "help me": (None, False)})
    for text in ("laundry hours?", "blah?", "help me", "and on Sunday?"):
        chat.reply(7, text, user_id=7)
    assert assistant.seen[-1] == ["laundry hours?"]


def test_thirty_minutes_of_silence_start_a_new_conversation():
    chat, assistant, clock = conversation()
    chat.reply(7, "laundry hours?", user_id=7)
    clock.now += timedelta(minutes=29)
    chat.reply(7, "still there?", user_id=7)
    clock.now += timedelta(minutes=31)
    chat.reply(7, "and on Sunday?", user_id=7)
    assert assistant.seen == [[], ["laundry hours?"], []]


def test_chats_do_not_share_a_conversation_and_forget_clears_one():
    chat, assistant, _ = conversation()
    chat.reply(7, "laundry hours?", user_id=7)
    chat.reply(8, "gym?", user_id=8)
    chat.forget(7)
    chat.reply(7, "and on Sunday?", user_id=7)
    chat.reply(8, "and on Sunday?", user_id=8)
    assert assistant.seen[2:] == [[], ["gym?"]]


class BrokenStore(MemoryConversationStore):
    def save(self, *args, **kwargs):
        raise OSError("disk full")


def test_a_store_that_fails_costs_the_context_not_the_answer():
    chat, _, _ = conversation(store=BrokenStore())
    assert chat.reply(7, "laundry hours?", user_id=7).answer == "A: laundry hours?"


# --- in the database ---------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'puente.db'}")
    database.migrate()
    return database


def test_the_conversation_survives_a_restart(tmp_path, db):
    chat, _, clock = conversation(store=SqlConversationStore(db))
    chat.reply(7, "laundry hours?", user_id=7)
    # A new process: a new database object and store over the same file.
    again = Database(f"sqlite:///{tmp_path / 'puente.db'}")
    later, assistant, later_clock = conversation(store=SqlConversationStore(again))
    later_clock.now = clock.now + timedelta(minutes=5)
    later.reply(7, "and on Sunday?", user_id=7)
    assert assistant.seen == [["laundry hours?"]]


def test_turns_round_trip_through_the_database(db):
    store = SqlConversationStore(db)
    turn = Turn("那英文場次呢？", "那英文場次呢？", "zh-TW", "calendar", (("certification/exam-sessions.csv", "SC-2612-02"),),
                "SC-2612-02", {"calendar": ["12月5日有考試嗎？", "那英文場次呢？"]})  # fmt: skip
    store.save(7, 7, [turn], T0)
    assert store.load(7, since=T0 - timedelta(minutes=30)) == [turn]
    assert store.load(7, since=T0 + timedelta(seconds=1)) == []


def test_forget_deletes_the_conversation(db):
    store = SqlConversationStore(db)
    store.save(7, 7, [Turn("q", "q", "en", "documents")], T0)
    store.save(8, 8, [Turn("q", "q", "en", "documents")], T0)
    UserStore(db).forget_user(7)
    assert store.load(7, since=T0 - timedelta(days=1)) == []
    assert store.load(8, since=T0 - timedelta(days=1)) != []


def test_the_daily_purge_drops_conversations_a_day_old(db):
    store = SqlConversationStore(db)
    store.save(7, 7, [Turn("q", "q", "en", "documents")], T0)
    store.save(8, 8, [Turn("q", "q", "en", "documents")], T0 + timedelta(hours=20))
    purge(db, T0 + timedelta(days=1, minutes=1))
    assert store.load(7, since=T0 - timedelta(days=2)) == []
    assert store.load(8, since=T0 - timedelta(days=2)) != []
