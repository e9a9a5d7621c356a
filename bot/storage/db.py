"""`Database`: one SQLAlchemy engine, the migrations, and transactions.

SQLite (the default, a file in the data folder) gets WAL, a busy timeout and foreign keys on every
connection; PostgreSQL is reached by URL (`postgresql+psycopg://user@host/db`). Nothing connects
until the first use, so building a `Database` in `main()` is cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from bot.errors import SetupError
from bot.storage import schema
from bot.storage.migrations import MIGRATIONS, Migration
from bot.storage.types import utcnow

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 5000


class DatabaseUnavailable(SetupError, RuntimeError):
    """The database cannot be opened or written: a bad path, a lock held too long, a server down."""


def is_unavailable(exc: BaseException) -> bool:
    """An error that says the database cannot be reached or written right now (locked, busy, no
    file, server down), as opposed to a bug in a query."""
    return isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError, DatabaseUnavailable))


def reason_of(exc: BaseException) -> str:
    """The driver's own words ("database is locked"), without SQLAlchemy's SQL and links."""
    orig = getattr(exc, "orig", None)
    return str(orig if orig is not None else exc).strip().splitlines()[0]


class Database:
    """The engine plus `migrate()`, `transaction()` (commit or roll back) and `connect()`."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = sa.engine.make_url(url)
        self._echo = echo
        self._engine: sa.Engine | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = self._create_engine()
        return self._engine

    def _create_engine(self) -> sa.Engine:
        if not self.is_sqlite:
            return sa.create_engine(self.url, echo=self._echo, pool_pre_ping=True)
        database = self.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            self.url, echo=self._echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; let SQLAlchemy
        # emit BEGIN itself (the recipe from the SQLAlchemy SQLite dialect docs).
        sa.event.listen(engine, "begin", _sqlite_begin)
        return engine

    # --- lifecycle ---------------------------------------------------------------------------

    def open(self) -> None:
        """Connect and bring the schema up to date (called from the channel's start-up)."""
        self.migrate()

    def migrate_with_retries(self, attempts: int = 3, delay_s: float = 2.0) -> list[str]:
        """`migrate()` at start-up, retried while the database is unavailable (locked, a server
        still starting); then `DatabaseUnavailable` with a message naming the database."""
        import time

        for attempt in range(1, attempts + 1):
            try:
                return self.migrate()
            except (sa.exc.OperationalError, sa.exc.InterfaceError, OSError) as exc:
                reason = reason_of(exc)
                if attempt == attempts:
                    raise DatabaseUnavailable(
                        f"the database {self.safe_url} cannot be opened or written ({reason}); "
                        "check DATABASE_URL, that its folder exists and is writable, and that "
                        "no other program holds a lock on it"
                    ) from exc
                logger.warning(
                    "the database %s is unavailable (%s); retrying in %gs (attempt %d of %d)",
                    self.safe_url, reason, delay_s, attempt, attempts,
                )  # fmt: skip
                self.close()
                time.sleep(delay_s)
        return []

    @property
    def safe_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    # --- migrations ---------------------------------------------------------------------------

    def migrate(self, migrations: Sequence[Migration] = MIGRATIONS) -> list[str]:
        """Apply the migrations not yet recorded in `schema_version`; return their names."""
        applied: list[str] = []
        with self.transaction() as conn:
            schema.metadata.create_all(conn, tables=[schema.schema_version], checkfirst=True)
        for version, migration in enumerate(migrations, start=1):
            with self.transaction() as conn:
                if self.is_sqlite is False:
                    # Two processes starting at once: the second waits here, then skips.
                    conn.execute(sa.text("LOCK TABLE schema_version IN EXCLUSIVE MODE"))
                done = conn.execute(
                    sa.select(schema.schema_version.c.version).where(
                        schema.schema_version.c.version == version
                    )
                ).first()
                if done:
                    continue
                migration(conn)
                conn.execute(
                    schema.schema_version.insert().values(
                        version=version, name=migration.__name__, applied_at=utcnow()
                    )
                )
                logger.info("applied migration %s %s", version, migration.__name__)
                applied.append(migration.__name__)
        return applied

    def schema_version(self) -> int:
        with self.connect() as conn:
            value = conn.execute(sa.select(sa.func.max(schema.schema_version.c.version))).scalar()
        return int(value or 0)

    # --- connections --------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """A connection inside one transaction: committed on success, rolled back on error."""
        with self.engine.connect() as conn:
            # SQLite: take the write lock at BEGIN, so two writers queue on busy_timeout
            # instead of failing when a read lock cannot be upgraded.
            conn.execution_options(puente_immediate=True)
            with conn.begin():
                yield conn

    session = transaction  # the name some callers expect

    @contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        """A connection for reads (SQLAlchemy 2 autobegins; nothing is committed)."""
        with self.engine.connect() as conn:
            yield conn

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"


def _sqlite_begin(conn: sa.Connection) -> None:
    immediate = conn.get_execution_options().get("puente_immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy's "begin" listener own transactions (see _create_engine).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
