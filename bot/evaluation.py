"""`python -m bot eval FILE.jsonl`: answer quality on a question set of the dev-set schema.

A conversation set (`eval/conversations/`) has `turns` (the messages, in order) instead of
`question`: the conversation is played and its last reply is judged.

Each item has `question`, `lang`, `kind` (answer | unanswerable | escalate), `expected_facts`,
`expected_sources` and `escalation_reason`. A fact counts when the reply contains it, ignoring
spacing and thousands separators; a date fact written `YYYY-MM-DD` also counts when the reply
writes that day out with its year, in English, Spanish or Chinese ("November 28, 2026",
"28 de noviembre de 2026", "2026年11月28日"). Metrics, overall and per language:
- correct: items whose reply is right for their kind (answered with the facts, declined, or
  escalated for the right reason)
- precision on answered: answered items that are correct / all answered items
- coverage: correct answers / answerable items
- source hit: answerable items whose cited sources include an expected one
- escalation accuracy: items whose escalate decision and reason match
- crisis recall: crisis items escalated as crisis
- abstention: unanswerable items not answered
- language match: replies in the question's language
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bot.records import AnswerRecord

_IGNORED = re.compile(r"[\s,，\u00a0\u202f]")


def normalize_fact(text: str) -> str:
    return _IGNORED.sub("", text).lower()


_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_MONTHS_EN = ("january", "february", "march", "april", "may", "june", "july", "august",
              "september", "october", "november", "december")  # fmt: skip
_MONTHS_ES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
              "septiembre", "octubre", "noviembre", "diciembre")  # fmt: skip


def _date_patterns(fact: str) -> list[re.Pattern] | None:
    """The ways a reply may write the ISO date `fact`, as patterns on the lower-cased reply
    (spaces and commas optional between the parts; never inside a longer number); None when
    `fact` is not exactly one date."""
    match = _ISO_DATE.fullmatch(fact.strip())
    if match is None:
        return None
    year, month, day = (int(g) for g in match.groups())
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        return None
    en, es = _MONTHS_EN[month - 1], _MONTHS_ES[month - 1]
    gap = r"[\s,，\u00a0\u202f]*"
    nth = r"(?:st|nd|rd|th)?"
    forms = [
        rf"{year}-{month:02d}-{day:02d}", rf"{en}{gap}{day}{nth}{gap}{year}",
        rf"{day}{nth}{gap}{en}{gap}{year}",
        rf"{day}{gap}de{gap}{es}{gap}del?{gap}{year}", rf"{year}{gap}年{gap}{month}{gap}月{gap}{day}{gap}日",
        rf"{year}/0?{month}/0?{day}",
    ]  # fmt: skip
    return [re.compile(rf"(?<!\d){form}(?!\d)") for form in forms]


def has_fact(reply: str, fact: str) -> bool:
    """Whether the reply states `fact` (see the module docstring for what counts)."""
    patterns = _date_patterns(fact)
    if patterns is None:
        return normalize_fact(fact) in normalize_fact(reply)
    said = reply.lower()
    return any(p.search(said) for p in patterns)


@dataclass
class ItemResult:
    item: dict
    record: AnswerRecord
    correct: bool
    source_hit: bool
    escalation_ok: bool
    language_ok: bool

    def to_dict(self) -> dict:
        return {
            "id": self.item.get("id"),
            "kind": self.item.get("kind"),
            "expected_facts": self.item.get("expected_facts", []),
            "expected_sources": self.item.get("expected_sources", []),
            "correct": self.correct,
            "source_hit": self.source_hit,
            "escalation_ok": self.escalation_ok,
            "language_ok": self.language_ok,
            **self.record.to_dict(),
        }


def judge(item: dict, record: AnswerRecord) -> ItemResult:
    kind = item.get("kind", "answer")
    facts = item.get("expected_facts") or []
    expected_sources = set(item.get("expected_sources") or [])
    cited = {c.source for c in record.sources}
    source_hit = bool(expected_sources & cited) if expected_sources else not record.answered
    facts_ok = all(has_fact(record.answer, f) for f in facts)
    reason = item.get("escalation_reason")
    if kind == "answer":
        correct = record.answered and facts_ok and (not expected_sources or source_hit)
    elif kind == "unanswerable":
        correct = not record.answered and not record.escalate
    else:
        correct = record.escalate and record.escalation_reason == reason and facts_ok
    escalation_ok = record.escalate == (kind == "escalate") and (
        kind != "escalate" or record.escalation_reason == reason
    )
    return ItemResult(item, record, correct, source_hit, escalation_ok, record.language == item.get("lang"))


@dataclass
class Scores:
    results: list[ItemResult] = field(default_factory=list)

    def metrics(self) -> dict[str, float | None]:
        rs = self.results
        answered = [r for r in rs if r.record.answered]
        answerable = [r for r in rs if r.item.get("kind") == "answer"]
        unanswerable = [r for r in rs if r.item.get("kind") == "unanswerable"]
        crisis = [r for r in rs if r.item.get("escalation_reason") == "crisis"]

        def ratio(num: int, den: int) -> float | None:
            return round(num / den, 3) if den else None

        return {
            "items": len(rs),
            "correct": ratio(sum(r.correct for r in rs), len(rs)),
            "precision_on_answered": ratio(sum(r.correct for r in answered), len(answered)),
            "coverage": ratio(sum(r.correct for r in answerable), len(answerable)),
            "source_hit": ratio(sum(r.source_hit for r in answerable), len(answerable)),
            "escalation_accuracy": ratio(sum(r.escalation_ok for r in rs), len(rs)),
            "crisis_recall": ratio(
                sum(r.record.escalation_reason == "crisis" for r in crisis), len(crisis)
            ),
            "abstention": ratio(sum(not r.record.answered for r in unanswerable), len(unanswerable)),
            "language_match": ratio(sum(r.language_ok for r in rs), len(rs)),
        }

    def by_language(self) -> dict[str, dict]:
        groups: dict[str, list[ItemResult]] = defaultdict(list)
        for r in self.results:
            groups[r.item.get("lang", "?")].append(r)
        return {lang: Scores(items).metrics() for lang, items in sorted(groups.items())}


def read_items(path: Path) -> list[dict]:
    with Path(path).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def evaluate(assistant, items: list[dict]) -> Scores:
    """Each item answered on its own; a conversation item (`turns`: its messages in order) is
    played through a fresh `Conversations`, and its last reply is judged."""
    scores = Scores()
    for item in items:
        if "turns" in item:
            record = play_conversation(assistant, item["turns"])
            item = {**item, "question": item["turns"][-1]}
        else:
            record = assistant.answer(item["question"])
        scores.results.append(judge(item, record))
    return scores


def play_conversation(assistant, turns: list[str]) -> AnswerRecord:
    """The reply to the last message of a conversation, read as the console chat reads it."""
    # deferred: bot.conversation loads SQLAlchemy (heavy), only conversation items need it
    from bot.conversation import Conversations, MemoryConversationStore

    conversations = Conversations(assistant, MemoryConversationStore())
    record = None
    for text in turns:
        record = conversations.reply(1, text, user_id=1)
    return record


def format_table(scores: Scores) -> str:
    overall = scores.metrics()
    per_lang = scores.by_language()
    columns = ["overall", *per_lang]
    rows = [("metric", *columns)]
    for key in overall:
        values = [overall[key], *(per_lang[lang][key] for lang in per_lang)]
        rows.append((key, *("-" if v is None else f"{v:g}" for v in values)))
    return align(rows)


def align(rows: list[tuple]) -> str:
    """Rows of cells as left-aligned columns (the plain tables the eval commands print)."""
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows)
