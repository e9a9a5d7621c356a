"""The escalation desk in Telegram, offline: the real Application, desk and SQLite database, with
the offline Bot API of tests/test_telegram_handlers.py instead of HTTP.

Outbox delivery is driven by hand (`deliver(app)`: what the JobQueue job runs every second).
"""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest

from bot.channels.telegram import build_application
from bot.channels.telegram import desk as desk_channel
from bot.escalation.roster import parse_roster
from bot.escalation.service import EscalationDesk
from bot.i18n import t
from bot.services import Services
from bot.storage import Database
from bot.triage import Triage
from tests.telegram_fakes import (
    CRISIS,
    CRISIS_REPLY,
    SAFETY_NOTE,
    THESIS,
    FakeAssistant,
    FakeUserStore,
    desk_roster,
    escalation,
)
from tests.test_telegram_handlers import (
    OfflineBotApi,
    buttons,
    feed,
    make_settings,
    message,
    press,
)

TRAINEE = 42  # a trainee's private chat id is their user id
COUNSELOR, MENTOR, ADMIN, OUTSIDER = 100, 200, 900, 555
DESK_CHAT, DESK_THREAD = -1009, 7

ROSTER = desk_roster(
    trainee=TRAINEE, counselor=COUNSELOR, mentor=MENTOR, admin=ADMIN, desk_chat=DESK_CHAT,
    desk_thread=DESK_THREAD, counselor_name="Ana Ruiz", counselor_languages="es, en",
)


class FlakyBotApi(OfflineBotApi):
    """The offline Bot API, whose next sendMessage calls can be made to fail."""

    def __init__(self) -> None:
        super().__init__()
        self.failures: list[tuple[int, dict]] = []  # (HTTP status, body) for the next sends

    async def do_request(self, url, method, request_data=None, **kwargs):
        if url.endswith("/sendMessage") and self.failures:
            status, body = self.failures.pop(0)
            self.calls.append(("sendMessage!", request_data.parameters if request_data else {}))
            return status, json.dumps({"ok": False, "error_code": status, **body}).encode()
        return await super().do_request(url, method, request_data, **kwargs)


@pytest.fixture
def api():
    offline = FlakyBotApi()
    yield offline
    assert not offline.unexpected, f"unexpected Bot API calls: {offline.unexpected}"


@pytest.fixture
def desk(tmp_path):
    settings = make_settings()
    db = Database(f"sqlite:///{tmp_path / 'desk.db'}")
    escalation_desk = EscalationDesk(db, parse_roster(ROSTER), settings)
    escalation_desk.open()
    yield escalation_desk
    escalation_desk.close()


@pytest.fixture
def assistant():
    fake = FakeAssistant()
    fake.records[THESIS] = escalation("explicit_request", "I will pass this on.", "academic")
    fake.records[CRISIS] = escalation("crisis", CRISIS_REPLY)
    return fake


@pytest.fixture
async def app(api, assistant, desk):
    settings = make_settings(claim_reminder_minutes=0)
    services = Services(settings=settings, assistant=assistant, users=FakeUserStore(), desk=desk)
    application = build_application(settings, services, request=api, get_updates_request=api)
    await application.initialize()
    api.calls.clear()
    yield application
    await application.shutdown()


def sent_to(api: OfflineBotApi, chat_id: int) -> list[dict]:
    """Successful sendMessage calls to a chat, each with the message_id it was given."""
    result, index = [], 0
    for method, params in api.calls:
        if method == "sendMessage":
            if int(params["chat_id"]) == chat_id:
                result.append({**params, "message_id": 5000 + index})
            index += 1
    return result


def texts(api: OfflineBotApi, chat_id: int) -> list[str]:
    return [p["text"] for p in sent_to(api, chat_id)]


def bot_message(params: dict) -> dict:
    """A message the bot sent, as it appears in `reply_to_message`."""
    return OfflineBotApi._message(params, params["message_id"])


def staff_message(text: str, user_id: int, *, reply_to: dict | None = None, chat_id=None):
    chat_id = chat_id or user_id
    chat_type = "private" if chat_id > 0 else "supergroup"
    return message(text, chat_id=chat_id, user_id=user_id, reply_to=reply_to, chat_type=chat_type)


async def open_academic_case(app, api, desk) -> tuple[int, dict]:
    """The trainee asks for their mentor; returns the case id and the mentor's delivered card."""
    await feed(app, message(THESIS, chat_id=TRAINEE))
    await desk_channel.deliver(app)
    (card,) = sent_to(api, MENTOR)
    case = desk.cases.active_case_for(TRAINEE)
    return case.id, card


# --- delivery -------------------------------------------------------------------------------------


async def test_an_explicit_request_reaches_the_desk_topic_with_claim_buttons(app, api, desk):
    await feed(app, message("/human I lost my ARC", chat_id=TRAINEE))
    (ack,) = texts(api, TRAINEE)
    assert ack.startswith(t("en", "desk.ack", name="Ana", when="")[:20])
    assert texts(api, DESK_CHAT) == []  # nothing is sent before the worker runs

    report = await desk_channel.deliver(app)
    assert report.sent == 1
    (card,) = sent_to(api, DESK_CHAT)
    case = desk.cases.active_case_for(TRAINEE)
    assert card["message_thread_id"] == DESK_THREAD
    assert "I lost my ARC" in card["text"] and "parse_mode" not in card
    assert buttons(card) == [f"desk:claim:{case.id}", f"desk:resolve:{case.id}"]
    assert desk.outbox.case_for_message(DESK_CHAT, card["message_id"]) == case.id

    assert (await desk_channel.deliver(app)).sent == 0  # nothing twice


async def test_a_failed_send_is_retried_later_and_delivered_once(app, api, desk):
    desk.outbox.base_delay = 0  # retry at the next run
    await feed(app, message("/human", chat_id=TRAINEE))
    api.failures = [(502, {"description": "Bad Gateway"}), (500, {"description": "Internal"})]

    first = await desk_channel.deliver(app)
    assert first.retried >= 1 and texts(api, DESK_CHAT) == []
    for _ in range(5):
        await desk_channel.deliver(app)
    assert len(sent_to(api, DESK_CHAT)) == 1
    assert [m for m, _ in api.calls].count("sendMessage!") == 2


async def test_a_blocked_chat_fails_for_good(app, api, desk):
    api.failures = [(403, {"description": "Forbidden: bot was blocked by the user"})]
    desk.outbox.enqueue(TRAINEE, "hello", kind="relay_out", case_id=None, dedupe_key="k1")
    report = await desk_channel.deliver(app)
    # Failed for good, and the desk admins are told in private (once, without the text).
    assert (report.failed, report.sent) == (1, 1)
    assert desk.outbox.pending_count() == 0
    (alert,) = texts(api, ADMIN)
    assert alert.startswith("⚠️") and "relay_out" in alert and "hello" not in alert
    assert "blocked" in alert
    await desk_channel.deliver(app)
    assert len(texts(api, ADMIN)) == 1


async def test_the_counselor_learns_whether_the_reply_was_delivered(app, api, desk):
    """"Delivered" only once Telegram accepted the relay; "not delivered" (and why) when the
    trainee blocked the bot, with the admins alerted and the audit trail saying so."""
    case_id, card = await open_academic_case(app, api, desk)
    await feed(app, staff_message("First reply.", MENTOR, reply_to=bot_message(card)))
    await desk_channel.deliver(app)
    assert texts(api, MENTOR)[-1] == t("en", "desk.relayed_ok", name="Ana", case_id=case_id)

    api.failures = [(403, {"description": "Forbidden: bot was blocked by the user"})]
    await feed(app, staff_message("Second reply.", MENTOR, reply_to=bot_message(card)))
    await desk_channel.deliver(app)
    assert not any(x.endswith("Second reply.") for x in texts(api, TRAINEE))
    notice = texts(api, MENTOR)[-1]
    assert notice.startswith("Not delivered:") and f"#{case_id}" in notice and "blocked" in notice
    assert texts(api, MENTOR).count(t("en", "desk.relayed_ok", name="Ana", case_id=case_id)) == 1
    assert len(texts(api, ADMIN)) == 1
    assert "undeliverable" in [e.kind for e in desk.cases.audit(case_id)]


async def test_a_delayed_reply_is_announced_once_then_confirmed(app, api, desk):
    case_id, card = await open_academic_case(app, api, desk)
    await feed(app, press(f"desk:claim:{case_id}", on=card, user_id=MENTOR))
    await desk_channel.deliver(app)  # the trainee is told who took the case
    desk.outbox.base_delay = 0  # retry at the next run
    api.failures = [(502, {"description": "Bad Gateway"})]
    await feed(app, staff_message("Are you there?", MENTOR, reply_to=bot_message(card)))
    await desk_channel.deliver(app)
    delayed = [x for x in texts(api, MENTOR) if x.startswith("Not delivered yet:")]
    assert len(delayed) == 1 and f"#{case_id}" in delayed[0]
    for _ in range(3):
        await desk_channel.deliver(app)
    assert sum(x.endswith("Are you there?") for x in texts(api, TRAINEE)) == 1
    assert texts(api, MENTOR)[-1] == t("en", "desk.relayed_ok", name="Ana", case_id=case_id)
    assert sum(x.startswith("Not delivered yet:") for x in texts(api, MENTOR)) == 1
    assert texts(api, ADMIN) == []


async def test_exam_messages_are_left_to_the_exam_worker(app, api, desk):
    desk.outbox.enqueue(TRAINEE, "exam soon", kind="exam_reminder", case_id=None, dedupe_key="e1")
    await desk_channel.deliver(app)
    assert texts(api, TRAINEE) == [] and desk.outbox.pending_count() == 1


def test_stored_buttons_become_an_inline_keyboard():
    markup = desk_channel.keyboard({"buttons": [[{"text": "Claim", "data": "desk:claim:1"}]]})
    assert markup.inline_keyboard[0][0].callback_data == "desk:claim:1"
    assert desk_channel.keyboard(None) is None
    assert desk_channel.keyboard({"buttons": []}) is None
    assert len(desk_channel.fit("😀" * 3000)) < 3000


# --- claim, reply, relay, resolve, rate -----------------------------------------------------------


async def test_the_whole_conversation(app, api, desk, assistant):
    case_id, card = await open_academic_case(app, api, desk)
    assert texts(api, TRAINEE)[0] == "I will pass this on."
    assert "Dr. Chen Wei" not in card["text"] and THESIS in card["text"]

    # Claim: the card shows it, the trainee is told who is on it.
    await feed(app, press(f"desk:claim:{case_id}", on=card, user_id=MENTOR))
    (edit,) = api.sent("editMessageText")
    assert edit["text"].endswith(t("en", "desk.card_status.claimed", counselor="Dr. Chen Wei"))
    assert buttons(edit) == [f"desk:resolve:{case_id}", f"desk:reassign:{case_id}"]
    await desk_channel.deliver(app)
    assert texts(api, TRAINEE)[-1] == t("en", "desk.claimed_trainee", counselor="Dr. Chen Wei")

    # The mentor answers by replying to the card.
    await feed(app, staff_message("Come to my office at 3.", MENTOR, reply_to=bot_message(card)))
    await desk_channel.deliver(app)
    assert texts(api, TRAINEE)[-1] == t(
        "en", "desk.from_counselor", name="Dr. Chen Wei", text="Come to my office at 3."
    )
    assert texts(api, MENTOR)[-1] == t("en", "desk.relayed_ok", name="Ana", case_id=case_id)

    # The trainee's answer goes to the mentor, and Puente stays quiet.
    calls = len(assistant.calls)
    before = len(texts(api, TRAINEE))
    await feed(app, message("OK, see you then", chat_id=TRAINEE))
    await desk_channel.deliver(app)
    assert len(assistant.calls) == calls and len(texts(api, TRAINEE)) == before
    relayed = sent_to(api, MENTOR)[-1]
    assert relayed["text"] == t(
        "en", "desk.from_trainee", case_id=case_id, name="Ana", text="OK, see you then"
    )
    # ...and the mentor may answer that message too.
    await feed(app, staff_message("Bring your draft.", MENTOR, reply_to=bot_message(relayed)))
    assert [m.direction for m in desk.cases.messages(case_id)] == ["in", "out", "in", "out"]

    # Resolve: the trainee is told and asked to rate; rating stored.
    await feed(app, staff_message(f"/resolve {case_id}", MENTOR))
    assert texts(api, MENTOR)[-1] == t("en", "desk.resolved_counselor", case_id=case_id)
    await desk_channel.deliver(app)
    resolved = sent_to(api, TRAINEE)[-1]
    assert resolved["text"].endswith(t("en", "desk.rate_prompt"))
    assert buttons(resolved) == [f"desk:rate:{case_id}:r0:{n}" for n in range(1, 6)]
    await feed(app, press(f"desk:rate:{case_id}:r0:4", on=resolved, user_id=TRAINEE))
    assert desk.cases.get(case_id).rating == 4
    assert api.sent("answerCallbackQuery")[-1]["text"] == t("en", "desk.rated_thanks")

    # Puente answers again (and offers, once, to reopen the case).
    await feed(app, message("Where can I print?", chat_id=TRAINEE))
    assert texts(api, TRAINEE)[-2].startswith("ANSWER: Where can I print?")
    assert texts(api, TRAINEE)[-1].startswith(f"Is this about your request #{case_id}")

    # Replying to the closing message within the window reopens the case, relayed to the mentor.
    await feed(app, message("One more thing", chat_id=TRAINEE, reply_to=bot_message(resolved)))
    await desk_channel.deliver(app)
    assert desk.cases.get(case_id).status == "reopened"
    assert texts(api, MENTOR)[-2:] == [
        t("en", "desk.from_trainee", case_id=case_id, name="Ana", text="One more thing"),
        t("en", "desk.reopened", case_id=case_id, name="Ana"),
    ]
    assert "One more thing" not in [call[0] for call in assistant.calls]
    kinds = [e.kind for e in desk.cases.audit(case_id)]
    assert kinds[:3] == ["opened", "routed", "claimed"] and "rated" in kinds
    assert kinds[-2:] == ["reopened", "relayed"]


async def test_only_roster_people_may_press_the_case_buttons(app, api, desk):
    case_id, card = await open_academic_case(app, api, desk)
    await feed(app, press(f"desk:claim:{case_id}", on=card, user_id=OUTSIDER))
    answer = api.sent("answerCallbackQuery")[-1]
    assert answer["text"] == t("en", "desk.not_allowed", case_id=case_id)
    assert answer["show_alert"] is True
    assert desk.cases.get(case_id).status == "open"


async def test_a_claimed_case_cannot_be_claimed_again(app, api, desk):
    case_id, card = await open_academic_case(app, api, desk)
    await feed(app, press(f"desk:claim:{case_id}", on=card, user_id=MENTOR))
    await feed(app, press(f"desk:claim:{case_id}", on=card, user_id=ADMIN))
    assert api.sent("answerCallbackQuery")[-1]["text"] == t(
        "en", "desk.already_claimed", case_id=case_id, counselor="Dr. Chen Wei"
    )
    assert desk.cases.get(case_id).assigned_to == MENTOR


async def test_a_reply_from_someone_not_on_the_roster_is_refused(app, api, desk):
    await feed(app, message("/human", chat_id=TRAINEE))
    await desk_channel.deliver(app)
    (card,) = sent_to(api, DESK_CHAT)
    case_id = desk.cases.active_case_for(TRAINEE).id
    await feed(
        app,
        staff_message("I can help!", OUTSIDER, chat_id=DESK_CHAT, reply_to=bot_message(card)),
    )
    assert texts(api, DESK_CHAT)[-1] == t("en", "desk.not_allowed", case_id=case_id)
    assert [m.direction for m in desk.cases.messages(case_id)] == ["in"]


async def test_a_counselor_reply_in_the_desk_topic_claims_and_is_confirmed_there(app, api, desk):
    await feed(app, message("/human", chat_id=TRAINEE))
    await desk_channel.deliver(app)
    (card,) = sent_to(api, DESK_CHAT)
    reply = staff_message("Hi, I am here.", ADMIN, chat_id=DESK_CHAT, reply_to=bot_message(card))
    reply["message"].update(message_thread_id=DESK_THREAD, is_topic_message=True)
    await feed(app, reply)
    await desk_channel.deliver(app)
    case = desk.cases.active_case_for(TRAINEE)
    assert (case.status, case.assigned_to) == ("claimed", ADMIN)
    assert texts(api, TRAINEE)[-2:] == [
        t("en", "desk.claimed_trainee", counselor="Night duty officer"),
        t("en", "desk.from_counselor", name="Night duty officer", text="Hi, I am here."),
    ]
    confirmation = sent_to(api, DESK_CHAT)[-1]
    assert confirmation["message_thread_id"] == DESK_THREAD


async def test_reassign_hands_the_case_over(app, api, desk):
    case_id, card = await open_academic_case(app, api, desk)
    await feed(app, press(f"desk:claim:{case_id}", on=card, user_id=MENTOR))
    card = {**card, "reply_markup": api.sent("editMessageText")[-1]["reply_markup"]}
    await feed(app, staff_message("Which chapter worries you?", MENTOR, reply_to=bot_message(card)))
    await feed(app, message("Chapter 3, the method", chat_id=TRAINEE))
    await feed(app, press(f"desk:reassign:{case_id}", on=card, user_id=MENTOR))
    picker = api.sent("editMessageReplyMarkup")[-1]
    assert buttons(picker) == [
        f"desk:reassign:{case_id}:{COUNSELOR}", f"desk:reassign:{case_id}:{ADMIN}",
        f"desk:card:{case_id}",
    ]  # fmt: skip
    await feed(
        app,
        press(f"desk:reassign:{case_id}:{COUNSELOR}", on={**card, **picker}, user_id=MENTOR),
    )
    assert desk.cases.get(case_id).assigned_to == COUNSELOR
    await desk_channel.deliver(app)
    new_card, history = sent_to(api, COUNSELOR)
    assert THESIS in new_card["text"] and new_card["text"].startswith("Caso")  # her language
    # The handoff carries the whole conversation, in order, in her language.
    assert history["text"].startswith(t("es", "desk.handoff_history", case_id=case_id, count=3))
    said = history["text"]
    assert said.index(THESIS) < said.index("Which chapter") < said.index("Chapter 3, the method")
    assert texts(api, TRAINEE)[-1] == t("en", "desk.claimed_trainee", counselor="Ana Ruiz")


# --- staff commands -------------------------------------------------------------------------------


async def test_a_trainee_cannot_use_the_staff_commands(app, api, desk):
    for command in ("/cases", "/case 1", "/resolve 1"):
        await feed(app, message(command, chat_id=TRAINEE, language_code="es"))
    # /case from a trainee is about their own request only, whatever number follows.
    assert texts(api, TRAINEE) == [
        t("es", "desk.staff_only"), t("es", "desk.trainee_no_case"), t("es", "desk.staff_only")
    ]


async def test_cases_lists_mine_and_for_a_desk_admin_all(app, api, desk):
    case_id, _ = await open_academic_case(app, api, desk)
    await feed(app, message("/human", chat_id=43))  # a desk-only case
    other = desk.cases.active_case_for(43).id

    await feed(app, staff_message("/cases", MENTOR))
    mine = texts(api, MENTOR)[-1]
    assert mine.startswith(t("en", "desk.cases_mine")) and f"#{case_id}" in mine
    assert f"#{other}" not in mine
    await feed(app, staff_message("/cases", ADMIN))
    everything = texts(api, ADMIN)[-1]
    assert everything.startswith(t("en", "desk.cases_all"))
    assert f"#{case_id}" in everything and f"#{other}" in everything
    await feed(app, staff_message("/cases", COUNSELOR))
    assert texts(api, COUNSELOR)[-1] == t("es", "desk.cases_none")


async def test_case_shows_the_audit_trail(app, api, desk):
    case_id, card = await open_academic_case(app, api, desk)
    await feed(app, press(f"desk:claim:{case_id}", on=card, user_id=MENTOR))
    await feed(app, staff_message(f"/case {case_id}", ADMIN))
    report = texts(api, ADMIN)[-1]
    assert report.splitlines()[0].startswith(f"Case #{case_id} · claimed")
    assert t("en", "desk.case_audit") in report
    for label in ("opened", "routed", "claimed"):
        assert f" · {label} · " in report
    assert THESIS not in report  # the trail holds no message text
    await feed(app, staff_message("/case 999", ADMIN))
    assert texts(api, ADMIN)[-1] == t("en", "desk.not_found", case_id=999)


async def test_resolve_without_a_number_explains_itself(app, api, desk):
    await feed(app, staff_message("/resolve", MENTOR))
    assert texts(api, MENTOR) == [t("en", "desk.resolve_usage")]


# --- crisis, reminders, rate limit ----------------------------------------------------------------


async def test_a_crisis_gets_the_numbers_first_and_an_urgent_case_at_once(app, api, desk):
    await feed(app, message(CRISIS, chat_id=TRAINEE))
    (first,) = texts(api, TRAINEE)
    assert "1925" in first
    case = desk.cases.active_case_for(TRAINEE)
    assert case.urgent and case.reason == "crisis" and set(case.routed_to) == {COUNSELOR, ADMIN}

    await desk_channel.deliver(app)
    assert texts(api, COUNSELOR)[0].startswith(t("es", "desk.card.urgent"))
    assert texts(api, ADMIN)[0].startswith(t("en", "desk.card.urgent"))
    desk_card = texts(api, DESK_CHAT)[0]
    assert CRISIS not in desk_card  # the group gets a redacted card
    assert "1925" in texts(api, TRAINEE)[-1]  # the acknowledgement repeats the numbers


@pytest.mark.parametrize("reason", [None, "sensitive"])
async def test_a_possible_danger_inside_a_case_gets_the_note_and_is_relayed(app, api, desk, assistant, reason):
    """Triage inside a case heard a possible danger below the crisis line (`caution`): the
    message goes to the case as any other, not urgent; the person gets the short note now."""
    await feed(app, message("/human", chat_id=TRAINEE))
    case_id = desk.cases.active_case_for(TRAINEE).id
    before = len(texts(api, TRAINEE))
    worried = "honestly I don't know how long I can keep going like this"
    assistant.verdicts[worried] = Triage(reason, None if reason is None else "wellbeing", "model",
                                         caution=True, probability=0.15)  # fmt: skip
    await feed(app, message(worried, chat_id=TRAINEE))
    assert texts(api, TRAINEE)[before:] == [SAFETY_NOTE]  # the note, without the offer of a person
    assert [m.text for m in desk.cases.messages(case_id)][-1] == worried
    assert not desk.cases.get(case_id).urgent and assistant.calls == []
    await feed(app, message("ok thanks", chat_id=TRAINEE))  # nothing heard: only relayed
    assert texts(api, TRAINEE)[before:] == [SAFETY_NOTE]


async def test_claim_reminders_are_sent_once(app, api, desk):
    await feed(app, message("/human", chat_id=TRAINEE))
    context = SimpleNamespace(application=app, bot_data=app.bot_data)
    await desk_channel.remind(context)
    await desk_channel.remind(context)  # again, as after a restart: nothing new
    await desk_channel.deliver(app)
    case_id = desk.cases.active_case_for(TRAINEE).id
    reminders = [x for x in texts(api, DESK_CHAT) if "unclaimed" in x]
    assert len(reminders) == 1 and f"#{case_id}" in reminders[0]
    assert texts(api, ADMIN)[0].startswith("Reminder:")  # the backup person, step 1


async def test_a_trainee_in_a_case_is_never_throttled(api, assistant, desk):
    """The rate limit protects the answering engine, never the relay: a person writing fast to
    a counselor loses nothing (issue 13). Outside a case the limit still holds."""
    settings = make_settings(rate_limit_messages=2, rate_limit_window_s=3600)
    services = Services(settings=settings, assistant=assistant, users=FakeUserStore(), desk=desk)
    application = build_application(settings, services, request=api, get_updates_request=api)
    async with application:
        await feed(application, message("/human", chat_id=TRAINEE))
        case_id = desk.cases.active_case_for(TRAINEE).id
        for n in range(12):
            await feed(application, message(f"more {n}", chat_id=TRAINEE))
        relayed = [m.text for m in desk.cases.messages(case_id)]
        assert relayed == [""] + [f"more {n}" for n in range(12)]
        assert t("en", "telegram.rate_limited") not in texts(api, TRAINEE)
        assert assistant.calls == []
        desk.resolve(case_id, ADMIN)
        for n in range(3):
            await feed(application, message(f"question {n}", chat_id=OUTSIDER))
    assert api.texts(OUTSIDER).count(t("en", "telegram.rate_limited")) == 1


async def test_a_reply_after_the_reopen_window_is_a_new_question(app, api, desk, assistant):
    case_id, card = await open_academic_case(app, api, desk)
    await feed(app, press(f"desk:claim:{case_id}", on=card, user_id=MENTOR))
    await feed(app, press(f"desk:resolve:{case_id}", on=card, user_id=MENTOR))
    await desk_channel.deliver(app)
    resolved = sent_to(api, TRAINEE)[-1]
    desk.cases.reopen_window = timedelta(0)
    await feed(app, message("Where is room B201?", chat_id=TRAINEE, reply_to=bot_message(resolved)))
    assert texts(api, TRAINEE)[-1].startswith("ANSWER: Where is room B201?")
    assert desk.cases.get(case_id).status == "resolved"


async def test_staff_find_the_staff_commands_in_their_menu_in_their_language(app, api):
    """Trainees' menu has no staff commands; the desk chat and each roster person's private chat
    get them (scoped to that chat), in the desk's or the person's language."""
    await app.post_init(app)
    scoped = {}
    for params in api.sent("setMyCommands"):
        scope = params.get("scope")
        scope = json.loads(scope) if isinstance(scope, str) else scope
        if scope:
            assert scope["type"] == "chat"
            scoped[int(scope["chat_id"])] = params["commands"]
        else:
            assert not {"cases", "case", "resolve", "resend", "faq"} & {c["command"] for c in params["commands"]}
    assert set(scoped) == {DESK_CHAT, COUNSELOR, MENTOR, ADMIN}
    assert [c["command"] for c in scoped[DESK_CHAT]] == ["cases", "case", "resolve", "resend", "faq"]
    counselor = {c["command"]: c["description"] for c in scoped[COUNSELOR]}
    assert {"cases", "case", "resolve", "human", "start"} <= set(counselor)
    assert counselor["cases"] == t("es", "telegram.commands.cases")  # Ana's first language
    assert scoped[ADMIN][-1]["description"] == t("en", "telegram.commands.faq")
    await app.post_shutdown(app)


# --- the audit's findings, through the adapter ----------------------------------------------------

GROUP = -100777


async def test_a_case_asked_for_in_a_group_lives_in_the_private_chat(app, api, desk):
    """/human in the cohort group: the group reads a neutral pointer (no name, no case), the
    acknowledgement and the counselor's replies go to the trainee's private chat."""
    ask = message("/human I need help with my roommate", chat_id=GROUP, user_id=TRAINEE,
                  chat_type="supergroup")  # fmt: skip
    await feed(app, ask)
    await desk_channel.deliver(app)
    assert texts(api, GROUP) == [t("en", "desk.in_private")]
    case = desk.cases.active_case_for(TRAINEE)
    assert case.chat_id == TRAINEE
    assert any("Ana" in text for text in texts(api, TRAINEE))  # the acknowledgement, in private
    (card,) = sent_to(api, DESK_CHAT)
    await feed(app, staff_message("¿Estás a salvo?", ADMIN, chat_id=DESK_CHAT,
                                  reply_to=bot_message(card)))  # fmt: skip
    await desk_channel.deliver(app)
    assert texts(api, TRAINEE)[-1].endswith("¿Estás a salvo?")
    assert texts(api, GROUP) == [t("en", "desk.in_private")]


async def test_someone_else_pressing_talk_to_a_counselor_under_my_answer_is_refused(
    app, api, desk
):
    await feed(app, message("@puente_bot how much is the allowance?", chat_id=GROUP,
                            user_id=TRAINEE, chat_type="supergroup"))  # fmt: skip
    answer = sent_to(api, GROUP)[-1]
    await feed(app, press("human", on=answer, user_id=OUTSIDER))
    assert api.sent("answerCallbackQuery")[-1]["text"] == t("en", "telegram.human.not_yours")
    assert desk.cases.active_case_for(OUTSIDER) is None
    assert desk.cases.active_case_for(TRAINEE) is None


async def test_a_forged_reassign_is_refused(app, api, desk):
    """The mentor forges the callback data of a Reassign button: the trainee's crisis case, to
    himself. Refused; the case stays unclaimed."""
    assistant = app.bot_data["services"].assistant
    assistant.records[CRISIS] = escalation("crisis", CRISIS_REPLY, topic="wellbeing")
    await feed(app, message(CRISIS, chat_id=TRAINEE))
    await desk_channel.deliver(app)
    case = desk.cases.active_case_for(TRAINEE)
    mentor_chat = {"chat_id": MENTOR, "message_id": 1, "text": "anything"}
    await feed(app, press(f"desk:reassign:{case.id}:{MENTOR}", on=mentor_chat, user_id=MENTOR))
    answer = api.sent("answerCallbackQuery")[-1]
    assert answer["show_alert"] is True
    assert answer["text"] == t("en", "desk.not_allowed", case_id=case.id)
    after = desk.cases.get(case.id)
    assert (after.status, after.assigned_to) == ("open", None)
    assert sent_to(api, MENTOR) == []


async def test_a_stale_rating_is_refused(app, api, desk):
    case_id, card = await open_academic_case(app, api, desk)
    await feed(app, staff_message(f"/resolve {case_id}", MENTOR))
    await desk_channel.deliver(app)
    resolved = sent_to(api, TRAINEE)[-1]
    await feed(app, press(f"desk:rate:{case_id}:r0:5", on=resolved, user_id=TRAINEE))
    await feed(app, press(f"desk:rate:{case_id}:r0:1", on=resolved, user_id=TRAINEE))
    await feed(app, press(f"desk:rate:{case_id}:1", on=resolved, user_id=TRAINEE))
    assert desk.cases.get(case_id).rating == 5


async def test_a_counselor_forget_keeps_other_peoples_cases_and_relays(app, api, desk):
    case_id, card = await open_academic_case(app, api, desk)
    await feed(app, message("/forget", chat_id=MENTOR, user_id=MENTOR))
    ask = sent_to(api, MENTOR)[-1]
    await feed(app, press(f"forget:yes:{MENTOR}", on=ask, user_id=MENTOR))
    assert desk.cases.get(case_id).name == "Ana"
    calls = len(app.bot_data["services"].assistant.calls)
    await feed(app, staff_message("Bring your draft.", MENTOR, reply_to=bot_message(card)))
    await desk_channel.deliver(app)
    assert texts(api, TRAINEE)[-1].endswith("Bring your draft.")
    assert len(app.bot_data["services"].assistant.calls) == calls  # not answered as a question


async def test_a_trainee_forget_closes_the_case_with_a_note_to_staff(app, api, desk):
    case_id, card = await open_academic_case(app, api, desk)
    await feed(app, message("/forget", chat_id=TRAINEE))
    ask = sent_to(api, TRAINEE)[-1]
    await feed(app, press(f"forget:yes:{TRAINEE}", on=ask, user_id=TRAINEE))
    await desk_channel.deliver(app)
    gone = desk.cases.get(case_id)  # (the real user store then anonymizes it: test_desk_policy)
    assert gone.status == "resolved" and "forgotten" in [e.kind for e in desk.cases.audit(case_id)]
    assert texts(api, MENTOR)[-1] == t("en", "desk.forgotten", case_id=case_id)
    assert desk.cases.active_case_for(TRAINEE) is None
    # The card already in the mentor's chat no longer shows the trainee's words.
    blanked = [p for p in api.sent("editMessageText")
               if int(p["chat_id"]) == MENTOR and int(p["message_id"]) == card["message_id"]]
    assert blanked and blanked[-1]["text"] == t("en", "desk.forgotten", case_id=case_id)


async def test_cards_carry_a_stable_identity_and_no_bidi_tricks(app, api, desk):
    spoof = message("/human hola", chat_id=TRAINEE)
    spoof["message"]["from"].update(first_name="Ana\u202egnirt", username="ana_real")
    await feed(app, spoof)
    await desk_channel.deliver(app)
    (card,) = sent_to(api, DESK_CHAT)
    assert "\u202e" not in card["text"] and "Anagnirt" in card["text"]
    assert f"Telegram id {TRAINEE}" in card["text"] and "@ana_real" in card["text"]


async def test_staff_commands_in_the_desk_group_show_no_name_of_a_sensitive_case(app, api, desk):
    assistant = app.bot_data["services"].assistant
    assistant.records[CRISIS] = escalation("crisis", CRISIS_REPLY, topic="wellbeing")
    crisis = message(CRISIS, chat_id=TRAINEE)
    crisis["message"]["from"]["first_name"] = "Valentina"
    await feed(app, crisis)
    case_id = desk.cases.active_case_for(TRAINEE).id
    for command in (f"/case {case_id}", "/cases"):
        await feed(app, staff_message(command, ADMIN, chat_id=DESK_CHAT))
        shown = texts(api, DESK_CHAT)[-1]
        assert f"#{case_id}" in shown and "Valentina" not in shown
    await feed(app, staff_message(f"/case {case_id}", ADMIN))  # in private: the name
    assert "Valentina" in texts(api, ADMIN)[-1]


class ChatNotFoundApi(FlakyBotApi):
    """getChat fails for the ids in `unknown` (a person who never pressed Start, a wrong id)."""

    unknown: set[int] = set()

    async def do_request(self, url, method, request_data=None, **kwargs):
        params = request_data.parameters if request_data else {}
        if url.endswith("/getChat") and int(params["chat_id"]) in self.unknown:
            body = {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
            return 400, json.dumps(body).encode()
        return await super().do_request(url, method, request_data, **kwargs)


async def test_roster_ids_the_bot_cannot_reach_are_reported_at_start(desk, assistant, caplog):
    from bot.channels.telegram.app import _check_roster_reachable

    api = ChatNotFoundApi()
    api.unknown = {MENTOR, DESK_CHAT}
    settings = make_settings()
    services = Services(settings=settings, assistant=assistant, users=FakeUserStore(), desk=desk)
    application = build_application(settings, services, request=api, get_updates_request=api)
    await application.initialize()
    try:
        assert sorted(await _check_roster_reachable(application)) == sorted([MENTOR, DESK_CHAT])
    finally:
        await application.shutdown()
    assert f"chat {MENTOR} cannot be reached" in caplog.text


async def test_a_reply_to_a_message_recorded_between_two_lookups_finds_its_case():
    """The outbox marks a row sent (recording its Telegram id) at any moment. A counselor's reply
    that arrives just then must still find its case: whether a send is in flight is asked before
    the lookup, so a record committed in between is seen (the race CI once hit: the reply was
    answered as a question and never reached the trainee)."""
    from bot.channels.telegram.desk.relay import _case_of_reply

    case = SimpleNamespace(id=7)

    class Desk:
        recorded = False
        calls: list[str] = []

        def sending_to(self, chat_id):
            self.calls.append("sending_to")
            sending = not self.recorded
            self.recorded = True  # mark_sent commits right after this query
            return sending

        def case_of_message(self, chat_id, message_id):
            self.calls.append("case_of_message")
            return case if self.recorded else None

    desk = Desk()
    assert await _case_of_reply(desk, 100, 5) is case

    class Stray(Desk):  # nothing in flight and no record: a stray message, no waiting
        def sending_to(self, chat_id):
            self.calls.append("sending_to")
            return False

        def case_of_message(self, chat_id, message_id):
            self.calls.append("case_of_message")
            return None

    stray = Stray()
    stray.calls = []
    assert await _case_of_reply(stray, 100, 5) is None
    assert stray.calls == ["sending_to", "case_of_message"]


async def test_a_long_reply_is_relayed_whole_in_parts(app, api, desk):
    """A 4,090-character counselor reply (plus the "Your counselor" line) is sent in two
    messages, in order, nothing cut; and a long trainee message reaches the mentor whole."""
    case_id, card = await open_academic_case(app, api, desk)
    await feed(app, press(f"desk:claim:{case_id}", on=card, user_id=MENTOR))
    await desk_channel.deliver(app)
    words = [f"w{n:04d}" for n in range(818)]  # 818 * 5 = 4,090 characters with the spaces
    long_reply = " ".join(words)[:4090]
    await feed(app, staff_message(long_reply, MENTOR, reply_to=bot_message(card)))
    await desk_channel.deliver(app)
    parts = [x for x in texts(api, TRAINEE) if "w0" in x]
    assert len(parts) == 2 and all(len(p) <= 4096 for p in parts)
    assert " ".join(parts).split(": ", 1)[1] == long_reply  # whole, in order, no "…"
    assert texts(api, MENTOR)[-1] == t("en", "desk.relayed_ok", name="Ana", case_id=case_id)

    long_message = " ".join(f"t{n:04d}" for n in range(900))
    await feed(app, message(long_message, chat_id=TRAINEE))
    await desk_channel.deliver(app)
    received = " ".join(x for x in texts(api, MENTOR) if "t0" in x)
    assert all(word in received for word in long_message.split())


async def test_a_counselor_writing_without_replying_gets_a_hint_not_an_answer(app, api, desk, assistant):
    case_id, card = await open_academic_case(app, api, desk)
    await desk_channel.deliver(app)
    before = len(texts(api, TRAINEE))
    calls = len(assistant.calls)
    await feed(app, staff_message("Are you free at 3?", MENTOR))  # not a reply to the card
    hint = texts(api, MENTOR)[-1]
    assert hint == t("en", "desk.reply_hint", cases=f"#{case_id}")
    assert len(assistant.calls) == calls and len(texts(api, TRAINEE)) == before
    # A desk admin sees every case in /cases, but this one is not theirs: answered as anyone.
    await feed(app, staff_message("Where is the library?", ADMIN))
    assert [c[0] for c in assistant.calls][-1] == "Where is the library?"
    # Once the case is resolved, the mentor is answered by Puente like anyone.
    desk.resolve(case_id, ADMIN)
    await feed(app, staff_message("Where is room B201?", MENTOR))
    assert [c[0] for c in assistant.calls][-1] == "Where is room B201?"


async def test_a_trainee_sees_their_request_and_can_cancel_it(app, api, desk):
    case_id, card = await open_academic_case(app, api, desk)
    await feed(app, message("/case", chat_id=TRAINEE))
    status = sent_to(api, TRAINEE)[-1]
    assert status["text"].startswith(f"Your request #{case_id}")
    assert t("en", "desk.trainee_case_state.waiting") in status["text"]
    assert buttons(status) == [f"desk:cancel:{case_id}"]
    # Someone else's press on that button is refused by the policy.
    await feed(app, press(f"desk:cancel:{case_id}", on=status, user_id=OUTSIDER))
    assert desk.cases.get(case_id).active

    await feed(app, press(f"desk:cancel:{case_id}", on=status, user_id=TRAINEE))
    await desk_channel.deliver(app)
    assert texts(api, TRAINEE)[-1] == t("en", "desk.cancelled_trainee", case_id=case_id)
    assert not desk.cases.get(case_id).active
    assert "cancelled" in [e.kind for e in desk.cases.audit(case_id)]
    assert texts(api, MENTOR)[-1] == t("en", "desk.cancelled_staff", case_id=case_id)
    (edit,) = [e for e in api.sent("editMessageText") if int(e["chat_id"]) == MENTOR]
    assert edit["text"].endswith(t("en", "desk.card_status.cancelled"))
    await feed(app, message("/case", chat_id=TRAINEE))
    assert texts(api, TRAINEE)[-1] == t("en", "desk.trainee_no_case")


async def test_slow_answers_do_not_stall_the_desk(app, api, desk, assistant):
    """Every answering thread busy (six 20-second LLM answers, say): relays and cards still go
    out, because answers run on their own pool (bot/channels/telegram/pools.py)."""
    import asyncio
    import threading

    from bot.channels.telegram import pools

    seen: list[str] = []
    answer = assistant.answer

    def recording(*args, **kwargs):
        seen.append(threading.current_thread().name)
        return answer(*args, **kwargs)

    assistant.answer = recording
    await feed(app, message("Where is room B201?", chat_id=TRAINEE))
    assert seen and seen[0].startswith("puente-answer")

    release = threading.Event()
    busy = [asyncio.ensure_future(pools.answering(release.wait, 30)) for _ in range(8)]
    try:
        await feed(app, message("/human I need to talk to someone", chat_id=TRAINEE))
        report = await asyncio.wait_for(desk_channel.deliver(app), timeout=20)
        assert report.sent >= 1  # the case card, while every answering thread is stuck
        # Inside the case, a message is triaged on its own pool and relayed at once.
        await asyncio.wait_for(feed(app, message("are you there?", chat_id=TRAINEE)), timeout=20)
        case = desk.cases.active_case_for(TRAINEE)
        assert [m.text for m in desk.cases.messages(case.id)][-1] == "are you there?"
        assert not release.is_set()
    finally:
        release.set()
        await asyncio.gather(*busy)


async def test_writing_again_after_a_resolution_offers_to_reopen_once(app, api, desk, assistant):
    """A follow-up that does not reply to the case is answered, and the person is offered (once)
    to reopen the case; reopening tells the mentor and confirms it to the trainee."""
    case_id, card = await open_academic_case(app, api, desk)
    await feed(app, press(f"desk:claim:{case_id}", on=card, user_id=MENTOR))
    await feed(app, press(f"desk:resolve:{case_id}", on=card, user_id=MENTOR))
    await desk_channel.deliver(app)

    await feed(app, message("One more thing about the thesis", chat_id=TRAINEE))
    assert [c[0] for c in assistant.calls][-1] == "One more thing about the thesis"
    offer = sent_to(api, TRAINEE)[-1]
    assert offer["text"].startswith(t("en", "desk.reopen_offer", case_id=case_id, when="X")[:20])
    assert buttons(offer) == [f"desk:reopen:{case_id}"]
    await feed(app, message("And the library hours?", chat_id=TRAINEE))
    assert sum(x.startswith("Is this about your request") for x in texts(api, TRAINEE)) == 1

    await feed(app, press(f"desk:reopen:{case_id}", on=offer, user_id=OUTSIDER))  # not theirs
    assert not desk.cases.get(case_id).active
    await feed(app, press(f"desk:reopen:{case_id}", on=offer, user_id=TRAINEE))
    await desk_channel.deliver(app)
    assert desk.cases.get(case_id).active
    assert texts(api, TRAINEE)[-1] == t("en", "desk.reopened_trainee", case_id=case_id)
    assert texts(api, MENTOR)[-1] == t("en", "desk.reopened", case_id=case_id, name="Ana")


async def test_an_edit_inside_a_case_is_relayed_again_marked(app, api, desk, assistant):
    from tests.test_telegram_handlers import edited

    case_id, card = await open_academic_case(app, api, desk)
    calls = len(assistant.calls)
    first = message("I can come at 3", chat_id=TRAINEE)
    await feed(app, first, edited(first, "I can come at 4"))
    await desk_channel.deliver(app)
    lines = [x for x in texts(api, MENTOR) if "come at" in x]
    assert lines[0].endswith("I can come at 3") and lines[1].endswith("✏️ I can come at 4")
    assert len(assistant.calls) == calls  # relayed, never answered


async def test_a_desk_admin_can_resend_a_dead_letter(app, api, desk):
    api.failures = [(403, {"description": "Forbidden: bot was blocked by the user"})]
    row = desk.outbox.enqueue(TRAINEE, "hello again", kind="relay_out", case_id=None,
                              dedupe_key="k-resend")  # fmt: skip
    await desk_channel.deliver(app)
    (alert,) = texts(api, ADMIN)
    assert alert.endswith(f"/resend {row}")

    await feed(app, staff_message(f"/resend {row}", MENTOR))  # not a desk admin
    assert texts(api, MENTOR)[-1] == t("en", "desk.resend_admin_only")
    await feed(app, staff_message("/resend 999", ADMIN))
    assert texts(api, ADMIN)[-1] == t("en", "desk.resend_missing", outbox_id=999)
    await feed(app, staff_message(f"/resend {row}", ADMIN))  # the trainee unblocked the bot
    assert texts(api, ADMIN)[-1] == t("en", "desk.resent", outbox_id=row)
    await desk_channel.deliver(app)
    assert texts(api, TRAINEE) == ["hello again"]
    await feed(app, staff_message(f"/resend {row}", ADMIN))  # sent now: nothing to resend
    assert texts(api, ADMIN)[-1] == t("en", "desk.resend_missing", outbox_id=row)


async def test_a_receipt_waits_for_every_part_of_the_relay(app, api, desk):
    """A reply sent in two parts (or a text and the copy of a photo): "delivered" only when both
    are; the second part failing for good makes the receipt say "not delivered"."""
    case_id, card = await open_academic_case(app, api, desk)
    desk.claim(case_id, MENTOR)
    reply = desk.reply(case_id, MENTOR, "x " * 3000, (MENTOR, None))
    key = next(r.dedupe_key for r in desk.outbox.held(("relay_ack",))).removesuffix(":ack")
    first, second = desk.outbox.family(key, ("relay_out",))
    assert reply.case.id == case_id and second.dedupe_key == f"{key}:p2"
    desk.outbox.claim(first.id)
    desk.outbox.mark_sent(first.id, 1)
    desk.settle_deliveries()
    assert len(desk.outbox.held(("relay_ack",))) == 1  # still waiting for part 2
    desk.outbox.claim(second.id)
    desk.outbox.mark_failed(second.id, "Forbidden: bot was blocked by the user", permanent=True)
    desk.settle_deliveries()
    assert desk.outbox.held(("relay_ack",)) == []
    receipt = desk.outbox.by_keys([f"{key}:ack"])[f"{key}:ack"]
    assert receipt.text.startswith("Not delivered:")


async def test_a_trainee_who_never_started_the_bot_raises_no_admin_alert(app, api, desk):
    """Asked in a group, never pressed Start: the desk's messages to them wait for /start
    (`chat_opened`); that is expected, not an alert for the admins."""
    api.failures = [(403, {"description": "Forbidden: bot can't initiate conversation with a user"})]
    desk.outbox.enqueue(TRAINEE, "ack", kind="ack", case_id=None, dedupe_key="k-never")
    await desk_channel.deliver(app)
    assert texts(api, ADMIN) == [] and desk.outbox.unreported_failures(("ack",)) == []
