"""The message as the triage classifier reads it: normalized text and hashed character n-grams.

The same functions build the features when the model is trained (`python -m bot.triage train`)
and when a message is classified, so the two can never disagree. Hashing (CRC-32 of each n-gram,
into 2^20 buckets) needs no vocabulary file; the model keeps weights only for the buckets it saw.
"""

from __future__ import annotations

import math
import re
import unicodedata
import zlib
from collections import Counter

from bot.language import to_traditional
from bot.textnorm import HAN_CLASS, has_han, strip_accents

BUCKETS = 1 << 20
_RUNS = re.compile(r"([a-z])\1{2,}")
_APOS = re.compile(r"(?<=[a-z])['’`´](?=[a-z])")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[a-z0-9]+")
_HAN = re.compile(rf"[{HAN_CLASS}]")
_has_han = has_han


def normalize(text: str) -> str:
    """Lowercase, accents stripped (ñ -> n), Simplified -> Traditional, apostrophes dropped
    ("don't" -> "dont"), runs of 3+ equal letters collapsed ("helppp" -> "help"), one space."""
    text = unicodedata.normalize("NFKC", text or "")
    if _has_han(text):
        text = to_traditional(text)
    text = text.lower()
    text = unicodedata.normalize("NFC", strip_accents(text))
    text = _APOS.sub("", text)
    text = _RUNS.sub(r"\1", text)
    return _SPACES.sub(" ", text).strip()


def grams(norm: str) -> Counter[str]:
    """Character 2- to 4-grams of the normalized text (across word boundaries, so word pairs
    count too), Latin words whole and Chinese characters alone."""
    padded = f" {norm} "
    found: Counter[str] = Counter()
    for n in (2, 3, 4):
        for i in range(len(padded) - n + 1):
            found[padded[i : i + n]] += 1
    for word in _WORD.findall(norm):
        found["w:" + word] += 1
    for char in _HAN.findall(norm):
        found["h:" + char] += 1
    return found


def hashed(norm: str) -> dict[int, float]:
    """{bucket: weight}: sublinear counts (1 + log n), L2-normalized."""
    buckets: dict[int, float] = {}
    for gram, count in grams(norm).items():
        bucket = zlib.crc32(gram.encode("utf-8")) % BUCKETS
        buckets[bucket] = buckets.get(bucket, 0.0) + 1.0 + math.log(count)
    norm2 = math.sqrt(sum(v * v for v in buckets.values())) or 1.0
    return {b: v / norm2 for b, v in buckets.items()}
