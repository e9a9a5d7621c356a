"""The Telegram Application, built in one function from the settings and the services."""

from __future__ import annotations

import asyncio
import logging
import re
from urllib.parse import urlsplit

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.config import Settings
from bot.i18n import t
from bot.logging_setup import quiet_noisy_loggers, redact_secrets
from bot.records import LANGUAGES
from bot.services import Services

from . import commands, desk, exams, feedback, messages
from .common import FEEDBACK_DOWN, FEEDBACK_UP, FORGET_PREFIX, HUMAN, LANG_PREFIX
from .desk import STAFF_COMMANDS, desk_of, staff_language
from .errors import on_error
from .ordering import ChatOrderedUpdateProcessor
from .ratelimit import SlidingWindowLimiter
from .retry import RetryingRateLimiter

logger = logging.getLogger(__name__)

# Bot API language codes (ISO 639-1) for the command menu, with the locale each one reads.
# None is the default menu, for every language without its own.
MENU_LANGUAGES: tuple[tuple[str | None, str], ...] = (
    (None, "en"),
    ("en", "en"),
    ("es", "es"),
    ("zh", "zh-TW"),
)
RATE_LIMIT_RETRIES = 8  # how often a call is retried after Telegram's RetryAfter (429)


class TelegramSetupError(RuntimeError):
    """A setting the Telegram channel needs is missing or inconsistent."""


def build_application(
    settings: Settings,
    services: Services,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    max_running: int = 32,
) -> Application:
    """The whole bot: Bot API endpoint, rate limiting, per-chat ordering, handlers, lifecycle.

    `request` / `get_updates_request` replace the HTTP layer (tests pass an offline one).
    """
    if settings.telegram_bot_token is None:
        raise TelegramSetupError("TELEGRAM_BOT_TOKEN is not set")
    quiet_noisy_loggers()  # httpx logs request URLs, and those carry the token
    secret = settings.webhook_secret
    redact_secrets(  # and PTB logs the Bot API URL at DEBUG
        settings.telegram_bot_token.get_secret_value(), secret.get_secret_value() if secret else None
    )
    api = settings.telegram_api_url.rstrip("/")
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .rate_limiter(RetryingRateLimiter(max_retries=RATE_LIMIT_RETRIES))
        .concurrent_updates(ChatOrderedUpdateProcessor(max_running))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if request is not None:
        builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    application = builder.build()

    application.bot_data["services"] = services
    application.bot_data[messages.RATE_LIMITER_KEY] = SlidingWindowLimiter(
        settings.rate_limit_messages, settings.rate_limit_window_s
    )
    _add_handlers(application)
    return application


def _add_handlers(application: Application) -> None:
    """Every handler, in the order an update meets them."""
    new_messages = filters.UpdateType.MESSAGE  # edited messages and channel posts are ignored

    # Group -2: in groups, drop messages not addressed to Puente before anything counts them.
    application.add_handler(TypeHandler(Update, messages.ignore_unaddressed), group=-2)
    # Group -1: the per-person rate limit on messages (button presses are not counted).
    application.add_handler(TypeHandler(Update, messages.enforce_rate_limit), group=-1)

    # Group 0, commands: the menu set in _set_command_menu lists these.
    for name, callback in (
        ("start", commands.start),
        ("help", commands.help_command),
        ("lang", commands.lang),
        ("human", commands.human),
        ("privacy", commands.privacy),
        ("forget", commands.forget),
    ):
        application.add_handler(CommandHandler(name, callback, filters=new_messages))
    exams.register(application)  # /exams, /exam, /reminders, /notify, their buttons and job

    # Button presses, by callback data.
    application.add_handler(
        CallbackQueryHandler(commands.on_language_chosen, pattern=f"^{LANG_PREFIX}")
    )
    application.add_handler(
        CallbackQueryHandler(
            feedback.on_feedback, pattern=f"^({re.escape(FEEDBACK_UP)}|{re.escape(FEEDBACK_DOWN)})$"
        )
    )
    application.add_handler(
        CallbackQueryHandler(commands.on_counselor_button, pattern=f"^{HUMAN}$")
    )
    application.add_handler(
        CallbackQueryHandler(commands.on_forget_answer, pattern=f"^{FORGET_PREFIX}(yes|no):")
    )

    desk.register(application)  # the counselor desk: relaying, /cases, buttons, jobs

    # Questions: any other text.
    application.add_handler(
        MessageHandler(new_messages & filters.TEXT & ~filters.COMMAND, messages.answer_question)
    )
    # Photos, voice notes, stickers, documents, locations...: Puente reads text only.
    application.add_handler(
        MessageHandler(
            new_messages & ~filters.TEXT & ~filters.COMMAND & ~filters.StatusUpdate.ALL,
            messages.not_text,
        )
    )
    # Last: a command Puente does not know (in private only; in a group it may be another bot's).
    application.add_handler(
        MessageHandler(
            new_messages & filters.COMMAND & filters.ChatType.PRIVATE, commands.unknown_command
        )
    )

    application.add_error_handler(on_error)


async def _post_init(application: Application) -> None:
    services: Services = application.bot_data["services"]
    await asyncio.to_thread(services.open)
    await _set_command_menu(application)


async def _post_shutdown(application: Application) -> None:
    services: Services = application.bot_data["services"]
    await asyncio.to_thread(services.close)


async def _set_command_menu(application: Application) -> None:
    """The "/" menu in each language; with a desk, the staff commands too, in the desk chat and in
    each staff member's private chat (in their language). Cosmetic: a failure is logged (a staff
    member who never wrote to the bot has no chat yet), the bot still starts."""
    for code, language in MENU_LANGUAGES:
        menu = _menu(commands.MENU, language)
        try:
            await application.bot.set_my_commands(menu, language_code=code)
        except TelegramError as exc:
            logger.warning("Could not set the %s command menu: %s", code or "default", exc)
    desk = desk_of(application)
    if desk is None:
        return
    roster = desk.roster
    staff_menus = [(roster.desk.chat_id, _menu(STAFF_COMMANDS, roster.desk.language))]
    staff_menus += [
        (person.id, _menu(commands.MENU + STAFF_COMMANDS, staff_language(person)))
        for person in roster.people.values()
    ]
    for chat_id, menu in staff_menus:
        try:
            await application.bot.set_my_commands(menu, scope=BotCommandScopeChat(chat_id))
        except TelegramError as exc:
            logger.warning("Could not set the staff command menu in chat %s: %s", chat_id, exc)


def _menu(names: tuple[str, ...], language: str | None) -> list[BotCommand]:
    language = language if language in LANGUAGES else "en"
    return [BotCommand(name, t(language, f"telegram.commands.{name}")) for name in names]


def run(settings: Settings, services: Services) -> None:
    """Run the bot until interrupted: long polling, or a webhook when TELEGRAM_MODE=webhook."""
    application = build_application(settings, services)
    if settings.telegram_mode == "webhook":
        if not settings.webhook_url:
            raise TelegramSetupError("TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_URL")
        secret = settings.webhook_secret
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            # The path the reverse proxy forwards: the one in the public URL.
            url_path=urlsplit(settings.webhook_url).path.strip("/"),
            webhook_url=settings.webhook_url,
            secret_token=secret.get_secret_value() if secret else None,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
