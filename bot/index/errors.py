"""What can be wrong with the index: each says how to fix it (run the ingest again)."""

from __future__ import annotations

from bot.errors import SetupError

REBUILD_HINT = "run `python ingest.py --rebuild`"


class IndexProblem(SetupError, RuntimeError):
    """Base for index problems a person can fix by re-running the ingest."""


class IndexMissing(IndexProblem):
    """No index in the data folder yet."""


class IndexCorrupt(IndexProblem):
    """The index files are unreadable or inconsistent."""


class IndexModelMismatch(IndexProblem):
    """The index was built with another embedding model."""
