"""Which of Puente's languages a message is in, and Simplified -> Traditional Chinese.

`detect_language(text)` answers "es", "en" or "zh-TW", or None when the message is clearly in a
language Puente does not serve (French, German, Portuguese, Italian, Japanese, Korean, Russian...).
Short or ambiguous text never yields None: it falls back to a served language.

How it decides, cheapest first:
1. Scripts. Han characters make a message Chinese (zh-TW, Simplified included: we reply in
   Traditional) unless Latin words clearly outweigh them; Japanese kana, Hangul, Cyrillic, Arabic,
   Thai... dominating the message make it unsupported.
2. For Latin-script text, small word lexicons (greetings, function words, informal Spanish such as
   "q", "xq", "porfa", accent-less "como"/"donde"/"cuanto") plus Spanish-only marks (¿ ¡ ñ)
   combined with lingua restricted to English and Spanish.
3. Other Latin languages: a wider lingua detector and a few unmistakable words ("bonjour", "ich",
   "você", "grazie"...) must both agree the text is confidently something else, and only when the
   message is long enough and has few English/Spanish cues.

Nothing is built at import time: lingua detectors and the OpenCC converter are created on first
use, once, and cached.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from bot.records import Language
from bot.textnorm import is_han, strip_accents

if TYPE_CHECKING:  # pragma: no cover
    from lingua import LanguageDetector as _LinguaDetector

__all__ = [
    "LanguageDetector",
    "detect_language",
    "to_traditional",
    "is_simplified",
    "default_detector",
]

# ---------------------------------------------------------------------------------------------
# Lexicons (data). Words are matched lowercase, accent-stripped, with long letter runs collapsed.
# Only words that are (nearly) exclusive to one language; shared ones ("a", "no", "me", "final",
# "hay"...) are left out on purpose.
# ---------------------------------------------------------------------------------------------

_ES_WORDS = frozenset(
    """
    hola holi gracias grax porfa porfavor xfa xfavor pf buenas buenos buen buenas dias dia tardes
    noches adios saludos oye oiga disculpa disculpe perdon perdona sale va orale chido neta
    el la los las lo un una unos unas del al de en es son esta estan estoy estas estamos
    esto eso ese esa este estos esas aqui ahi alla alli
    que q k xq pq porq porque por para con sin sobre entre hasta desde hacia segun
    y o pero tambien tampoco si ya aun todavia muy mas menos mucho mucha muchos poco nada algo
    como cuando cuanto cuanta cuantos cuantas donde adonde cual cuales quien quienes
    mi mis tu tus su sus nuestro nuestra nos les le se te yo ella ellos ellas usted ustedes
    nosotros vosotros conmigo contigo
    hago hacer hace hacen tengo tiene tienen tenemos tener puedo puede pueden podemos poder
    quiero quiere queremos necesito necesita necesitamos sabe sabes saben se dice dicen
    voy vas vamos van ir fue fui soy eres somos ser estar hay habia hubo
    pierdo perdi olvide deje ayuda ayudar alguien nadie todo todos toda todas cada otro otra
    hoy manana ayer ahora luego despues antes semana mes ano horario clase clases examen
    dan dar dan nada bien mal mejor peor donde esta cosa cosas gente chino chinas chinos
    tambien entonces osea bueno vale claro pues ok okey okay
    """.split()
) - {"ok", "okay", "okey", "va", "sale"}

_EN_WORDS = frozenset(
    """
    hi hello hey hiya thanks thank thx ty tks please pls plz sorry bye goodbye morning evening
    the an of to in on at for with from by about into than then there their they them these
    those this that what whats when where wheres which who whom whose why how hows
    is are was were be been being am isnt arent wasnt dont doesnt didnt cant cannot wont
    do does did have had having will would should could can may might must shall
    i im ive id my mine me you your youre yours we our us he she his her it its
    and or but if so not any some every just also only still yet too very much many
    get got go going want need know tell say said give help anyone someone something
    where room exam test class schedule time today tomorrow yesterday now week month
    what's it's i'm don't can't there's
    """.split()
) - {"me", "he", "i"}

# Greetings and one-word messages decided outright (after normalization).
_SHORT: dict[str, Language] = {
    **{w: "en" for w in "hi hello hey hiya thanks thank thx ty ok okay okey yes no yep nope bye "
       "goodbye sure cool great nice please pls plz sorry morning".split()},
    **{w: "es" for w in "hola holi gracias grax porfa si sip nel sale orale va vale bueno buenas "
       "buenos adios perdon disculpa oye claro listo chido neta ah".split()},
}
_SHORT_PHRASES: dict[str, Language] = {
    "thank you": "en", "thanks a lot": "en", "good morning": "en", "good night": "en",
    "good afternoon": "en", "good evening": "en", "see you": "en", "hello there": "en",
    "ok thanks": "en", "ok thank you": "en", "got it": "en", "no problem": "en",
    "muchas gracias": "es", "buenos dias": "es", "buenas tardes": "es", "buenas noches": "es",
    "hola buenas": "es", "ok gracias": "es", "va gracias": "es", "mil gracias": "es",
    "de nada": "es", "hasta luego": "es", "que tal": "es", "ok perfecto": "es",
}

# Unmistakable words of Latin-script languages Puente does not serve.
_FOREIGN_WORDS: dict[str, frozenset[str]] = {
    "fr": frozenset(
        "bonjour bonsoir merci je suis est-ce vous nous sont avec c'est j'ai qu'est-ce "
        "ou oui tres beaucoup aujourd'hui pourquoi comment combien quand salle examen? etudiant "
        "n'est ne pas pour les des du une dans sur ai avez etes s'il plait".split()
    ),
    "de": frozenset(
        "ich bin ist nicht und der die das wo wie was warum wann hallo danke bitte guten tag "
        "mein meine ein eine einen mit fur ja nein haben habe kann konnen wir sie heute morgen "
        "prufung raum zimmer wohnung bibliothek gibt es".split()
    ),
    "pt": frozenset(
        "voce nao obrigado obrigada onde fica eu meu minha tenho um uma muito isso ola bom dia "
        "como e o os as do da dos das no na em para com esta quando sala prova estou "
        "preciso posso tambem agora".split()
    ),
    "it": frozenset(
        "ciao grazie dove sono il della delle degli che perche buongiorno buonasera come e "
        "questo questa molto anche ho hai ha sei siamo posso voglio devo oggi domani stanza "
        "esame non per lo gli".split()
    ),
    "tl": frozenset("salamat po saan ang ako ko mga ng paano kailan ano bakit hindi opo kayo "
                    "ninyo namin sila siya nasaan magandang umaga".split()),
    "id": frozenset("terima kasih saya tidak bisa yang apa bagaimana kapan dimana ini itu "
                    "selamat pagi tolong mau ada".split()),
}
# Weak foreign words: count only half (common, but shared with typos or loanwords).
_FOREIGN_WEAK: dict[str, frozenset[str]] = {
    "fr": frozenset("est pas pour les des une dans sur ne du".split()),
    "de": frozenset("die sie was ein eine mit kann wir gibt wo bin".split()),
    "pt": frozenset("os do da na em um bom com quando".split()),
    "it": frozenset("il per non che ho hai sei gli".split()),
    "tl": frozenset("po ang ko ano".split()),
    "id": frozenset("ini itu ada mau".split()),
}

# Words too common across languages to be evidence at all.
_SHARED_FOREIGN = frozenset(
    "e o os as do da no na em um es ja ou ha sala morgen tag was wo lo come dia sur tu "
    "ne la le de en un das dos ola yang com examen? quando".split()
)
# Strong evidence: foreign words that are not Spanish/English function words either.
_FOREIGN_ONLY: dict[str, frozenset[str]] = {
    lang: words - _ES_WORDS - _EN_WORDS - _FOREIGN_WEAK[lang] - _SHARED_FOREIGN
    for lang, words in _FOREIGN_WORDS.items()
}

_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
_RUN_RE = re.compile(r"(.)\1{2,}")
_ACRONYM_RE = re.compile(r"^[A-Z]{2,6}s?$")


_strip_accents = strip_accents


def _variants(token: str) -> tuple[str, ...]:
    """The token, and with runs of 3+ equal letters collapsed to one and to two."""
    if not _RUN_RE.search(token):
        return (token,)
    return (token, _RUN_RE.sub(r"\1", token), _RUN_RE.sub(r"\1\1", token))


def _in(lexicon: frozenset[str] | dict, token: str) -> bool:
    return any(v in lexicon for v in _variants(token))


# ---------------------------------------------------------------------------------------------
# Scripts
# ---------------------------------------------------------------------------------------------


@dataclass
class _Scripts:
    han: int = 0
    kana: int = 0
    hangul: int = 0
    latin: int = 0
    other: int = 0  # Cyrillic, Greek, Arabic, Hebrew, Thai, Devanagari...


def _is_han(cp: int) -> bool:
    return is_han(chr(cp))


def _count_scripts(text: str) -> _Scripts:
    s = _Scripts()
    for ch in text:
        cp = ord(ch)
        if cp < 0x80:
            if ch.isalpha():
                s.latin += 1
            continue
        if _is_han(cp):
            s.han += 1
        elif 0x3040 <= cp <= 0x30FF or 0x31F0 <= cp <= 0x31FF or 0xFF66 <= cp <= 0xFF9F:
            if cp not in (0x30FC, 0x30FB):  # prolonged sound mark / middle dot are used in zh too
                s.kana += 1
        elif 0xAC00 <= cp <= 0xD7AF or 0x1100 <= cp <= 0x11FF or 0x3130 <= cp <= 0x318F:
            s.hangul += 1
        elif ch.isalpha():
            if cp <= 0x024F or 0x1E00 <= cp <= 0x1EFF:
                s.latin += 1
            elif 0xFF21 <= cp <= 0xFF5A:  # full-width Latin
                s.latin += 1
            else:
                s.other += 1
    return s


# ---------------------------------------------------------------------------------------------
# Detector
# ---------------------------------------------------------------------------------------------


class LanguageDetector:
    """Decides es / en / zh-TW / None. Build once and reuse; lingua models load lazily."""

    #: minimum confidence of the wide detector for a non-served Latin language
    FOREIGN_CONFIDENCE = 0.55
    #: minimum letters before any Latin message may be called foreign
    FOREIGN_MIN_LETTERS = 10

    def __init__(self, fallback: Language = "en", preload: bool = False) -> None:
        self.fallback: Language = fallback
        self._lock = threading.Lock()
        self._served: _LinguaDetector | None = None
        self._wide: _LinguaDetector | None = None
        if preload:
            self._served_detector()
            self._wide_detector()

    # -- lingua, built lazily -------------------------------------------------------------
    def _served_detector(self) -> _LinguaDetector:
        if self._served is None:
            with self._lock:
                if self._served is None:
                    from lingua import Language as L
                    from lingua import LanguageDetectorBuilder

                    self._served = (
                        LanguageDetectorBuilder.from_languages(L.ENGLISH, L.SPANISH)
                        .with_preloaded_language_models()
                        .build()
                    )
        return self._served

    def _wide_detector(self) -> _LinguaDetector:
        if self._wide is None:
            with self._lock:
                if self._wide is None:
                    from lingua import Language as L
                    from lingua import LanguageDetectorBuilder

                    self._wide = (
                        LanguageDetectorBuilder.from_languages(
                            L.ENGLISH, L.SPANISH, L.FRENCH, L.GERMAN, L.PORTUGUESE,
                            L.ITALIAN, L.DUTCH, L.INDONESIAN, L.TAGALOG, L.VIETNAMESE,
                            L.TURKISH, L.POLISH,
                        )
                        .with_preloaded_language_models()
                        .build()
                    )
        return self._wide

    # -- public ---------------------------------------------------------------------------
    def detect(self, text: str) -> Language | None:
        text = unicodedata.normalize("NFKC", text or "").strip()
        if not text:
            return self.fallback
        scripts = _count_scripts(text)
        cjk = scripts.han + scripts.kana

        # Japanese: kana are a real share of the CJK text (a lone "の" is Taiwanese slang).
        if scripts.kana >= 2 and scripts.kana >= 0.15 * cjk:
            return None
        # Korean, Cyrillic, Arabic, Thai...: dominate the message.
        foreign_script = scripts.hangul + scripts.other
        if foreign_script >= 2 and foreign_script > scripts.latin + scripts.han * 2:
            return None

        words = _WORD_RE.findall(text)
        latin_words = [w for w in words if _count_scripts(w).latin == len(w)]

        if scripts.han:
            # Acronyms and ids (ARC, SC-2612-03, STUST) do not make a message English.
            real = [w for w in latin_words if len(w) > 1 and not _ACRONYM_RE.match(w)]
            if scripts.han / 1.5 >= len(real) or scripts.han >= 8:
                return "zh-TW"
            # A Latin sentence quoting a Chinese term: decide the Latin part.
            return self._latin(text, latin_words, allow_foreign=False)

        if not latin_words:
            return self.fallback
        if all(_ACRONYM_RE.match(w) or len(w) == 1 for w in latin_words) and not any(
            w.lower() in _SHORT for w in latin_words
        ):
            return self.fallback  # only ids/acronyms: "SC-2612-03", "ARC?"
        return self._latin(text, latin_words, allow_foreign=True)

    __call__ = detect

    # -- Latin script ---------------------------------------------------------------------
    def _latin(self, text: str, words: list[str], allow_foreign: bool) -> Language | None:
        tokens = [_strip_accents(w.lower()).replace("’", "'") for w in words]
        joined = " ".join(tokens)
        if joined in _SHORT_PHRASES:
            return _SHORT_PHRASES[joined]
        if len(tokens) == 1:
            for v in _variants(tokens[0]):
                if v in _SHORT:
                    return _SHORT[v]

        lower = text.lower()
        es_marks = sum(lower.count(c) for c in "¿¡ñ") + sum(lower.count(c) for c in "áíóú") * 0.5
        es = sum(1.0 for t in tokens if _in(_ES_WORDS, t)) + es_marks
        en = sum(1.0 for t in tokens if _in(_EN_WORDS, t))
        # Greeting/short words weigh in too in longer messages ("hello, where is...").
        es += sum(0.5 for t in tokens if _SHORT.get(t) == "es")
        en += sum(0.5 for t in tokens if _SHORT.get(t) == "en")

        if allow_foreign and self._is_foreign(text, tokens, es, en):
            return None

        conf = self._served_detector().compute_language_confidence_values(text)
        p_es = next((c.value for c in conf if c.language.name == "SPANISH"), 0.5)
        p_en = 1.0 - p_es
        # Lexicon evidence dominates; lingua breaks ties and handles content words.
        score_es = es + 1.5 * p_es
        score_en = en + 1.5 * p_en
        if score_es == score_en:
            return self.fallback
        return "es" if score_es > score_en else "en"

    def _is_foreign(self, text: str, tokens: list[str], es: float, en: float) -> bool:
        letters = sum(len(t) for t in tokens)
        if letters < self.FOREIGN_MIN_LETTERS and len(tokens) < 2:
            return False
        foreign_hits: dict[str, float] = {}
        for lang, words in _FOREIGN_ONLY.items():
            hits = sum(1.0 for t in tokens if _in(words, t))
            hits += sum(0.5 for t in tokens if _in(_FOREIGN_WEAK[lang], t))
            foreign_hits[lang] = hits
        if re.search(r"[ãõçßäöüœèêàâîôûëï]", text.lower()):
            # letters Spanish never uses (ü is rare in Spanish: güero, pingüino)
            marks = len(re.findall(r"[ãõßäöœèêàâîôûëï]", text.lower()))
            for lang, pat in (("pt", r"[ãõç]"), ("de", r"[ßäö]"), ("fr", r"[œèêàâîôûëïç]"),
                              ("it", r"[èàò]")):
                if re.search(pat, text.lower()):
                    foreign_hits[lang] += 1.0 + 0.0 * marks
        best_lang = max(foreign_hits, key=foreign_hits.__getitem__)
        best = foreign_hits[best_lang]
        served = es + en
        if best >= 2 and best > served:
            return True
        if len(tokens) < 3 and letters < 15:
            return False
        conf = self._wide_detector().compute_language_confidence_values(text)
        top = conf[0]
        if top.language.name in ("ENGLISH", "SPANISH"):
            return False
        if top.value < self.FOREIGN_CONFIDENCE:
            return False
        # lingua is confident: the served lexicon must not disagree clearly.
        if top.value >= 0.9:
            return served <= best + 2
        return served <= best + 1 and served < len(tokens) / 2


_default: LanguageDetector | None = None
_default_lock = threading.Lock()


def default_detector() -> LanguageDetector:
    """The shared detector, created on first use."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = LanguageDetector()
    return _default


def detect_language(text: str) -> Language | None:
    """es / en / zh-TW for a message, or None when it is clearly in a language Puente doesn't serve."""
    return default_detector().detect(text)


# ---------------------------------------------------------------------------------------------
# Simplified -> Traditional (Taiwan), with OpenCC's converters (opencc-python-reimplemented),
# each built once
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _s2t():
    """Simplified -> Traditional, Taiwan standard with its phrases ('s2twp')."""
    import opencc

    return opencc.OpenCC("s2twp").convert


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s").convert


def _has_han(text: str) -> bool:
    return any(_is_han(ord(c)) for c in text)


def to_traditional(text: str) -> str:
    """Simplified Chinese (or mixed) text in Traditional characters with Taiwan usage.

    Text without Han characters, or already in Traditional, is returned unchanged: running the
    converter over Traditional text can still alter it (it turns 准考證 into 準考證).
    """
    if not text or not _has_han(text) or not is_simplified(text):
        return text
    return _s2t()(text)


def is_simplified(text: str) -> bool:
    """True when the text is written in Simplified characters.

    Counts Han characters that a Simplified->Traditional mapping changes against those that a
    Traditional->Simplified mapping changes; a few characters are shared ("准", "干", "后"), so a
    Traditional text is never called Simplified because of one of them.
    """
    if not text or not _has_han(text):
        return False
    han = "".join(c for c in text if _is_han(ord(c)))
    trad = _s2t_chars()(han)
    simp = _t2s()(han)
    to_trad = sum(1 for a, b in zip(han, trad) if a != b)
    to_simp = sum(1 for a, b in zip(han, simp) if a != b)
    return to_trad > to_simp


@lru_cache(maxsize=1)
def _s2t_chars():
    import opencc

    return opencc.OpenCC("s2t").convert


def to_simplified(text: str) -> str:
    """Traditional -> Simplified, for tools trained on Simplified text (the jieba segmenter)."""
    if not text or not _has_han(text):
        return text
    return _t2s()(text)
