"""The real entry point: `python -m bot` as a process, talking to the Bot API emulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_python_m_bot_answers_and_stops_cleanly_on_sigterm(emulator, real_settings, tmp_path):
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": emulator.token,
        "TELEGRAM_API_URL": emulator.url,
        "PUENTE_DATA_DIR": str(real_settings.data_dir),
        "PUENTE_KNOWLEDGE_DIR": str(real_settings.knowledge_dir),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'puente.db'}",
        "PUENTE_LOG_LEVEL": "INFO",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        emulator.user_sends(501, "What are the laundry hours in the dorm?", first_name="Lupita")
        emulator.user_sends(502, "¿Cuánto es el apoyo económico mensual?", first_name="Diego")
        english = emulator.wait_for_bot_messages(501, 1, timeout=90)[-1]["text"]
        spanish = emulator.wait_for_bot_messages(502, 1, timeout=30)[-1]["text"]
        assert "06:00" in english and "23:00" in english
        assert "20,000" in spanish and "Fuentes" in spanish
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr[-2000:]
    assert emulator.token not in stderr  # the token never reaches the logs
    assert "Traceback" not in stderr


def test_webhook_mode_without_a_secret_refuses_to_start(emulator, real_settings, tmp_path):
    """Anyone who finds a webhook URL without a secret could post forged updates: `python -m bot`
    exits non-zero within seconds, naming the missing setting and not the token."""
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": emulator.token,
        "TELEGRAM_API_URL": emulator.url,
        "TELEGRAM_MODE": "webhook",
        "TELEGRAM_WEBHOOK_URL": "https://puente.example.org/hook",
        "TELEGRAM_WEBHOOK_SECRET": "",
        "PUENTE_DATA_DIR": str(real_settings.data_dir),
        "PUENTE_KNOWLEDGE_DIR": str(real_settings.knowledge_dir),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'puente.db'}",
    }
    for secret in ("", "short"):
        env["TELEGRAM_WEBHOOK_SECRET"] = secret
        result = subprocess.run(
            [sys.executable, "-m", "bot"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=60,  # before the index or any model loads
        )  # fmt: skip
        assert result.returncode != 0
        assert "TELEGRAM_WEBHOOK_SECRET" in result.stderr
        assert emulator.token not in result.stderr and "Traceback" not in result.stderr
