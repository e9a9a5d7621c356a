"""A throwaway PostgreSQL server for the storage, case and outbox tests.

Finds Debian's server binaries (`/usr/lib/postgresql/*/bin`, or `PG_BIN`, or `initdb` on PATH),
runs `initdb` in a temporary folder (as the `postgres` user when the tests run as root, since the
server refuses to run as root), starts it on 127.0.0.1 with a free port and a Unix socket inside
that folder, waits with `pg_isready`, and stops it when the test session ends. Each test gets its
own fresh database. Tests are skipped, with the reason, only when the binaries are not installed
(`scripts/ensure-postgres.sh` installs them).

Use it with `pytest_plugins = ["tests.pg"]` in tests/conftest.py, or import the fixtures.
"""

from __future__ import annotations

import atexit
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

SUPERUSER = "puente"


def find_pg_bin() -> Path | None:
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.run_as: list[str] = []
        self.root = Path(tempfile.mkdtemp(prefix="puente-pg-"))
        self.data = self.root / "data"
        self.port = 0
        self._counter = itertools.count(1)

    def _cmd(self, *args: str) -> list[str]:
        return [*self.run_as, *args]

    def start(self) -> None:
        if os.geteuid() == 0:
            user = _service_user()
            shutil.chown(self.root, user, user)
            self.run_as = ["runuser", "-u", user, "--"]
        subprocess.run(
            self._cmd(
                str(self.bin / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
                "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync",
            ),
            check=True, capture_output=True,
        )  # fmt: skip
        last_error = ""
        for _ in range(5):  # the free port may be taken between probe and bind: try another
            self.port = _free_port()
            options = (
                f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            result = subprocess.run(
                self._cmd(
                    str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
                    "-l", str(self.root / "server.log"), "-w", "-t", "30", "start",
                ),
                capture_output=True, text=True,
            )  # fmt: skip
            if result.returncode == 0 and self._ready():
                return
            last_error = result.stderr + self.log_tail()
        raise RuntimeError(f"PostgreSQL did not start: {last_error}")

    def _ready(self, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            probe = subprocess.run(
                [
                    str(self.bin / "pg_isready"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    SUPERUSER,
                ],
                capture_output=True,
            )
            if probe.returncode == 0:
                return True
            time.sleep(0.1)
        return False

    def log_tail(self) -> str:
        log = self.root / "server.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else ""

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg

        name = f"test_{os.getpid()}_{next(self._counter)}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.port:
            subprocess.run(
                self._cmd(
                    str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"
                ),
                capture_output=True,
            )
            self.port = 0
        shutil.rmtree(self.root, ignore_errors=True)


def _service_user() -> str:
    """A non-root account to run the server: `postgres` if present, else one we create."""
    import pwd

    for name in ("postgres", "puente-pg"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--user-group", "puente-pg"], check=True
    )
    return "puente-pg"


_SERVER: PostgresServer | None = None
_START_ERROR: str | None = None


def postgres_server() -> PostgresServer:
    """The one server of this test run (started on first use, stopped at exit)."""
    global _SERVER, _START_ERROR
    bin_dir = find_pg_bin()
    if bin_dir is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl) are not installed; "
            "run scripts/ensure-postgres.sh or set PG_BIN"
        )
    if _START_ERROR:
        pytest.fail(_START_ERROR)
    if _SERVER is None:
        server = PostgresServer(bin_dir)
        try:
            server.start()
        except Exception as exc:  # noqa: BLE001 - any failure: clean up, fail with the reason
            server.stop()
            _START_ERROR = f"could not start PostgreSQL from {bin_dir}: {exc}"
            pytest.fail(_START_ERROR)
        atexit.register(server.stop)
        _SERVER = server
    return _SERVER


@pytest.fixture(scope="session")
def pg_server() -> PostgresServer:
    return postgres_server()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """A fresh, empty database: a SQLite file in tmp_path, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'puente.db'}"
    return postgres_server().create_database()
