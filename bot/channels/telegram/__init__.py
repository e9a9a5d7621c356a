"""The Telegram channel: an adapter between Bot API updates and Puente's services.

`build_application(settings, services)` returns a configured python-telegram-bot Application;
`run(settings, services)` builds it and blocks (long polling, or a webhook).
"""

from .app import TelegramSetupError, build_application, run

__all__ = ["TelegramSetupError", "build_application", "run"]
