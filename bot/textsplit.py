"""Splitting a text into parts that fit a message: used for answers (bot/channels/telegram/
formatting.py) and for what the desk relays (bot/escalation/relay.py), measured in UTF-16 code
units as Telegram counts them."""

from __future__ import annotations

from collections.abc import Callable

_SEPARATORS = ("\n\n", "\n", " ")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(
    text: str,
    limit: int,
    *,
    measure: Callable[[str], int] = utf16_len,
    separators: tuple[str, ...] = _SEPARATORS,
) -> list[str]:
    """Split `text` into chunks with `measure(chunk) <= limit`.

    Prefers paragraph breaks, then line breaks, then spaces; cuts inside a word only when a
    single word is longer than `limit`. Separators at a cut are dropped; chunks are not empty.
    """
    text = text.strip()
    if not text:
        return []
    if measure(text) <= limit:
        return [text]
    if not separators:
        return _hard_cut(text, limit, measure)
    sep, rest = separators[0], separators[1:]
    chunks: list[str] = []
    current = ""
    for piece in text.split(sep):
        candidate = f"{current}{sep}{piece}" if current else piece
        if measure(candidate.strip()) <= limit:
            current = candidate
            continue
        if current.strip():
            chunks.append(current.strip())
        if measure(piece.strip()) <= limit:
            current = piece
        else:
            chunks.extend(split_text(piece, limit, measure=measure, separators=rest))
            current = ""
    if current.strip():
        chunks.append(current.strip())
    return chunks


def _hard_cut(text: str, limit: int, measure: Callable[[str], int]) -> list[str]:
    chunks: list[str] = []
    while text:
        # Binary search the longest prefix that fits (measure grows with the prefix).
        lo, hi = 1, len(text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if measure(text[:mid]) <= limit:
                lo = mid
            else:
                hi = mid - 1
        chunks.append(text[:lo])
        text = text[lo:]
    return chunks
