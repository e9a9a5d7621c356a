"""User-facing text, one YAML file per area and language: `bot/locales/<area>.<lang>.yaml`.

Every area has the same keys and placeholders in es, en and zh-TW (a test checks it). Text is
looked up with `Translator.t(lang, "area.key", **values)`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from bot.errors import PuenteError
from bot.records import LANGUAGES

LOCALES_DIR = Path(__file__).parent / "locales"
FALLBACK = "en"


class UnknownMessage(PuenteError, KeyError):
    """No locale file has a text for this key (a KeyError too, for callers that catch one)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no message {key!r}")
        self.key = key


class Translator:
    """Loads every locale file once; `t()` formats a message in the asked language."""

    def __init__(self, locales_dir: Path = LOCALES_DIR) -> None:
        self.messages: dict[str, dict[str, str]] = {lang: {} for lang in LANGUAGES}
        for path in sorted(locales_dir.glob("*.yaml")):
            area, _, lang = path.stem.partition(".")
            if lang not in self.messages:
                raise ValueError(f"{path}: unknown language {lang!r} in file name")
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for key, text in _flatten(data):
                self.messages[lang][f"{area}.{key}"] = str(text)

    def t(self, lang: str | None, key: str, /, **values: object) -> str:
        table = self.messages.get(lang or FALLBACK) or self.messages[FALLBACK]
        template = table.get(key) or self.messages[FALLBACK].get(key)
        if template is None:
            raise UnknownMessage(key)
        return template.format(**values) if values else template


def _flatten(data: dict, prefix: str = ""):
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _flatten(value, f"{name}.")
        else:
            yield name, value


@lru_cache(maxsize=1)
def default_translator() -> Translator:
    return Translator()


def t(lang: str | None, key: str, /, **values: object) -> str:
    """Shorthand for the default translator (loaded on first use, not at import)."""
    return default_translator().t(lang, key, **values)
