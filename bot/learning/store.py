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
    approved: bool = False


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
    revision: int
    created_at: datetime
    updated_at: datetime
    variants: tuple[Variant, ...] = ()

    @property
    def published(self) -> tuple[Variant, ...]:
        """The variants a desk admin approved: only these are ever written for trainees."""
        return tuple(v for v in self.variants if v.approved)

    def variant(self, language: str) -> Variant | None:
        """The first variant written in `language`, or None."""
        return next((v for v in self.variants if v.language == language), None)

    @property
    def languages(self) -> list[str]:
        return list(dict.fromkeys(v.language for v in self.variants))

    @property
    def case_ids(self) -> list[int]:
        return sorted({v.case_id for v in self.variants if v.case_id is not None})

    @property
    def authors(self) -> set[int]:
        return {v.author for v in self.variants}


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
                    status=status, audience=audience, created_at=now, updated_at=now, revision=0,
                    submitted_by=author if status != DRAFT else None,
                )  # fmt: skip
            ).inserted_primary_key[0]
            conn.execute(
                schema.faq_variants.insert().values(
                    candidate_id=cid, language=language, question=question, answer=answer,
                    case_id=case_id, author=author, created_at=now, approved=False,
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
        """The candidate drafted from this case and still alive (one per case); a discarded or
        rejected draft does not count, so the case can be drafted again."""
        v, c = schema.faq_variants.c, schema.faq_candidates.c
        with self.db.connect() as conn:
            cid = conn.execute(
                sa.select(v.candidate_id)
                .join(schema.faq_candidates, c.id == v.candidate_id)
                .where(v.case_id == case_id, c.status.not_in((REJECTED, EXPIRED)))
                .order_by(v.id).limit(1)
            ).scalar()
        return None if cid is None else self.get(cid)

    def edit_variant(self, candidate_id: int, variant_id: int, *, question: str, answer: str) -> None:
        """New words for a variant: it is no longer the approved text (approval comes again)."""
        with self.db.transaction() as conn:
            conn.execute(
                schema.faq_variants.update()
                .where(schema.faq_variants.c.id == variant_id)
                .values(question=question, answer=answer, approved=False)
            )
            self._touch(conn, candidate_id)

    def add_variant(
        self, candidate_id: int, *, language: str, question: str, answer: str, author: int,
        case_id: int | None = None,
    ) -> None:  # fmt: skip
        with self.db.transaction() as conn:
            conn.execute(
                schema.faq_variants.insert().values(
                    candidate_id=candidate_id, language=language, question=question,
                    answer=answer, case_id=case_id, author=author, created_at=self.clock(),
                    approved=False,
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

    def transition(
        self, candidate_id: int, before: tuple[str, ...], *, revision: int | None = None, **values
    ) -> Candidate | None:
        """Change a candidate only if it is still in one of `before` (and at `revision`, when
        given): one guarded UPDATE, so two admins acting at once cannot both win. None: it had
        changed meanwhile."""
        c = schema.faq_candidates.c
        guard = [c.id == candidate_id, c.status.in_(before)]
        if revision is not None:
            guard.append(c.revision == revision)
        with self.db.transaction() as conn:
            done = conn.execute(
                schema.faq_candidates.update().where(*guard)
                .values(updated_at=self.clock(), revision=c.revision + 1, **values)
            ).rowcount
            if done and values.get("status") == APPROVED:
                conn.execute(
                    schema.faq_variants.update()
                    .where(schema.faq_variants.c.candidate_id == candidate_id)
                    .values(approved=True)
                )
        return self.get(candidate_id) if done else None

    def restore(self, before: Candidate) -> None:
        """Put a candidate and its variants' approval back as they were (a failed publish)."""
        with self.db.transaction() as conn:
            self._set(conn, before.id, status=before.status, reviewed_by=before.reviewed_by,
                      reviewed_at=before.reviewed_at, review_by=before.review_by)  # fmt: skip
            for variant in before.variants:
                conn.execute(
                    schema.faq_variants.update()
                    .where(schema.faq_variants.c.id == variant.id)
                    .values(approved=variant.approved)
                )

    def drop_unapproved(self, candidate_id: int) -> int:
        """Remove the variants no admin approved (a rejected addition to an approved answer)."""
        v = schema.faq_variants.c
        with self.db.transaction() as conn:
            gone = conn.execute(
                schema.faq_variants.delete().where(v.candidate_id == candidate_id, v.approved.is_(False))
            ).rowcount
            self._touch(conn, candidate_id)
        return gone

    def forget_cases(self, case_ids: list[int]) -> int:
        """A person's words in candidates nobody approved (drafts, waiting, rejected) go; an
        approved variant stays: it was checked free of personal details and serves everyone."""
        if not case_ids:
            return 0
        v, c = schema.faq_variants.c, schema.faq_candidates.c
        with self.db.transaction() as conn:
            gone = conn.execute(
                schema.faq_variants.delete().where(v.case_id.in_(case_ids), v.approved.is_(False))
            ).rowcount
            conn.execute(  # a candidate left with no words is closed
                schema.faq_candidates.update()
                .where(~sa.exists().where(v.candidate_id == c.id), c.status != MERGED)
                .values(status=REJECTED, updated_at=self.clock(), revision=c.revision + 1)
            )
        return gone

    def update(self, candidate_id: int, **values) -> Candidate:
        with self.db.transaction() as conn:
            self._set(conn, candidate_id, **values)
        return self.get(candidate_id)

    def _set(self, conn, candidate_id: int, **values) -> None:
        if "status" in values and values["status"] not in STATUSES:
            raise ValueError(f"unknown status {values['status']!r}")
        c = schema.faq_candidates.c
        done = conn.execute(
            schema.faq_candidates.update()
            .where(c.id == candidate_id)
            .values(updated_at=self.clock(), revision=c.revision + 1, **values)
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
