"""Remove personal details from a text before it becomes an FAQ candidate.

What goes, replaced by a placeholder a reviewer sees (`[e-mail]`, `[phone]`, `[id]`, `[name]`,
`[@user]`, `[link]`):
- e-mail addresses; links (they often carry ids);
- phone numbers: Taiwan (+886 …, 09xx-xxx-xxx, (06) 253-3131), Mexico (+52 …), and any other run
  of 8 or more digits with the usual separators;
- identity numbers: Taiwan national ids and resident certificates (A123456789, AB12345678,
  A812345678), passports written as a letter and 8 digits, Mexican CURP and RFC, student numbers
  (a letter and 7-9 digits, such as M11234567);
- Telegram @usernames;
- names: the ones the caller knows (the trainee's, the counselors' on the roster, whole and by
  their parts) and a name introduced in the text ("me llamo …", "my name is …", "我叫…").

It cannot know every name in free text (there is no named-entity model offline); that is why a
person reviews every candidate before it is saved and again before it is approved.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
LINK = re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.IGNORECASE)
USERNAME = re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}\b")
ID_NUMBER = re.compile(
    r"\b(?:[A-Z][12]\d{8}"  # Taiwan national id
    r"|[A-Z]{2}\d{8}|[A-Z][89]\d{8}"  # resident certificate (ARC), old and new
    r"|[A-Z]{4}\d{6}[HM][A-Z]{5}[A-Z0-9]\d"  # CURP
    r"|[A-Z&Ñ]{3,4}\d{6}[A-Z0-9]{3}"  # RFC
    r"|[A-Z]\d{7,9})\b",  # passports, student numbers
    re.IGNORECASE,
)
# A phone number: an optional +country, then digit groups with spaces, dots, dashes or (area).
PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d(?:[\s.-]?\d){6,14}(?!\w)")
INTRODUCED = re.compile(
    r"(?P<lead>\b(?:me llamo|mi nombre es|soy|my name is|i am|i'm|this is)\s+)"
    r"(?P<name>[A-ZÁÉÍÓÚÑ][\wáéíóúñü'-]+(?:\s+[A-ZÁÉÍÓÚÑ][\wáéíóúñü'-]+){0,3})"
    r"|(?P<zlead>我叫|我是|我的名字是)(?P<zname>[\u4e00-\u9fff]{2,3})(?=[，。,. !！?？\s]|$)",
)


@dataclass(frozen=True)
class Scrubbed:
    text: str
    removed: tuple[str, ...] = field(default=())  # the kinds removed: "e-mail", "phone", …

    def __bool__(self) -> bool:
        return bool(self.removed)


def scrub(text: str, names: Iterable[str] = ()) -> Scrubbed:
    """`text` without the personal details above; `removed` says which kinds were found."""
    removed: list[str] = []

    def sub(pattern: re.Pattern, placeholder, kind: str, value: str) -> str:
        new = pattern.sub(placeholder, value)
        if new != value:
            removed.append(kind)
        return new

    out = sub(EMAIL, "[e-mail]", "e-mail", text)
    out = sub(LINK, "[link]", "link", out)
    out = sub(USERNAME, "[@user]", "username", out)
    out = sub(ID_NUMBER, "[id]", "id", out)
    out = sub(PHONE, _phone, "phone", out)

    def introduced(match: re.Match) -> str:
        removed.append("name")
        if match.group("lead"):
            name = match.group("name")
            if name.split()[0].lower() in _NOT_NAMES:
                removed.pop()
                return match.group(0)
            return match.group("lead") + "[name]"
        return match.group("zlead") + "[name]"

    out = INTRODUCED.sub(introduced, out)
    for pattern in _name_patterns(names):
        out, count = pattern.subn("[name]", out)
        if count:
            removed.append("name")
    return Scrubbed(out, tuple(dict.fromkeys(removed)))


DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}")


def _phone(match: re.Match) -> str:
    """A date (2027-03-02, 02/03/2027) looks like a phone number to the pattern: keep it."""
    return match.group(0) if DATE.fullmatch(match.group(0).strip()) else "[phone]"


# Words that follow "soy" / "I am" and are not names ("soy nuevo", "I am Mexican" stay).
_NOT_NAMES = frozenset(
    "a an the not so very really new from de del la el un una mexicano mexicana mexican "
    "estudiante student trainee nuevo nueva".split()
)


def _name_patterns(names: Iterable[str]) -> list[re.Pattern]:
    """A known name, whole and by its parts of 3+ letters, longest first, on word boundaries."""
    parts: set[str] = set()
    for name in names:
        name = (name or "").strip().lstrip("@")
        if not name:
            continue
        parts.add(name)
        parts.update(p for p in re.split(r"\s+", name) if len(p) >= 3)
    patterns = []
    for part in sorted(parts, key=len, reverse=True):
        if re.fullmatch(r"[\u4e00-\u9fff]+", part):
            patterns.append(re.compile(re.escape(part)))
        else:
            patterns.append(re.compile(rf"(?<!\w){re.escape(part)}(?!\w)", re.IGNORECASE))
    return patterns
