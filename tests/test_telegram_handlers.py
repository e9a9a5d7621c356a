"""The Telegram adapter, offline: real Application and handlers, a request class instead of HTTP.

`OfflineBotApi` (like python-telegram-bot's own test suite) records every Bot API call, answers
the methods the bot is expected to use, and fails the test on any other.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
from typing import Any

import pytest
from telegram import Update
from telegram.request import BaseRequest, RequestData

from bot.channels.telegram import TelegramSetupError, build_application, run
from bot.channels.telegram.formatting import (
    MAX_MESSAGE,
    render_answer,
    split_text,
    utf16_len,
)
from bot.channels.telegram.ordering import ChatOrderedUpdateProcessor
from bot.channels.telegram.ratelimit import SlidingWindowLimiter, Verdict
from bot.config import Settings
from bot.i18n import t
from bot.logging_setup import configure_logging
from bot.records import AnswerRecord, Citation
from bot.services import Services
from tests.telegram_fakes import FakeAssistant, FakeDesk, FakeUserStore

BOT = {"id": 999, "is_bot": True, "first_name": "Puente", "username": "puente_bot"}
TOKEN = "999:TEST-token"


class OfflineBotApi(BaseRequest):
    """Answers what the bot may call with valid canned results; anything else fails the test."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.unexpected: list[str] = []
        self._message_ids = itertools.count(5000)

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, **_: Any
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        answer = getattr(self, f"_{api_method}", None)
        if answer is None:
            self.unexpected.append(api_method)
            raise AssertionError(f"unexpected Bot API call {api_method}({params})")
        self.calls.append((api_method, params))
        return 200, json.dumps({"ok": True, "result": answer(params)}).encode()

    # -- canned results -------------------------------------------------------------------------
    def _getMe(self, _: dict) -> dict:
        return BOT

    def _sendMessage(self, p: dict) -> dict:
        return self._message(p, next(self._message_ids))

    def _editMessageText(self, p: dict) -> dict:
        return self._message(p, p["message_id"])

    def _editMessageReplyMarkup(self, p: dict) -> dict:
        return self._message({**p, "text": "…"}, p["message_id"])

    def _getChat(self, p: dict) -> dict:
        chat_id = int(p["chat_id"])
        return {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup",
                "accent_color_id": 0, "max_reaction_count": 11}

    def _sendChatAction(self, _: dict) -> bool:
        return True

    def _answerCallbackQuery(self, _: dict) -> bool:
        return True

    def _setMyCommands(self, _: dict) -> bool:
        return True

    @staticmethod
    def _message(p: dict, message_id: int) -> dict:
        chat_id = int(p["chat_id"])
        message = {
            "message_id": message_id,
            "date": 0,
            "from": BOT,
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "text": p.get("text", ""),
        }
        if p.get("reply_markup"):
            message["reply_markup"] = p["reply_markup"]
        return message

    # -- what the tests read --------------------------------------------------------------------
    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[dict]:
        return [
            p
            for m, p in self.calls
            if m == method and (chat_id is None or int(p.get("chat_id", 0)) == chat_id)
        ]

    def texts(self, chat_id: int | None = None) -> list[str]:
        return [p["text"] for p in self.sent("sendMessage", chat_id)]


# --- fixtures and update builders -----------------------------------------------------------------


def make_settings(**overrides: Any) -> Settings:
    values = {"telegram_bot_token": TOKEN, "telegram_api_url": "http://offline.invalid"}
    return Settings(_env_file=None, **{**values, **overrides})


@pytest.fixture
def api():
    offline = OfflineBotApi()
    yield offline
    assert not offline.unexpected, f"unexpected Bot API calls: {offline.unexpected}"


@pytest.fixture
def assistant():
    return FakeAssistant()


@pytest.fixture
def users():
    return FakeUserStore()


@pytest.fixture
def settings():
    return make_settings()


@pytest.fixture
async def app(api, assistant, users, settings):
    services = Services(settings=settings, assistant=assistant, users=users)
    application = build_application(settings, services, request=api, get_updates_request=api)
    await application.initialize()
    api.calls.clear()  # getMe
    yield application
    if application.running:
        await application.stop()
    await application.shutdown()


_update_ids = itertools.count(1)
_message_ids = itertools.count(1)


def message(
    text: str | None = None,
    *,
    chat_id: int = 42,
    user_id: int | None = None,
    language_code: str | None = "en",
    chat_type: str = "private",
    reply_to: dict | None = None,
    **fields: Any,
) -> dict:
    user_id = user_id or (chat_id if chat_id > 0 else 7)
    user = {"id": user_id, "is_bot": False, "first_name": "Ana"}
    if language_code:
        user["language_code"] = language_code
    chat = {"id": chat_id, "type": chat_type}
    if chat_type != "private":
        chat["title"] = "Cohort 2026"
    msg: dict[str, Any] = {
        "message_id": next(_message_ids), "date": 0, "chat": chat, "from": user, **fields
    }
    if text is not None:
        msg["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        elif "@puente_bot" in text:
            offset = text.index("@puente_bot")
            msg["entities"] = [{"type": "mention", "offset": offset, "length": len("@puente_bot")}]
    if reply_to is not None:
        msg["reply_to_message"] = reply_to
    return {"update_id": next(_update_ids), "message": msg}


def press(data: str, *, on: dict, user_id: int | None = None, language_code: str = "en") -> dict:
    """A press on an inline button of `on`, a message the bot sent (OfflineBotApi params)."""
    chat_id = int(on["chat_id"])
    bot_message = OfflineBotApi._message(on, on["message_id"]) if "message_id" in on else None
    user_id = user_id or (chat_id if chat_id > 0 else 7)
    return {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": str(next(_update_ids)),
            "from": {
                "id": user_id, "is_bot": False, "first_name": "Ana", "language_code": language_code
            },
            "chat_instance": "ci",
            "data": data,
            "message": bot_message,
        },
    }


async def feed(application, *updates: dict) -> None:
    for data in updates:
        await application.process_update(Update.de_json(data, application.bot))


def buttons(params: dict) -> list[str]:
    markup = params.get("reply_markup") or {"inline_keyboard": []}
    return [b.get("callback_data") for row in markup["inline_keyboard"] for b in row]


def with_message_id(api: OfflineBotApi, params: dict) -> dict:
    """The params of a sent message plus the message_id the offline API gave it."""
    index = [p for m, p in api.calls if m == "sendMessage"].index(params)
    return {**params, "message_id": 5000 + index}


async def wait_until(predicate, timeout: float = 5.0, what: str = "condition"):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (value := predicate()):
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.005)
    return value


# --- /start, /lang, /help, /privacy, /exams -------------------------------------------------------


async def test_start_welcomes_in_the_telegram_language_with_a_language_picker(app, api):
    await feed(app, message("/start", language_code="es-MX"))

    (sent,) = api.sent()
    assert sent["text"].startswith(t("es", "telegram.welcome", name="Ana"))
    assert "Becarios" in sent["text"] and "Examinados" in sent["text"]
    assert buttons(sent) == ["lang:es", "lang:en", "lang:zh-TW"]


async def test_start_falls_back_to_english_for_other_app_languages(app, api):
    await feed(app, message("/start", language_code="fr"))
    assert api.texts()[0].startswith("Hi Ana!")


async def test_a_chosen_language_is_stored_and_passed_to_the_next_answer(
    app, api, users, assistant
):
    await feed(app, message("/lang", chat_id=42, language_code="en"))
    picker = with_message_id(api, api.sent()[0])
    await feed(app, press("lang:zh-TW", on=picker))

    assert users.languages == {42: "zh-TW"}
    (edit,) = api.sent("editMessageReplyMarkup")
    assert buttons(edit) == []  # the picker goes away
    language_set, hints = t("zh-TW", "telegram.language_set"), t("zh-TW", "telegram.hints")
    assert api.texts()[-1] == f"{language_set}\n\n{hints}"

    await feed(app, message("Where is the library?", chat_id=42))
    assert assistant.calls[-1] == ("Where is the library?", "zh-TW", 42)
    # ...and the choice wins over the Telegram app's language for the interface too.
    await feed(app, message("/help", chat_id=42, language_code="en"))
    assert api.texts()[-1] == t("zh-TW", "telegram.help")


async def test_privacy_lists_what_is_stored_and_for_how_long(app, api):
    await feed(app, message("/privacy", language_code="es"))
    assert api.texts() == [f"{t('es', 'telegram.privacy')}\n\n{t('es', 'telegram.retention')}"]


async def test_exams_lists_the_upcoming_sessions_with_filter_buttons(app, api):
    # /exams itself is tested in tests/test_exams_telegram.py (bot/channels/telegram/exams/).
    await feed(app, message("/exams", language_code="zh-hant"))
    (sent,) = api.sent()
    assert sent["text"].startswith("近期考試場次")
    assert "exf:1:-" in buttons(sent)


async def test_unknown_command_points_to_help(app, api):
    await feed(app, message("/weather"))
    assert api.texts() == [t("en", "telegram.unknown_command")]


# --- questions ------------------------------------------------------------------------------------


async def test_a_question_gets_the_answer_with_sources_and_feedback_buttons(app, api):
    await feed(app, message("How do I get my ARC?"))

    methods = [m for m, _ in api.calls]
    assert methods == ["sendMessage"]  # answered at once: no "typing…" needed
    (answer,) = api.sent()
    assert answer["parse_mode"] == "HTML"
    assert answer["text"] == (
        "ANSWER: How do I get my ARC?\n\n<b>Sources:</b>\n• Trainee Handbook › Housing"
    )
    assert buttons(answer) == ["fb:+", "fb:-"]


async def test_a_slow_answer_shows_typing_first(app, api, assistant):
    gate = threading.Event()
    assistant.gates["How do I get my ARC?"] = gate
    task = asyncio.create_task(feed(app, message("How do I get my ARC?")))
    deadline = asyncio.get_running_loop().time() + 10
    while "sendChatAction" not in [m for m, _ in api.calls]:
        assert asyncio.get_running_loop().time() < deadline, "no typing action was sent"
        await asyncio.sleep(0.01)
    assert api.sent("sendChatAction")[0]["action"] == "typing"
    assert not api.sent()  # the answer is still being worked out
    gate.set()
    await task
    assert [m for m, _ in api.calls] == ["sendChatAction", "sendMessage"]


async def test_answer_text_is_html_escaped(app, api, assistant):
    assistant.records["q"] = AnswerRecord(
        question="q",
        language="en",
        answer="Use <b>bold</b> & *stars* and _under_ <script>",
        answered=True,
        sources=[Citation("a.md", "Fees & <dates>", "Rules")],
    )
    await feed(app, message("q"))
    text = api.texts()[0]
    assert text.startswith("Use &lt;b&gt;bold&lt;/b&gt; &amp; *stars* and _under_ &lt;script&gt;")
    assert "• Rules › Fees &amp; &lt;dates&gt;" in text


async def test_a_long_answer_is_split_into_parts_under_the_limit_with_buttons_on_the_last(
    app, api, assistant
):
    paragraph = "Línea con <tags> & acentos. " * 60  # ~1700 chars, more once escaped
    assistant.records["long"] = AnswerRecord(
        question="long", language="es", answer="\n\n".join([paragraph] * 6), answered=True,
        sources=[Citation("program/handbook.es.md", "Vivienda", "Manual")],
    )
    await feed(app, message("long"))

    parts = api.sent()
    assert len(parts) > 1
    assert all(utf16_len(p["text"]) <= 4096 for p in parts)
    assert [bool(buttons(p)) for p in parts] == [False] * (len(parts) - 1) + [True]
    assert parts[-1]["text"].endswith("<b>Fuentes:</b>\n• Manual › Vivienda")
    # Nothing was cut inside an entity: every "&" starts one of the three escapes.
    joined = "".join(p["text"] for p in parts)
    assert joined.count("&") == joined.count("&lt;") + joined.count("&gt;") + joined.count("&amp;")


def test_split_text_prefers_paragraphs_then_lines_then_words():
    assert split_text("aaa\n\nbbb", 5) == ["aaa", "bbb"]
    assert split_text("aa\nbb\n\ncc", 6) == ["aa\nbb", "cc"]
    assert split_text("one two three", 8) == ["one two", "three"]
    assert split_text("x" * 10, 4) == ["xxxx", "xxxx", "xx"]
    assert split_text("   ", 4) == []


def test_render_answer_measures_emoji_in_utf16_units():
    record = AnswerRecord(question="q", language="en", answer="😀" * 3000, answered=True)
    parts = render_answer(record)
    assert len(parts) == 2 and all(utf16_len(p) <= MAX_MESSAGE for p in parts)


async def test_counselor_button_when_the_assistant_offers_one(app, api, assistant):
    assistant.records["visa?"] = AnswerRecord(
        question="visa?", language="en", answer="Not in the documents.", answered=False,
        offer_counselor=True, escalation_reason="low_confidence",
    )
    await feed(app, message("visa?"))
    assert buttons(api.sent()[0]) == ["fb:+", "fb:-", "human"]


async def test_an_escalating_answer_is_sent_at_once_and_handed_to_the_desk(
    app, api, assistant, settings
):
    desk = FakeDesk()
    app.bot_data["services"].desk = desk
    crisis = AnswerRecord(
        question="x", language="en", answer="Call 1925 now. A counselor will contact you.",
        answered=False, escalate=True, escalation_reason="crisis",
    )
    assistant.records["I want to disappear"] = crisis
    await feed(app, message("I want to disappear", chat_id=77, user_id=77))

    (sent,) = api.sent()
    assert sent["text"] == "Call 1925 now. A counselor will contact you."
    assert buttons(sent) == []  # no 👍 / 👎 under a crisis reply
    (escalation,) = desk.escalations
    assert escalation["record"].escalation_reason == "crisis"
    assert (escalation["user_id"], escalation["chat_id"], escalation["name"]) == (77, 77, "Ana")


class BrokenDesk(FakeDesk):
    def escalate(self, **values) -> None:
        raise KeyError("no message 'desk.topics.unknown'")


@pytest.mark.parametrize("danger", [True, False])
async def test_when_the_case_cannot_be_opened_the_person_is_told_so(app, api, assistant, danger):
    """Never a false "I alerted a counselor": a failed hand-off says so (numbers again when
    there was danger), and nothing claims that someone was told."""
    app.bot_data["services"].desk = BrokenDesk()
    assistant.records["a man is following me"] = AnswerRecord(
        question="x", language="en", answer="Call 110 or 119 now.", answered=False,
        escalate=True, escalation_reason="crisis" if danger else "sensitive", danger=danger,
    )
    await feed(app, message("a man is following me"))

    first, second = api.texts()
    assert first == "Call 110 or 119 now."
    assert second.startswith(t("en", "desk.open_failed"))
    assert ("1925" in second) is danger
    assert "alerted" not in first + second


async def test_without_a_desk_an_escalation_says_how_to_reach_people(app, api, assistant):
    assistant.records["I need someone"] = AnswerRecord(
        question="x", language="en", answer="Of course: this is for a person.", answered=False,
        escalate=True, escalation_reason="explicit_request",
    )
    await feed(app, message("I need someone"))
    assert api.texts() == ["Of course: this is for a person.", t("en", "telegram.human.unavailable")]


# --- feedback -------------------------------------------------------------------------------------


async def test_thumbs_up_is_stored_and_the_buttons_go_away(app, api, users):
    await feed(app, message("Where can I print?"))
    answer = with_message_id(api, api.sent()[0])
    await feed(app, press("fb:+", on=answer))

    (fb,) = users.feedback
    assert (fb.rating, fb.question) == (1, "Where can I print?")
    assert fb.answer == "ANSWER: Where can I print?"
    assert fb.sources == ["program/handbook.en.md#Housing"]
    assert fb.message_id == answer["message_id"]
    (ack,) = api.sent("answerCallbackQuery")
    assert ack["text"] == t("en", "telegram.feedback.thanks")
    (edit,) = api.sent("editMessageReplyMarkup")
    assert buttons(edit) == []
    assert len(api.sent()) == 1  # no extra message after 👍

    await feed(app, press("fb:+", on=answer))  # a second press does not count twice
    assert len(users.feedback) == 1


async def test_thumbs_down_is_stored_and_offers_a_counselor(app, api, users):
    await feed(app, message("¿Dónde imprimo?"))
    answer = with_message_id(api, api.sent()[0])
    await feed(app, press("fb:-", on=answer))

    assert [f.rating for f in users.feedback] == [-1]
    offer = api.sent()[-1]
    assert offer["text"] == t("es", "telegram.feedback.sorry")
    assert buttons(offer) == ["human"]

    # Without a desk, the counselor button explains how to reach the Program Office.
    await feed(app, press("human", on=with_message_id(api, offer)))
    assert api.texts()[-1] == t("es", "telegram.human.unavailable")


async def counselor_offer(app, api) -> tuple[FakeDesk, dict]:
    """A desk; a question answered, a 👎, and the offer of a counselor it brings (with its id)."""
    desk = FakeDesk()
    app.bot_data["services"].desk = desk
    await feed(app, message("How much is the allowance?", chat_id=50))
    answer = with_message_id(api, api.sent()[0])
    await feed(app, press("fb:-", on=answer))
    return desk, with_message_id(api, api.sent()[-1])


async def test_counselor_button_hands_the_question_to_the_desk(app, api):
    desk, offer = await counselor_offer(app, api)
    await feed(app, press("human", on=offer))

    (request,) = desk.requests
    assert request == {
        "user_id": 50, "chat_id": 50, "name": "Ana", "language": "en",
        "text": "How much is the allowance?", "username": None, "private": True,
    }
    assert api.texts()[-1] == t("en", "telegram.human.requested")


async def test_human_without_a_desk_explains_how_to_reach_the_program_office(app, api):
    await feed(app, message("/human", language_code="es"))
    assert api.texts() == [t("es", "telegram.human.unavailable")]


# --- /forget --------------------------------------------------------------------------------------


async def test_forget_asks_then_deletes_on_confirmation(app, api, users):
    users.set_language(42, "es")
    await feed(app, message("Where can I print?", chat_id=42))
    await feed(app, press("fb:+", on=with_message_id(api, api.sent()[0])))
    await feed(app, message("/forget", chat_id=42))

    ask = api.sent()[-1]
    assert ask["text"] == t("es", "telegram.forget.ask")
    assert buttons(ask) == ["forget:yes:42", "forget:no:42"]
    assert users.feedback  # nothing deleted before the confirmation

    # Someone else pressing the button (in a group) deletes nothing.
    await feed(app, press("forget:yes:42", on=with_message_id(api, ask), user_id=43))
    assert users.languages

    await feed(app, press("forget:yes:42", on=with_message_id(api, ask)))
    assert users.languages == {} and users.feedback == []
    assert api.sent("editMessageText")[-1]["text"] == t("es", "telegram.forget.done", count=2)
    assert app.chat_data[42]["answers"] == {}


async def test_forget_can_be_cancelled(app, api, users):
    users.set_language(42, "en")
    await feed(app, message("/forget", chat_id=42))
    await feed(app, press("forget:no:42", on=with_message_id(api, api.sent()[-1])))
    assert users.languages == {42: "en"}
    assert api.sent("editMessageText")[-1]["text"] == t("en", "telegram.forget.cancelled")


# --- not text -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        (
            {"photo": [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]},
            "text_only",
        ),
        ({"voice": {"file_id": "v", "file_unique_id": "v", "duration": 3}}, "voice"),
        (
            {"sticker": {"file_id": "s", "file_unique_id": "s", "width": 1, "height": 1,
                         "is_animated": False, "is_video": False, "type": "regular"}},
            "text_only",
        ),
        ({"document": {"file_id": "d", "file_unique_id": "d"}}, "text_only"),
        ({"location": {"latitude": 23.0, "longitude": 120.2}}, "text_only"),
    ],
)
async def test_non_text_messages_get_a_short_reply_in_the_person_s_language(app, api, fields, key):
    await feed(app, message(language_code="es", **fields))
    assert api.texts() == [t("es", f"telegram.{key}")]


# --- groups ---------------------------------------------------------------------------------------


async def test_group_messages_not_addressed_to_the_bot_get_no_reply(app, api, assistant):
    await feed(
        app,
        message("Where can I print?", chat_id=-100, chat_type="supergroup"),
        message(chat_id=-100, chat_type="supergroup", photo=[
            {"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}
        ]),
        message("/weather@other_bot", chat_id=-100, chat_type="supergroup"),
    )
    assert api.calls == [] and assistant.calls == []


async def test_group_mention_is_answered_without_the_mention(app, api, assistant):
    question = message("@puente_bot where can I print?", chat_id=-100, chat_type="group")
    await feed(app, question)
    assert assistant.calls[0][0] == "where can I print?"
    (answer,) = api.sent()
    assert answer["text"].startswith("ANSWER: where can I print?")
    # In a group the answer quotes the question, so everyone sees whom it is for.
    assert answer["reply_parameters"]["message_id"] == question["message"]["message_id"]


async def test_group_reply_to_the_bot_is_answered(app, api, assistant):
    bot_message = {"message_id": 1, "date": 0, "chat": {"id": -100, "type": "group"},
                   "from": BOT, "text": "ANSWER: earlier"}
    await feed(
        app, message("and on Sundays?", chat_id=-100, chat_type="group", reply_to=bot_message)
    )
    assert assistant.calls[0][0] == "and on Sundays?"
    assert len(api.sent()) == 1


async def test_group_commands_are_answered(app, api):
    await feed(app, message("/help@puente_bot", chat_id=-100, chat_type="group"))
    assert api.texts() == [t("en", "telegram.help")]


# --- rate limit, errors ---------------------------------------------------------------------------


async def test_rate_limit_is_announced_once_per_window(api, assistant, users):
    settings = make_settings(rate_limit_messages=2, rate_limit_window_s=3600)
    services = Services(settings=settings, assistant=assistant, users=users)
    application = build_application(settings, services, request=api, get_updates_request=api)
    async with application:
        await feed(application, *(message(f"question {i}", language_code="es") for i in range(5)))
        # Another person is not affected.
        await feed(application, message("mine", chat_id=43))

    assert [c[0] for c in assistant.calls] == ["question 0", "question 1", "mine"]
    assert api.texts(42).count(t("es", "telegram.rate_limited")) == 1


def test_sliding_window_lets_messages_through_again_as_old_ones_leave():
    now = [0.0]
    limiter = SlidingWindowLimiter(2, 10, clock=lambda: now[0])
    assert [limiter.check("a") for _ in range(4)] == [
        Verdict.ALLOW, Verdict.ALLOW, Verdict.DENY_AND_TELL, Verdict.DENY
    ]
    now[0] = 10.0
    assert limiter.check("a") is Verdict.ALLOW


async def test_an_error_is_logged_with_its_traceback_and_the_person_is_told(
    app, api, assistant, users, caplog
):
    users.set_language(42, "zh-TW")
    assistant.records["boom"] = RuntimeError("index is gone")
    with caplog.at_level(logging.ERROR, logger="bot.channels.telegram"):
        await feed(app, message("boom"))
        await feed(app, message("after"))  # the bot keeps going

    (record,) = [r for r in caplog.records if r.name == "bot.channels.telegram.errors"]
    assert isinstance(record.exc_info[1], RuntimeError)
    assert "boom" not in record.getMessage()  # what the person wrote is not logged
    assert api.texts() == [
        t("zh-TW", "telegram.error"),
        "ANSWER: after\n\n<b>出處：</b>\n• Trainee Handbook › Housing",
    ]


# --- command menu, lifecycle ----------------------------------------------------------------------


async def test_post_init_opens_the_services_and_sets_the_menu_in_each_language(app, api, assistant):
    await app.post_init(app)

    assert assistant.opened
    menus = {p.get("language_code"): p["commands"] for p in api.sent("setMyCommands")}
    assert set(menus) == {None, "en", "es", "zh"}
    assert [c["command"] for c in menus["es"]] == [
        "start", "help", "lang", "exams", "exam", "reminders", "practice", "human", "privacy", "forget",
    ]
    assert menus["zh"][0]["description"] == t("zh-TW", "telegram.commands.start")
    assert menus[None] == menus["en"]

    await app.post_shutdown(app)
    assert assistant.closed


# --- ordering and concurrency ---------------------------------------------------------------------


async def test_chats_run_concurrently_and_each_chat_keeps_its_order(app, api, assistant):
    slow = threading.Event()
    assistant.gates["slow A"] = slow
    await app.start()  # the update fetcher hands queued updates to the processor

    for update in (
        message("slow A", chat_id=1),
        message("second A", chat_id=1),
        message("only B", chat_id=2),
    ):
        await app.update_queue.put(Update.de_json(update, app.bot))

    await wait_until(lambda: api.texts(2), what="chat B's answer")
    assert api.texts(1) == []  # A's first answer is still being worked on...
    assert "second A" not in assistant.started  # ...and A's second waits its turn

    slow.set()
    await wait_until(lambda: len(api.texts(1)) == 2, what="both answers in chat A")
    assert [text.split("\n")[0] for text in api.texts(1)] == ["ANSWER: slow A", "ANSWER: second A"]
    processor = app.update_processor
    await wait_until(lambda: processor.active_chats == 0, what="idle chat locks to be dropped")


async def test_processor_runs_at_most_max_running_handlers_at_once():
    processor = ChatOrderedUpdateProcessor(max_running=2, max_admitted=16)
    running = peak = 0
    release = asyncio.Event()

    async def work():
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await release.wait()
        running -= 1

    tasks = [
        asyncio.create_task(processor.process_update(object(), work())) for _ in range(5)
    ]
    await wait_until(lambda: running == 2, what="two handlers running")
    release.set()
    await asyncio.gather(*tasks)
    assert peak == 2


# --- setup ----------------------------------------------------------------------------------------


def test_build_application_needs_a_token_and_quiets_httpx(api):
    services = Services(settings=make_settings(), assistant=FakeAssistant(), users=FakeUserStore())
    with pytest.raises(TelegramSetupError, match="TELEGRAM_BOT_TOKEN"):
        build_application(make_settings(telegram_bot_token=None), services, request=api)

    logging.getLogger("httpx").setLevel(logging.INFO)
    application = build_application(make_settings(), services, request=api)
    assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
    assert application.bot.base_url == f"http://offline.invalid/bot{TOKEN}"
    assert isinstance(application.update_processor, ChatOrderedUpdateProcessor)


def test_webhook_mode_needs_a_public_url():
    settings = make_settings(telegram_mode="webhook", webhook_url=None)
    services = Services(settings=settings, assistant=FakeAssistant(), users=FakeUserStore())
    with pytest.raises(TelegramSetupError, match="TELEGRAM_WEBHOOK_URL"):
        run(settings, services)


def test_configure_logging_keeps_httpx_at_warning():
    logging.getLogger("httpx").setLevel(logging.DEBUG)
    configure_logging("DEBUG")
    assert logging.getLogger("httpx").level == logging.WARNING


def test_services_open_and_close_their_members_in_order():
    events: list[str] = []

    class Member:
        def __init__(self, name: str) -> None:
            self.name = name

        def open(self) -> None:
            events.append(f"open {self.name}")

        def close(self) -> None:
            events.append(f"close {self.name}")

    services = Services(
        settings=make_settings(), assistant=Member("assistant"), users=Member("users"),
        desk=Member("desk"),
    )
    services.open()
    services.close()
    assert events == [
        "open users", "open assistant", "open desk", "close desk", "close assistant", "close users"
    ]
    Services(settings=make_settings(), assistant=object(), users=object()).open()  # no-ops


async def test_the_desk_gets_the_askers_username_for_mentors_listed_by_username(app, api, assistant):
    """A roster may name a trainee's mentor by @username: the desk must be given it."""
    from tests.telegram_fakes import escalation

    desk = FakeDesk()
    app.bot_data["services"].desk = desk
    assistant.records["my grade is unfair"] = escalation("sensitive", "I'll pass it on.", "academic")
    update = message("my grade is unfair", chat_id=61)
    update["message"]["from"]["username"] = "sofia_hmo"
    await feed(app, update)
    (opened,) = desk.escalations
    assert opened["username"] == "sofia_hmo" and opened["private"] is True
    await feed(app, message("/human", chat_id=62))
    assert desk.requests[-1]["username"] is None


async def test_a_caption_is_read_as_the_message(app, api, assistant):
    """A photo of a form with a question under it is answered; a danger said in a caption
    reaches triage like any message (it used to get "Puente reads text only")."""
    photo = [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]
    await feed(app, message(language_code="es", photo=photo, caption="¿Dónde entrego esto?"))
    assert [c[0] for c in assistant.calls] == ["¿Dónde entrego esto?"]
    assert t("es", "telegram.text_only") not in api.texts()


async def test_a_double_tap_on_talk_to_a_counselor_asks_once(app, api):
    desk, offer = await counselor_offer(app, api)
    await feed(app, press("human", on=offer), press("human", on=offer))
    assert len(desk.requests) == 1
    assert api.texts().count(t("en", "telegram.human.requested")) == 1
    assert t("en", "telegram.error") not in api.texts()
    assert len(api.sent("answerCallbackQuery")) >= 3  # every press is acknowledged


def edited(update: dict, text: str) -> dict:
    """The same message, edited: Telegram sends it again as `edited_message` with an edit date."""
    msg = {**update["message"], "text": text, "edit_date": 1}
    return {"update_id": next(_update_ids), "edited_message": msg}


async def test_an_edited_question_is_answered_again_in_private_only(app, api, assistant):
    first = message("Where is the labratory?", chat_id=50)
    await feed(app, first, edited(first, "Where is the laboratory?"))
    assert [c[0] for c in assistant.calls] == ["Where is the labratory?", "Where is the laboratory?"]
    # Re-sent unchanged (Telegram does so when a reaction is added), or an edited command:
    await feed(app, edited(first, "Where is the laboratory?"))
    command = message("/help", chat_id=50)
    await feed(app, command, edited(command, "/human"))
    assert len(assistant.calls) == 2 and t("en", "telegram.human.unavailable") not in api.texts()
    in_group = message("@puente_bot hi", chat_id=-100, chat_type="supergroup")
    await feed(app, edited(in_group, "@puente_bot where can I print?"))
    assert len(assistant.calls) == 2  # edits in groups stay ignored
