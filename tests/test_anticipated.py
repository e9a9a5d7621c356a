"""Anticipated questions (`bot/anticipated`): the corpus points to what the documents say, the
shipped vectors are that corpus's, and a question near an anticipated one finds its passage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.anticipated import (
    CORPUS_DIR,
    VECTORS,
    QuestionBank,
    SectionMap,
    corpus_hash,
    evidence_pieces,
    normalized,
    read_items,
)
from bot.index import Chunk

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"


def chunk(source: str, section: str, text: str, index: int, group: str | None = None) -> Chunk:
    meta = {"source": source, "section": section, "chunk_index": str(index), "group": group or source}
    return Chunk(f"{source}#{index}", text, text, meta)


def bank(rows: list[tuple[str, str, str, str, list[float]]]) -> QuestionBank:
    """rows: (id, kind, source, evidence, vector)."""
    return QuestionBank(
        np.array([r[4] for r in rows], dtype=np.float32), [r[0] for r in rows],
        ["en"] * len(rows), [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows],
        "model",
    )  # fmt: skip


CHUNKS = [
    chunk("h.en.md", "Housing", "Rooms are shared by two trainees. Quiet hours start at 23:00.", 0, "h"),
    chunk("h.en.md", "Allowance", "The allowance is NT$20,000 a month, paid on the 5th.", 1, "h"),
    chunk("h.es.md", "Alojamiento", "Las habitaciones son dobles. Silencio desde las 23:00.", 0, "h"),
    chunk("h.es.md", "Beca", "La beca es de NT$20,000 al mes, pagada el día 5.", 1, "h"),
    chunk("r.en.md", "Fees", "Need: Level 1 fee · Amount: NT$1,500", 0),
]


def test_parallel_versions_share_their_sections_and_other_documents_keep_their_own(caplog) -> None:
    sections = SectionMap(CHUNKS).chunk_sections
    assert sections[0] == sections[2] and sections[1] == sections[3]  # Housing = Alojamiento
    assert len({sections[0], sections[1], sections[4]}) == 3
    assert "sections" not in caplog.text
    # a version with one more heading cannot be matched by order: each keeps its own, logged
    extra = chunk("h.es.md", "Mascotas", "No se permiten mascotas.", 2, "h")
    sections = SectionMap([*CHUNKS, extra]).chunk_sections
    assert sections[0] != sections[2]
    assert "the versions of h have [2, 3] sections" in caplog.text


def test_evidence_is_matched_folded_and_cell_by_cell_and_stale_items_are_left_out(caplog) -> None:
    assert normalized("**Quiet**  hours   start") == "quiet hours start"
    assert evidence_pieces("Level 1 fee | NT$1,500") == ["level 1 fee", "nt$1,500"]
    attached = bank([
        ("a", "answer", "h.en.md", "Quiet hours start at 23:00.", [1, 0, 0]),
        ("b", "answer", "r.en.md", "Level 1 fee | NT$1,500", [0, 1, 0]),
        ("c", "answer", "h.en.md", "Pets are welcome.", [0, 0, 1]),  # no longer in the documents
        ("d", "unanswerable", "h.en.md", "", [0.6, 0.8, 0]),
    ]).attach(CHUNKS)  # fmt: skip
    assert len(attached) == 2
    assert "1 anticipated questions point to evidence no longer in the documents" in caplog.text
    assert "retrain" in caplog.text  # 2 of 3 answerable items left: below the share that fits
    assert attached.pair_chunk.tolist() == [0, 4]


def test_a_question_near_an_anticipated_one_scores_its_passage_and_the_parallel_version() -> None:
    attached = bank([
        ("a", "answer", "h.en.md", "Quiet hours start at 23:00.", [1, 0, 0]),
        ("b", "answer", "h.en.md", "paid on the 5th", [0, 1, 0]),
        ("d", "unanswerable", "h.en.md", "", [0, 0, 1]),
    ]).attach(CHUNKS)  # fmt: skip
    scores = attached.scores(np.array([0.9, 0.1, 0.3]))
    # the passage holding the evidence, and its section in both versions
    assert scores.unit.argmax() == 0 and scores.unit[2] == 0.0
    assert scores.section[0] == scores.section[2] == pytest.approx(scores.unit[0])
    assert scores.vote[0] == scores.vote[2] > 0.9 > scores.vote[1]
    assert scores.best == pytest.approx(scores.unit[0])
    assert 0.0 < scores.best_unanswerable < scores.best


# --- the corpus and the shipped files -------------------------------------------------------------


def test_every_anticipated_answer_quotes_its_document_verbatim() -> None:
    items = read_items(ROOT / CORPUS_DIR)
    assert len(items) >= 2000
    texts: dict[str, str] = {}
    for item in items:
        if item.kind != "answer":
            continue
        if item.source not in texts:
            texts[item.source] = (KNOWLEDGE / item.source).read_text(encoding="utf-8")
        assert item.evidence and item.evidence in texts[item.source], item.id
    assert len({i.id for i in items}) == len(items)
    for lang in ("es", "en", "zh-TW"):
        assert sum(i.lang == lang for i in items) >= 500, lang


def test_the_shipped_vectors_are_the_corpus_and_the_answering_model_was_trained_with_them() -> None:
    shipped = QuestionBank.load(VECTORS)
    assert shipped is not None
    items = read_items(ROOT / CORPUS_DIR)
    assert shipped.corpus == corpus_hash(ROOT / CORPUS_DIR)
    assert shipped.ids == [i.id for i in items] and len(shipped.vectors) == len(items)
    model = json.loads((ROOT / "bot" / "answering" / "model.json").read_text(encoding="utf-8"))
    assert model["anticipated_sha256"] == shipped.corpus


@pytest.mark.slow
def test_the_running_assistant_searches_with_the_anticipated_questions(assistant) -> None:
    assert assistant.retriever.bank is not None and len(assistant.retriever.bank) >= 1500
    hits = assistant.retriever.search("¿cuánto nos pagan al mes de beca?", k=3, language="es")
    assert hits[0].bank > 0.8 and hits[0].vote > 0.3


class FakeEmbedder:
    """Embeds a text to a fixed direction by its first word (enough to tell the items apart)."""

    name = "model"

    def embed_query(self, text: str) -> np.ndarray:
        return np.array([0.0, 0.0, 1.0]) if "pool" in text.lower() or "alberca" in text else np.ones(3)


def test_an_approved_faq_the_corpus_never_saw_is_searched_by_its_own_questions() -> None:
    """A section no anticipated question points to, whose heading is a question (how the desk's
    approved FAQs are written), gets its heading and its other wordings as items; the gate then
    judges it without the bank's signals (`covered` is False there)."""
    learned = chunk("learned/faq-1.en.md", "Is there a swimming pool?",
                    "Also asked as: «¿Hay alberca en el campus?»\nNo, there is no pool.", 0)  # fmt: skip
    chunks = [*CHUNKS, learned]
    attached = bank([("a", "answer", "h.en.md", "Quiet hours start at 23:00.", [1, 0, 0])]).attach(
        chunks, FakeEmbedder()
    )
    assert len(attached) == 3  # the corpus item, the heading and its other wording
    scores = attached.scores(np.array([0.0, 0.0, 1.0]))
    assert scores.unit.argmax() == len(chunks) - 1 and scores.vote[-1] > 0.9
    assert attached.covered.tolist() == [True, False, True, False, False, False]
    assert scores.evidence.get(len(chunks) - 1) is None  # a heading names no sentence to lead with
    # without an embedder (the corpus alone), the section stays unsearched by questions
    assert len(bank([("a", "answer", "h.en.md", "Quiet hours start at 23:00.", [1, 0, 0])]).attach(chunks)) == 1


def test_an_unreadable_or_inconsistent_vector_file_is_no_bank(tmp_path, caplog) -> None:
    broken = tmp_path / "questions.npz"
    broken.write_bytes(b"PK\x03\x04 not a zip")
    assert QuestionBank.load(broken) is None
    np.savez(broken, vectors=np.zeros((2, 3)), ids=np.array(["a"]), langs=np.array(["en"]),
             kinds=np.array(["answer"]), sources=np.array(["x"]), evidence=np.array(["y"]),
             meta=np.array(json.dumps({"embedder": "model"})))  # fmt: skip
    assert QuestionBank.load(broken) is None
    assert "unreadable" in caplog.text
    assert QuestionBank.load(tmp_path / "missing.npz") is None


def test_the_gate_judges_an_uncovered_passage_without_the_banks_signals() -> None:
    from bot.answering.gate import GATE_FEATURES, PLAIN_FEATURES, AnswerGate

    n = len(GATE_FEATURES)
    plain = AnswerGate(np.zeros(len(PLAIN_FEATURES)), 2.0, np.zeros(len(PLAIN_FEATURES)),
                       np.ones(len(PLAIN_FEATURES)), 0.6, PLAIN_FEATURES)  # fmt: skip
    weights = np.zeros(n)
    weights[GATE_FEATURES.index("near_miss")] = -10.0  # a near-miss close by sinks it
    full = AnswerGate(weights, 0.0, np.zeros(n), np.ones(n), 0.7, GATE_FEATURES, plain)
    signals = np.zeros(n)
    signals[GATE_FEATURES.index("near_miss")] = 0.9
    assert full.decide(signals, covered=True)[0] < 0.01
    probability, threshold = full.decide(signals, covered=False)
    assert probability == pytest.approx(1 / (1 + np.exp(-2.0))) and threshold == 0.6
