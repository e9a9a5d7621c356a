"""Answer records to Telegram HTML: escaped, with a short list of sources, in parts under 4096.

Only the sources block carries tags, each opened and closed on one line; answer text is plain
and escaped after it is split, so a split can never fall inside a tag or an entity.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from bot.i18n import t
from bot.records import AnswerRecord, Citation
from bot.textsplit import split_text, utf16_len

__all__ = ["MAX_MESSAGE", "escape", "render_answer", "render_sources", "split_text", "utf16_len"]

# Telegram's limit is 4096 UTF-16 code units after entity parsing; measuring the HTML source in
# UTF-16 units is never shorter, so parts measured this way always fit.
MAX_MESSAGE = 4096
MAX_SOURCES = 5


def escape(text: str) -> str:
    """Escape the three characters Telegram's HTML parse mode reserves (<, >, &)."""
    return html.escape(text, quote=False)


def render_sources(citations: Iterable[Citation], language: str) -> str:
    """`Sources:` and one line per distinct citation: title › section (at most MAX_SOURCES)."""
    lines: list[str] = []
    seen: set[tuple[str, str]] = set()
    for citation in citations:
        label = citation.title or citation.source
        if (label, citation.section) in seen:
            continue
        seen.add((label, citation.section))
        text = f"{label} › {citation.section}" if citation.section else label
        lines.append(f"• {escape(text)}")
        if len(lines) == MAX_SOURCES:
            break
    if not lines:
        return ""
    return f"<b>{escape(t(language, 'telegram.sources'))}</b>\n" + "\n".join(lines)


def render_answer(record: AnswerRecord, *, limit: int = MAX_MESSAGE) -> list[str]:
    """The HTML parts to send for one answer, each at most `limit` UTF-16 units."""
    text = record.body if record.body is not None else record.answer
    parts = [escape(chunk) for chunk in split_text(text, limit, measure=_escaped_len)]
    sources = render_sources(record.sources, record.language)
    if sources:
        if parts and utf16_len(parts[-1]) + 2 + utf16_len(sources) <= limit:
            parts[-1] = f"{parts[-1]}\n\n{sources}"
        else:
            # Each source line is balanced on its own, so splitting on lines is safe.
            parts.extend(split_text(sources, limit, measure=utf16_len, separators=("\n",)))
    return parts or [escape(record.answer) or "…"]


def _escaped_len(text: str) -> int:
    return utf16_len(escape(text))
