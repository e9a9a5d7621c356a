"""The learned ranking and answer gate (`bot/ranking.py`, `bot/answering/gate.py`): the shipped
model, its fallbacks, its threshold rule, and what it does on questions nobody tuned for."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from bot.answering.gate import GATE_FEATURES, AnswerGate
from bot.answering.train import CORPUS, MODEL_PATH, choose_threshold
from bot.assistant import load_answering_model
from bot.config import DEFAULT_EMBEDDING_MODEL
from bot.ranking import FEATURES, LanguageStats, PassageRanker, candidates

ROOT = Path(__file__).resolve().parent.parent
HELDOUT = ROOT / "eval" / "questions" / "heldout.jsonl"


def test_the_shipped_model_loads_and_names_its_corpus_and_embedding_model() -> None:
    meta = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert meta["embedder"] == DEFAULT_EMBEDDING_MODEL
    assert meta["corpus_sha256"] == hashlib.sha256((ROOT / CORPUS).read_bytes()).hexdigest()
    assert tuple(meta["ranker"]["features"]) == FEATURES
    assert tuple(meta["gate"]["features"]) == GATE_FEATURES
    assert 0.0 < meta["gate"]["threshold"] < 1.0
    ranker, gate = load_answering_model(DEFAULT_EMBEDDING_MODEL)
    assert isinstance(ranker, PassageRanker) and isinstance(gate, AnswerGate)


def test_a_model_that_does_not_fit_falls_back_to_the_hand_weighted_parts(tmp_path, caplog) -> None:
    meta = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    other = tmp_path / "model.json"
    other.write_text(json.dumps(meta), encoding="utf-8")
    assert load_answering_model("some/other-model", other) == (None, None)
    meta["ranker"]["features"] = ["cosine"]
    other.write_text(json.dumps(meta), encoding="utf-8")
    assert load_answering_model(DEFAULT_EMBEDDING_MODEL, other) == (None, None)
    other.write_text("{not json", encoding="utf-8")
    assert load_answering_model(DEFAULT_EMBEDDING_MODEL, other) == (None, None)
    assert load_answering_model(DEFAULT_EMBEDDING_MODEL, tmp_path / "missing.json") == (None, None)
    assert "hand-weighted" in caplog.text


def test_the_gate_answers_only_replies_right_at_least_two_times_in_three() -> None:
    probability = np.array([0.9, 0.8, 0.6, 0.55, 0.3, 0.2])
    right = np.array([True, True, False, True, False, False])
    answerable = np.array([True, True, True, True, True, False])
    threshold, figures = choose_threshold(probability, right, answerable)
    # answering down to 0.8 gains 2; down to 0.55 gains 3 and loses 2 (one wrong costs two)
    assert threshold == 0.8
    assert figures["precision_on_answered"] == 1.0
    assert figures["coverage"] == pytest.approx(2 / 5)
    assert figures["abstention_on_unanswerable"] == 1.0
    # three right and one wrong below the first reply: worth it at even odds, not at two in three
    threshold, _ = choose_threshold(
        np.array([0.9, 0.6, 0.55, 0.5]), np.array([True, False, True, True]), np.ones(4, dtype=bool)
    )
    assert threshold == 0.9


def test_a_passage_that_stands_out_in_its_own_language_is_a_candidate_with_a_high_score() -> None:
    """The English passage's cosine (0.80) is below the Chinese ones (0.83-0.86), but far above
    the other English passages: its per-language score says so, the raw cosine does not."""
    languages = ["zh-TW"] * 30 + ["en"] * 30
    sims = np.concatenate([np.linspace(0.83, 0.86, 30), np.full(30, 0.70)])
    sims[45] = 0.80
    texts = ["x"] * 60
    found = candidates(sims, np.zeros(60), set(), LanguageStats(languages), texts,
                       np.zeros(60, dtype=bool), np.zeros(60, dtype=bool), "問題", "zh-TW")  # fmt: skip
    by_pos = {c.position: c.features for c in found}
    z_top = FEATURES.index("z_top")
    assert 45 in by_pos  # not among the 20 best cosines, but the best of its language
    assert by_pos[45][z_top] > max(f[z_top] for p, f in by_pos.items() if p < 30)
    assert by_pos[45][FEATURES.index("same_language")] == 0.0


# --- over the real index ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_question_answered_only_in_another_language_finds_that_passage_first(assistant) -> None:
    hits = assistant.retriever.search("每個月的生活津貼是多少？", k=3, language="zh-TW")
    assert hits[0].chunk.source in ("program/handbook.en.md", "program/handbook.es.md")
    assert "20,000" in hits[0].chunk.text


@pytest.mark.slow
def test_on_unseen_questions_the_learned_parts_beat_the_hand_weighted_ones(assistant) -> None:
    """The held-out part of the question set (never trained on): the learned ranking and gate are
    more often right when they answer, decline more of what the documents do not say, and answer
    about as much."""
    from bot.assistant import Assistant
    from bot.evaluation import evaluate, read_items
    from bot.retrieval import HybridRetriever

    items = read_items(HELDOUT)
    hand = Assistant(
        assistant.settings, HybridRetriever(assistant.retriever.index, assistant.retriever.embedder),
        calendar=assistant.calendar, triager=assistant.triager,
    )  # fmt: skip
    learned = evaluate(assistant, items).metrics()
    baseline = evaluate(hand, items).metrics()
    assert learned["precision_on_answered"] >= baseline["precision_on_answered"] + 0.05, (learned, baseline)
    assert learned["abstention"] >= baseline["abstention"] + 0.05, (learned, baseline)
    assert learned["coverage"] >= baseline["coverage"] - 0.02, (learned, baseline)


@pytest.mark.slow
def test_the_shipped_model_is_what_the_training_command_makes(assistant, tmp_path) -> None:
    from bot.answering.train import train

    assistant.gate, gate = None, assistant.gate
    ranker = assistant.retriever.ranker
    try:
        fresh = train(assistant, ROOT / CORPUS, tmp_path / "model.json")
    finally:
        assistant.gate, assistant.retriever.ranker = gate, ranker
    shipped = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert fresh["corpus_sha256"] == shipped["corpus_sha256"]
    for part in ("ranker", "gate"):
        np.testing.assert_allclose(fresh[part]["weights"], shipped[part]["weights"], atol=0.02)
        np.testing.assert_allclose(fresh[part]["bias"], shipped[part]["bias"], atol=0.02)
    assert abs(fresh["gate"]["threshold"] - shipped["gate"]["threshold"]) < 0.03


def test_the_learned_parts_are_left_out_when_the_index_lacks_their_inputs() -> None:
    """Without the in-memory vectors (a very large index) the search falls back to the fused
    ranking, whose scores are not probabilities; without the sentence vectors (an index built
    before them) or the anticipated questions the ranker's features would shift: hand-weighted
    ranking and gate then."""
    from types import SimpleNamespace

    from bot.assistant import usable_answering_model

    ranker, gate = load_answering_model(DEFAULT_EMBEDDING_MODEL)
    complete = SimpleNamespace(vectors=np.zeros((1, 2)), sentence_vectors=(np.zeros((1, 2)), np.zeros(1)))
    bank = SimpleNamespace(source=SimpleNamespace(corpus=ranker.anticipated))
    assert usable_answering_model(complete, ranker, gate, bank) == (ranker, gate)
    assert usable_answering_model(complete, ranker, gate, None) == (None, None)
    # anticipated questions other than those the model was trained with: their signals differ
    other_bank = SimpleNamespace(source=SimpleNamespace(corpus="another corpus"))
    assert usable_answering_model(complete, ranker, gate, other_bank) == (None, None)
    no_sentences = SimpleNamespace(vectors=np.zeros((1, 2)), sentence_vectors=None)
    assert usable_answering_model(no_sentences, ranker, gate, bank) == (None, None)
    too_large = SimpleNamespace(vectors=None, sentence_vectors=None)
    assert usable_answering_model(too_large, ranker, gate, bank) == (None, None)
    assert usable_answering_model(complete, None, None, bank) == (None, None)
