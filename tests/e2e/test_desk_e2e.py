"""The escalation desk end to end: Puente's real Application (real desk, SQLite, outbox jobs)
long polling the local Bot API emulator; only the assistant is a fake. Every wait is on a
condition (the outbox job runs every second)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from telegram.ext import Application

from bot.channels.telegram import build_application
from bot.config import Settings
from bot.i18n import t
from bot.storage import schema
from bot.triage import Triage
from bot.wiring import build_services
from tests.e2e.conftest import start_application, stop_application
from tests.e2e.emulator import BotApiEmulator
from tests.telegram_fakes import (
    CRISIS,
    CRISIS_REPLY,
    THESIS,
    FakeAssistant,
    desk_roster,
    escalation,
)

pytestmark = pytest.mark.e2e

TRAINEE = 4242
MENTOR, COUNSELOR, ADMIN = 100000003, 100000001, 100000009
DESK_CHAT, DESK_THREAD = -1001000000001, 2

ROSTER = desk_roster(
    trainee=TRAINEE, counselor=COUNSELOR, mentor=MENTOR, admin=ADMIN, desk_chat=DESK_CHAT,
    desk_thread=DESK_THREAD, counselor_name="Lin Mei-hua", counselor_languages="zh-TW, en",
)


@dataclass
class Puente:
    """The bot, startable and stoppable on the same database (a restart)."""

    emulator: BotApiEmulator
    settings: Settings
    assistant: FakeAssistant = field(default_factory=FakeAssistant)
    app: Application | None = None

    async def start(self) -> Application:
        services = await asyncio.to_thread(build_services, self.settings, self.assistant)
        self.app = await start_application(build_application(self.settings, services))
        return self.app

    async def stop(self) -> None:
        app, self.app = self.app, None
        if app is None:
            return
        await stop_application(app)

    @property
    def desk(self):
        return self.app.bot_data["services"].desk

    # -- people ---------------------------------------------------------------------------------
    async def trainee_sends(self, text: str, **kwargs) -> dict:
        return await asyncio.to_thread(
            self.emulator.user_sends, TRAINEE, text, first_name="Sofía", **kwargs
        )

    async def staff_sends(self, person: int, text: str, **kwargs) -> dict:
        return await asyncio.to_thread(
            self.emulator.user_sends, person, text, user_id=person, first_name="Staff", **kwargs
        )

    async def presses(self, chat_id: int, message_id: int, data: str, user_id: int) -> str:
        return await asyncio.to_thread(
            self.emulator.user_presses, chat_id, message_id, data, user_id=user_id
        )

    async def messages(self, chat_id: int, count: int) -> list[dict]:
        return await self.emulator.await_bot_messages(chat_id, count)

    async def message_with(self, chat_id: int, text: str) -> dict:
        """Wait for the bot's message in chat_id containing text; return it."""

        def find():
            messages = self.emulator.bot_messages(chat_id)
            return next((m for m in messages if text in m.get("text", "")), None)

        return await self.emulator.await_for(find, what=f"{text!r} in chat {chat_id}")

    def texts(self, chat_id: int) -> list[str]:
        return [m["text"] for m in self.emulator.bot_messages(chat_id) if "text" in m]

    async def copy_with(self, chat_id: int, field: str) -> dict:
        """Wait for the bot's message in chat_id carrying `field` (a copied photo, voice...)."""

        def find():
            return next((m for m in self.emulator.bot_messages(chat_id) if field in m), None)

        return await self.emulator.await_for(find, what=f"a {field} in chat {chat_id}")

    def outbox_rows(self, kind: str) -> list:
        o = schema.outbox
        with self.desk.db.connect() as conn:
            return conn.execute(sa.select(o).where(o.c.kind == kind)).all()


@pytest.fixture
async def puente(emulator: BotApiEmulator, tmp_path) -> AsyncIterator[Puente]:
    roster = tmp_path / "roster.yaml"
    roster.write_text(ROSTER, encoding="utf-8")
    settings = Settings(
        _env_file=None,
        telegram_bot_token=emulator.token,
        telegram_api_url=emulator.url,
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'puente.db'}",
        roster_file=roster,
    )
    for person in (MENTOR, COUNSELOR, ADMIN):  # staff chats exist: they have started the bot
        emulator.create_chat(person, first_name="Staff")
    emulator.create_chat(DESK_CHAT, chat_type="supergroup", title="STUST desk")
    bot = Puente(emulator, settings)
    bot.assistant.records[THESIS] = escalation("explicit_request", "I will ask your mentor.",
                                               "academic")  # fmt: skip
    bot.assistant.records[CRISIS] = escalation("crisis", CRISIS_REPLY)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


async def open_case_with_the_mentor(puente: Puente) -> tuple[int, dict]:
    """The trainee asks for their mentor; returns the case id and the mentor's card."""
    await puente.trainee_sends(THESIS)
    answer, ack = await puente.messages(TRAINEE, 2)
    assert answer["text"].startswith("I will ask your mentor.")
    assert ack["text"].startswith("Thank you, Sofía.")
    (card,) = await puente.messages(MENTOR, 1)
    case_id = (await asyncio.to_thread(puente.desk.cases.active_case_for, TRAINEE)).id
    assert card["text"].startswith(f"Case #{case_id}") and THESIS in card["text"]
    return case_id, card


async def claim(puente: Puente, case_id: int, card: dict) -> None:
    await puente.presses(MENTOR, card["message_id"], f"desk:claim:{case_id}", MENTOR)
    await puente.message_with(TRAINEE, t("en", "desk.claimed_trainee", counselor="Dr. Chen Wei"))
    status = t("en", "desk.card_status.claimed", counselor="Dr. Chen Wei")
    await puente.emulator.await_for(
        lambda: puente.texts(MENTOR)[0].endswith(status), what="the card to show the claim"
    )


async def test_a_case_from_request_to_rating(puente):
    case_id, card = await open_case_with_the_mentor(puente)
    await claim(puente, case_id, card)

    # The mentor replies to the card; the trainee reads it.
    await puente.staff_sends(MENTOR, "Come to my office at 3.", reply_to_message_id=card["message_id"])
    await puente.message_with(TRAINEE, "Your counselor Dr. Chen Wei: Come to my office at 3.")

    # The trainee answers: it reaches the mentor, and Puente does not answer it.
    before = len(puente.texts(TRAINEE))
    await puente.trainee_sends("Thank you, I will be there")
    relayed = await puente.message_with(MENTOR, "Thank you, I will be there")
    assert relayed["text"] == t(
        "en", "desk.from_trainee", case_id=case_id, name="Sofía", text="Thank you, I will be there"
    )
    assert len(puente.texts(TRAINEE)) == before
    assert "Thank you, I will be there" not in [c[0] for c in puente.assistant.calls]

    # Resolve, rate, and Puente answers again.
    await puente.staff_sends(MENTOR, f"/resolve {case_id}")
    await puente.message_with(MENTOR, t("en", "desk.resolved_counselor", case_id=case_id))
    closing = await puente.message_with(TRAINEE, t("en", "desk.rate_prompt"))
    await puente.presses(TRAINEE, closing["message_id"], f"desk:rate:{case_id}:r0:5", TRAINEE)
    await puente.emulator.await_for(
        lambda: puente.desk.cases.get(case_id).rating == 5, what="the rating"
    )
    await puente.trainee_sends("Where can I print?")
    await puente.message_with(TRAINEE, "ANSWER: Where can I print?")
    await puente.message_with(TRAINEE, f"Is this about your request #{case_id}")  # offered once
    kinds = [e.kind for e in puente.desk.cases.audit(case_id)]
    assert kinds[-3:] == ["resolved", "rated", "reopen_offered"]


async def test_a_crisis_gets_the_numbers_first_and_an_urgent_case(puente):
    await puente.trainee_sends(CRISIS)
    (first,) = await puente.messages(TRAINEE, 1)
    assert first["text"] == CRISIS_REPLY and "reply_markup" not in first
    # The reply goes out first; the case is opened and routed just after it.
    def routed_case():
        case = puente.desk.cases.active_case_for(TRAINEE)
        return case if case is not None and case.routed_to else None

    case = await puente.emulator.await_for(routed_case, what="the crisis case to be routed")
    assert case.urgent and set(case.routed_to) == {COUNSELOR, ADMIN}

    for person in (COUNSELOR, ADMIN):
        (card,) = await puente.messages(person, 1)
        assert CRISIS in card["text"]
    (desk_card,) = await puente.messages(DESK_CHAT, 1)
    assert CRISIS not in desk_card["text"]  # the group only gets a redacted card
    assert desk_card.get("message_thread_id") == DESK_THREAD
    await puente.message_with(TRAINEE, "1925")  # the acknowledgement, with the numbers again
    assert puente.desk.cases.messages(case.id)[0].text == CRISIS


async def test_a_crisis_inside_an_open_case_gets_the_numbers_and_an_urgent_card(puente):
    """Every message is triaged, inside a case too: not only relayed to whoever owns it."""
    case_id, _ = await open_case_with_the_mentor(puente)
    danger = "it does not matter anymore, tonight I end it"
    puente.assistant.verdicts[danger] = Triage("crisis", "wellbeing", "model", True, 0.9)
    await puente.trainee_sends(danger)

    numbers = await puente.message_with(TRAINEE, CRISIS_REPLY)
    assert numbers["text"].endswith(t("en", "desk.ack_crisis_in_case"))
    relayed = await puente.message_with(MENTOR, danger)  # the owner still gets the message
    assert relayed["text"].startswith(f"Case #{case_id}")
    card = await puente.message_with(COUNSELOR, danger)  # the counselor on duty, at once
    assert card["text"].startswith("🚨") and f"#{case_id}" in card["text"]
    desk_notice = await puente.message_with(DESK_CHAT, f"#{case_id}")
    assert danger not in desk_notice["text"]  # the group reads a redacted notice
    case = await asyncio.to_thread(puente.desk.cases.get, case_id)
    assert case.urgent and COUNSELOR in case.routed_to
    assert "crisis_in_case" in [e.kind for e in puente.desk.cases.audit(case_id)]
    assert danger not in [c[0] for c in puente.assistant.calls]  # not answered as a question


async def test_an_ordinary_message_inside_a_case_is_only_relayed(puente):
    case_id, _ = await open_case_with_the_mentor(puente)
    before = len(puente.texts(TRAINEE))
    await puente.trainee_sends("Is 3 pm fine for you?")
    await puente.message_with(MENTOR, "Is 3 pm fine for you?")
    assert len(puente.texts(TRAINEE)) == before
    assert not (await asyncio.to_thread(puente.desk.cases.get, case_id)).urgent


async def test_the_bot_restarted_in_the_middle_of_a_case_carries_on(puente):
    case_id, card = await open_case_with_the_mentor(puente)
    await claim(puente, case_id, card)

    # The mentor's reply cannot be delivered before the bot goes down.
    puente.desk.outbox.base_delay = 1.0
    puente.emulator.fail("sendMessage", status=502, times=1)
    await puente.staff_sends(MENTOR, "Are you free at 3?", reply_to_message_id=card["message_id"])
    await puente.emulator.await_for(
        lambda: [r.attempts for r in puente.outbox_rows("relay_out")] == [1],
        what="a failed first attempt",
    )
    await puente.stop()

    await puente.start()  # a new Application and services on the same database
    await puente.message_with(TRAINEE, "Your counselor Dr. Chen Wei: Are you free at 3?")

    # The conversation goes on through the new process.
    await puente.trainee_sends("Yes, 3 is fine")
    relayed = await puente.message_with(MENTOR, "Yes, 3 is fine")
    await puente.staff_sends(MENTOR, "See you.", reply_to_message_id=relayed["message_id"])
    await puente.message_with(TRAINEE, "Your counselor Dr. Chen Wei: See you.")
    counselor_lines = [x for x in puente.texts(TRAINEE) if x.startswith("Your counselor")]
    assert counselor_lines == [
        "Your counselor Dr. Chen Wei: Are you free at 3?",
        "Your counselor Dr. Chen Wei: See you.",
    ]  # nothing twice
    assert "Yes, 3 is fine" not in [c[0] for c in puente.assistant.calls]


@pytest.mark.parametrize(
    ("status", "times", "retry_after"), [(502, 3, None), (429, 1, 1)], ids=["502x3", "429"]
)
async def test_a_reply_that_fails_to_send_arrives_once_later(puente, status, times, retry_after):
    case_id, card = await open_case_with_the_mentor(puente)
    await claim(puente, case_id, card)
    puente.desk.outbox.base_delay = 0.2

    puente.emulator.fail("sendMessage", status=status, times=times, retry_after=retry_after)
    await puente.staff_sends(MENTOR, "Hello again", reply_to_message_id=card["message_id"])
    await puente.message_with(TRAINEE, "Your counselor Dr. Chen Wei: Hello again")
    await puente.message_with(MENTOR, t("en", "desk.relayed_ok", name="Sofía", case_id=case_id))

    statuses = [c["status"] for c in puente.emulator.calls("sendMessage")]
    assert statuses.count(status) == times
    delivered = [x for x in puente.texts(TRAINEE) if x.endswith("Hello again")]
    assert len(delivered) == 1
    await puente.emulator.await_for(
        lambda: puente.desk.outbox.pending_count() == 0, what="an empty outbox"
    )
    assert len([x for x in puente.texts(TRAINEE) if x.endswith("Hello again")]) == 1


async def test_a_trainee_trying_cases_is_refused(puente):
    await puente.trainee_sends("/cases", language_code="es")
    (refusal,) = await puente.messages(TRAINEE, 1)
    assert refusal["text"] == t("es", "desk.staff_only")
    await puente.staff_sends(ADMIN, "/cases")
    (listing,) = await puente.messages(ADMIN, 1)
    assert listing["text"] == t("en", "desk.cases_none")


# --- the desk audit, end to end --------------------------------------------------------------------

COHORT = -1005550001


async def answered(puente: Puente, query_id: str) -> dict:
    """The bot's answer to a callback query (waits for it)."""

    def find():
        query = next((q for q in puente.emulator.callback_queries() if q["id"] == query_id), None)
        return query["_answer"] if query and query.get("_answer") else None

    return await puente.emulator.await_for(find, what=f"answer to query {query_id}")


async def test_a_forged_reassign_and_a_stale_rating_are_refused(puente):
    case_id, card = await open_case_with_the_mentor(puente)
    # Another trainee's crisis case, routed to the counselor.
    other = TRAINEE + 1
    await asyncio.to_thread(puente.emulator.user_sends, other, CRISIS, first_name="Luis")
    crisis = await puente.emulator.await_for(
        lambda: puente.desk.cases.active_case_for(other), what="the crisis case"
    )
    # The mentor forges his card's Reassign data: that crisis case, to himself.
    forged = await asyncio.to_thread(
        puente.emulator.user_presses, MENTOR, card["message_id"],
        f"desk:reassign:{crisis.id}:{MENTOR}", user_id=MENTOR, forged=True,
    )  # fmt: skip
    assert (await answered(puente, forged)).get("show_alert") is True
    after = puente.desk.cases.get(crisis.id)
    assert (after.status, after.assigned_to) == ("open", None)
    assert CRISIS not in "".join(puente.texts(MENTOR))

    await claim(puente, case_id, card)
    await puente.staff_sends(MENTOR, f"/resolve {case_id}")
    closing = await puente.message_with(TRAINEE, t("en", "desk.rate_prompt"))
    await puente.presses(TRAINEE, closing["message_id"], f"desk:rate:{case_id}:r0:5", TRAINEE)
    await puente.emulator.await_for(
        lambda: puente.desk.cases.get(case_id).rating == 5, what="the rating"
    )
    stale = await asyncio.to_thread(  # the buttons are gone: only a modified client sends it
        puente.emulator.user_presses, TRAINEE, closing["message_id"], f"desk:rate:{case_id}:r0:1",
        user_id=TRAINEE, forged=True,
    )  # fmt: skip
    await answered(puente, stale)
    assert puente.desk.cases.get(case_id).rating == 5


async def test_a_case_asked_for_in_a_group_keeps_the_group_free_of_names_and_text(puente):
    puente.emulator.create_chat(COHORT, chat_type="supergroup", title="Cohort 2026")
    puente.emulator.create_chat(TRAINEE, first_name="Sofía")  # she has started the bot before
    await asyncio.to_thread(
        puente.emulator.user_sends, COHORT, "/human my professor keeps messaging me at night",
        user_id=TRAINEE, first_name="Sofía", chat_type="supergroup", chat_title="Cohort 2026",
    )  # fmt: skip
    pointer = await puente.message_with(COHORT, t("en", "desk.in_private"))
    ack = await puente.message_with(TRAINEE, "Sofía")  # the acknowledgement, in private
    case = await asyncio.to_thread(puente.desk.cases.active_case_for, TRAINEE)
    assert case.chat_id == TRAINEE and ack
    (card,) = await puente.messages(DESK_CHAT, 1)
    await asyncio.to_thread(
        puente.emulator.user_sends, DESK_CHAT, "¿Estás a salvo?", user_id=ADMIN,
        first_name="Staff", chat_type="supergroup", reply_to_message_id=card["message_id"],
    )  # fmt: skip
    await puente.message_with(TRAINEE, "¿Estás a salvo?")
    in_group = puente.texts(COHORT)
    assert in_group == [pointer["text"]]
    assert not any("Sofía" in text or "professor" in text for text in in_group)


async def test_forget_by_a_counselor_leaves_other_peoples_cases_and_relays_working(puente):
    case_id, card = await open_case_with_the_mentor(puente)
    await puente.staff_sends(MENTOR, "/forget")
    ask = await puente.message_with(MENTOR, t("en", "telegram.forget.ask"))
    await puente.presses(MENTOR, ask["message_id"], f"forget:yes:{MENTOR}", MENTOR)
    await puente.message_with(MENTOR, "Done")
    assert puente.desk.cases.get(case_id).name == "Sofía"
    await puente.staff_sends(MENTOR, "See you at 3.", reply_to_message_id=card["message_id"])
    await puente.message_with(TRAINEE, "See you at 3.")
    assert "See you at 3." not in [c[0] for c in puente.assistant.calls]


async def test_asked_in_a_group_before_ever_writing_to_the_bot_the_case_arrives_after_start(puente):
    """Telegram refuses a bot's first message to someone who never pressed Start: the private
    acknowledgement fails; once they press Start, it arrives (nothing is lost)."""
    puente.emulator.create_chat(COHORT, chat_type="supergroup", title="Cohort 2026")
    await asyncio.to_thread(
        puente.emulator.user_sends, COHORT, "/human", user_id=TRAINEE, first_name="Sofía",
        chat_type="supergroup", chat_title="Cohort 2026",
    )  # fmt: skip
    await puente.message_with(COHORT, t("en", "desk.in_private"))
    await puente.emulator.await_for(
        lambda: [r for r in puente.outbox_rows("ack") if r.status == "failed"] or None,
        what="the private acknowledgement refused",
    )
    await puente.trainee_sends("/start")
    await puente.message_with(TRAINEE, "Thank you, Sofía")


async def test_a_blocked_trainee_is_shown_to_the_counselor_as_undeliverable(puente):
    """Telegram answers 403 for the trainee's chat: the counselor reads "not delivered" and why
    (never "delivered"), and the desk admin gets an alert in private, without the text."""
    case_id, card = await open_case_with_the_mentor(puente)
    await claim(puente, case_id, card)
    puente.emulator.fail("sendMessage", status=403, chat_id=TRAINEE,
                         description="Forbidden: bot was blocked by the user")  # fmt: skip
    await puente.staff_sends(MENTOR, "Can we talk today?", reply_to_message_id=card["message_id"])
    notice = await puente.message_with(MENTOR, "Not delivered:")
    assert f"#{case_id}" in notice["text"] and "blocked" in notice["text"]
    alert = await puente.message_with(ADMIN, "⚠️")
    assert f"#{case_id}" in alert["text"] and "Can we talk" not in alert["text"]
    assert not [x for x in puente.texts(TRAINEE) if x.endswith("Can we talk today?")]
    delivered = t("en", "desk.relayed_ok", name="Sofía", case_id=case_id)
    assert delivered not in puente.texts(MENTOR)
    assert not [x for x in puente.texts(DESK_CHAT) if "Can we talk" in x]  # nothing in the group


PHOTO = [{"file_id": "ph1", "file_unique_id": "u1", "width": 90, "height": 90}]
VOICE = {"file_id": "vo1", "file_unique_id": "u2", "duration": 2, "mime_type": "audio/ogg"}


async def test_photos_and_voice_notes_are_relayed_both_ways_with_their_captions(puente):
    """Inside a case a photo with a caption and a voice note reach the counselor (a line saying
    what it is, then the copy), and a counselor's photo reaches the trainee; nothing is
    refused as "text only" and Puente does not answer them."""
    case_id, card = await open_case_with_the_mentor(puente)
    await claim(puente, case_id, card)
    calls = len(puente.assistant.calls)

    await puente.trainee_sends(None, photo=PHOTO, caption="the lab door is locked")
    line = await puente.message_with(MENTOR, "the lab door is locked")
    assert f"#{case_id}" in line["text"] and "photo" in line["text"]
    copy = await puente.copy_with(MENTOR, "photo")
    assert copy["caption"] == "the lab door is locked" and copy["message_id"] > line["message_id"]

    await puente.trainee_sends(None, voice=VOICE)
    await puente.message_with(MENTOR, "🎤 voice")
    await puente.copy_with(MENTOR, "voice")
    assert not [x for x in puente.texts(TRAINEE) if "text" in x.lower() and "only" in x.lower()]
    assert len(puente.assistant.calls) == calls  # relayed, not answered

    # The mentor answers with a photo, replying to the relayed one.
    await puente.staff_sends(MENTOR, None, photo=PHOTO, caption="use this door",
                             reply_to_message_id=line["message_id"])  # fmt: skip
    await puente.message_with(TRAINEE, "Your counselor Dr. Chen Wei: 🖼 photo: use this door")
    back = await puente.copy_with(TRAINEE, "photo")
    assert back["caption"] == "use this door"
    messages = [m.text for m in puente.desk.cases.messages(case_id)]
    assert "🖼 photo: the lab door is locked" in messages and "🎤 voice" in messages


async def test_an_unclaimed_crisis_reaches_the_backup_and_the_desk_until_claimed(puente):
    """A crisis nobody claims: after the urgent interval the routed counselors and the backup
    get an urgent reminder with claim buttons, then the desk group too, until someone claims it.
    (The interval is 0.6 s here; the reminder job is run as its timer would run it.)"""
    from types import SimpleNamespace

    from bot.channels.telegram import desk as desk_channel

    await puente.stop()
    puente.settings = puente.settings.model_copy(update={"crisis_reminder_minutes": 0.01})
    await puente.start()
    await puente.trainee_sends(CRISIS)
    await puente.emulator.await_for(
        lambda: puente.desk.cases.active_case_for(TRAINEE), what="the crisis case"
    )
    context = SimpleNamespace(application=puente.app, bot_data=puente.app.bot_data)

    async def reminded(chat_id: int) -> dict:
        while True:  # run the reminder job until the condition holds (bounded by await_for)
            found = [m for m in puente.emulator.bot_messages(chat_id)
                     if "URGENT · crisis case" in m.get("text", "")]  # fmt: skip
            if found:
                return found[0]
            await desk_channel.remind(context)
            await asyncio.sleep(0.05)

    backup = await asyncio.wait_for(reminded(ADMIN), timeout=20)  # ADMIN is the backup
    assert "inline_keyboard" in str(backup.get("reply_markup"))
    group = await asyncio.wait_for(reminded(DESK_CHAT), timeout=20)
    assert CRISIS not in group["text"]  # the group reads the case number, never the message


async def test_a_reassigned_case_carries_its_conversation(puente):
    """Reassign hands over the whole conversation: the new counselor gets the card and every
    message so far, in order; the trainee is told who has the case now."""
    case_id, card = await open_case_with_the_mentor(puente)
    await claim(puente, case_id, card)
    await puente.staff_sends(MENTOR, "Which chapter?", reply_to_message_id=card["message_id"])
    await puente.message_with(TRAINEE, "Which chapter?")
    await puente.trainee_sends("Chapter 3, the method")
    await puente.message_with(MENTOR, "Chapter 3, the method")

    await puente.presses(MENTOR, card["message_id"], f"desk:reassign:{case_id}", MENTOR)
    pick = f"desk:reassign:{case_id}:{COUNSELOR}"
    await puente.emulator.await_for(
        lambda: any(m["message_id"] == card["message_id"] and pick in str(m.get("reply_markup"))
                    for m in puente.emulator.bot_messages(MENTOR)),
        what="the picker on the card",
    )  # fmt: skip
    await puente.presses(MENTOR, card["message_id"], pick, MENTOR)
    # In her first language (zh-TW).
    history = await puente.message_with(
        COUNSELOR, t("zh-TW", "desk.handoff_history", case_id=case_id, count=3)
    )
    said = history["text"]
    assert said.index(THESIS) < said.index("Which chapter?") < said.index("Chapter 3, the method")
    assert (await asyncio.to_thread(puente.desk.cases.get, case_id)).assigned_to == COUNSELOR
    await puente.message_with(TRAINEE, t("en", "desk.claimed_trainee", counselor="Lin Mei-hua"))
