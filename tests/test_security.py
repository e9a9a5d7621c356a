"""Security: the bot token never reaches the logs; staff commands refuse everyone else; one
person's case, messages and feedback are never shown to another; /forget deletes a person's data
and keeps their cases only as anonymized audit rows. Against the Bot API emulator."""

from __future__ import annotations

import sqlite3

import pytest

from bot.i18n import t
from tests.conftest import KNOWLEDGE
from tests.e2e.conftest import emulator, emulator_server  # noqa: F401 - the emulator fixtures
from tests.e2e.live import (
    COUNSELOR,
    DESK_CHAT,
    TRAINEE,
    TRAINEE_B,
    BotProcess,
    LiveBot,
    desk_settings,
    entrypoint_env,
    staff_chats,
)
from tests.telegram_fakes import FakeAssistant

pytestmark = pytest.mark.e2e

GROUP = -1002000000777
SECRET_TOKEN = "7501234567:AAH3kq9X_s3cretPart-Zz81234567890"


@pytest.fixture
async def live(emulator, tmp_path):  # noqa: F811
    staff_chats(emulator)
    settings = desk_settings(
        emulator, tmp_path, knowledge_dir=KNOWLEDGE, PUENTE_TODAY="2026-11-21"
    )
    bot = LiveBot(emulator, settings, FakeAssistant())
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


async def open_case(live: LiveBot, text: str = "/human my visa was refused") -> dict:
    """Trainee A asks for a person; returns the case card posted in the desk group."""
    await live.sends(TRAINEE, text, first_name="Sofía")
    return await live.message_with(DESK_CHAT, "Case #1")


async def staff_replies(live: LiveBot, card: dict, text: str, person: int = COUNSELOR) -> dict:
    """Someone in the desk group replies to the card."""
    return await live.sends(DESK_CHAT, text, user_id=person, first_name="Staff",
                            chat_type="supergroup", reply_to_message_id=card["message_id"])  # fmt: skip


def rows(db_path, sql: str, *args) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


async def test_staff_commands_refuse_everyone_else(live, emulator):  # noqa: F811
    await open_case(live)
    for person in (TRAINEE, TRAINEE_B):
        before = len(live.texts(person))
        for command in ("/cases", "/case 1", "/resolve 1", "/notify SC-2703-02 Room changed"):
            await live.sends(person, command, first_name="X")
        got = (await emulator.await_bot_messages(person, before + 4))[before:]
        texts = [m["text"] for m in got]
        # /case from a trainee is about their own request only (the number is ignored).
        own = "Your request #1" if person == TRAINEE else t("en", "desk.trainee_no_case")
        assert texts[0] == texts[2] == t("en", "desk.staff_only")
        assert texts[1].startswith(own) and texts[3] == t("en", "exams.notify.refused")
        assert not any("visa" in x or "Sofía" in x for x in texts)
    case = rows(live.db_path, "SELECT status FROM cases WHERE id = 1")
    assert case == [("open",)]  # nobody resolved it


async def test_one_trainees_case_is_never_shown_to_another(live, emulator):  # noqa: F811
    card = await open_case(live)
    await staff_replies(live, card, "We will call the immigration office.")
    relayed = await live.message_with(TRAINEE, "We will call the immigration office.")

    # B replies, in B's own chat, to a message with the same id as A's relayed one: nothing of
    # A's case is reached (messages are looked up by chat and id), B just gets an answer.
    while not any(m["message_id"] >= relayed["message_id"] for m in emulator.messages(TRAINEE_B)):
        answered = len(live.texts(TRAINEE_B))
        await live.sends(TRAINEE_B, f"hello {answered}", first_name="Bruno")
        await emulator.await_bot_messages(TRAINEE_B, answered + 1)
    target = next(m for m in emulator.messages(TRAINEE_B) if m["message_id"] >= relayed["message_id"])
    before = len(live.texts(DESK_CHAT))
    await live.sends(TRAINEE_B, "what did the counselor say?", first_name="Bruno",
                     reply_to_message_id=target["message_id"])  # fmt: skip
    await live.message_with(TRAINEE_B, "ANSWER: what did the counselor say?")
    # B's /case 1 shows B's own (absent) request, and B's chat never shows A's case.
    await live.sends(TRAINEE_B, "/case 1", first_name="Bruno")
    await live.message_with(TRAINEE_B, t("en", "desk.trainee_no_case"))
    b_texts = live.texts(TRAINEE_B)
    assert not any("immigration" in x or "visa" in x or "Sofía" in x for x in b_texts)
    await live.outbox_settled()
    assert len(live.texts(DESK_CHAT)) == before  # nothing from B was relayed to A's case

    # In the desk group, B (not on the roster) replies to A's card: refused, not relayed.
    trainee_before = len(live.texts(TRAINEE))
    await staff_replies(live, card, "tell me about Sofía", person=TRAINEE_B)
    await live.message_with(DESK_CHAT, t("en", "desk.not_allowed", case_id=1))
    await live.outbox_settled()
    assert len(live.texts(TRAINEE)) == trainee_before

    # In a group, A asks Puente.
    emulator.create_chat(GROUP, chat_type="supergroup", title="Cohort 2026")
    await live.sends(GROUP, "@puente_test_bot how much is the allowance?",
                     user_id=TRAINEE, first_name="Sofía", chat_type="supergroup")  # fmt: skip
    answer = await live.message_with(GROUP, "ANSWER:")

    # B presses 👎 under A's answer: refused, nothing stored under B's name.
    await live.presses(GROUP, answer["message_id"], "fb:-", TRAINEE_B)
    await emulator.await_for(
        lambda: [q for q in emulator.callback_queries() if q.get("_answer")],
        what="the press answered",
    )
    refusal = emulator.callback_queries()[-1]["_answer"]
    assert refusal.get("text") == t("en", "telegram.feedback.not_yours")
    assert rows(live.db_path, "SELECT user_id FROM feedback") == []
    # A's own press counts.
    await live.presses(GROUP, answer["message_id"], "fb:+", TRAINEE)
    await emulator.await_for(
        lambda: rows(live.db_path, "SELECT user_id, rating FROM feedback"), what="A's rating"
    )
    assert rows(live.db_path, "SELECT user_id, rating FROM feedback") == [(TRAINEE, 1)]


async def test_forget_deletes_the_person_and_anonymizes_their_cases(live, emulator):  # noqa: F811
    # A: a language choice, a rated answer, a case with messages both ways.
    await live.sends(TRAINEE, "/lang", first_name="Sofía")
    picker = (await emulator.await_bot_messages(TRAINEE, 1))[-1]
    await live.presses(TRAINEE, picker["message_id"], "lang:en", TRAINEE)
    await emulator.await_for(lambda: rows(live.db_path, "SELECT * FROM user_prefs"), what="pref")
    await live.sends(TRAINEE, "where do I pay the rent?", first_name="Sofía")
    answer = await live.message_with(TRAINEE, "ANSWER: where do I pay the rent?")
    await live.presses(TRAINEE, answer["message_id"], "fb:+", TRAINEE)
    await emulator.await_for(lambda: rows(live.db_path, "SELECT * FROM feedback"), what="rating")
    card = await open_case(live, "/human my landlord keeps my passport")
    await staff_replies(live, card, "I will call him today.")
    await live.message_with(TRAINEE, "I will call him today.")
    # B's data must survive A's /forget.
    await live.sends(TRAINEE_B, "/lang", first_name="Bruno")
    picker_b = (await emulator.await_bot_messages(TRAINEE_B, 1))[-1]
    await live.presses(TRAINEE_B, picker_b["message_id"], "lang:es", TRAINEE_B)
    await emulator.await_for(
        lambda: len(rows(live.db_path, "SELECT * FROM user_prefs")) == 2, what="B's pref"
    )
    await live.outbox_settled()

    await live.sends(TRAINEE, "/forget", first_name="Sofía")
    ask = await live.message_with(TRAINEE, t("en", "telegram.forget.ask"))
    # B cannot press A's button.
    await live.presses(TRAINEE, ask["message_id"], f"forget:yes:{TRAINEE}", TRAINEE_B)
    await live.presses(TRAINEE, ask["message_id"], f"forget:yes:{TRAINEE}", TRAINEE)
    await emulator.await_for(
        lambda: not rows(live.db_path, "SELECT * FROM user_prefs WHERE user_id = ?", TRAINEE),
        what="A's data gone",
    )

    db = live.db_path
    for table in ("user_prefs", "feedback", "messages"):
        assert rows(db, f"SELECT * FROM {table} WHERE user_id = ?", TRAINEE) == [], table
    assert rows(db, "SELECT language FROM user_prefs WHERE user_id = ?", TRAINEE_B) == [("es",)]
    cases = rows(db, "SELECT user_id, chat_id, name, anonymized FROM cases")
    assert cases == [(0, 0, "", 1)], cases  # kept for the audit, with nothing that names A
    assert rows(db, "SELECT * FROM case_messages") == []
    assert rows(db, "SELECT * FROM outbox WHERE chat_id = ?", TRAINEE) == []
    events = rows(db, "SELECT kind, actor FROM case_events")
    assert events and all(actor != TRAINEE for _, actor in events)
    everything = " ".join(
        str(v) for table in ("cases", "case_events", "outbox")
        for row in rows(db, f"SELECT * FROM {table}") for v in row
    )  # fmt: skip
    assert "passport" not in everything and "Sofía" not in everything and "rent" not in everything


@pytest.mark.slow
def test_the_token_never_reaches_the_logs_of_a_full_run(emulator, real_settings, tmp_path):  # noqa: F811
    """`python -m bot` at DEBUG through a conversation, an escalation, Bot API errors and a
    shutdown: neither the token nor its secret part appears on stderr."""
    secret = SECRET_TOKEN.split(":", 1)[1]
    original = emulator.token
    emulator.token = SECRET_TOKEN  # each token is its own bot in the emulator
    bot = BotProcess(entrypoint_env(emulator, real_settings, tmp_path,
                                    TELEGRAM_BOT_TOKEN=SECRET_TOKEN, PUENTE_LOG_LEVEL="DEBUG"))  # fmt: skip
    try:
        staff_chats(emulator)
        bot.start()
        emulator.user_sends(TRAINEE, "What are the laundry hours in the dorm?", first_name="Ana")
        emulator.wait_for_bot_messages(TRAINEE, 1, timeout=120)
        emulator.fail("sendMessage", status=500, times=2)
        emulator.fail("sendChatAction", status=400, times=1)
        emulator.user_sends(TRAINEE, "/human", first_name="Ana")
        emulator.wait_for_bot_messages(TRAINEE, 2, timeout=60)
        emulator.wait_for(lambda: emulator.bot_messages(DESK_CHAT), timeout=60, what="the card")
        emulator.user_sends(TRAINEE, "/nonsense", first_name="Ana")
        emulator.wait_for_bot_messages(TRAINEE, 3, timeout=60)
        assert bot.terminate() == 0, bot.stderr[-3000:]
    finally:
        emulator.token = original
        bot.ensure_stopped()
    log = bot.stderr
    assert "DEBUG" in log and "retrying" in log  # a full, verbose run with errors in it
    assert SECRET_TOKEN not in log
    assert secret not in log
    assert "Traceback" not in log
