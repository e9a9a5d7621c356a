"""Anticipated questions: what people ask about each passage, as a search signal.

Written from the documents by people who never saw the code (`eval/anticipated/`, its README says
how), each question labelled with the sentence, list item or table row of a document that answers
it (or marked unanswerable: a near-miss). Why: with the small embedding model, a question is closer
to other questions about the same fact than to the passage that states it, and a Chinese question
about a rule written only in English meets Chinese questions about that rule. So a new question is
also compared with the anticipated ones, and the passages they point to get:

- `unit`: the best cosine of an anticipated question whose evidence is in this passage;
- `section`: the best cosine of one whose evidence is in this passage's section, in any version of
  the document (handbook.en § Housing and handbook.es § Alojamiento are one section);
- `vote`: the passage's share of the nearest anticipated questions' weight (a soft k-NN vote).

The vectors (`questions.npz`, float16) are computed by ``python -m bot.answering train`` with the
configured embedding model; an item whose evidence is no longer in the documents (a document
changed) is left out and logged, so a stale question never points to the wrong passage.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.informal import search_text
from bot.textnorm import fold

logger = logging.getLogger(__name__)

CORPUS_DIR = Path("eval/anticipated")
VECTORS = Path(__file__).parent / "questions.npz"
KINDS = ("answer", "unanswerable")
# The soft vote: the K nearest anticipated questions, weighted exp(TEMPERATURE * (cosine - best)).
K = 10
TEMPERATURE = 30.0
# Fewer than this share of the answerable questions still pointing to the documents: logged as
# an error (the documents were rewritten; the ranking reads a bank that no longer fits them).
MIN_ATTACHED = 0.8
_MARKUP = re.compile(r"[*`]+")
_SPACE = re.compile(r"\s+")
_NUMBERED = re.compile(r"^(?:\d+[.)]|-)\s+")


@dataclass(frozen=True)
class Item:
    id: str
    question: str
    lang: str
    kind: str  # "answer" or "unanswerable"
    source: str  # the document (relative to the knowledge folder) that answers, or that it is near
    evidence: str  # verbatim from `source` ("" for an unanswerable item)


def read_items(corpus: Path = CORPUS_DIR) -> list[Item]:
    """Every item of the corpus files (`*.jsonl`, in name order); malformed lines raise."""
    items = []
    for path in sorted(corpus.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            row = json.loads(line)
            if row["kind"] not in KINDS or row["lang"] not in ("es", "en", "zh-TW"):
                raise ValueError(f"{path}:{number}: kind {row['kind']!r} / lang {row['lang']!r}")
            items.append(Item(row["id"], row["question"], row["lang"], row["kind"], row["source"],
                              row.get("evidence") or ""))  # fmt: skip
    return items


def corpus_hash(corpus: Path = CORPUS_DIR) -> str:
    digest = hashlib.sha256()
    for path in sorted(corpus.glob("*.jsonl")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def normalized(text: str) -> str:
    """Folded text without Markdown emphasis and with single spaces: how evidence is matched."""
    return _SPACE.sub(" ", fold(_MARKUP.sub("", text))).strip()


def evidence_pieces(evidence: str) -> list[str]:
    """A table run ("Police | 110") is matched cell by cell: a row chunk reads "Need: Police ·
    Number: 110"."""
    pieces = [normalized(p) for p in evidence.split("|")]
    # a numbered list item is stored without its number ("1. a) 坐 b) 騎" -> "a) 坐 b) 騎")
    return [_NUMBERED.sub("", p) for p in pieces if p]


def build(items: list[Item], embedder, out: Path = VECTORS, corpus: Path = CORPUS_DIR) -> None:
    """Embed every question as the bot embeds a message (its search text) and write `out`."""
    vectors = np.stack([np.asarray(embedder.embed_query(search_text(i.question, i.lang)), np.float32)
                        for i in items])  # fmt: skip
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    np.savez_compressed(
        out,
        vectors=vectors.astype(np.float16),
        ids=np.array([i.id for i in items]),
        langs=np.array([i.lang for i in items]),
        kinds=np.array([i.kind for i in items]),
        sources=np.array([i.source for i in items]),
        evidence=np.array([i.evidence for i in items]),
        meta=np.array(json.dumps({"embedder": getattr(embedder, "name", None),
                                  "corpus_sha256": corpus_hash(corpus)})),  # fmt: skip
    )


@dataclass(frozen=True)
class BankScores:
    """Per chunk position: `unit`, `section`, `vote` (see the module's docstring; 0 where no
    anticipated question points); and over the whole bank: `best` (the closest answerable
    question's cosine) and `best_unanswerable` (the closest near-miss's)."""

    unit: np.ndarray
    section: np.ndarray
    vote: np.ndarray
    best: float
    best_unanswerable: float
    # chunk position -> the evidence (normalized pieces) of the nearest anticipated questions
    # answered in it, nearest first: the sentence or row a reply should lead with
    evidence: dict[int, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    # per chunk position: its section has questions of the corpus (see `AttachedBank.covered`)
    covered: np.ndarray | None = None

    def hit_fields(self, position: int) -> dict:
        """What a search hit on the chunk at `position` carries of these scores (`Hit`'s fields)."""
        return {
            "bank": float(self.section[position]), "vote": float(self.vote[position]),
            "near_miss": self.best_unanswerable, "bank_best": self.best,
            "evidence": self.evidence.get(position, ()),
            "covered": True if self.covered is None else bool(self.covered[position]),
        }  # fmt: skip


class QuestionBank:
    """The anticipated questions' vectors and labels, loaded once; `attach` ties them to an index."""

    def __init__(
        self, vectors, ids, langs, kinds, sources, evidence, embedder: str | None,
        corpus: str | None = None,
    ) -> None:
        self.corpus = corpus  # the sha256 of the corpus the vectors were computed from
        self.vectors = np.asarray(vectors, dtype=np.float32)
        self.ids, self.langs, self.kinds = list(ids), list(langs), list(kinds)
        self.sources, self.evidence = list(sources), list(evidence)
        columns = (self.ids, self.langs, self.kinds, self.sources, self.evidence)
        if any(len(c) != len(self.vectors) for c in columns):
            raise ValueError("the anticipated questions' arrays differ in length")
        self.embedder = embedder

    @classmethod
    def load(cls, path: Path = VECTORS) -> QuestionBank | None:
        """The bank in `path`, or None (logged) when it is missing or unreadable."""
        if not path.exists():
            logger.warning("no anticipated questions at %s (python -m bot.answering train)", path)
            return None
        try:
            with path.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                return cls(data["vectors"], data["ids"].tolist(), data["langs"].tolist(),
                           data["kinds"].tolist(), data["sources"].tolist(),
                           data["evidence"].tolist(), meta.get("embedder"),
                           meta.get("corpus_sha256"))  # fmt: skip
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            logger.warning("the anticipated questions in %s are unreadable (%s)", path, exc)
            return None

    def __len__(self) -> int:
        return len(self.ids)

    def attach(self, chunks, embedder=None) -> AttachedBank:
        """The bank tied to an index's chunks: each answerable item to the chunks of its source
        that hold its evidence, and to their section in every version of the document. With an
        `embedder`, a section no item points to whose heading is a question (an FAQ approved on
        the desk, `knowledge/learned/`) gets that question and its other wordings as items."""
        sections = SectionMap(chunks)
        by_source: dict[str, list[tuple[int, str]]] = {}
        for pos, chunk in enumerate(chunks):
            by_source.setdefault(chunk.source, []).append((pos, normalized(chunk.text)))
        pairs_item, pairs_chunk, item_section, answerable, missing = [], [], [], [], 0
        unanswerable, item_pieces = [], []
        for row, (kind, source, evidence) in enumerate(zip(self.kinds, self.sources, self.evidence, strict=True)):
            if kind != "answer":
                unanswerable.append(row)
                continue
            pieces = evidence_pieces(evidence)
            found = [pos for pos, text in by_source.get(source, ()) if pieces and all(p in text for p in pieces)]
            if not found:
                missing += 1
                continue
            answerable.append(row)
            item_pieces.append(tuple(pieces))
            item_section.append(sections.of(found[0]))
            for pos in found:
                pairs_item.append(len(answerable) - 1)
                pairs_chunk.append(pos)
        if missing:
            logger.warning("%d anticipated questions point to evidence no longer in the documents: "
                           "left out", missing)  # fmt: skip
        if len(answerable) < MIN_ATTACHED * sum(k == "answer" for k in self.kinds):
            logger.error("only %d of the anticipated questions still point to the documents: "
                         "retrain (python -m bot.answering train)", len(answerable))  # fmt: skip
        covered = set(item_section)
        vectors = [self.vectors[answerable]]
        for questions, positions in _question_headings(chunks, sections, covered) if embedder else ():
            for question, language in questions:
                vector = np.asarray(embedder.embed_query(search_text(question, language)), np.float32)
                vectors.append((vector / (float(np.linalg.norm(vector)) or 1.0))[None, :])
                item_pieces.append(())
                item_section.append(sections.of(positions[0]))
                for pos in positions:
                    pairs_item.append(len(item_pieces) - 1)
                    pairs_chunk.append(pos)
        return AttachedBank(
            np.concatenate(vectors), np.array(pairs_item, dtype=np.int64),
            np.array(pairs_chunk, dtype=np.int64), np.array(item_section, dtype=np.int64),
            sections.chunk_sections, self.vectors[unanswerable], len(chunks), self, item_pieces,
            np.isin(sections.chunk_sections, sorted(covered)),
        )  # fmt: skip


_QUOTED = re.compile(r"«([^»]{3,300})»")
_QUESTION_END = re.compile(r"[?？]\s*$")


def _question_headings(chunks, sections: SectionMap, covered: set[int]):
    """(the questions, the chunk positions) of each section no anticipated question points to
    whose heading is a question: the heading, and the wordings quoted on an "Also asked as:"
    line (how `bot.learning.publish` writes an approved FAQ)."""
    by_section: dict[int, list[int]] = {}
    for pos in range(len(chunks)):
        section = sections.of(pos)
        if section not in covered:
            by_section.setdefault(section, []).append(pos)
    for positions in by_section.values():
        first = chunks[positions[0]]
        heading = first.metadata.get("section", "").split(" › ")[-1].strip()
        if not _QUESTION_END.search(heading):
            continue
        language = first.metadata.get("language", "en")
        questions = [(heading, language)]
        lines = first.text.split("\n")
        if lines and ":" in lines[0]:
            questions += [(q.strip(), language) for q in _QUOTED.findall(lines[0])]
        yield questions, positions


class SectionMap:
    """A section id per chunk, the same for the parallel versions of a document (handbook.en and
    handbook.es): sections are numbered in document order, and versions with the same number of
    sections share the numbers; a document with no parallel version keeps its own."""

    def __init__(self, chunks) -> None:
        order: dict[str, list[str]] = {}
        first: dict[tuple[str, str], int] = {}
        for pos, chunk in enumerate(chunks):
            key = (chunk.source, chunk.metadata.get("section", ""))
            if key not in first:
                first[key] = int(chunk.metadata.get("chunk_index", pos))
                order.setdefault(chunk.source, []).append(key[1])
        ordinal = {
            (source, name): n
            for source, names in order.items()
            for n, name in enumerate(sorted(names, key=lambda s, src=source: first[(src, s)]))
        }
        counts: dict[str, set[int]] = {}
        for chunk in chunks:
            counts.setdefault(self._group(chunk), set()).add(len(order[chunk.source]))
        for group, numbers in sorted(counts.items()):
            if len(numbers) > 1:  # the versions' headings differ: each keeps its own sections
                logger.warning("the versions of %s have %s sections: their anticipated questions "
                               "are not shared between them", group, sorted(numbers))  # fmt: skip
        ids: dict[tuple[str, int], int] = {}
        self.chunk_sections = np.zeros(len(chunks), dtype=np.int64)
        for pos, chunk in enumerate(chunks):
            group = self._group(chunk)
            shared = len(counts[group]) == 1  # every version has as many sections
            key = (group if shared else chunk.source, ordinal[(chunk.source, chunk.metadata.get("section", ""))])
            self.chunk_sections[pos] = ids.setdefault(key, len(ids))

    @staticmethod
    def _group(chunk) -> str:
        return chunk.metadata.get("group") or chunk.source

    def of(self, position: int) -> int:
        return int(self.chunk_sections[position])


class AttachedBank:
    """The bank's signals for one index (see `BankScores`)."""

    def __init__(
        self, vectors, pair_item, pair_chunk, item_section, chunk_sections, near_misses, n_chunks,
        source: QuestionBank,
        item_pieces: list[tuple[str, ...]],
        covered: np.ndarray | None = None,
    ) -> None:
        self.source = source  # the bank this was attached from (attached again on a reload)
        # per chunk: its section has questions of the corpus (not only its own heading); where
        # it has none, the answer gate judges without the bank's signals
        self.covered = covered if covered is not None else np.ones(n_chunks, dtype=bool)
        self.item_pieces = item_pieces
        self.item_chunks: dict[int, list[int]] = {}
        for item, pos in zip(pair_item.tolist(), pair_chunk.tolist(), strict=True):
            self.item_chunks.setdefault(item, []).append(pos)
        self.vectors = vectors
        self.pair_item, self.pair_chunk = pair_item, pair_chunk
        self.item_section = item_section
        self.chunk_sections = chunk_sections
        self.near_misses = near_misses
        self.n_chunks = n_chunks
        self.n_sections = int(chunk_sections.max()) + 1 if len(chunk_sections) else 0

    def __len__(self) -> int:
        return len(self.vectors)

    def scores(self, vector: np.ndarray) -> BankScores:
        n = self.n_chunks
        unit, section, vote = np.zeros(n), np.zeros(n), np.zeros(n)
        if not len(self.vectors):
            return BankScores(unit, section, vote, 0.0, 0.0, covered=self.covered)
        q = np.asarray(vector, dtype=np.float32)
        q = q / (float(np.linalg.norm(q)) or 1.0)
        # einsum, not `@`: see bot/index, dense_search (BLAS threads slow the next embedding)
        sims = np.einsum("ij,j->i", self.vectors, q).astype(np.float64)
        np.maximum.at(unit, self.pair_chunk, sims[self.pair_item])
        by_section = np.zeros(self.n_sections)
        np.maximum.at(by_section, self.item_section, sims)
        section = by_section[self.chunk_sections]
        nearest = np.argsort(-sims)[:K]
        weights = np.exp(TEMPERATURE * (sims[nearest] - sims[nearest[0]]))
        section_vote = np.zeros(self.n_sections)
        np.add.at(section_vote, self.item_section[nearest], weights / weights.sum())
        vote = section_vote[self.chunk_sections]
        near = float(np.einsum("ij,j->i", self.near_misses, q).max()) if len(self.near_misses) else 0.0
        evidence: dict[int, list[tuple[str, ...]]] = {}
        for item in nearest.tolist():
            if not self.item_pieces[item]:
                continue  # a heading's question: no sentence to lead with
            for pos in self.item_chunks.get(item, ()):
                if self.item_pieces[item] not in evidence.setdefault(pos, []):
                    evidence[pos].append(self.item_pieces[item])
        return BankScores(unit, section, vote, float(sims.max()), near,
                          {pos: tuple(found) for pos, found in evidence.items()}, self.covered)  # fmt: skip
