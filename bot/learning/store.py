"""`FaqStore`: FAQ candidates and their language variants in the database (no decisions here).

A candidate's life: `draft` (drafted from a resolved case, shown to its counselor for editing)
→ `pending` (submitted; waits for a desk admin) → `approved` (written under `knowledge/learned/`
and indexed) or `rejected`; an approved one past its review-by date becomes `expired` (its files
are removed). A draft found to be a duplicate of another candidate at submission is `merged`: its
variant moves to that candidate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from bot.errors import PuenteError
from bot.storage import schema
from bot.storage.db import Database
from bot.storage.types import utcnow

DRAFT, PENDING, APPROVED, REJECTED, EXPIRED, MERGED = (
    "draft", "pending", "approved", "rejected", "expired", "merged"
)  # fmt: skip
STATUSES = (DRAFT, PENDING, APPROVED, REJECTED, EXPIRED, MERGED)


class UnknownCandidate(PuenteError, LookupError):
    """No FAQ candidate with this id."""


@dataclass(frozen=True)
class Variant:
    id: int
    candidate_id: int
    language: str
    question: str
    answer: str
    case_id: int | None
    author: int
    created_at: datetime


@dataclass(frozen=True)
class Candidate:
    id: int
    status: str
    audience: str
    submitted_by: int | None
    reviewed_by: int | None
    reviewed_at: datetime | None
    review_by: date | None
    existing: list | None  # [source, section] of a passage that already answers it
    created_at: datetime
    updated_at: datetime
    variants: tuple[Variant, ...] = ()

    def variant(self, language: str) -> Variant | None:
        """The first variant written in `language`, or None."""
        return next((v for v in self.variants if v.language == language), None)

    @property
    def languages(self) -> list[str]:
        return list(dict.fromkeys(v.language for v in self.variants))

    @property
    def case_ids(self) -> list[int]:
        return sorted({v.case_id for v in self.variants if v.case_id is not None})


class FaqStore:
    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    def create(
        self, *, language: str, question: str, answer: str, author: int, case_id: int | None,
        audience: str = "trainee", status: str = DRAFT,
    ) -> Candidate:  # fmt: skip
        now = self.clock()
        with self.db.transaction() as conn:
            cid = conn.execute(
                schema.faq_candidates.insert().values(
                    status=status, audience=audience, created_at=now, updated_at=now,
                    submitted_by=author if status != DRAFT else None,
                )  # fmt: skip
            ).inserted_primary_key[0]
            conn.execute(
                schema.faq_variants.insert().values(
                    candidate_id=cid, language=language, question=question, answer=answer,
                    case_id=case_id, author=author, created_at=now,
                )  # fmt: skip
            )
        return self.get(cid)

    def get(self, candidate_id: int) -> Candidate:
        with self.db.connect() as conn:
            row = conn.execute(
                sa.select(schema.faq_candidates).where(schema.faq_candidates.c.id == candidate_id)
            ).first()
            if row is None:
                raise UnknownCandidate(candidate_id)
            return self._candidate(conn, row)

    def with_status(self, *statuses: str) -> list[Candidate]:
        c = schema.faq_candidates.c
        with self.db.connect() as conn:
            rows = conn.execute(
                sa.select(schema.faq_candidates).where(c.status.in_(statuses)).order_by(c.id)
            ).all()
            return [self._candidate(conn, row) for row in rows]

    def draft_of_case(self, case_id: int) -> Candidate | None:
        """A candidate already drafted from this case (one per case), whatever its status."""
        v = schema.faq_variants.c
        with self.db.connect() as conn:
            cid = conn.execute(
                sa.select(v.candidate_id).where(v.case_id == case_id).order_by(v.id).limit(1)
            ).scalar()
        return None if cid is None else self.get(cid)

    def edit_variant(self, variant_id: int, *, question: str, answer: str) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                schema.faq_variants.update()
                .where(schema.faq_variants.c.id == variant_id)
                .values(question=question, answer=answer)
            )

    def add_variant(
        self, candidate_id: int, *, language: str, question: str, answer: str, author: int,
        case_id: int | None = None,
    ) -> None:  # fmt: skip
        with self.db.transaction() as conn:
            conn.execute(
                schema.faq_variants.insert().values(
                    candidate_id=candidate_id, language=language, question=question,
                    answer=answer, case_id=case_id, author=author, created_at=self.clock(),
                )  # fmt: skip
            )
            self._touch(conn, candidate_id)

    def move_variants(self, source_id: int, target_id: int) -> None:
        """Merge: every variant of `source_id` now belongs to `target_id`; the source is `merged`."""
        with self.db.transaction() as conn:
            conn.execute(
                schema.faq_variants.update()
                .where(schema.faq_variants.c.candidate_id == source_id)
                .values(candidate_id=target_id)
            )
            self._set(conn, source_id, status=MERGED)
            self._touch(conn, target_id)

    def update(self, candidate_id: int, **values) -> Candidate:
        with self.db.transaction() as conn:
            self._set(conn, candidate_id, **values)
        return self.get(candidate_id)

    def _set(self, conn, candidate_id: int, **values) -> None:
        if "status" in values and values["status"] not in STATUSES:
            raise ValueError(f"unknown status {values['status']!r}")
        done = conn.execute(
            schema.faq_candidates.update()
            .where(schema.faq_candidates.c.id == candidate_id)
            .values(updated_at=self.clock(), **values)
        ).rowcount
        if not done:
            raise UnknownCandidate(candidate_id)

    def _touch(self, conn, candidate_id: int) -> None:
        self._set(conn, candidate_id)

    def _candidate(self, conn, row) -> Candidate:
        v = schema.faq_variants.c
        variants = conn.execute(
            sa.select(schema.faq_variants).where(v.candidate_id == row.id).order_by(v.id)
        ).all()
        return Candidate(
            **row._mapping, variants=tuple(Variant(**r._mapping) for r in variants)
        )
