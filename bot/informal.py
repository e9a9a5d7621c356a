"""Chat spelling spelled out before searching: "a q hora", "kiero", "pa", "x", "finde".

Trainees write the way people text. The embedding model and the keyword index both read "q" and
"que" as different words, and the answer-type check ("a qué hora" asks for a time) misses "a q
hora". Expanding the common abbreviations and a few Mexican everyday words to the words the
handbook uses, for searching only (the person's own words are kept everywhere else), puts those
questions back on the same footing as carefully written ones.

The tables are data: whole words only, matched case-insensitively, per language.
"""

from __future__ import annotations

import re

from bot.language import to_traditional

_SPANISH: dict[str, str] = {
    # abbreviations
    "q": "que", "k": "que", "ke": "que", "xq": "porque", "pq": "porque", "porq": "porque",
    "x": "por", "pa": "para", "pal": "para el", "d": "de", "dl": "del", "tb": "también",
    "tmb": "también", "tmbn": "también", "bn": "bien", "xfa": "por favor", "porfa": "por favor",
    "pls": "por favor", "plis": "por favor", "kiero": "quiero", "kieres": "quieres",
    "aki": "aquí", "nd": "nada", "sta": "está", "stoy": "estoy",
    # everyday words -> the handbook's words
    "finde": "fin de semana", "cel": "celular", "celu": "celular", "depa": "departamento",
    "profe": "profesor", "compu": "computadora", "biblio": "biblioteca", "uni": "universidad",
    "dormi": "dormitorio", "lana": "dinero", "varo": "dinero", "chamba": "trabajo",
    "camion": "autobús", "camión": "autobús",
    "roomie": "compañero de cuarto", "cuate": "amigo", "compa": "compañero",
}
_ENGLISH: dict[str, str] = {
    "u": "you", "ur": "your", "r": "are", "pls": "please", "plz": "please", "thx": "thanks",
    "wanna": "want to", "gonna": "going to", "gotta": "have to", "dunno": "do not know",
    "bc": "because", "cuz": "because", "b4": "before", "w/": "with", "w/o": "without",
    "tmrw": "tomorrow", "tmr": "tomorrow", "2day": "today", "2morrow": "tomorrow",
    "uni": "university", "prof": "professor", "info": "information",
}
_TABLES = {"es": _SPANISH, "en": _ENGLISH}
_PATTERNS = {
    lang: re.compile(
        r"(?<![\w/])(" + "|".join(re.escape(k) for k in sorted(table, key=len, reverse=True))
        + r")(?![\w/])",
        re.IGNORECASE,
    )
    for lang, table in _TABLES.items()
}

def expand(text: str, language: str | None) -> str:
    """The question with chat spellings replaced, for searching; unchanged for other languages."""
    pattern = _PATTERNS.get(language or "")
    if pattern is None:
        return text
    table = _TABLES[language]  # type: ignore[index]
    return pattern.sub(lambda m: table[m.group(1).lower()], text)

def search_text(text: str, language: str | None) -> str:
    """What is searched and embedded for a message: chat spellings spelled out; Chinese in
    Traditional characters, as the documents are written. Triage reads the same vector."""
    if language == "zh-TW":

        return to_traditional(text)
    return expand(text, language)
