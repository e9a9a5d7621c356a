"""`/practice`: short quizzes on the lessons' words, with spaced repetition per person (FSRS).

A round asks `ROUND` questions: the words due for review first (FSRS schedules each word again
after every answer: a miss comes back soon, a word known well comes back later), then words not
yet practised, in lesson order, from the lesson chosen (`/practice 3`) or from every lesson.
Each question goes one of two ways, alternating per word: "what does 謝謝 (xièxie) mean?" with
four meanings, or "how do you say «thank you»?" with four words of the same lesson.

Progress is a row per person and word in `practice_cards` (deleted by /forget). An answer is
recorded once: the press carries the number of reviews the question was asked at, and a second
press of the same question changes nothing.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from bot.errors import PuenteError
from bot.mandarin.vocabulary import Entry, Vocabulary
from bot.storage import schema
from bot.storage.types import utcnow

ROUND = 5
OPTIONS = 4


class UnknownWord(PuenteError, ValueError):
    """An answer names a word position the lessons do not have (they changed since the question
    was asked)."""


@dataclass(frozen=True)
class Question:
    entry: int  # the word's position in `Practice.words`
    direction: str  # "meaning" (characters shown) | "characters" (a meaning shown)
    options: tuple[int, ...]  # positions of the words offered, the right one among them
    reviews: int  # how many times this person has answered this word before


@dataclass(frozen=True)
class Outcome:
    correct: bool
    entry: Entry
    due: datetime | None  # the next review (UTC); None when the answer was already recorded
    recorded: bool


class Practice:
    def __init__(
        self, vocabulary: Vocabulary, db, *, clock: Callable[[], datetime] = utcnow,
        seed: int | None = None,
    ) -> None:  # fmt: skip
        from fsrs import Scheduler

        self.vocabulary = vocabulary
        self.words: list[Entry] = vocabulary.words()
        self.lessons = sorted({w.lesson for w in self.words})
        self.db = db
        self.clock = clock
        self.scheduler = Scheduler(enable_fuzzing=False)
        self._seed = seed

    @staticmethod
    def key(entry: Entry) -> str:
        return f"{entry.source}#{entry.hanzi}"

    # --- asking -------------------------------------------------------------------------------

    def next_question(
        self, user_id: int, lesson: int | None = None, *, since: datetime | None = None,
    ) -> Question | None:  # fmt: skip
        """The next word to ask: one due for review, else one never asked; None when neither.
        `since`: when the round began; a word answered since is not asked again in it (a miss
        is due again a minute later)."""
        cards = self._cards(user_id)
        skip = frozenset(
            i for i, w in enumerate(self.words)
            if since is not None and self.key(w) in cards and cards[self.key(w)]["updated_at"] >= since
        )
        pool = [
            i for i, w in enumerate(self.words)
            if (lesson is None or w.lesson == lesson) and i not in skip
        ]
        if not pool:
            return None
        now = self.clock()
        due = sorted(
            (cards[self.key(self.words[i])]["due"], i) for i in pool
            if self.key(self.words[i]) in cards and cards[self.key(self.words[i])]["due"] <= now
        )
        fresh = [i for i in pool if self.key(self.words[i]) not in cards]
        if due:
            chosen = due[0][1]
        elif fresh:
            chosen = fresh[0]
        else:
            return None
        reviews = cards.get(self.key(self.words[chosen]), {}).get("reviews", 0)
        return self._question(chosen, reviews)

    def _question(self, chosen: int, reviews: int) -> Question:
        word = self.words[chosen]
        rng = random.Random(f"{self._seed}:{chosen}:{reviews}")
        same_lesson = [
            i for i, w in enumerate(self.words)
            if w.lesson == word.lesson and i != chosen and w.hanzi != word.hanzi
            and _plain_meaning(w.english) != _plain_meaning(word.english)
            and _plain_meaning(w.spanish) != _plain_meaning(word.spanish)
        ]
        others = rng.sample(same_lesson, min(OPTIONS - 1, len(same_lesson)))
        options = [chosen, *others]
        rng.shuffle(options)
        direction = "meaning" if reviews % 2 == 0 else "characters"
        return Question(chosen, direction, tuple(options), reviews)

    # --- answering ----------------------------------------------------------------------------

    def answer(self, user_id: int, entry: int, picked: int, reviews: int) -> Outcome:
        """Record the answer to the question asked at `reviews` (once) and schedule the word."""
        from fsrs import Card, Rating

        if not (0 <= entry < len(self.words)) or not (0 <= picked < len(self.words)):
            raise UnknownWord("no such word")
        word = self.words[entry]
        correct = picked == entry or self.words[picked].hanzi == word.hanzi
        key = self.key(word)
        now = self.clock()
        table = schema.practice_cards
        with self.db.transaction() as conn:
            row = conn.execute(
                sa.select(table.c.card, table.c.reviews, table.c.lapses)
                .where(table.c.user_id == user_id, table.c.entry_key == key)
                .with_for_update()
            ).first()
            done = row.reviews if row is not None else 0
            if done != reviews:  # asked at another count: this press was already recorded
                return Outcome(correct, word, None, False)
            card = Card.from_dict(json.loads(row.card)) if row is not None else Card()
            card, _ = self.scheduler.review_card(card, Rating.Good if correct else Rating.Again, now)
            values = {
                "card": json.dumps(card.to_dict()), "due": card.due, "reviews": done + 1,
                "lapses": (row.lapses if row is not None else 0) + (0 if correct else 1), "updated_at": now,
            }
            if row is None:
                try:
                    conn.execute(table.insert().values(user_id=user_id, entry_key=key, **values))
                except sa.exc.IntegrityError:  # the same first press, twice at once
                    return Outcome(correct, word, None, False)
            else:
                updated = conn.execute(
                    table.update()
                    .where(table.c.user_id == user_id, table.c.entry_key == key, table.c.reviews == done)
                    .values(**values)
                ).rowcount
                if not updated:
                    return Outcome(correct, word, None, False)
        return Outcome(correct, word, card.due, True)

    # --- reading ------------------------------------------------------------------------------

    def _cards(self, user_id: int) -> dict[str, dict]:
        table = schema.practice_cards
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(table.c.entry_key, table.c.due, table.c.reviews, table.c.updated_at)
                .where(table.c.user_id == user_id)
            ).all()
        return {r.entry_key: {"due": r.due, "reviews": r.reviews, "updated_at": r.updated_at}
                for r in rows}  # fmt: skip

    def progress(self, user_id: int) -> tuple[int, int]:
        """(words practised, words due now)."""
        cards = self._cards(user_id)
        now = self.clock()
        return len(cards), sum(1 for c in cards.values() if c["due"] <= now)


def _plain_meaning(meaning: str) -> str:
    """"hello (polite)" -> "hello": two words that mean the same are never both offered."""
    return re.sub(r"\([^)]*\)", "", meaning).strip().lower()
