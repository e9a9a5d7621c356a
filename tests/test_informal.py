"""Chat spellings spelled out for searching."""

from __future__ import annotations

import pytest

from bot.informal import expand


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("a q hora abre la biblio?", "es", "a que hora abre la biblioteca?"),
        ("kiero mandar lana a mexico, q necesito?", "es", "quiero mandar dinero a mexico, que necesito?"),
        ("Q onda, pa cuando es x fa", "es", "que onda, para cuando es por fa"),
        ("wanna know if u r open tmrw", "en", "want to know if you are open tomorrow"),
        # whole words only, and only the asker's language
        ("el quiosco, pares y xilofono", "es", "el quiosco, pares y xilofono"),
        ("qué hora", "es", "qué hora"),
        ("pa q?", "en", "pa q?"),
        ("考試 q 幾點", "zh-TW", "考試 q 幾點"),
        ("SC-2703-02 Level 1 room CC301", "en", "SC-2703-02 Level 1 room CC301"),
    ],
)
def test_expand(text: str, language: str, expected: str) -> None:
    assert expand(text, language) == expected


def test_a_question_in_chat_spelling_is_answered_like_the_written_one(assistant):
    written = assistant.answer("¿Quiero mandar dinero a mi familia en México, qué datos del banco me piden?")
    texted = assistant.answer("kiero mandar lana a mi familia en mexico, q datos del banco me piden?")
    for record in (written, texted):
        assert record.answered and "CLABE" in record.answer and "SWIFT" in record.answer
    assert texted.question.startswith("kiero mandar lana")  # the person's words are kept
