"""How sure Puente is that the passages answer the question (0..1), from signals that generalize:

- semantic closeness: the best cosine similarity of the question to the chosen passages;
- agreement: the best passage was found by both the dense and the keyword search;
- an exact identifier (session id, room, date) named in the question and found in a passage;
- coverage: content words of the question that appear nowhere in the knowledge folder (after
  accent folding and prefix matching for inflections) mean the topic is probably not covered
  ("swimming pool", "convocatoria");
- the expected answer type: a question asking for a number, a time, an amount, a date, a place
  or an email is not answered by passages that hold none.

The weights and the threshold (`PUENTE_ANSWER_THRESHOLD`) were calibrated on the dev set; see
`python -m bot eval`.
"""

from __future__ import annotations

import re

from bot.answering.evidence import answer_types, types_met
from bot.language import to_simplified
from bot.retrieval import Hit
from bot.textnorm import has_han, tokenize

DENSE_CENTER = 0.84
DENSE_SLOPE = 6.0
AGREEMENT_BONUS = 0.1
EXACT_BONUS = 0.25
UNKNOWN_PENALTY = (0.0, 0.12, 0.4)  # for 0, 1, 2+ unknown content words
TYPE_MISS_PENALTY = 0.35
# Asked for and missing from the best passage, these alone sink an answer: a price, a rate, an
# e-mail address are never "partly" given by a passage about the same topic, and a price found
# only in a runner-up passage (a taxi fare under a question about a bus to Kaohsiung) is another
# topic's price.
STRICT_TYPES = frozenset({"price", "rate", "email"})
_LATIN_WORD = re.compile(r"^[a-z][a-z]{2,}$")
_IDENTIFIER = re.compile(r"^(?=.*\d)[a-z0-9$]+(?:[-/][a-z0-9]+)+$")

class Vocabulary:
    """What the knowledge folder says, for "is this word used anywhere?". Built once, when the
    assistant starts, from the loaded index."""

    def __init__(self, index) -> None:
        words = getattr(index.bm25, "vocab_dict", {}) or {}
        self.words = frozenset(words)
        self.prefixes = frozenset(w[:5] for w in self.words if len(w) >= 5)
        # Stems of longer words, for five-letter inflections: "lavar" (lavadoras), "secar"
        # (secadoras), "dormi" (dormitorio).
        self.stems = frozenset(w[:4] for w in self.words if len(w) >= 7)
        self.text = "\n".join(f"{c.metadata.get('section', '')} {c.text}" for c in index.chunks)

_HAN_NOUN_TAGS = ("n", "nz", "nt", "ns", "nr", "vn")

def han_nouns(text: str) -> list[str]:
    """Chinese nouns of two or more characters (jieba on a Simplified copy, mapped back)."""
    if not has_han(text):
        return []
    import jieba
    import jieba.posseg as pseg

    jieba.setLogLevel(60)
    simplified = to_simplified(text)
    if len(simplified) != len(text):
        simplified = text
    nouns, pos = [], 0
    for pair in pseg.cut(simplified):
        word = text[pos : pos + len(pair.word)]
        pos += len(pair.word)
        if len(word) >= 2 and pair.flag in _HAN_NOUN_TAGS and has_han(word):
            nouns.append(word)
    return nouns

def unknown_words(question: str, vocab: Vocabulary) -> list[str]:
    """Content words of the question that the knowledge folder never uses: Latin words (accent
    folded, prefix-matched for inflections) and Chinese nouns."""
    words, prefixes = vocab.words, vocab.prefixes
    unknown = [w for w in han_nouns(question) if w not in vocab.text]
    for token in dict.fromkeys(tokenize(question)):
        if _IDENTIFIER.match(token) and token not in words:
            unknown.append(token)  # a year range, a code or a date the documents never name
            continue
        if not _LATIN_WORD.match(token) or token in words:
            continue
        if len(token) >= 6 and token[:5] in prefixes:
            continue
        if len(token) == 5 and token[:4] in vocab.stems:
            continue
        unknown.append(token)
    return unknown

def confidence(
    question: str, hits: list[Hit], chosen: list[Hit], vocab: Vocabulary,
    unknown: list[str] | None = None,
) -> float:
    """`unknown`: `unknown_words(question, vocab)` when the caller has it already."""
    if not hits or not chosen:
        return 0.0
    top = chosen[0]
    score = 0.5 + (top.dense - DENSE_CENTER) * DENSE_SLOPE
    if top.dense > 0 and top.bm25 > 0:
        score += AGREEMENT_BONUS
    types = answer_types(question)
    if top.exact and types_met(types, top.chunk.text) == 1.0:
        score += EXACT_BONUS
    if unknown is None:
        unknown = unknown_words(question, vocab)
    score -= UNKNOWN_PENALTY[min(len(unknown), 2)]
    if types:
        in_top = types_met(types, top.chunk.text)
        anywhere = types_met(types, "\n".join(h.chunk.text for h in chosen))
        strict = [t for t in types if t in STRICT_TYPES]
        if anywhere == 0 or types_met(strict, top.chunk.text) < 1:
            score -= TYPE_MISS_PENALTY
        elif in_top == 0:
            score -= TYPE_MISS_PENALTY * 0.75
        elif in_top < 1:
            score -= TYPE_MISS_PENALTY / 4
    return max(0.0, min(1.0, score))
