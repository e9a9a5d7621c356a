"""Every locale area has the same keys and placeholders in es, en and zh-TW."""

import string

from bot.i18n import LOCALES_DIR, Translator
from bot.records import LANGUAGES


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_language_has_the_same_keys_and_placeholders():
    tr = Translator()
    keys = {lang: set(tr.messages[lang]) for lang in LANGUAGES}
    assert keys["en"], "no locale files found"
    for lang in LANGUAGES:
        assert keys[lang] == keys["en"], f"{lang}: {keys[lang] ^ keys['en']}"
        for key in keys["en"]:
            assert _placeholders(tr.messages[lang][key]) == _placeholders(tr.messages["en"][key]), key


def test_locale_files_are_named_area_dot_language():
    for path in LOCALES_DIR.glob("*.yaml"):
        area, _, lang = path.stem.partition(".")
        assert area and lang in LANGUAGES, path.name
