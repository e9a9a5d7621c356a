"""Follow-ups without an LLM: is a message elliptical, and what of the earlier turns to carry.

People write "¿y el domingo?", "and how long does it take?", "那英文場次呢？" after a question.
Searched on its own words, such a message is answered from whatever shares them. Two steps:

- `is_elliptical`: closed-class signals only (a leading connective, an anaphoric pronoun or
  demonstrative, no content words of its own). These are grammar, per language, not topics.
- `carried_terms`: the earlier turn's topic words (historical query expansion, HQE: Lin et al.,
  "Query Reformulation using Query History for Passage Retrieval in Conversational Search",
  2020): the words of the earlier question that are rare in the index (they name a topic), in
  the person's spelling, minus what the new message already says.

The assistant searches both the message alone and the message with the carried terms, and the
answer gate decides (`Assistant.answer`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.textnorm import HAN_STOP, STOPWORDS, fold, has_han, tokenize

# A message opening with one of these continues the conversation ("¿y el domingo?").
_LEADS = {
    "es": ("y ", "e ", "o ", "pero ", "entonces ", "también ", "tambien ", "igual ", "lo mismo ",
           "y si ", "y para ", "y en ", "y el ", "y la ", "y los ", "y las ", "ok y ", "ok, y "),
    "en": ("and ", "what about ", "how about ", "also ", "so ", "same for ", "what if ", "and if ",
           "ok and ", "ok, and ", "then ", "but "),
    "zh-TW": ("那", "還有", "另外", "那麼", "如果是", "然後", "也是", "而"),
}
# Pronouns and demonstratives that point back at the earlier topic.
_ANAPHORA = {
    "es": frozenset("eso esa ese esto esos esas ahi alli alla ello".split()),
    "en": frozenset("it that this there them those they one its".split()),
}
_ZH_ANAPHORA = ("那個", "這個", "它", "那裡", "那邊", "這裡", "這樣", "那樣", "那些", "這些", "呢", "該")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_OPENING = re.compile(r"^[\s¿¡\"'“”«(（「『]+")
SHORT_WORDS = 2  # a Latin message of at most this many content words is short
SHORT_HAN = 4  # a Chinese message of at most this many content characters is short


def _opening(text: str) -> str:
    return _OPENING.sub("", fold(text)).strip()


def content_words(text: str) -> list[str]:
    """The message's own content words (Latin words minus function words, Chinese characters
    minus function characters)."""
    folded = fold(text)
    words = [w for w in _WORD.findall(folded) if not has_han(w) and w not in STOPWORDS]
    han = [c for run in _HAN_RUN.findall(folded) for c in run if c not in HAN_STOP]
    return words + han


NONE, WEAK, STRONG = 0, 1, 2


def ellipsis(text: str, language: str) -> int:
    """How much a message leans on what came before: STRONG when it opens with a connective
    ("y…", "and…", "那…"); WEAK when it points back with a pronoun or a demonstrative ("is it
    free?", "那個要多久？") or is short ("weekends?", "幾點開？"), which standalone questions
    also are ("is it possible to…", "horario lavanderia?"); NONE otherwise."""
    opening = _opening(text)
    if not opening:
        return NONE
    leads = _LEADS.get(language, ()) + _LEADS["en"] if language != "en" else _LEADS["en"]
    if any(opening.startswith(lead) for lead in leads) or opening in ("y", "and", "那", "還有"):
        return STRONG
    if language == "zh-TW" or has_han(opening):
        han = [c for run in _HAN_RUN.findall(opening) for c in run if c not in HAN_STOP]
        if any(word in opening for word in _ZH_ANAPHORA):
            return WEAK
        return WEAK if len(han) <= SHORT_HAN and not _WORD.findall(_HAN_RUN.sub(" ", opening)) else NONE
    words = _WORD.findall(opening)
    if any(w in _ANAPHORA.get(language, _ANAPHORA["en"]) for w in words):
        return WEAK
    return WEAK if len(content_words(opening)) <= SHORT_WORDS else NONE


def carried_terms(
    earlier: str, message: str, is_rare: Callable[[str], bool] | None, *, limit: int = 6
) -> list[str]:
    """The earlier question's topic words, in its own spelling, that the message lacks."""
    own = set(tokenize(message))
    terms: list[str] = []
    seen: set[str] = set()
    for word in _topic_words(earlier):
        tokens = [t for t in tokenize(word) if t not in STOPWORDS]
        if not tokens or all(t in own for t in tokens):
            continue
        if is_rare is not None and not any(is_rare(t) for t in tokens):
            continue
        key = fold(word)
        if key not in seen:
            seen.add(key)
            terms.append(word)
    return terms[:limit]


def _topic_words(text: str) -> list[str]:
    """Latin words and identifiers as written; Chinese runs cut at function characters into
    pieces of two or more characters (the noun phrases a question names)."""
    words: list[str] = []
    for piece in re.findall(r"[\w$:./-]+", text):
        if has_han(piece):
            for run in _HAN_RUN.findall(piece):
                words += [w for w in re.split(f"[{''.join(HAN_STOP)}]", run) if len(w) >= 2]
            rest = _HAN_RUN.sub(" ", piece).split()
            words += [w for w in rest if len(w) > 1 and fold(w) not in STOPWORDS]
        elif len(piece) > 1 and fold(piece) not in STOPWORDS:
            words.append(piece.strip(".:/-"))
    return [w for w in words if w]
