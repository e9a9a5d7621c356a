"""Text normalization and keyword tokens, shared by the BM25 index and answer composition.

Latin text is lower-cased and accent-folded ("económico" and "economico" meet, and so do the
pinyin "yàojú" and "yaoju"); identifiers such as "SC-2703-02", "08:45" or "NT$500" stay whole
and also give their parts; Chinese becomes characters plus character pairs, which works on
Traditional text without a segmenter.
"""

from __future__ import annotations

import re
import unicodedata

# Han characters, the one definition (language detection, keywords and triage use it): the
# unified ideographs, Extension A, the compatibility ideographs and Extension B.
HAN_CLASS = _HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df"
_TOKEN = re.compile(
    rf"(?P<id>[a-z0-9$]+(?:[-:/.,][a-z0-9]+)+)|(?P<word>[a-z0-9$]+)|(?P<han>[{_HAN}]+)"
)
_HAN_CHAR = re.compile(rf"[{_HAN}]")
STOPWORDS = frozenset(
    """
    a an the and or of to in on at for by with from is are was were be been do does did i you he she
    it we they me my our your his her its their this that these those what which who whom when where
    how why can could should would will shall may might must have has had not no yes if then than so
    there here about into as up out any some all just also please hi hello thanks
    el la los las un una unos unas y o de del al en por para con sin que qué como cómo cuando cuándo
    donde dónde cual cuál cuales quien es son fue ser estar esta este esto estos estas ese esa eso se
    lo le les me mi mis tu tus su sus nos nuestro hay si sí no ya muy mas más pero porque q pues hola
    gracias favor tengo tiene tienen puedo puede pueden hacer hace voy va vamos mucho poco
    """.split()
)
# Chinese function characters that carry no topic on their own (kept inside bigrams).
HAN_STOP = frozenset("的了嗎嗎呢吧是在我你他她們要有和與及或就都也很會可以這那什麼怎麼幾")


def strip_accents(text: str) -> str:
    """Combining marks removed from the decomposed text ("señal" -> "senal"), left decomposed."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def is_han(char: str) -> bool:
    return _HAN_CHAR.match(char) is not None


def fold(text: str) -> str:
    """NFKC, lower case, and Latin accents removed (Han characters untouched)."""
    return unicodedata.normalize("NFC", strip_accents(unicodedata.normalize("NFKC", text).lower()))


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("es") and word[-3] not in "aeiou":
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def tokenize(text: str, *, keep_stopwords: bool = False) -> list[str]:
    """Keyword tokens for BM25: the same function indexes documents and reads queries."""
    tokens: list[str] = []
    for match in _TOKEN.finditer(fold(text)):
        if match.group("id"):
            ident = match.group("id").rstrip(".,")
            tokens.append(ident.replace(",", "") if re.fullmatch(r"[\d,]+", ident) else ident)
            for part in re.split(r"[-:/.,]", ident):
                if part and (keep_stopwords or part not in STOPWORDS):
                    tokens.append(_stem(part))
        elif match.group("word"):
            word = match.group("word")
            if keep_stopwords or word not in STOPWORDS:
                tokens.append(_stem(word))
        else:
            run = match.group("han")
            tokens.extend(c for c in run if keep_stopwords or c not in HAN_STOP)
            tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
    return tokens


def has_han(text: str) -> bool:
    return bool(_HAN_CHAR.search(text))


def han_ratio(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for c in letters if _HAN_CHAR.match(c)) / len(letters)
