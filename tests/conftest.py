"""Shared fixtures. The PostgreSQL server fixture lives in tests/pg.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest_plugins = ["tests.pg"]

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
SHARED = ROOT.parent / "shared"
DEV_SET = SHARED / "eval" / "dev.jsonl"


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory):
    """Settings over a real index of the bundled knowledge, built once per test run with the
    default (offline) embedding model: the slow part of the suite, about 40 s on 2 cores.
    `PUENTE_TEST_DATA_DIR=data` reuses an index `python ingest.py` built, to iterate faster."""
    import os

    from bot.config import Settings
    from bot.ingestion.cli import run_ingest

    reuse = os.environ.get("PUENTE_TEST_DATA_DIR")
    if reuse:
        return Settings(
            _env_file=None, PUENTE_DATA_DIR=Path(reuse).resolve(), PUENTE_KNOWLEDGE_DIR=KNOWLEDGE,
            PUENTE_TODAY="2026-11-21", TELEGRAM_BOT_TOKEN=None,
        )
    data = tmp_path_factory.mktemp("real-index")
    knowledge = tmp_path_factory.mktemp("knowledge") / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    settings = Settings(
        _env_file=None,
        PUENTE_DATA_DIR=data,
        PUENTE_KNOWLEDGE_DIR=knowledge,
        PUENTE_TODAY="2026-11-21",
        TELEGRAM_BOT_TOKEN=None,
    )
    report = run_ingest(settings, progress=False)
    assert report.embedded > 0 and not report.skipped, report.summary()
    return settings


@pytest.fixture(scope="session")
def assistant(real_settings):
    """The real assistant over the real index (loaded once)."""
    from bot.assistant import Assistant

    return Assistant.from_settings(real_settings)


@pytest.fixture(scope="session")
def dev_items():
    from bot.evaluation import read_items

    if not DEV_SET.exists():
        pytest.skip(f"the shared dev set is not at {DEV_SET}")
    return read_items(DEV_SET)
