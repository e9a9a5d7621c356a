"""The Telegram Application, built in one function from the settings and the services."""

from __future__ import annotations

import asyncio
import logging
import re
from urllib.parse import urlsplit

from telegram import BotCommand, BotCommandScopeChat, Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.config import Settings
from bot.errors import SetupError
from bot.i18n import t
from bot.logging_setup import quiet_noisy_loggers, redact_secrets
from bot.records import LANGUAGES
from bot.services import Services
from bot.storage.retention import purge
from bot.storage.types import utcnow

from . import commands, desk, exams, feedback, messages, practice, report_job
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

class TelegramSetupError(SetupError, RuntimeError):
    """A setting the Telegram channel needs is missing or inconsistent."""

WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{32,256}")  # Telegram allows 1-256 of these

def check_settings(settings: Settings) -> None:
    """Refuse to start with settings that would expose the bot, before anything slow loads.

    Webhook mode needs the public URL and a strong secret: Telegram sends the secret in a header
    with every update and the webhook server refuses updates without it, so nobody who finds the
    URL can post forged updates (as a desk admin, say)."""
    if settings.telegram_bot_token is None:
        raise TelegramSetupError("TELEGRAM_BOT_TOKEN is not set")
    if settings.telegram_mode != "webhook":
        return
    if not settings.webhook_url:
        raise TelegramSetupError("TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_URL")
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    if not WEBHOOK_SECRET.fullmatch(secret):
        raise TelegramSetupError(
            "TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_SECRET: 32 to 256 characters of "
            "A-Z, a-z, 0-9, _ and - (for example: python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')"
        )

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
    _add_retention_job(application)
    report_job.register(application)  # the weekly picture in the desk group, and its buttons
    return application

RETENTION_INTERVAL_S = 24 * 3600

def _add_retention_job(application: Application) -> None:
    """The daily purge of what is past its retention period (and once, a minute after start)."""
    if application.job_queue is None:
        logger.warning("no JobQueue: the daily retention purge does not run")
        return
    application.job_queue.run_repeating(
        _purge, RETENTION_INTERVAL_S, first=60, name="retention-purge"
    )

async def _purge(context: ContextTypes.DEFAULT_TYPE) -> None:

    services = context.bot_data["services"]
    db = getattr(services.users, "db", None)
    if db is not None:
        await asyncio.to_thread(purge, db, utcnow())
    faq = getattr(services, "faq", None)
    if faq is not None:  # answers past their review-by date leave the index, and the files
        try:  # match the database (a failed write, another replica's approval)
            await asyncio.to_thread(faq.expire)
            await asyncio.to_thread(faq.sync)
        except Exception:  # the next day's run tries again
            logger.exception("expiring or syncing the learned FAQ answers failed")

def _add_handlers(application: Application) -> None:
    """Every handler, in the order an update meets them."""
    new_messages = filters.UpdateType.MESSAGE  # edits come back as messages (on_edit)

    # Group -5: what each private message said; group -4: an edited message (in private) whose
    # text changed is handled again as a new message.
    application.add_handler(TypeHandler(Update, messages.remember_text), group=-5)
    application.add_handler(
        MessageHandler(filters.UpdateType.EDITED_MESSAGE, messages.on_edit), group=-4
    )
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
    practice.register(application)  # /practice and its answer buttons

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
    await _check_roster_reachable(application)

async def _check_roster_reachable(application: Application) -> list[int]:
    """Each roster id and the desk chat must be a chat the bot can reach (`getChat`): report
    those it cannot, once, at start (a person who never wrote to the bot, a wrong id, the bot
    not in the desk group). Returns the unreachable ids."""
    desk = desk_of(application)
    if desk is None:
        return []
    unreachable = []
    for chat_id in [desk.roster.desk.chat_id, *desk.roster.people]:
        try:
            await application.bot.get_chat(chat_id)
        except TelegramError as exc:
            unreachable.append(chat_id)
            logger.error("roster: chat %s cannot be reached by the bot (%s)", chat_id, exc)
    return unreachable

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
    check_settings(settings)
    application = build_application(settings, services)
    try:
        _run(application, settings)
    except InvalidToken:  # its message and traceback carry the token: one clear line instead
        raise TelegramSetupError(
            f"the Bot API at {settings.telegram_api_url} rejected TELEGRAM_BOT_TOKEN (401, or 404 "
            "from a wrong TELEGRAM_API_URL): check both settings"
        ) from None

def _run(application: Application, settings: Settings) -> None:
    if settings.telegram_mode == "webhook":
        secret = settings.webhook_secret
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            # The path the reverse proxy forwards: the one in the public URL.
            url_path=urlsplit(settings.webhook_url).path.strip("/"),
            webhook_url=settings.webhook_url,
            secret_token=secret.get_secret_value(),  # checked by PTB on every update
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
