"""Follow-ups with the real assistant: read in context, and never changing a standalone answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.conversation import Conversations, MemoryConversationStore
from bot.evaluation import evaluate, read_items

pytestmark = pytest.mark.slow

CONVERSATIONS = Path(__file__).resolve().parent.parent / "eval" / "conversations"


def play(assistant, *turns: str):
    chat = Conversations(assistant, MemoryConversationStore())
    for text in turns:
        record = chat.reply(1, text, user_id=1)
    return record


def test_a_follow_up_in_spanish_is_answered_from_the_earlier_topic(assistant):
    record = play(assistant, "Where can I print on campus?", "and in colour, how much?")
    assert record.answered and "NT$10" in record.answer
    assert record.carried  # and says what it carried over
    assert record.answer.startswith("About “")


def test_a_calendar_follow_up_keeps_the_earlier_filters(assistant):
    record = play(assistant, "Level 2 exams in English?", "which room?")
    assert record.answered and "CC302" in record.answer and "SC-2704-03" in record.answer
    record = play(assistant, "第一級考試什麼時候？", "那英文場次呢？")
    assert record.language == "zh-TW" and "SC-2612-02" in record.answer
    assert "SC-2612-01" not in record.answer  # the Chinese-language session is filtered out


def declined(question: str, lang: str = "en"):
    """An earlier turn that was declined, whatever the gate makes of it today."""
    from bot.records import Turn

    return Turn(question, question, lang, "declined")


def test_a_follow_up_after_a_declined_turn_is_read_with_its_topic_when_the_reply_has_its_words(
    assistant,
):
    assert not assistant.answer("how much is a taxi?").answered  # alone, it is not answered
    earlier = declined("How do I get to STUST from Tainan HSR station?")
    record = assistant.answer("how much is a taxi?", history=[earlier])
    assert record.answered and record.carried, record.answer
    assert "450" in record.answer and "taxi" in record.answer.lower()


@pytest.mark.parametrize(
    "question",
    [
        "where do I pay the exam fee?",  # no sign of being a follow-up
        "Is there a gym on campus?",  # "there": it looks like one
        "is it open on sundays, the library?",
    ],
)
def test_a_question_of_its_own_after_a_declined_turn_is_not_pulled_to_that_topic(assistant, question):
    earlier = declined("is there parking for scooters at the HSR station?")
    record = assistant.answer(question, history=[earlier])
    alone = assistant.answer(question)
    assert not record.carried, record.answer
    assert (record.answered, record.answer) == (alone.answered, alone.answer)


def test_the_same_follow_up_alone_is_not_answered(assistant):
    assert not assistant.answer("which room?").answered


def test_a_vocabulary_follow_up_is_about_the_word_just_shown_in_the_conversations_language(assistant):
    record = play(assistant, "¿cómo se dice gracias en chino?", "dame el pinyin", "y en zhuyin?")
    assert record.language == "es"
    first, second = record.answer.splitlines()[:2]
    assert first == "謝謝" and second == "Zhuyin: ㄒㄧㄝˋ ˙ㄒㄧㄝ"  # what was asked comes first
    assert "Significado: gracias" in record.answer
    assert [c.source for c in record.sources] == ["chinese/lesson-01.md"]


def test_no_standalone_question_changes_its_answer_after_an_unrelated_turn(assistant, dev_items):
    """Every dev-set question, after each earlier turn on another topic (another document),
    gets the reply it gets on its own."""
    earlier_turns = [
        "¿A qué hora abre la lavandería del dormitorio?",
        "How much is the Level 1 exam?",
        "「謝謝」的拼音是什麼？",
        "What is the passing mark for Chinese?",
        "is there parking for scooters at the HSR station?",  # declined: no section to continue
    ]
    compared = 0
    for item in dev_items:
        alone = assistant.answer(item["question"])
        for earlier in earlier_turns:
            chat = Conversations(assistant, MemoryConversationStore())
            first = chat.reply(1, earlier, user_id=1)
            related = {c.source for c in alone.sources} | set(item.get("expected_sources") or ())
            if {c.source for c in first.sources} & related:
                continue  # the same document (the reply's, or the one that answers): not unrelated
            after = chat.reply(1, item["question"], user_id=1)
            compared += 1
            assert (after.answered, after.answer, after.escalation_reason) == (
                alone.answered, alone.answer, alone.escalation_reason
            ), (earlier, item["question"])
    assert compared >= 3 * len(dev_items)


def test_the_conversation_set_is_answered_far_better_with_the_conversation_than_without(assistant):
    """A floor on the training part of eval/conversations (measured 0.53 correct on
    2026-12-01; the last turns alone: about 0.2): the carry-over working end to end."""
    items = read_items(CONVERSATIONS / "train.jsonl")
    with_context = evaluate(assistant, items).metrics()["correct"]
    last_only = evaluate(assistant, [{**i, "turns": i["turns"][-1:]} for i in items]).metrics()["correct"]
    assert with_context >= 0.45
    assert with_context >= last_only + 0.25


def test_a_crisis_reply_is_in_the_messages_own_language_inside_a_conversation(assistant):
    record = play(assistant, "第一級考試什麼時候？", "me kiero matar, 真的")
    assert record.escalate and record.escalation_reason == "crisis" and record.language == "es"
