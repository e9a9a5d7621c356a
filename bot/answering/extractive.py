"""The offline answer: the most relevant rows and sentences of the best passages, with citations.

No model writes anything here. The reply is composed from the retrieved evidence: the best
passage, plus close runners-up that add something (not the same passage in another language),
each trimmed to the sentences that bear on the question when it is long. When the evidence is
only in another language than the asker's, the reply says so and quotes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.answering.evidence import ANSWER_TYPE_EVIDENCE, answer_types
from bot.anticipated import normalized
from bot.i18n import Translator
from bot.records import Citation
from bot.retrieval import Hit
from bot.textnorm import fold, has_han, tokenize

MAX_PASSAGES = 3
RUNNER_UP_RATIO = 0.72  # a runner-up that shares a topic word with the question
CLOSE_RATIO = 0.9  # a runner-up that scores almost as well as the best
# With the learned ranking the scores are probabilities, not fused scores: a runner-up is kept
# at 0.6 of the best's probability (0.45 when it shares a topic word). Cross-validated on the
# question set's train part (right replies if all answered / median reply length): 0.9/0.72 gave
# 0.65 / 318 characters, 0.6/0.45 0.72 / 431, 0.4/0.3 0.75 / 565; the middle keeps replies short.
LEARNED_RATIOS = (0.6, 0.45)
LONG_PASSAGE = 420
# A unit holding the evidence of one of the EVIDENCE_HINTS nearest anticipated questions answered
# in the passage scores EVIDENCE_WEIGHT more (as many as that many shared words).
EVIDENCE_HINTS = 2
EVIDENCE_WEIGHT = 3.0
_SENTENCES = re.compile(r"(?<=[.!?;])\s+(?=[A-Z¿¡(\"“0-9])|(?<=[。！？；])|\n")
_ABBREVIATION = re.compile(r"\b(?:No|St|Dist|Rd|Ave|Mr|Mrs|Ms|Dr|Prof|Sr|Sra|Lic|Ing|approx|e\.g|i\.e|etc|Tel|Ext)\.$", re.I)


@dataclass
class ExtractiveAnswer:
    text: str  # the body and its sources line
    citations: list[Citation]
    hits: list[Hit] = field(default_factory=list)
    foreign: bool = False  # the evidence is in another language than the asker's
    body: str = ""  # the text without the sources line


def short_title(title: str, language: str) -> str:
    """A document title as a citation shows it: the part in the asker's language, no subtitle."""
    parts = [p.strip() for p in re.split(r"\s+[—–]\s+", title) if p.strip()] or [title]
    if language == "zh-TW":
        chosen = next((p for p in parts if has_han(p)), parts[0])
    elif language == "es":
        chosen = next((p for p in parts if re.search(r"lecci[oó]n|gu[ií]a|manual|preguntas", p, re.I)), None)
        chosen = chosen or next((p for p in parts if not has_han(p)), parts[0])
    else:
        chosen = next((p for p in parts if not has_han(p)), parts[0])
    return chosen


def citation_for(hit: Hit, language: str) -> Citation:
    meta = hit.chunk.metadata
    section = meta.get("section") or meta.get("row_id") or ""
    return Citation(meta["source"], section, short_title(meta.get("title", meta["source"]), language))


def select_passages(
    hits: list[Hit], question: str = "", rare: Callable[[str], bool] | None = None,
    ratios: tuple[float, float] = (CLOSE_RATIO, RUNNER_UP_RATIO),
) -> list[Hit]:
    """The best hit, and runners-up that score almost as well, or close enough and share a
    topic word with the question (a word most passages do not use); never the same passage in
    another language."""
    if not hits:
        return []
    chosen = [hits[0]]
    asked = {t for t in tokenize(question) if len(t) > 1 and (rare is None or rare(t))}
    top = hits[0].score
    for h in hits[1:]:
        if len(chosen) >= MAX_PASSAGES:
            break
        meta = h.chunk.metadata
        if any(
            c.chunk.metadata.get("group") == meta.get("group")
            and c.chunk.metadata.get("language") != meta.get("language")
            for c in chosen
        ):
            continue  # a parallel version of a passage already chosen
        on_topic = bool(asked & set(tokenize(h.chunk.text)))
        if h.score >= top * ratios[0] or (on_topic and h.score >= top * ratios[1]):
            chosen.append(h)
    return chosen


def split_sentences(text: str) -> list[str]:
    """Sentences and lines, not broken after abbreviations such as "No." or "St."."""
    pieces = [s.strip() for s in _SENTENCES.split(text) if s and s.strip()]
    merged: list[str] = []
    for piece in pieces:
        if merged and _ABBREVIATION.search(merged[-1]):
            merged[-1] += " " + piece
        else:
            merged.append(piece)
    return merged


def trim(text: str, question: str, evidence: tuple[tuple[str, ...], ...] = ()) -> str:
    """The part of a passage that bears on the question: of a passage made of several list items,
    the items that share words with the question or hold the kind of fact it asks for; of a long
    paragraph, such sentences (its first sentence always stays, as it names the topic). Table rows
    and short paragraphs stay whole. `evidence`: what the nearest anticipated questions were
    answered by (`Hit.evidence`); a unit holding it counts as most relevant."""
    lines = [line for line in text.split("\n") if line.strip()]
    if len(lines) > 1:
        keep = _relevant(lines, question, evidence)
        if keep:
            text = "\n".join(lines[i] for i in keep)
    if len(text) <= LONG_PASSAGE:
        return text
    sentences = split_sentences(text)
    if len(sentences) <= 2:
        return text
    keep = _relevant(sentences, question, evidence)
    if not keep:
        return text
    kept = [sentences[i] for i in sorted(set(keep) | {0})]
    return " ".join(kept) if len(kept) < len(sentences) else text


def _relevant(units: list[str], question: str, evidence: tuple[tuple[str, ...], ...] = ()) -> list[int]:
    """Positions of the units worth keeping (none when nothing stands out)."""
    q_tokens = set(tokenize(question))
    types = answer_types(question)
    scores = []
    for unit in units:
        overlap = len(q_tokens & set(tokenize(unit)))
        typed = sum(1 for t in types if ANSWER_TYPE_EVIDENCE[t].search(fold(unit)))
        plain = normalized(unit) if evidence else ""
        held = any(all(p in plain for p in pieces) for pieces in evidence[:EVIDENCE_HINTS])
        scores.append(overlap + 0.5 * typed + (EVIDENCE_WEIGHT if held else 0.0))
    best = max(scores)
    return [i for i, score in enumerate(scores) if score > 0 and score >= max(0.5, best * 0.5)]


def compose(
    question: str, language: str, hits: list[Hit], tr: Translator,
    rare: Callable[[str], bool] | None = None,
    ratios: tuple[float, float] = (CLOSE_RATIO, RUNNER_UP_RATIO),
) -> ExtractiveAnswer:
    """The reply text (passages, framing, sources line) and its citations. `rare(token)` tells
    the words that identify a topic (not in most passages)."""
    passages = select_passages(hits, question, rare, ratios)
    if not passages:
        return ExtractiveAnswer("", [], [])
    citations: list[Citation] = []
    for h in passages:
        c = citation_for(h, language)
        if c not in citations:
            citations.append(c)
    foreign_langs = [
        h.chunk.metadata.get("language", "")
        for h in passages
        if h.chunk.metadata.get("language") not in (language, None, "")
        and h.chunk.metadata.get("doc_type") != "lesson"
    ]
    bodies = [trim(h.chunk.text, question, h.evidence) for h in passages]
    body = "\n".join(bodies)
    foreign = len(foreign_langs) == len(passages)
    if foreign:
        lang_name = tr.t(language, f"answers.language_names.{foreign_langs[0]}")
        lead = tr.t(language, "answers.foreign_lead", document=citations[0].title, language=lang_name)
        text = f"{lead}\n«{body}»"
    else:
        text = body
    body = text
    text += "\n\n" + sources_line(citations, language, tr)
    return ExtractiveAnswer(text, citations, passages, foreign, body)


def sources_line(citations: list[Citation], language: str, tr: Translator) -> str:
    """"Sources: Title › Section; ..." in the asker's language."""
    cited = "; ".join(
        dict.fromkeys(f"{c.title or c.source} › {c.section}" if c.section else c.title or c.source for c in citations)
    )
    return tr.t(language, "answers.sources", sources=cited)
