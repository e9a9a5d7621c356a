"""The Bot API emulator and its harness, exercised by a tiny PTB echo bot."""

from __future__ import annotations

import asyncio
import html
import logging
import threading
import time
from typing import Any

import httpx
import pytest
from telegram import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.e2e.conftest import check_telegram_errors

pytestmark = pytest.mark.e2e


# --------------------------------------------------------------------------- the echo bot


class EchoBot:
    """/start -> inline keyboard; text -> HTML echo; button -> answer + edit; photo -> reply."""

    def __init__(self) -> None:
        self.seen_update_ids: list[int] = []
        self.seen_texts: list[str] = []
        self.replied_to: list[dict[str, Any]] = []

    def factory(self, builder: ApplicationBuilder):
        app = builder.build()
        app.add_handler(CommandHandler("start", self.start))
        app.add_handler(CallbackQueryHandler(self.button))
        app.add_handler(MessageHandler(filters.PHOTO, self.photo))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, self.echo))
        return app

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.seen_update_ids.append(update.update_id)
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton("Sí", callback_data="yes"), InlineKeyboardButton("No", callback_data="no")]]
        )
        await update.effective_message.reply_text("¡Hola! ¿Seguimos?", reply_markup=keyboard)

    async def echo(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg = update.effective_message
        self.seen_update_ids.append(update.update_id)
        self.seen_texts.append(msg.text)
        if msg.reply_to_message is not None:
            self.replied_to.append(msg.reply_to_message.to_dict())
            await msg.reply_html(f"<i>re</i>: {html.escape(msg.text)}", do_quote=True)
            return
        await msg.reply_html(f"<b>echo</b>: {html.escape(msg.text)}")

    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        self.seen_update_ids.append(update.update_id)
        await query.answer(f"elegiste {query.data}")
        await query.edit_message_text(f"Elegiste: <b>{query.data}</b>", parse_mode=ParseMode.HTML)

    async def photo(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        msg = update.effective_message
        self.seen_update_ids.append(update.update_id)
        await msg.reply_text(f"foto {msg.photo[-1].file_id} ({msg.caption or ''})")


@pytest.fixture
def echo_bot() -> EchoBot:
    return EchoBot()


# --------------------------------------------------------------------------- through PTB


async def test_start_keyboard_callback_answer_and_edit(emulator, run_app, echo_bot):
    await run_app(echo_bot.factory)
    sent = emulator.user_sends(42, "/start", first_name="Ana", language_code="es")
    assert sent["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]

    [reply] = await emulator.await_bot_messages(42, 1)
    assert reply["text"] == "¡Hola! ¿Seguimos?"
    assert reply["from"] == {"id": 123456, "is_bot": True, "first_name": "Puente", "username": "puente_test_bot"}
    assert isinstance(reply["date"], int) and abs(reply["date"] - time.time()) < 60  # seconds, not ms
    buttons = [b["callback_data"] for b in reply["reply_markup"]["inline_keyboard"][0]]
    assert buttons == ["yes", "no"]

    query_id = emulator.user_presses(42, reply["message_id"], "yes")
    edited = await emulator.await_for(
        lambda: next((m for m in emulator.bot_messages(42) if m.get("edit_date")), None),
        what="the bot to edit its message",
    )
    assert edited["message_id"] == reply["message_id"]
    assert edited["text"] == "Elegiste: yes"
    assert edited["entities"] == [{"type": "bold", "offset": 10, "length": 3}]
    assert "reply_markup" not in edited  # editMessageText without reply_markup drops the keyboard
    [cq] = [c for c in emulator.callback_queries() if c["id"] == query_id]
    assert cq["_answer"]["text"] == "elegiste yes"
    assert cq["chat_instance"]
    # the edit returned the Message (PTB would have failed to de_json `true`/null otherwise)
    [edit_call] = emulator.calls("editMessageText")
    assert edit_call["ok"] is True

    # pressing a button that no longer exists is refused by the emulator
    with pytest.raises(Exception, match="no inline button"):
        emulator.user_presses(42, reply["message_id"], "no")


async def test_html_echo_and_what_ptb_sends(emulator, run_app, echo_bot):
    await run_app(echo_bot.factory)
    emulator.user_sends(7, "1 < 2 & <b>not bold</b>")
    [reply] = await emulator.await_bot_messages(7, 1)
    # escaped HTML decoded by the emulator: &lt; counts as one character
    assert reply["text"] == "echo: 1 < 2 & <b>not bold</b>"
    assert reply["entities"] == [{"type": "bold", "offset": 0, "length": 4}]

    [call] = emulator.calls("sendMessage")
    assert call["http_method"] == "POST"
    assert call["content_type"] == "application/x-www-form-urlencoded"
    assert call["params"]["chat_id"] == 7
    assert call["params"]["parse_mode"] == "HTML"
    [get_me] = emulator.calls("getMe")
    assert get_me["ok"] is True


async def test_long_polling_offsets_and_no_duplicates(emulator, run_app, echo_bot):
    app = await run_app(echo_bot.factory)
    texts = [f"mensaje {i}" for i in range(6)]
    for text in texts:
        emulator.user_sends(99, text)
    replies = await emulator.await_bot_messages(99, len(texts))
    # a few more polls: nothing may be delivered again
    polls_before = len(emulator.calls("getUpdates"))
    await emulator.await_for(lambda: len(emulator.calls("getUpdates")) >= polls_before + 2, what="two more polls")
    assert [r["text"] for r in replies] == [f"echo: {t}" for t in texts]
    assert echo_bot.seen_texts == texts
    assert len(echo_bot.seen_update_ids) == len(set(echo_bot.seen_update_ids)) == len(texts)
    assert emulator.pending_updates() == []  # all confirmed through `offset`

    polls = emulator.calls("getUpdates")
    assert all(p["params"].get("timeout") == 1 for p in polls)
    offsets = [p["params"].get("offset") for p in polls if p["params"].get("offset") is not None]
    assert offsets == sorted(offsets)
    assert app.updater.running


async def test_two_chats_concurrently(emulator, run_app, echo_bot):
    await run_app(echo_bot.factory)
    for i in range(3):
        emulator.user_sends(1001, f"ana {i}", first_name="Ana")
        emulator.user_sends(1002, f"wei {i}", first_name="Wei", language_code="zh-hant")
    a = await emulator.await_bot_messages(1001, 3)
    w = await emulator.await_bot_messages(1002, 3)
    assert [m["text"] for m in a] == [f"echo: ana {i}" for i in range(3)]
    assert [m["text"] for m in w] == [f"echo: wei {i}" for i in range(3)]
    history = emulator.messages(1001)
    assert sorted(m["from"]["is_bot"] for m in history) == [False] * 3 + [True] * 3
    assert [m["message_id"] for m in history] == list(range(1, 7))
    assert all(m["chat"]["id"] == 1001 for m in history)


async def test_group_messages_and_privacy_mode(emulator, run_app, echo_bot):
    await run_app(echo_bot.factory)
    group = -1001234567890
    emulator.user_sends(group, "/start@puente_test_bot", user_id=5, first_name="Luis",
                        chat_type="supergroup", chat_title="Cohorte 2025")
    [reply] = await emulator.await_bot_messages(group, 1)
    assert reply["chat"] == {"id": group, "type": "supergroup", "title": "Cohorte 2025"}

    # privacy mode: a plain group message is stored but not delivered to the bot
    emulator.user_sends(group, "hola a todos", user_id=5, chat_type="supergroup")
    assert emulator.last_delivered is False
    emulator.user_sends(group, "hola @puente_test_bot", user_id=6, chat_type="supergroup")
    assert emulator.last_delivered is True
    replies = await emulator.await_bot_messages(group, 2)
    assert replies[-1]["text"] == "echo: hola @puente_test_bot"
    assert echo_bot.seen_texts == ["hola @puente_test_bot"]


async def test_reply_to_message_is_filled_in(emulator, run_app, echo_bot):
    await run_app(echo_bot.factory)
    emulator.user_sends(55, "primero")
    [first] = await emulator.await_bot_messages(55, 1)
    emulator.user_sends(55, "respuesta", reply_to_message_id=first["message_id"])
    replies = await emulator.await_bot_messages(55, 2)
    assert echo_bot.replied_to[0]["message_id"] == first["message_id"]
    assert echo_bot.replied_to[0]["from"]["is_bot"] is True
    assert replies[1]["text"] == "re: respuesta"
    assert replies[1]["reply_to_message"]["text"] == "respuesta"
    assert replies[1]["reply_to_message"]["from"]["is_bot"] is False


async def test_photo_message(emulator, run_app, echo_bot):
    await run_app(echo_bot.factory)
    photo = [{"file_id": "PHOTO1", "file_unique_id": "P1", "width": 800, "height": 600, "file_size": 1234}]
    emulator.user_sends(77, photo=photo, caption="mi aula")
    [reply] = await emulator.await_bot_messages(77, 1)
    assert reply["text"] == "foto PHOTO1 (mi aula)"


async def test_bot_api_methods_through_ptb(emulator, run_app, echo_bot):
    app = await run_app(echo_bot.factory)
    bot = app.bot
    emulator.user_sends(31, "hola")
    await emulator.await_bot_messages(31, 1)

    assert await bot.set_my_commands([BotCommand("start", "Empezar"), BotCommand("help", "Ayuda")])
    assert await bot.set_my_commands(
        [BotCommand("start", "開始")], scope=BotCommandScopeAllPrivateChats(), language_code="zh"
    )
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    zh = await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="zh")
    assert [(c.command, c.description) for c in zh] == [("start", "開始")]
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()
    # PTB strips "Bad Request: " and str.capitalize()s the description
    with pytest.raises(BadRequest, match="^Bot_command_invalid$"):
        await bot.set_my_commands([BotCommand("Start-Now", "x")])

    assert await bot.send_chat_action(31, ChatAction.TYPING)
    chat = await bot.get_chat(31)
    assert chat.first_name == "Ana"
    member = await bot.get_chat_member(31, 31)
    assert member.status == "member"

    sent = await bot.send_message(31, "para editar", reply_parameters=ReplyParameters(message_id=1))
    assert sent.reply_to_message.text == "hola"
    edited = await bot.edit_message_reply_markup(
        31, sent.message_id, reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x")]])
    )
    assert edited.reply_markup.inline_keyboard[0][0].callback_data == "x"
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("para editar", 31, sent.message_id,
                                    reply_markup=edited.reply_markup)
    forwarded = await bot.forward_message(31, 31, 1)
    assert forwarded.forward_origin.sender_user.id == 31
    copied = await bot.copy_message(31, 31, 1)
    assert copied.message_id > forwarded.message_id
    doc = await bot.send_document(31, b"%PDF-1.4 hola", filename="guia.pdf", caption="<b>guía</b>",
                                  parse_mode=ParseMode.HTML)
    assert doc.document.file_name == "guia.pdf" and doc.caption == "guía"
    assert emulator.calls("sendDocument")[0]["content_type"] == "multipart/form-data"
    file = await bot.get_file(doc.document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"%PDF-1.4 hola"
    assert await bot.delete_message(31, sent.message_id)
    assert sent.message_id not in [m["message_id"] for m in emulator.messages(31)]
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(999999, "nadie")


async def test_fault_500_then_recovery(emulator, run_app, echo_bot):
    app = await run_app(echo_bot.factory)
    emulator.create_chat(12, first_name="Ana")
    emulator.fail("sendMessage", status=500)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await app.bot.send_message(12, "uno")
    emulator.fail("sendMessage", status=502, times=1)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await app.bot.send_message(12, "uno")
    sent = await app.bot.send_message(12, "uno")  # recovered
    assert sent.text == "uno"
    statuses = [c["status"] for c in emulator.calls("sendMessage")]
    assert statuses == [500, 502, 200]

    # a slow answer surfaces as TimedOut -- and, as on Telegram, the message is still sent
    emulator.fail("sendMessage", status=200, delay_ms=300)
    with pytest.raises(TimedOut):
        await app.bot.send_message(12, "lento", read_timeout=0.1)
    await emulator.await_for(lambda: any(m["text"] == "lento" for m in emulator.bot_messages(12)),
                             what="the slow message to land anyway")
    # polling keeps working after all that
    emulator.user_sends(12, "sigues?")
    msgs = await emulator.await_bot_messages(12, 3)
    assert [m["text"] for m in msgs] == ["uno", "lento", "echo: sigues?"]


async def test_429_surfaces_as_retry_after(emulator, run_app, echo_bot):
    app = await run_app(echo_bot.factory)
    emulator.create_chat(13)
    emulator.fail("sendMessage", status=429, retry_after=3)
    with pytest.raises(RetryAfter) as info:
        await app.bot.send_message(13, "hola")
    assert info.value._retry_after.total_seconds() == 3
    [call] = emulator.calls("sendMessage")
    assert call["status"] == 429
    assert (await app.bot.send_message(13, "hola")).text == "hola"


async def test_bad_formatting_is_rejected(emulator, run_app, echo_bot):
    app = await run_app(echo_bot.factory)
    bot = app.bot
    emulator.create_chat(14)
    with pytest.raises(BadRequest, match="^Can't parse entities: can't find end tag corresponding to start tag \"b\"$"):
        await bot.send_message(14, "<b>sin cerrar", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="unsupported start tag \"br\" at byte offset 6"):
        await bot.send_message(14, "línea<br>otra", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="(?i)unmatched end tag"):
        await bot.send_message(14, "<b><i>x</b></i>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="(?i)character '\\.' is reserved"):
        await bot.send_message(14, "Hola.", parse_mode=ParseMode.MARKDOWN_V2)
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(14, "<b></b>", parse_mode=ParseMode.HTML)
    # the limit applies to the parsed text: 4096 "<" written as &lt; is fine, 4097 is not
    ok = await bot.send_message(14, "&lt;" * 4096, parse_mode=ParseMode.HTML)
    assert len(ok.text) == 4096
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(14, "<b>" + "a" * 4097 + "</b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        await bot.send_message(14, "x", reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("x", callback_data="d" * 65)]]))
    good = await bot.send_message(
        14, '<a href="https://stust.edu.tw">STUST</a> <span class="tg-spoiler">s</span> '
        '<pre><code class="language-python">x = 1</code></pre>', parse_mode=ParseMode.HTML,
    )
    kinds = {(e.type, e.url or e.language) for e in good.entities}
    assert kinds == {("text_link", "https://stust.edu.tw"), ("spoiler", None), ("pre", "python")}


# --------------------------------------------------------------------------- raw protocol


def test_raw_long_polling_offset_and_timeout(emulator):
    api = f"{emulator.url}/bot{emulator.token}"
    with httpx.Client(timeout=10) as http:
        me = http.get(f"{api}/getMe").json()["result"]
        assert me["id"] == 123456 and me["is_bot"] is True
        assert me["can_read_all_group_messages"] is False and me["supports_inline_queries"] is False

        # empty queue + timeout: the request is held, then answered with []
        t0 = time.monotonic()
        assert http.post(f"{api}/getUpdates", data={"timeout": "1"}).json() == {"ok": True, "result": []}
        assert 0.9 <= time.monotonic() - t0 < 3

        # an update arriving while the request waits answers it immediately
        result: dict[str, Any] = {}

        def poll() -> None:
            result["body"] = http.post(f"{api}/getUpdates", json={"timeout": 10}).json()
            result["at"] = time.monotonic()

        thread = threading.Thread(target=poll)
        thread.start()
        emulator.wait_for(lambda: http.get(f"{emulator.url}/_test/updates",
                                           params={"token": emulator.token}).json()["waiting_polls"],
                          what="the poll to be waiting")
        sent_at = time.monotonic()
        emulator.user_sends(8, "hola")
        thread.join(5)
        [update] = result["body"]["result"]
        assert update["message"]["text"] == "hola" and result["at"] - sent_at < 1

        # not confirmed yet: delivered again; offset confirms
        emulator.user_sends(8, "otra")
        again = http.get(f"{api}/getUpdates").json()["result"]
        assert [u["update_id"] for u in again] == [update["update_id"], update["update_id"] + 1]
        limited = http.get(f"{api}/getUpdates", params={"offset": update["update_id"] + 1, "limit": 1}).json()
        assert [u["message"]["text"] for u in limited["result"]] == ["otra"]
        after = http.get(f"{api}/getUpdates", params={"offset": update["update_id"] + 2}).json()
        assert after["result"] == []

        missing = http.post(f"{api}/noSuchMethod")
        assert missing.status_code == 404
        assert missing.json() == {"ok": False, "error_code": 404, "description": "Not Found"}

        emulator.fail("*", status=429, retry_after=2)
        limited_resp = http.post(f"{api}/sendChatAction", json={"chat_id": 8, "action": "typing"})
        assert limited_resp.status_code == 429
        assert limited_resp.json()["parameters"] == {"retry_after": 2}
        assert http.post(f"{api}/getUpdates", json={"offset": -1}).json()["ok"]  # "*" skips getUpdates


def test_harness_reports_what_it_saw(emulator):
    emulator.user_sends(3, "hola")
    with pytest.raises(AssertionError, match=r"saw 0: \[\]"):
        emulator.wait_for_bot_messages(3, 1, timeout=0.2)
    with pytest.raises(AssertionError, match="the impossible"):
        emulator.wait_for(lambda: False, timeout=0.1, what="the impossible")


def test_telegram_error_guard_collects_errors(telegram_error_guard):
    logging.getLogger("telegram.ext.Application").error("boom")
    logging.getLogger("telegramish").error("not ours")
    assert [r.getMessage() for r in telegram_error_guard.records] == ["boom"]
    with pytest.raises(pytest.fail.Exception, match="boom"):
        check_telegram_errors(telegram_error_guard, "the test")
    assert telegram_error_guard.records == []


async def test_sync_wait_refuses_to_block_the_event_loop(emulator):
    with pytest.raises(RuntimeError, match="await_bot_messages"):
        emulator.wait_for_bot_messages(1, 1)
    await asyncio.sleep(0)
