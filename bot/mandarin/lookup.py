"""Questions about Mandarin answered from the vocabulary index, first and exactly.

"¿cómo se dice 'gracias' en chino?", "how do you say goodbye", "「謝謝」的拼音？", "¿qué significa
謝謝?", "how do you pronounce 你好", and, after one of those, "dame el pinyin", "y en zhuyin?",
"what lesson is that in?", "¿y 'buenas noches'?", "那「再見」呢？". The reply gives the word or
phrase with its pinyin and zhuyin and the lesson it comes from; a word in no lesson is said to
be in no lesson (no guessing).

`parse` recognises the question (closed patterns: the ways people ask for a word, not topics);
`Lookup.find` matches the term against the characters, or against the English and Spanish
meanings of the words and of the dialogue lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.mandarin.vocabulary import Entry, Vocabulary
from bot.textnorm import STOPWORDS, fold

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_QUOTED = re.compile(
    r"(?:(?<![\w])'(?P<a>[^\n]{1,60}?)'(?![\w])|\"(?P<b>[^\"]{1,60})\"|“(?P<c>[^”]{1,60})”"
    r"|‘(?P<d>[^’]{1,60}?)’(?![\w])|«(?P<e>[^»]{1,60})»|「(?P<f>[^」]{1,60})」|『(?P<g>[^』]{1,60})』)"
)
_CHINESE = r"(?:en|in|al|to)\s+(?:chino|mandarin|mandarín|chinese)(?:\s+mandarin)?"
# (intent, pattern on the folded message); the term is group "t".
_PATTERNS: list[tuple[str, re.Pattern]] = [
    (intent, re.compile(pattern))
    for intent, pattern in [
        ("pronounce", r"(?:como|cómo) se (?:pronuncia|lee|escribe en pinyin)\s+(?P<t>.+)"),
        ("pronounce", r"how (?:do (?:you|i) |to |would you |should i )?(?:pronounce|read)\s+(?P<t>.+)"),
        ("pronounce", r"(?:el )?(?:pinyin|zhuyin|bopomofo) (?:de|of|for|para)\s+(?P<t>.+)"),
        ("pronounce", r"(?P<t>.+?)\s*(?:的)?(?:拼音|注音|發音|讀音|怎麼念|怎麼唸|怎麼讀)"),
        ("mean", r"(?:que|qué) (?:significa|quiere decir|es)\s+(?P<t>.*[\u3400-\u9fff].*)"),
        ("mean", r"(?:que|qué) (?:significa|quiere decir)\s+(?P<t>.+)"),
        ("mean", r"what(?:'s| does| is)\s+(?P<t>.+?)\s+mean"),
        ("mean", r"(?:meaning|significado) (?:of|de)\s+(?P<t>.+)"),
        ("mean", r"what(?:'s| is)\s+(?P<t>.*[\u3400-\u9fff].*)"),
        ("mean", r"(?P<t>.+?)\s*(?:是什麼意思|什麼意思|的意思|的西班牙文|的英文|西班牙文怎麼說|英文怎麼說)"),
        ("say", r"(?:como|cómo) (?:se )?(?:dice|digo|decir|le digo|pido|se escribe|escribo)\s+(?P<t>.+?)(?:\s+" + _CHINESE + r")?$"),
        ("say", r"how (?:do|can|would|should) (?:you|i|we) (?:say|write|ask for|ask)\s+(?P<t>.+?)(?:\s+" + _CHINESE + r")?$"),
        ("say", r"how to (?:say|write)\s+(?P<t>.+?)(?:\s+" + _CHINESE + r")?$"),
        ("say", r"what(?:'s| is)\s+(?P<t>.+?)\s+" + _CHINESE + r"$"),
        ("say", r"(?:chinese|mandarin) (?:word )?for\s+(?P<t>.+)"),
        ("say", r"(?:como|cómo) es\s+(?P<t>.+?)\s+" + _CHINESE + r"$"),
        ("say", r"(?P<t>.+?)\s*(?:的)?中文(?:怎麼說|是什麼|怎麼寫)"),
        ("say", r"(?P<t>.+?)\s*用中文(?:怎麼說|怎麼講)"),
    ]
]
# What a follow-up asks of the word already shown.
_ASPECTS = [
    ("zhuyin", re.compile(r"zhuyin|bopomofo|注音")),
    ("pinyin", re.compile(r"pinyin|拼音|pronun|pronounce|發音|怎麼念|怎麼唸")),
    ("lesson", re.compile(r"lecci[oó]n|lesson|第幾課|哪一課|哪課")),
    ("example", re.compile(r"ejemplo|example|例句|oraci[oó]n|sentence")),
    ("characters", re.compile(r"caracteres|characters|hanzi|漢字|怎麼寫|c[oó]mo se escribe|how (?:do you|to) write")),
]
_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}")
_ASKS_MEANING = re.compile(r"significa|quiere decir|\bmeans?\b|meaning|什麼意思")
_ABOUT_CHINESE = re.compile(r"chino|chinese|mandar[ií]n|中文|華語|國語")
_LEADS = re.compile(
    r"^(?:y|e|o|and|what about|how about|also|ok y|ok and|那|還有|那麼)\b\s*|^(?:那|還有)", re.IGNORECASE
)
_NOISE = re.compile(r"[¿?¡!。？！,，.;:：]+")
MAX_WORD_QUESTION_CHARS = 200
_NEGATIONS = frozenset("no not don't doesn't didn't never nunca ni sin without".split())
_ARTICLES = frozenset("el la los las un una unos unas lo the a an to".split())
_FILLER = re.compile(
    r"\s+(?:por favor|porfa|pls|please|plis|en chino|in chinese|in mandarin|en mandarin|呢)$"
)


@dataclass(frozen=True)
class VocabQuestion:
    intent: str  # "say" | "mean" | "pronounce" | "aspect"
    term: str | None  # what to look up; None when a follow-up asks about the earlier word
    aspect: str | None = None  # "pinyin" | "zhuyin" | "lesson" | "example" | "characters"
    # Surely about Mandarin (a quoted term, "en chino", Chinese characters, a pronunciation):
    # a term in no lesson is said to be in none. Otherwise ("¿cómo le digo a mi profe que…?")
    # a miss is left to the documents.
    explicit: bool = True


def parse(text: str, *, after_vocabulary: str | None = None) -> VocabQuestion | None:
    """What a message asks of the vocabulary, or None. `after_vocabulary`: the intent of the
    earlier turn when it was a vocabulary answer (its follow-ups are read as such)."""
    if len(text) > MAX_WORD_QUESTION_CHARS:  # a long message is not a question about a word
        return None
    folded = _NOISE.sub(" ", fold(text)).strip()
    folded = re.sub(r"\s+", " ", folded)
    found = _QUOTED.search(text)
    quoted = next((v for v in found.groups() if v), None) if found else None
    for intent, pattern in _PATTERNS:
        match = pattern.search(folded)
        if match:
            term = quoted.strip() if quoted else clean_term(match["t"])
            if term:
                explicit = bool(
                    quoted or intent == "pronounce" or _HAN.search(term) or _ABOUT_CHINESE.search(folded)
                )
                return VocabQuestion(intent, term, _aspect(folded), explicit)
    han = _HAN_RUN.findall(text)
    if han and _ASKS_MEANING.search(folded):  # "vi un letrero que dice 禁止拍照, ¿qué significa?"
        return VocabQuestion("mean", max(han, key=len), _aspect(folded))
    if after_vocabulary is None:
        return None
    aspect = _aspect(folded)
    rest = clean_term(_LEADS.sub("", folded))
    if quoted:
        return VocabQuestion(after_vocabulary, quoted.strip(), aspect)
    if aspect is not None and len(rest.split()) <= 6:
        return VocabQuestion("aspect", None, aspect)
    if rest and _LEADS.match(folded):
        if han and len(rest) <= 12:  # "¿y el de 請勿進入?"
            return VocabQuestion(after_vocabulary, max(han, key=len), None)
        if len(rest.split()) <= 3:
            return VocabQuestion(after_vocabulary, rest, None)  # "¿y buenas noches?", "and goodbye?"
    return None


def _aspect(folded: str) -> str | None:
    for name, pattern in _ASPECTS:
        if pattern.search(folded):
            return name
    return None


def clean_term(term: str) -> str:
    term = _NOISE.sub(" ", term).strip(" '\"“”‘’«»「」『』")
    term = _FILLER.sub("", term).strip()
    words = term.split()
    while words and words[0] in _ARTICLES and len(words) > 1:
        words = words[1:]
    return " ".join(words)


class Lookup:
    """Built once from the vocabulary index; `find` is pure and fast."""

    WORD_MATCH = 0.5  # share of the term's words a meaning must share (Jaccard) to count
    SENTENCE_MATCH = 0.6

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self._glosses: list[tuple[Entry, frozenset[str], str]] = []
        for entry in vocabulary.entries:
            for meaning in (entry.english, entry.spanish):
                for gloss in _glosses(meaning, whole=entry.kind == "sentence"):
                    words = frozenset(_words(gloss))
                    if words:
                        self._glosses.append((entry, words, " ".join(_words(gloss))))

    def find(self, term: str) -> Entry | None:
        term = term.strip()
        if not term:
            return None
        if _HAN.search(term):
            return self._by_characters(term)
        return self._by_meaning(term)

    def _by_characters(self, term: str) -> Entry | None:
        chars = "".join(_HAN.findall(term))
        entries = self.vocabulary.entries
        for entry in entries:  # words first (they come first), exact form
            if chars in ["".join(_HAN.findall(f)) for f in entry.forms]:
                return entry
        for entry in entries:  # a sentence that is exactly it, without punctuation
            if entry.kind == "sentence" and "".join(_HAN.findall(entry.hanzi)) == chars:
                return entry
        return None

    def _by_meaning(self, term: str) -> Entry | None:
        wanted = _words(term)
        if not wanted:
            return None
        key = " ".join(wanted)
        wanted_set = frozenset(wanted)
        content = {w for w in wanted if w not in STOPWORDS} or wanted_set
        best: tuple[float, int, Entry] | None = None
        for entry, words, joined in self._glosses:
            if joined == key:
                score = 2.0
            else:
                score = len(wanted_set & words) / len(wanted_set | words)
                if not content <= words:
                    continue  # a content word of the term the meaning lacks
                if (wanted_set & _NEGATIONS) - words:
                    continue  # "no como carne de puerco" is not "carne de puerco"
                if entry.kind == "word" and score < self.WORD_MATCH:
                    continue
                if entry.kind == "sentence" and score < self.SENTENCE_MATCH:
                    continue
            rank = (score, entry.kind == "word")
            if best is None or rank > best[:2]:
                best = (score, entry.kind == "word", entry)
        return best[2] if best else None


def _glosses(meaning: str, *, whole: bool) -> list[str]:
    """"a cold; to catch a cold" -> ["a cold; to catch a cold", "a cold", "to catch a cold",
    "catch a cold"]; parenthesised notes dropped ("doctor's note (diagnosis certificate)")."""
    plain = re.sub(r"\([^)]*\)", " ", meaning)
    parts = [meaning, plain] if whole else [meaning, plain, *re.split(r"[;,/]", plain)]
    out: list[str] = []
    for part in parts:
        part = part.strip()
        if part:
            out.append(part)
            if part.lower().startswith("to "):
                out.append(part[3:])
    return out


def _words(text: str) -> list[str]:
    words = re.findall(r"[a-z0-9ñ']+", fold(text).replace("’", "'"))
    return [w for w in words if w not in _ARTICLES]


def render(entry: Entry, language: str, tr, *, lesson_title: str, aspect: str | None = None) -> str:
    """The word first, then its pinyin, zhuyin, meaning, lesson and an example; what a
    follow-up asked for ("y en zhuyin?") comes right after the word."""
    meaning = {
        "es": entry.spanish or entry.english,
        "en": entry.english or entry.spanish,
    }.get(language, " / ".join(m for m in (entry.english, entry.spanish) if m))
    zhuyin_key = "zhuyin" if entry.zhuyin_source == "lesson pinyin" else "zhuyin_generated"
    lines = {
        "pinyin": tr.t(language, "answers.vocabulary.pinyin", pinyin=entry.pinyin),
        "zhuyin": tr.t(language, f"answers.vocabulary.{zhuyin_key}", zhuyin=entry.zhuyin),
        "meaning": tr.t(language, "answers.vocabulary.meaning", meaning=meaning),
        "lesson": tr.t(language, "answers.vocabulary.lesson", lesson=lesson_title),
    }
    example = entry.example
    if example:
        translation = example.get("es" if language == "es" else "en") or example.get("en", "")
        lines["example"] = tr.t(language, "answers.vocabulary.example", hanzi=example["hanzi"],
                                pinyin=example["pinyin"], translation=translation)  # fmt: skip
    order = ["pinyin", "zhuyin", "meaning", "lesson", "example"]
    if aspect in lines:
        order.remove(aspect)
        order.insert(0, aspect)
    return "\n".join([entry.hanzi, *(lines[k] for k in order if k in lines)])
