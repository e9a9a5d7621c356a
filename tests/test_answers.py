"""Answers people can trust, over the real index of the bundled knowledge (slow: real model)."""

from __future__ import annotations

import pytest

from bot.evaluation import evaluate, has_fact, judge

pytestmark = pytest.mark.slow


def test_dev_set_stays_above_its_floor(assistant, dev_items):
    """The hand-weighted gate scored 0.97 / 0.97 here because its weights and threshold were
    fitted to these 45 items; the learned ranking and gate, trained on other questions, trade some
    of that for questions nobody tuned for (README: the question set's held-out part). A floor
    against regressions, not the product bar."""
    metrics = evaluate(assistant, dev_items).metrics()
    assert metrics["precision_on_answered"] >= 0.90, metrics
    assert metrics["coverage"] >= 0.75, metrics
    assert metrics["escalation_accuracy"] >= 0.98, metrics
    assert metrics["crisis_recall"] == 1.0, metrics
    assert metrics["language_match"] >= 0.98, metrics


def test_replies_in_the_askers_language_with_sources(assistant):
    es = assistant.answer("cuanto nos pagan al mes y que dia?")
    assert es.language == "es" and es.answered
    assert has_fact(es.answer, "20,000") and "10" in es.answer
    assert "Fuentes:" in es.answer
    assert es.sources[0].source == "program/handbook.es.md"

    # the reply Puente composes for a Chinese question on the exam rules (the gate aside: it
    # declines this one, probability 0.23): the Chinese rules, a Chinese sources line
    draft, _ = assistant.draft_answer("考試當天可以用什麼證件？", "zh-TW", "zh-TW")
    assert "資料來源" in draft.text
    assert draft.citations[0].source == "certification/rules.zh-TW.md"


def test_a_forgotten_admission_notice_is_answered_from_the_chinese_rules(assistant):
    zh = assistant.answer("准考證忘記帶怎麼辦")
    assert zh.language == "zh-TW" and zh.answered and "資料來源" in zh.answer
    assert zh.sources[0].source == "certification/rules.zh-TW.md"


def test_simplified_chinese_is_answered_in_traditional(assistant):
    record = assistant.answer("考试开始后迟到多久就不能进考场？")
    assert record.language == "zh-TW"
    assert record.answered and "15" in record.answer
    assert "考場" in record.answer  # Traditional characters from the zh-TW rules


def test_explicit_language_choice_wins_over_detection(assistant):
    record = assistant.answer("What are the laundry hours in the dorm?", language="es")
    assert record.language == "es" and record.answered
    assert "06:00" in record.answer and "Fuentes:" in record.answer


def test_unsupported_language_gets_an_english_reply_naming_ours(assistant):
    record = assistant.answer("Bonjour, où se trouve la bibliothèque du campus ?")
    assert record.unsupported_language and not record.answered
    assert "Spanish" in record.answer and "English" in record.answer and "中文" in record.answer


def test_exact_session_id_is_answered_from_the_calendar(assistant):
    record = assistant.answer("¿En qué salón es el SC-2703-02 y a qué hora abre el registro?")
    assert record.answered
    assert "CC301" in record.answer and "13:15" in record.answer
    assert record.sources[0].source == "certification/exam-sessions.csv"
    assert record.sources[0].section == "SC-2703-02"


@pytest.mark.parametrize(
    "question",
    [
        "Is there a swimming pool on campus, and how much does it cost?",
        pytest.param(
            "¿Cuándo abre la convocatoria para la generación 2027-2028?",
            marks=pytest.mark.xfail(strict=True, reason="the learned gate answers it with the "
                                    "cohort calendar: words the documents never use do not sink "
                                    "its score (on the question set they did not predict wrong "
                                    "answers)"),
        ),  # fmt: skip
        # near a topic the documents cover (city buses), but no price anywhere
        "how much is a monthly bus pass in Tainan?",
        # a price only in a runner-up passage (a taxi fare) is another topic's price
        "cuanto cuesta el camion de Tainan a Kaohsiung el fin de semana?",
    ],
)
def test_documents_that_do_not_say_lead_to_abstention_and_a_counselor_offer(assistant, question):
    record = assistant.answer(question)
    assert not record.answered and not record.escalate, question
    assert record.offer_counselor and record.escalation_reason is None
    threshold = assistant.gate.threshold if assistant.gate else assistant.settings.answer_threshold
    assert record.confidence < threshold


def test_crisis_gets_the_handbook_numbers_first(assistant):
    record = assistant.answer("ya no aguanto más, quiero quitarme la vida")
    assert record.escalate and record.escalation_reason == "crisis"
    assert record.language == "es"
    for number in ("1925", "119", "110"):
        assert number in record.answer
    assert record.sources and record.sources[0].source == "program/handbook.es.md"


def test_sensitive_and_explicit_requests_promise_a_person(assistant):
    sensitive = assistant.answer("my supervisor keeps touching me and I feel unsafe in the lab")
    assert sensitive.escalate and sensitive.escalation_reason == "sensitive"
    explicit = assistant.answer("Quiero hablar con una persona, no con un bot")
    assert explicit.escalate and explicit.escalation_reason == "explicit_request"
    assert not explicit.answered


def test_ordinary_questions_about_counseling_are_answered_not_escalated(assistant):
    record = assistant.answer("¿Dónde está el centro de consejería?")
    assert not record.escalate and record.answered
    assert "S302" in record.answer


def test_bad_input_gets_a_clear_message(assistant):
    for text in ("", "   ", "👍👍👍", "\x00\x07"):
        record = assistant.answer(text)
        assert not record.answered and record.answer, repr(text)
    long = assistant.answer("laundry hours? " + "x" * 10_000)
    assert long.answer


def test_judge_counts_facts_ignoring_spacing_and_thousands_separators(assistant):
    record = assistant.answer("cuanto nos dan de apoyo economico al mes??")
    item = {"kind": "answer", "lang": "es", "expected_facts": ["20000"],
            "expected_sources": ["program/handbook.es.md"]}
    assert judge(item, record).correct


def test_open_answers_once_in_every_language_before_the_first_person_asks(assistant, monkeypatch):
    """Services.open (the Telegram post_init) runs this, so the language models, the Chinese
    segmenter and the first query are paid for at start-up, not by the first person."""
    answered = []
    real_answer = assistant.answer
    monkeypatch.setattr(assistant, "answer", lambda text, **kw: answered.append(real_answer(text, **kw)))
    assistant.open()
    assert {record.language for record in answered} == {"es", "en", "zh-TW"}


def test_a_price_a_rate_or_an_email_must_be_in_the_passages():
    from bot.answering.evidence import answer_types, types_met

    assert "price" in answer_types("how much is a monthly bus pass?")
    assert "price" in answer_types("cuanto cuesta lavar la ropa?")
    assert "price" in answer_types("考前五天換場次要付多少錢？")
    assert "price" not in answer_types("how much time do I have for Level 1?")
    assert "rate" in answer_types("第一級的及格率是多少？")
    bus = "City buses stop outside the main gate; the ride takes about 20-25 minutes."
    assert types_met(["amount"], bus) == 1.0  # any number is an amount...
    assert types_met(["price"], bus) == 0.0  # ...but not a price
    for priced in ("Washing costs NT$20 a load.", "El préstamo es gratis.", "補發費用 200 元"):
        assert types_met(["price"], priced) == 1.0, priced


def test_five_letter_inflections_of_known_words_are_not_unknown():
    from types import SimpleNamespace

    from bot.answering.confidence import Vocabulary, unknown_words

    words = ["lavadoras", "secadoras", "dormitorio", "piscina", "laundry"]
    index = SimpleNamespace(bm25=SimpleNamespace(vocab_dict=dict.fromkeys(words)), chunks=[])
    vocab = Vocabulary(index)
    assert unknown_words("cuanto cuesta lavar y secar la ropa en el dormi", vocab) == [
        "cuanto", "cuesta", "ropa"
    ]
    # only a stem of a known word counts: "nadar" (swim) is not known from "piscina"
    assert unknown_words("donde puedo nadar", vocab) == ["nadar"]


def test_a_danger_at_the_end_of_a_long_message_is_read(assistant):
    """Two pages about exams, then a plan to die: every part of a long message is triaged (it
    used to be cut at 2,000 characters before triage, so this was answered as an exam question)."""
    filler = " ".join(
        f"Day {n}: I studied the chapter on regression and the mock exam went badly again."
        for n in range(1, 45)
    )
    text = filler + " Honestly I have decided to end my life this weekend, I already wrote the letters."
    assert len(text) > 3000
    record = assistant.answer(text)
    assert record.escalate and record.escalation_reason == "crisis"
    assert "1925" in record.answer
    lang, verdict = assistant.assess(text)
    assert verdict.reason == "crisis"
