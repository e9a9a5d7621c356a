"""Language detection on short, informal, real-looking messages, and Simplified -> Traditional."""

from __future__ import annotations

import pytest

from bot import language as language_module
from bot.language import LanguageDetector, detect_language, is_simplified, to_traditional

SPANISH = [
    "horario lavanderia?",
    "q hago si pierdo mi ARC?",
    "cuanto nos dan de apoyo economico al mes??",
    "como se dice buenos dias en chino",
    "el quiz de high-voltage es mañana?",
    "el quiz de high-voltage",
    "hola",
    "gracias",
    "ok gracias",
    "muchas gracias!!",
    "buenas noches",
    "porfa ayudenme con el formulario",
    "xq no funciona el wifi del dormi",
    "nececito ayuda con mi visa",
    "alguien sabe donde queda el 7-11 mas cercano",
    "me puedes ayudar",
    "a q hora abre el comedor",
    "tengo fiebre q hago",
    "donde compro una tarjeta easycard",
    "cuando es el examen del modulo 2",
    "¿Dónde está el Centro de Consejería?",
    "holaaa una pregunta",
    "ya llegue a tainan, ahora q sigue",
    "se puede cocinar en el dormitorio?",
    "cuanto cuesta el bus a kaohsiung",
]

ENGLISH = [
    "hello",
    "hi",
    "ok",
    "thanks",
    "thank you",
    "when is the module 2 exam",
    "Which room is the Level 3 exam held in?",
    "wifi password pls",
    "pls help my arc expired",
    "where can i buy a sim card",
    "hello, where is the library?",
    "the laundry room is closed again??",
    "lab E402 at 3pm?",
    "bus to tainan station?",
    "how do i say 謝謝 in chinese",
    "what does 准考證 mean?",
    "can i bring my calculator to the exam",
    "im lost, wich building is the dorm",
    "whats the deadline for the report",
    "heyy is there class tmrw",
]

CHINESE = [
    "SC-2612-03 在哪一間試場？",
    "准考證忘記帶怎麼辦",
    "我要找真人，不要机器人回答。",  # Simplified counts as zh-TW
    "请问考试几点开始",
    "請問 level 3 的考試幾點開始",
    "我の手機不見了",
    "ARC 過期了怎麼辦",
    "宿舍洗衣機壞了",
    "謝謝",
    "考場可以帶水嗎？",
    "Module 2 的報名截止日是哪天",
]

UNSERVED = [
    "bonjour, où est la bibliothèque?",
    "Je ne sais pas où est ma salle d'examen",
    "Wo ist die Bibliothek?",
    "Ich habe meinen Ausweis verloren, was soll ich tun?",
    "onde fica a biblioteca?",
    "Eu perdi meu cartão de residência, o que eu faço?",
    "Non trovo la mia aula, dove devo andare?",
    "ありがとうございます",
    "試験会場はどこですか",
    "안녕하세요 시험장은 어디예요",
    "Где находится библиотека?",
    "Terima kasih, di mana perpustakaan?",
]

CASES = (
    [(m, "es") for m in SPANISH]
    + [(m, "en") for m in ENGLISH]
    + [(m, "zh-TW") for m in CHINESE]
    + [(m, None) for m in UNSERVED]
)


@pytest.mark.parametrize(("message", "expected"), CASES, ids=[m[:40] for m, _ in CASES])
def test_detect_language(message: str, expected: str | None) -> None:
    assert detect_language(message) == expected


def test_case_count_covers_the_brief() -> None:
    assert len(CASES) >= 60
    assert len(UNSERVED) >= 8


@pytest.mark.parametrize("message", ["", "   ", "???", "123", "👍", "SC-2612-03"])
def test_no_letters_fall_back_to_a_served_language(message: str) -> None:
    assert detect_language(message) == "en"


@pytest.mark.parametrize("message", ["ok", "si", "no", "q", "va", "k", "yes", "sip", "ah"])
def test_very_short_text_is_never_unsupported(message: str) -> None:
    assert detect_language(message) in ("es", "en")


def test_fallback_is_configurable() -> None:
    assert LanguageDetector(fallback="es").detect("???") == "es"


def test_mostly_chinese_with_english_terms_is_chinese() -> None:
    assert detect_language("我明天要考 high-voltage safety quiz，要帶什麼？") == "zh-TW"


def test_spanish_with_english_term_is_spanish() -> None:
    assert detect_language("oigan el quiz de high-voltage safety es en el lab?") == "es"


def test_nothing_is_built_at_import() -> None:
    # The module-level default is created lazily; a fresh detector holds no lingua model yet.
    fresh = LanguageDetector()
    assert fresh._served is None and fresh._wide is None
    fresh.detect("hola")  # greeting: decided by the lexicon, lingua still not needed
    assert fresh._served is None


def test_default_detector_is_built_once() -> None:
    detect_language("hola amigos")
    first = language_module.default_detector()
    detect_language("hello friends")
    assert language_module.default_detector() is first


# Detection speed is a figure, not a test: `python -m bench.latency` prints it in its stage
# breakdown ("language detection").


# --- Simplified -> Traditional ----------------------------------------------------------------


def test_to_traditional_converts_with_taiwan_usage() -> None:
    assert to_traditional("准考证忘记带怎么办") == "准考證忘記帶怎麼辦"
    assert to_traditional("我要找真人，不要机器人回答。") == "我要找真人，不要機器人回答。"
    assert to_traditional("软件") == "軟體"  # Taiwan phrase, not just characters


def test_to_traditional_leaves_other_text_alone() -> None:
    assert to_traditional("准考證忘記帶怎麼辦") == "准考證忘記帶怎麼辦"
    assert to_traditional("hola, ¿qué tal?") == "hola, ¿qué tal?"
    assert to_traditional("") == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("准考证忘记带怎么办", True),
        ("我要找真人，不要机器人回答", True),
        ("后面", True),
        ("准考證忘記帶怎麼辦", False),
        ("後面", False),
        ("請問考試幾點開始", False),
        ("hello", False),
        ("", False),
    ],
)
def test_is_simplified(text: str, expected: bool) -> None:
    assert is_simplified(text) is expected
