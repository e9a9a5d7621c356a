"""Logging, configured once in `main()`."""

from __future__ import annotations

import logging

# Loggers that would leak secrets or drown the log at INFO: httpx logs every request URL, and a
# Bot API URL carries the bot token.
_QUIET_LOGGERS = ("httpx", "httpcore", "apscheduler", "bm25s", "chromadb")


def configure_logging(level: str | int = "INFO") -> None:
    """Log to stderr at `level`; keep `httpx` (token in URLs) and friends at WARNING."""
    logging.basicConfig(
        level=level.upper() if isinstance(level, str) else level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    quiet_noisy_loggers()


# The Telegram library logs whole updates (people's messages) at DEBUG: never below INFO.
_NO_DEBUG_LOGGERS = ("telegram",)


def quiet_noisy_loggers() -> None:
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in _NO_DEBUG_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)


REDACTED = "[REDACTED]"


class _RedactSecrets(logging.Filter):
    """Replaces every known secret in a record's message and traceback (PTB logs the Bot API URL,
    which holds the token, at DEBUG)."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: list[str] = []

    def add(self, secret: str) -> None:
        if secret and secret not in self.secrets:
            self.secrets = sorted([*self.secrets, secret], key=len, reverse=True)

    def clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        return True


_REDACT = _RedactSecrets()


def redact_secrets(*secrets: str | None) -> None:
    """Never log these (nor a bot token's part after ':'): a filter on every root handler."""
    for secret in secrets:
        if secret:
            _REDACT.add(secret)
            if ":" in secret:
                _REDACT.add(secret.split(":", 1)[1])
    for handler in logging.getLogger().handlers:
        if _REDACT not in handler.filters:
            handler.addFilter(_REDACT)
