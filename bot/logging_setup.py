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


def quiet_noisy_loggers() -> None:
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
