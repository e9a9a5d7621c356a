"""The Mandarin vocabulary index: every word of the lessons' vocabulary tables and every line
of their dialogues, with Traditional characters, Hanyu Pinyin as the lesson writes it, Zhuyin,
English and Spanish, the lesson and an example sentence. Built by `python ingest.py` into
`DATA_DIR/vocabulary.json`, loaded once by the assistant.

Zhuyin (bopomofo) is not written in the lessons. It is converted from the lesson's own pinyin,
syllable by syllable, so the Taiwan readings the lessons teach are kept (垃圾 lèsè, not the
mainland lājī); only when the pinyin cannot be aligned with the characters does pypinyin read
the characters (`zhuyin_source` says which).
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

VOCABULARY_FILE = "vocabulary.json"
FORMAT = 1
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_ROW = re.compile(r"^\|(.+)\|\s*$")
_SPEAKER = re.compile(r"^\*\*(?P<who>[^*]+?)[：:]\*\*\s*(?P<text>.+)$")
_PINYIN_LINE = re.compile(r"^\*(?P<text>[^*].*?)\*\s*$")
_TITLE = re.compile(r'^title:\s*"?(?P<title>.+?)"?\s*$', re.MULTILINE)


@dataclass(frozen=True)
class Entry:
    """One word of a lesson's vocabulary table, or one line of its dialogue."""

    hanzi: str  # as the lesson writes it ("他／她")
    pinyin: str  # as the lesson writes it, tone marks included
    zhuyin: str
    english: str
    spanish: str
    source: str  # the lesson's path in the knowledge folder ("chinese/lesson-01.md")
    lesson: int
    kind: str = "word"  # "word" | "sentence"
    section: str = ""  # the lesson section it is in
    example: dict = field(default_factory=dict)  # {"hanzi", "pinyin", "es", "en"} or {}
    zhuyin_source: str = "lesson pinyin"  # or "pypinyin" when the pinyin did not align

    @property
    def forms(self) -> list[str]:
        """The character forms a person may type: "他／她" -> ["他／她", "他", "她"]."""
        parts = [p.strip() for p in re.split(r"[／/]", self.hanzi) if p.strip()]
        return [self.hanzi, *parts] if len(parts) > 1 else [self.hanzi]


@dataclass
class Lesson:
    number: int
    source: str
    titles: dict[str, str]  # language -> "Lesson 1: Greetings and introductions"


@dataclass
class Vocabulary:
    entries: list[Entry]
    lessons: dict[int, Lesson]

    def words(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "word"]

    def write(self, data_dir: Path) -> Path:
        path = Path(data_dir) / VOCABULARY_FILE
        data = {
            "format": FORMAT,
            "lessons": [asdict(lesson) for lesson in self.lessons.values()],
            "entries": [asdict(e) for e in self.entries],
        }
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=0), encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def read(cls, data_dir: Path) -> Vocabulary | None:
        """The index written by the last ingest, or None (logged) when there is none."""
        path = Path(data_dir) / VOCABULARY_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            logger.info("no vocabulary index at %s (run `python ingest.py`)", path)
            return None
        except (OSError, ValueError) as exc:
            logger.warning("the vocabulary index %s cannot be read: %s", path, exc)
            return None
        if data.get("format") != FORMAT:
            logger.warning("the vocabulary index %s is of another format: run `python ingest.py`", path)
            return None
        lessons = {d["number"]: Lesson(**d) for d in data.get("lessons", [])}
        return cls([Entry(**d) for d in data.get("entries", [])], lessons)


# --- building it from the lesson files ---------------------------------------------------------


def build_vocabulary(knowledge_dir: Path) -> Vocabulary:
    """Every lesson file (`doc_type: lesson` in its front matter) under the knowledge folder."""
    entries: list[Entry] = []
    lessons: dict[int, Lesson] = {}
    root = Path(knowledge_dir)
    for path in sorted(root.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        if not re.search(r"^doc_type:\s*lesson\s*$", text, re.MULTILINE):
            continue
        source = path.relative_to(root).as_posix()
        lesson = _lesson_of(text, source)
        if lesson is None:
            continue
        lessons[lesson.number] = lesson
        entries += extract_entries(text, source, lesson.number)
    return Vocabulary(entries, lessons)


def _lesson_of(text: str, source: str) -> Lesson | None:
    number = re.search(r"(\d+)", Path(source).stem)
    if number is None:
        return None
    titles: dict[str, str] = {}
    found = _TITLE.search(text)
    for part in (found["title"].split(" — ") if found else []):
        part = part.strip()
        if _HAN.search(part):
            titles["zh-TW"] = part
        elif part.lower().startswith("lesson"):
            titles["en"] = part
        elif part.lower().startswith("lección"):
            titles["es"] = part
    return Lesson(int(number[1]), source, titles)


def extract_entries(text: str, source: str, lesson: int) -> list[Entry]:
    """The vocabulary table's rows and the dialogue's lines of one lesson file."""
    words: list[Entry] = []
    sentences: list[Entry] = []
    section = ""
    lines = text.splitlines()
    header: list[str] | None = None
    for i, line in enumerate(lines):
        if line.startswith("## "):
            section, header = line[3:].strip(), None
            continue
        row = _ROW.match(line.strip())
        if row and section.lower().startswith("vocabulary"):
            cells = [c.strip() for c in row[1].split("|")]
            if header is None:
                header = [c.lower() for c in cells]
                continue
            if set("".join(cells)) <= set("-: "):
                continue
            if len(cells) >= 4 and _HAN.search(cells[0]):
                hanzi, pinyin, english, spanish = cells[:4]
                zhuyin, how = zhuyin_for(hanzi, pinyin)
                words.append(Entry(hanzi, pinyin, zhuyin, english, spanish, source, lesson,
                                   "word", section, {}, how))  # fmt: skip
            continue
        speaker = _SPEAKER.match(line.strip())
        if speaker and _HAN.search(speaker["text"]):
            sentence = _dialogue_line(speaker["text"].strip(), lines[i + 1 : i + 5])
            if sentence is not None:
                hanzi, pinyin, es, en = sentence
                zhuyin, how = zhuyin_for(hanzi, pinyin)
                sentences.append(Entry(hanzi, pinyin, zhuyin, en, es, source, lesson, "sentence",
                                       section, {}, how))  # fmt: skip
    examples = [s for s in sentences]
    words = [_with_example(w, examples, lines) for w in words]
    return words + sentences


def _dialogue_line(hanzi: str, following: list[str]) -> tuple[str, str, str, str] | None:
    pinyin = es = en = ""
    for line in following:
        line = line.strip()
        match = _PINYIN_LINE.match(line)
        if match and not pinyin:
            pinyin = match["text"].strip()
        elif line.startswith("ES:") and not es:
            es = line[3:].strip()
        elif line.startswith("EN:") and not en:
            en = line[3:].strip()
    return (hanzi, pinyin, es, en) if pinyin and (es or en) else None


def _with_example(word: Entry, sentences: list[Entry], lines: list[str]) -> Entry:
    """The first dialogue line that uses the word; else the first other line of the lesson that
    does (a practice exercise), without a translation."""
    for form in word.forms:
        for s in sentences:
            if form in s.hanzi:
                example = {"hanzi": s.hanzi, "pinyin": s.pinyin, "es": s.spanish, "en": s.english}
                return _replace(word, example=example)
    return word


def _replace(entry: Entry, **changes) -> Entry:
    data = asdict(entry)
    data.update(changes)
    return Entry(**data)


# --- Zhuyin ----------------------------------------------------------------------------------------

_TONE_MARKS = {"\u0304": 1, "\u0301": 2, "\u030c": 3, "\u0300": 4}
_SYLLABLES: frozenset[str] | None = None


def _syllables() -> frozenset[str]:
    """Every toneless pinyin syllable pypinyin knows ("xie", "zhuang", "lü" as "lv")."""
    global _SYLLABLES
    if _SYLLABLES is None:
        from pypinyin.constants import PINYIN_DICT

        found = set()
        for readings in PINYIN_DICT.values():
            for reading in readings.split(","):
                plain, _ = _plain(reading)
                if plain:
                    found.add(plain)
        _SYLLABLES = frozenset(found)
    return _SYLLABLES


def _plain(syllable: str) -> tuple[str, int]:
    """"xiè" -> ("xie", 4); "xie" -> ("xie", 5) (neutral); "lǜ" -> ("lv", 4)."""
    tone = 5
    out = []
    for char in unicodedata.normalize("NFD", syllable.lower()):
        if char in _TONE_MARKS:
            tone = _TONE_MARKS[char]
        elif char == "\u0308" and out and out[-1] == "u":  # ü
            out[-1] = "v"
        elif char.isalpha():
            out.append(char)
    return "".join(out), tone


def split_pinyin(text: str) -> list[tuple[str, int]] | None:
    """Pinyin words into (syllable, tone), or None when they cannot be split."""
    syllables = _syllables()
    result: list[tuple[str, int]] = []
    for word in re.split(r"[\s'’\-]+", text):
        word = re.sub(r"[^\w\u0300-\u036f]", "", unicodedata.normalize("NFD", word))
        if not word:
            continue
        parts = _split_word(unicodedata.normalize("NFC", word), syllables)
        if parts is None:
            return None
        result += parts
    return result


def _split_word(word: str, syllables: frozenset[str]) -> list[tuple[str, int]] | None:
    """Longest syllable first, backtracking: "xièxie" -> xiè + xie; "Xī'ān" is split earlier."""
    if not word:
        return []
    for end in range(min(len(word), 7), 0, -1):
        plain, tone = _plain(word[:end])
        if plain in syllables:
            rest = _split_word(word[end:], syllables)
            if rest is not None:
                return [(plain, tone), *rest]
    return None


def zhuyin_for(hanzi: str, pinyin: str) -> tuple[str, str]:
    """(Zhuyin, how it was made): from the lesson's pinyin when its syllables match the
    characters one to one, else pypinyin's reading of the characters."""
    from pypinyin.style.bopomofo import BopomofoConverter

    converter = BopomofoConverter()
    forms = [p for p in re.split(r"[／/]", hanzi) if p.strip()]
    han_count = len(_HAN.findall(forms[0] if forms else hanzi))
    syllables = split_pinyin(pinyin.split("/")[0])
    if syllables and len(syllables) == han_count:
        return " ".join(_bopomofo(converter, s, t) for s, t in syllables), "lesson pinyin"
    from pypinyin import Style
    from pypinyin import pinyin as read

    chars = "".join(_HAN.findall(forms[0] if forms else hanzi))
    marks = [r[0] for r in read(chars, style=Style.BOPOMOFO, heteronym=False)]
    return " ".join(_neutral_first(m) for m in marks), "pypinyin"


def _bopomofo(converter, syllable: str, tone: int) -> str:
    numbered = syllable.replace("v", "ü") + (str(tone) if tone != 5 else "")
    return _neutral_first(converter.to_bopomofo(numbered.replace("ü", "v")))


def _neutral_first(mark: str) -> str:
    """Taiwan writes the neutral-tone dot before the syllable: ˙ㄒㄧㄝ."""
    return "˙" + mark.replace("˙", "") if "˙" in mark else mark
