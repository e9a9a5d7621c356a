"""The recall floor: self-harm and emergency cues (`floor.yaml`) that make a message a crisis.

The learned classifier decides; the floor only catches what it might miss. A self-harm cue is a
crisis always; an emergency cue ("he collapsed", "me están siguiendo") is a crisis unless the
message is framed as an information question or a hypothetical ("what number do I call if
someone faints?") with no sign that it is happening now ("just", "ahorita", "救命", "!!").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

FLOOR_FILE = Path(__file__).with_name("floor.yaml")


@dataclass(frozen=True)
class Cue:
    name: str
    kind: str  # "self_harm" | "emergency"
    topic: str
    regex: re.Pattern[str]


@dataclass(frozen=True)
class FloorHit:
    cue: Cue
    text: str  # what matched


def _wrap(pattern: str) -> str:
    """Word boundaries where the pattern begins or ends with Latin text (not for Chinese)."""
    return rf"(?:(?<![a-z0-9])(?:{pattern})(?![a-z0-9]))"


class Floor:
    """The compiled cues; build once (`Floor.load()`), then `match` many messages."""

    def __init__(self, cues: list[Cue], hypothetical: re.Pattern[str], immediacy: re.Pattern[str]):
        self.cues = cues
        self.hypothetical = hypothetical
        self.immediacy = immediacy
        self._any = re.compile("|".join(c.regex.pattern for c in cues)) if cues else None

    @classmethod
    def load(cls, path: Path = FLOOR_FILE) -> Floor:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        cues = [
            Cue(entry["name"], kind, entry["topic"], re.compile(_wrap(entry["pattern"])))
            for kind in ("self_harm", "emergency")
            for entry in data.get(kind) or []
        ]
        return cls(cues, re.compile(data["hypothetical"]), re.compile(data["immediacy"]))

    def match(self, norm: str, raw: str = "") -> FloorHit | None:
        """The first cue that makes this normalized message a crisis, or None."""
        if self._any is None or not self._any.search(norm):
            return None
        raw = unicodedata.normalize("NFKC", raw)
        informational = bool(self.hypothetical.search(norm)) and not (
            self.immediacy.search(norm) or "!!" in raw or "！！" in raw
        )
        for cue in self.cues:
            if cue.kind == "emergency" and informational:
                continue
            found = cue.regex.search(norm)
            if found:
                return FloorHit(cue, found.group(0))
        return None
