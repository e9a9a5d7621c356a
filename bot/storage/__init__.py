"""Storage: the database (SQLite by default, PostgreSQL by URL) and the user store."""

from bot.storage.db import Database
from bot.storage.users import UnknownLanguage, UserStore

__all__ = ["Database", "UnknownLanguage", "UserStore"]
