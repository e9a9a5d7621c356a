"""`FaqDesk`: a counselor's answer becomes an FAQ Puente can cite, after a desk admin approves it.

1. **Draft** (`draft`): from a resolved case, the trainee's question (their first message and what
   they added) and the counselor's replies, with personal details removed (`bot.learning.pii`),
   shown to the counselor, who may correct it (`edit`) before submitting it.
2. **Submit** (`submit`): the draft is compared with the candidates waiting or approved
   (`bot.learning.duplicates`): the same question, in any language, joins that candidate as one
   more variant instead of making a second one. A question the documents already answer says so
   (the passage's source and section).
3. **Review** (`approve`, `reject`, `edit`): desk admins only. Approval writes one Markdown file
   per language under `knowledge/learned/` (`bot.learning.publish`) and indexes it at once; a
   rejected or expired candidate has no file, so it never answers anyone.

Every action is authorized by the desk's one policy (`bot.escalation.policy.decide_faq`); a
refusal is `NotAllowed`. Synchronous: the channel calls it in a thread.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.errors import PuenteError
from bot.escalation import policy
from bot.escalation.cases import RESOLVED, CaseStore, InvalidTransition, NotAllowed
from bot.escalation.roster import Roster
from bot.learning.pii import scrub
from bot.learning.store import (
    APPROVED,
    DRAFT,
    EXPIRED,
    PENDING,
    REJECTED,
    Candidate,
    FaqStore,
)
from bot.storage.types import utcnow

logger = logging.getLogger(__name__)

REVIEW_DAYS = 180  # an approved answer is checked again within this, else it expires


class EmptyDraft(PuenteError, ValueError):
    """A draft needs a question and an answer (a case the counselor never replied in has none)."""


@dataclass(frozen=True)
class Draft:
    candidate: Candidate
    removed: tuple[str, ...]  # the kinds of personal details removed ("phone", "e-mail", …)


@dataclass(frozen=True)
class Edited:
    candidate: Candidate
    contains: tuple[str, ...]  # personal-detail kinds the new text holds ("phone", "e-mail"…)


@dataclass(frozen=True)
class Submitted:
    candidate: Candidate  # the candidate the text now belongs to (another one when merged)
    merged: bool
    existing: tuple[str, str] | None  # (source, section) of a passage that already answers it


class FaqDesk:
    def __init__(
        self,
        cases: CaseStore,
        roster: Roster,
        store: FaqStore,
        *,
        publisher=None,  # bot.learning.publish.Publisher, or None: approval writes no file
        duplicates=None,  # bot.learning.duplicates.DuplicateFinder, or None: no merging
        documents: Callable[[str, str], tuple[str, str] | None] | None = None,
        clock: Callable[[], datetime] = utcnow,
        review_days: int = REVIEW_DAYS,
    ) -> None:
        self.cases = cases
        self.roster = roster
        self.store = store
        self.publisher = publisher
        self.duplicates = duplicates
        self.documents = documents  # (question, language) -> a passage that answers it, or None
        self.clock = clock
        self.review_days = review_days

    # --- the counselor's draft --------------------------------------------------------------

    def draft(self, case_id: int, actor_id: int) -> Draft:
        """Draft a candidate from a resolved case (or return the one already drafted from it)."""
        case = self.cases.get(case_id)
        self._authorize(actor_id, "draft", case_id, case=case)
        if case.status != RESOLVED:
            raise InvalidTransition(case, "save as FAQ")
        existing = self.store.draft_of_case(case_id)
        if existing is not None:
            return Draft(existing, ())
        messages = self.cases.messages(case_id)
        asked = [case.text] + [m.text for m in messages if m.direction == "in" and m.text != case.text]
        answered = [m.text for m in messages if m.direction == "out"]
        if not answered:
            raise EmptyDraft(f"case {case_id} has no reply to save")
        names = [case.name, case.username or ""] + [p.name for p in self.roster.people.values()]
        question = scrub(_joined(asked[:3]), names)
        answer = scrub(_joined(answered), names)
        candidate = self.store.create(
            language=case.language, question=question.text, answer=answer.text, author=actor_id,
            case_id=case_id, audience=_audience(case),
        )  # fmt: skip
        removed = tuple(dict.fromkeys(question.removed + answer.removed))
        return Draft(candidate, removed)

    def edit(
        self, candidate_id: int, actor_id: int, text: str, *, language: str | None = None
    ) -> Edited:
        """Replace a variant's question and answer with `text` (first line: the question; the rest:
        the answer). `language`: the variant to edit, or a new variant in that language (a desk
        admin adding a translation); None: the first variant. What a person writes is kept as
        written (an office's phone number may belong in an answer); `Edited.contains` names the
        kinds of personal details it holds, for the reply to point out."""
        candidate = self.store.get(candidate_id)
        if candidate.status == DRAFT:
            self._authorize(actor_id, "edit_draft", candidate_id, author=candidate.variants[0].author)
        elif candidate.status in (PENDING, APPROVED):
            self._authorize(actor_id, "review", candidate_id)
        else:
            raise FaqStateError(candidate, "edit")
        question, answer = split_text(text)
        target = candidate.variant(language) if language else candidate.variants[0]
        if target is None:
            self.store.add_variant(candidate_id, language=language, question=question,
                                   answer=answer, author=actor_id)  # fmt: skip
        else:
            self.store.edit_variant(candidate_id, target.id, question=question, answer=answer)
        if candidate.status == APPROVED:  # the change waits for approval
            self.store.transition(candidate_id, (APPROVED,), status=PENDING)
        edited = self.store.get(candidate_id)
        if target is not None and target.approved and self.publisher is not None:
            # An approved answer being corrected is taken out until it is approved again (the
            # other languages' approved versions stay).
            self.publisher.publish(edited)
        return Edited(edited, scrub(f"{question}\n{answer}").removed)

    def discard(self, candidate_id: int, actor_id: int) -> Candidate:
        candidate = self._in_state(candidate_id, DRAFT, "discard")
        self._authorize(actor_id, "edit_draft", candidate_id, author=candidate.variants[0].author)
        return self._moved(candidate, (DRAFT,), "discard", status=REJECTED, reviewed_by=actor_id,
                           reviewed_at=self.clock())  # fmt: skip

    def submit(self, candidate_id: int, actor_id: int) -> Submitted:
        """Send a draft to review; the same question already waiting or approved absorbs it (an
        approved one goes back to review: the new version is published only once approved)."""
        candidate = self._in_state(candidate_id, DRAFT, "submit")
        self._authorize(actor_id, "edit_draft", candidate_id, author=candidate.variants[0].author)
        variant = candidate.variants[0]
        existing = self.documents(variant.question, variant.language) if self.documents else None
        match = None
        if self.duplicates is not None:
            others = [c for c in self.store.with_status(PENDING, APPROVED) if c.id != candidate_id]
            match = self.duplicates.find(variant, others)
        if match is not None:
            self.store.move_variants(candidate_id, match.id)
            self.store.transition(match.id, (APPROVED,), status=PENDING)
            merged = self.store.get(match.id)
            return Submitted(merged, True, _pair(merged.existing))
        candidate = self._moved(
            candidate, (DRAFT,), "submit", status=PENDING, submitted_by=actor_id,
            existing=list(existing) if existing else None,
        )  # fmt: skip
        return Submitted(candidate, False, existing)

    # --- the admins' review -----------------------------------------------------------------

    def pending(self, actor_id: int) -> list[Candidate]:
        self._authorize(actor_id, "review", 0)
        return self.store.with_status(PENDING)

    def get(self, candidate_id: int) -> Candidate:
        return self.store.get(candidate_id)

    def approve(self, candidate_id: int, actor_id: int, *, revision: int | None = None) -> Candidate:
        """Approve what the admin saw (`revision`: the card's; a candidate changed since is
        refused). Every variant becomes published; the files are written and indexed before
        this returns, and a failure puts everything back as it was."""
        candidate = self.store.get(candidate_id)
        self._authorize(actor_id, "approve", candidate_id, authors=candidate.authors)
        before = candidate
        candidate = self._moved(
            candidate, (PENDING,), "approve", revision=revision, status=APPROVED,
            reviewed_by=actor_id, reviewed_at=self.clock(),
            review_by=self._today() + timedelta(days=self.review_days),
        )  # fmt: skip
        if self.publisher is not None:
            try:
                self.publisher.publish(candidate)
            except Exception:
                self.store.restore(before)
                raise
        return candidate

    def reject(self, candidate_id: int, actor_id: int, *, revision: int | None = None) -> Candidate:
        """Reject a waiting candidate; for one that was approved before (a new version waits),
        only the unapproved versions go and the approved answer stays. `withdraw` takes an
        approved answer out of the index."""
        candidate = self.store.get(candidate_id)
        self._authorize(actor_id, "review", candidate_id)
        if candidate.status != PENDING:
            raise FaqStateError(candidate, "reject")
        if candidate.published:
            self.store.drop_unapproved(candidate_id)
            return self._moved(self.store.get(candidate_id), (PENDING,), "reject", status=APPROVED)
        return self._moved(candidate, (PENDING,), "reject", revision=revision, status=REJECTED,
                           reviewed_by=actor_id, reviewed_at=self.clock())  # fmt: skip

    def withdraw(self, candidate_id: int, actor_id: int) -> Candidate:
        """Take an approved answer out: its files go and the index forgets it before this
        returns (on a failure nothing changes)."""
        candidate = self.store.get(candidate_id)
        self._authorize(actor_id, "review", candidate_id)
        if candidate.status not in (APPROVED, PENDING) or not candidate.published:
            raise FaqStateError(candidate, "withdraw")
        if self.publisher is not None:
            self.publisher.withdraw(candidate)
        return self._moved(candidate, (APPROVED, PENDING), "withdraw", status=REJECTED,
                           reviewed_by=actor_id, reviewed_at=self.clock())  # fmt: skip

    def expire(self) -> list[int]:
        """Approved answers past their review-by date leave the index (daily, idempotent)."""
        today = self._today()
        expired = []
        for candidate in self.store.with_status(APPROVED, PENDING):
            if candidate.published and candidate.review_by and candidate.review_by < today:
                if self.publisher is not None:
                    self.publisher.withdraw(candidate)
                if self.store.transition(candidate.id, (APPROVED, PENDING), status=EXPIRED):
                    expired.append(candidate.id)
        if expired:
            logger.info("FAQ answers past their review date, withdrawn: %s", expired)
        return expired

    def live(self) -> list[Candidate]:
        """The candidates whose approved versions are published now."""
        return [c for c in self.store.with_status(APPROVED, PENDING) if c.published]

    def sync(self) -> bool:
        """Make `knowledge/learned/` match the database: the files of every live answer, none
        of anything else (after a failed write, or an approval made by another replica).
        Returns whether anything changed (then the index was updated)."""
        if self.publisher is None:
            return False
        return self.publisher.sync(self.live())

    def forget_user(self, user_id: int) -> int:
        """A person's /forget (before their cases are anonymized): their words in drafts and
        candidates nobody approved go; approved answers, reviewed free of personal details, stay."""
        return self.store.forget_cases([c.id for c in self.cases.cases_of(user_id)])

    # --- helpers ------------------------------------------------------------------------------

    def _today(self) -> date:
        return self.roster.local(self.clock()).date()

    def _moved(self, candidate: Candidate, before: tuple[str, ...], action: str, *,
               revision: int | None = None, **values) -> Candidate:  # fmt: skip
        moved = self.store.transition(candidate.id, before, revision=revision, **values)
        if moved is None:  # another admin, or an edit, got there first
            raise FaqStateError(self.store.get(candidate.id), action)
        return moved

    def _in_state(self, candidate_id: int, status: str, action: str) -> Candidate:
        candidate = self.store.get(candidate_id)
        if candidate.status != status:
            raise FaqStateError(candidate, action)
        return candidate

    def _authorize(self, actor_id: int, action: policy.FaqAction, subject: int, **kwargs) -> None:
        decision = policy.decide_faq(self.roster, actor_id, action, **kwargs)
        if not decision:
            raise NotAllowed(subject, actor_id, f"faq:{action}", decision.why)


class FaqStateError(PuenteError, ValueError):
    """The candidate is not in a state that allows this (a rejected one cannot be approved)."""

    def __init__(self, candidate: Candidate, action: str) -> None:
        super().__init__(f"cannot {action} FAQ candidate {candidate.id}: it is {candidate.status}")
        self.candidate = candidate
        self.action = action


_LABEL = re.compile(r"^\s*(?:q|p|a|r|問|答|question|pregunta|answer|respuesta)\s*[:：]\s*", re.I)


def split_text(text: str) -> tuple[str, str]:
    """A counselor's corrected version: the first line is the question, the rest the answer
    ("Q:" / "A:", "P:" / "R:", "問：" / "答：" labels allowed)."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if len(lines) < 2:
        raise EmptyDraft("write the question on the first line and the answer below it")
    question = _LABEL.sub("", lines[0]).strip()
    answer = "\n".join([_LABEL.sub("", lines[1])] + lines[2:]).strip()
    if not question or not answer:
        raise EmptyDraft("write the question on the first line and the answer below it")
    return question, answer


def _joined(texts: list[str]) -> str:
    return "\n".join(t.strip() for t in texts if t and t.strip())


def _audience(case) -> str:
    return "examinee" if case.topic == "exams" else "trainee"


def _pair(existing) -> tuple[str, str] | None:
    return (existing[0], existing[1]) if existing else None
