"""Fixtures for end-to-end tests against the local Bot API emulator.

* ``emulator_server`` (session): one Node emulator process for the whole run.
* ``emulator`` (function): the same server, reset before each test.
* ``telegram_error_guard`` (autouse): the test fails if a ``telegram``/``telegram.*``
  logger emits a record at ERROR or above (opt out with ``@pytest.mark.allow_telegram_errors``).
* ``run_app`` (async, function): ``app = await run_app(factory)`` builds a PTB Application
  with an ``ApplicationBuilder`` already pointed at the emulator, starts it with long
  polling in the test's event loop, and stops it cleanly at teardown.
"""

from __future__ import annotations

import logging
import shutil
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest
from telegram.ext import Application, ApplicationBuilder

from tests.e2e.emulator import BotApiEmulator

TELEGRAM_LOGGER = "telegram"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "allow_telegram_errors: do not fail the test when telegram.* logs at ERROR level",
    )


# --------------------------------------------------------------------------- emulator


@pytest.fixture(scope="session")
def emulator_server() -> Any:
    if shutil.which("node") is None:
        pytest.skip("e2e tests need Node.js: `node` is not on PATH")
    emu = BotApiEmulator()
    emu.start()  # failing to start is an error, not a skip
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def emulator(emulator_server: BotApiEmulator) -> BotApiEmulator:
    emulator_server.reset()
    return emulator_server


# --------------------------------------------------------------------------- telegram log guard


class _ErrorCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == TELEGRAM_LOGGER or record.name.startswith(TELEGRAM_LOGGER + "."):
            self.records.append(record)


def _describe(records: list[logging.LogRecord]) -> str:
    lines = []
    for r in records:
        line = f"  {r.name} [{r.levelname}] {r.getMessage()}"
        if r.exc_info and r.exc_info[1] is not None:
            line += f" -- {type(r.exc_info[1]).__name__}: {r.exc_info[1]}"
        lines.append(line)
    return "\n".join(lines)


def check_telegram_errors(collector: _ErrorCollector, phase: str) -> None:
    if collector.records:
        records, collector.records = list(collector.records), []
        pytest.fail(
            f"telegram logged {len(records)} error(s) during {phase}:\n{_describe(records)}",
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def telegram_error_guard(request: pytest.FixtureRequest) -> Any:
    """Fail the test if PTB logs at ERROR+ (e.g. an unhandled handler exception)."""
    collector = _ErrorCollector()
    logger = logging.getLogger(TELEGRAM_LOGGER)
    logger.addHandler(collector)
    allowed = request.node.get_closest_marker("allow_telegram_errors") is not None
    request.node._telegram_error_collector = None if allowed else collector
    try:
        yield collector
    finally:
        logger.removeHandler(collector)
    if not allowed:
        # records emitted while later fixtures (e.g. the running Application) shut down
        check_telegram_errors(collector, "teardown")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    result = yield
    collector = getattr(item, "_telegram_error_collector", None)
    if collector is not None:
        check_telegram_errors(collector, "the test")
    return result


# --------------------------------------------------------------------------- PTB application


def emulator_builder(emu: BotApiEmulator) -> ApplicationBuilder:
    """An ApplicationBuilder pointed at the emulator (add handlers after ``.build()``)."""
    return (
        ApplicationBuilder()
        .token(emu.token)
        .base_url(f"{emu.url}/bot")
        .base_file_url(f"{emu.url}/file/bot")
    )


AppFactory = Callable[[ApplicationBuilder], "Application | ApplicationBuilder"]


async def start_application(app: Application, *, poll_timeout: int = 1) -> Application:
    """Start as `Application.run_polling` does: initialize, post_init, polling, start."""
    await app.initialize()
    if app.post_init is not None:
        await app.post_init(app)
    assert app.updater is not None, "the Application was built with updater(None)"
    await app.updater.start_polling(poll_interval=0, timeout=poll_timeout, drop_pending_updates=False)
    await app.start()
    return app


async def stop_application(app: Application) -> None:
    """Stop as `run_polling` does: polling, the Application, shutdown, post_shutdown."""
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()
    if app.post_shutdown is not None:
        await app.post_shutdown(app)


@asynccontextmanager
async def running_application(
    emu: BotApiEmulator, factory: AppFactory, *, poll_timeout: int = 1
) -> AsyncIterator[Application]:
    """``async with running_application(emu, factory) as app:`` — polling for the block's duration."""
    app = _build(emu, factory)
    await start_application(app, poll_timeout=poll_timeout)
    try:
        yield app
    finally:
        await stop_application(app)


def _build(emu: BotApiEmulator, factory: AppFactory) -> Application:
    built = factory(emulator_builder(emu))
    if isinstance(built, ApplicationBuilder):
        built = built.build()
    if not isinstance(built, Application):
        raise TypeError(f"the factory must return an Application or ApplicationBuilder, got {built!r}")
    return built


@pytest.fixture
async def run_app(emulator: BotApiEmulator) -> AsyncIterator[Callable[..., Awaitable[Application]]]:
    """``app = await run_app(factory)``; every started Application is stopped at teardown."""
    started: list[Application] = []

    async def _run(factory: AppFactory, *, poll_timeout: int = 1) -> Application:
        app = _build(emulator, factory)
        started.append(app)
        return await start_application(app, poll_timeout=poll_timeout)

    yield _run
    for app in reversed(started):
        await stop_application(app)
