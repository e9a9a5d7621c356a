"""`EscalationDesk`: the desk's one API, what a channel talks to (`Services.desk`).

Every action a person can take on the desk is a method here: open a case (`request_human`,
`escalate`), `claim`, `resolve`, `reassign`, `reply` (a counselor to the trainee),
`trainee_message`, `rate`, `forget`, `view` and `cases_for`. Each is authorized by the one policy
(`bot.escalation.policy`) inside the case store's transaction; the channel only translates its
updates into these calls and their results (or `DeskError`) into messages.

It ties the case store, routing, the reply promise, the relay texts and the outbox together.
Everything it says is written to the outbox; the channel runs an `OutboxWorker` with its own
`send` to deliver it. A case always lives in the trainee's private chat: asked for in a group, the
acknowledgement goes to the private chat and the group gets nothing about it. In the desk group a
sensitive case is never shown with a name or text, neither its first card nor what follows.
Synchronous on purpose: the channel calls it in a thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.escalation import policy
from bot.escalation.cases import (
    OPEN,
    REOPENED,
    RESOLVED,
    Case,
    CaseEvent,
    CaseMessage,
    CaseNotFound,
    CaseStore,
    InvalidTransition,
    NotAllowed,
)
from bot.escalation.relay import (
    ack_text,
    buttons,
    case_card,
    clean,
    enqueue_parts,
    notify_claimed,
    notify_crisis_in_case,
    notify_new_case,
    notify_resolved,
    relay_to_counselors,
    relay_to_trainee,
)
from bot.escalation.reminders import send_reminders
from bot.escalation.roster import Person, Roster
from bot.escalation.routing import HoursLike, reply_promise, route
from bot.i18n import Translator, default_translator
from bot.outbox import Outbox
from bot.records import AnswerRecord
from bot.storage.db import Database
from bot.storage.types import utcnow

logger = logging.getLogger(__name__)

CARD_KINDS = ("card", "desk_card")
# What the desk writes to the trainee.
TRAINEE_KINDS = ("ack", "relay_out", "claimed", "resolved")
# What the desk delivered to staff that carries a trainee's name or words.
STAFF_KINDS = ("card", "desk_card", "relay_in", "reopened", "relay_ack")
# Failed for good, these are reported to the desk admins (not their own alerts: no loop).
REPORTED_KINDS = (
    "ack", "card", "desk_card", "relay_in", "relay_out", "claimed", "resolved", "reminder",
    "reopened", "relay_ack", "note",
)  # fmt: skip

@dataclass(frozen=True)
class Forgotten:
    """What `forget` did: the cases it closed, and the (chat, message, case) of every message
    delivered to staff about the person's cases, to be blanked out by the channel."""

    closed: list[int]
    delivered: list[tuple[int, int, int]]

@dataclass(frozen=True)
class Handoff:
    """A case opened (or a message added to the open one). `reply`: the text to answer with in the
    chat the person wrote in, or None when the acknowledgement went through the outbox to their
    private chat (asked in a group: the adapter then says only a neutral pointer there)."""

    case: Case | None
    reply: str | None
    private: bool = True

@dataclass(frozen=True)
class TraineeMessage:
    case: Case
    message: CaseMessage
    reopened: bool

@dataclass(frozen=True)
class CounselorReply:
    case: Case
    claimed_now: bool

class EscalationDesk:
    def __init__(
        self,
        db: Database,
        roster: Roster,
        settings: HoursLike,
        *,
        clock: Callable[[], datetime] = utcnow,
        translator: Translator | None = None,
        reopen_window_hours: float = 72.0,
    ) -> None:
        self.db = db
        self.roster = roster
        self.settings = settings
        self.clock = clock
        self.tr = translator or default_translator()
        self.cases = CaseStore(
            db, roster=roster, clock=clock, reopen_window=timedelta(hours=reopen_window_hours)
        )
        self.outbox = Outbox(db, clock=clock)

    def open(self) -> None:
        self.db.migrate()
        self.reconcile_roster()

    def close(self) -> None:
        self.db.close()

    # --- who is who ---------------------------------------------------------------------------

    def person(self, user_id: int | None) -> Person | None:
        """The roster person with this Telegram id (staff), or None."""
        return self.roster.person(user_id)

    def language_of(self, chat_id: int) -> str:
        """The language the desk writes in, in this chat: its roster person's, or the desk's."""
        reader = self.roster.person(chat_id)
        return _lang(reader.language if reader else self.roster.desk.language)

    # --- opening ------------------------------------------------------------------------------

    def request_human(
        self, *, user_id: int, chat_id: int, name: str, language: str, text: str,
        username: str | None = None, private: bool = True,
    ) -> Handoff:  # fmt: skip
        """/human or "Talk to a person": open (or add to) a case."""
        return self._escalate(
            user_id=user_id, chat_id=chat_id, name=name, language=language, text=text,
            reason="explicit_request", topic=None, draft=None, sources=[], username=username,
            ack_via_outbox=not private, private=private,
        )  # fmt: skip

    def escalate(
        self, *, record: AnswerRecord, user_id: int, chat_id: int, name: str,
        username: str | None = None, context: list[str] | None = None, private: bool = True,
    ) -> Handoff:  # fmt: skip
        """An answer that escalates (crisis, sensitive, low confidence): the acknowledgement goes
        through the outbox, after the answer the channel already sent."""
        return self._escalate(
            user_id=user_id, chat_id=chat_id, name=name, language=record.language,
            text=record.question, reason=record.escalation_reason or "explicit_request",
            topic=record.topic, draft=record.answer if record.answered else None,
            sources=[c.source for c in record.sources], username=username, context=context,
            ack_via_outbox=True, private=private,
        )  # fmt: skip

    def _escalate(
        self, *, user_id, chat_id, name, language, text, reason, topic, draft, sources,
        username, ack_via_outbox, private, context=None,
    ) -> Handoff:  # fmt: skip
        # A case lives in the trainee's private chat (in Telegram its id is the user's id).
        case_chat = chat_id if private else user_id
        existing = self.cases.active_case_for(user_id)
        if existing is not None:
            if not text.strip():  # /human again, with nothing to pass on
                ack = self.tr.t(language, "desk.ack_already_open_no_message", case_id=existing.id)
            else:
                message = self.cases.add_message(existing.id, "in", user_id, text)
                if reason == "crisis":  # e.g. written in a group, where the gate does not look
                    existing = self.crisis_in_case(existing.id, message.id, text)
                self._relay_in(existing, message, reopening=False)
                ack = self.tr.t(language, "desk.ack_already_open", case_id=existing.id)
            return self._ack(existing, ack, private, f"msg-ack:{existing.id}:{self.clock()}")
        case = self.cases.open_case(
            user_id, case_chat, name, language, reason, topic, text, context or [], draft, sources,
            username=username,
        )  # fmt: skip
        now = self.clock()
        routing = route(case, self.roster, now)
        case = self.cases.record_routing(case.id, routing)
        promise = reply_promise(now, self.settings)
        notify_new_case(
            case, routing, self.roster, self.outbox, self.tr,
            promise=promise, now=now, ack=ack_via_outbox,
        )  # fmt: skip
        logger.info("case %s opened (%s, %s): %s", case.id, reason, topic, routing.reason)
        return Handoff(case, None if ack_via_outbox else ack_text(self.tr, case, promise, now),
                       private)  # fmt: skip

    def _ack(self, case: Case, text: str, private: bool, key: str) -> Handoff:
        if private:
            return Handoff(case, text, True)
        self.outbox.enqueue(case.chat_id, text, kind="ack", case_id=case.id, dedupe_key=key)
        return Handoff(case, None, False)

    def crisis_in_case(self, case_id: int, message_id: int, text: str) -> Case:
        """A crisis written inside an open case: whoever owns the case already has the message;
        now the counselors on duty (and the desk, redacted) get an urgent card at once, and the
        case becomes urgent. Returns the case once the cards are stored."""
        case = self.cases.mark_crisis(case_id, message_id)
        now = self.clock()
        routing = route(case, self.roster, now)
        case = self.cases.record_routing(case.id, routing)
        notify_crisis_in_case(case, message_id, text, routing, self.roster, self.outbox, self.tr)
        logger.warning("case %s: crisis message, urgent cards to %s", case.id, routing.reason)
        return case

    # --- the staff's actions ------------------------------------------------------------------

    def claim(self, case_id: int, actor_id: int) -> Case:
        """Take an unclaimed case; the trainee is told who has it. A person who never had the full
        card (claimed from the desk group) gets it in private."""
        before = self.cases.get(case_id)
        case = self.cases.claim(case_id, actor_id)
        self._after_claim(before, case, actor_id)
        return case

    def _after_claim(self, before: Case, case: Case, actor_id: int) -> None:
        person = self.roster.person(actor_id)
        if person is None:
            return
        if actor_id not in before.routed_to:
            self._card_to(case, person)
        notify_claimed(case, person, self.outbox, self.tr)

    def resolve(self, case_id: int, actor_id: int) -> Case:
        """Close a case (an unclaimed one is claimed first); the trainee is asked to rate it."""
        case = self.cases.get(case_id)
        if case.status in (OPEN, REOPENED) and case.assigned_to is None:
            self.claim(case_id, actor_id)
        case = self.cases.resolve(case_id, actor_id)
        hours = self.cases.reopen_window.total_seconds() / 3600
        notify_resolved(case, self.outbox, self.tr, reopen_hours=hours)
        return case

    def reassign(self, case_id: int, to: int, actor_id: int) -> Case:
        """Hand a case over: the new person gets the card, the trainee is told who is on it now."""
        case = self.cases.reassign(case_id, to, by=actor_id)
        person = self.roster.person(to)
        if person is not None:
            self._card_to(case, person)
            self._history_to(case, person)
            notify_claimed(case, person, self.outbox, self.tr)
        return case

    def _history_to(self, case: Case, person: Person) -> None:
        """A handoff carries the conversation: every message of the case so far (both ways,
        media as their described lines), in private to the new assignee, in order, in parts."""
        messages = self.cases.messages(case.id)
        said = [m for m in messages if m.text.strip()]
        if not said:
            return
        lang = _lang(person.language)
        lines = [self.tr.t(lang, "desk.handoff_history", case_id=case.id, count=len(said))]
        for m in said:
            if m.direction == "in":
                who = clean(case.name)
            else:
                author = self.roster.person(m.author)
                who = clean(author.name) if author else str(m.author)
            when = self.roster.local(m.created_at).strftime("%m-%d %H:%M")
            lines.append(f"› {when} {who}: {clean(m.text)}")
        stamp = int(case.claimed_at.timestamp()) if case.claimed_at else 0
        enqueue_parts(
            self.outbox, person.id, "\n".join(lines), kind="note", case_id=case.id,
            dedupe_key=f"case:{case.id}:handoff:{person.id}:{stamp}",
        )  # fmt: skip

    def reassign_candidates(self, case_id: int, actor_id: int) -> tuple[Case, list[Person]]:
        """The case and the people it may go to now, if `actor_id` may reassign it."""
        case = self.cases.authorize(case_id, actor_id, "reassign")
        if not case.active:
            raise InvalidTransition(case, "reassign")
        people = policy.candidates(self.roster, case, self.clock())
        return case, [p for p in people if p.id != actor_id]

    def reply(
        self, case_id: int, actor_id: int, text: str, where: tuple[int, int | None],
        copy_from: tuple[int, int] | None = None,
    ) -> CounselorReply:  # fmt: skip
        """A counselor's message to the trainee (claiming an unclaimed case); a confirmation
        goes to the chat they wrote in, without the trainee's name if that is a group and the
        case is sensitive."""
        case = self.cases.get(case_id)
        claimed_now = case.status in (OPEN, REOPENED) and case.assigned_to is None
        if claimed_now:
            case = self.claim(case.id, actor_id)  # whoever answers first takes the case
        message = self.cases.add_message(case.id, "out", actor_id, text)
        person = self.roster.person(actor_id)
        relay_to_trainee(case, person, message, self.outbox, self.tr, copy_from=copy_from)
        chat_id, thread_id = where
        lang = self.language_of(actor_id)
        name = self.shown_name(case, actor_id, chat_id) or self.tr.t(lang, "desk.hidden")
        # The receipt is held until the relay's fate is known (`settle_deliveries`): "delivered"
        # only once Telegram accepted the message, "not delivered" when it failed for good.
        self.outbox.enqueue(
            chat_id, self.tr.t(lang, "desk.relayed_ok", name=name, case_id=case.id),
            kind="relay_ack", case_id=case.id, dedupe_key=f"msg:{message.id}:ack",
            thread_id=thread_id, held=True,
        )  # fmt: skip
        return CounselorReply(case, claimed_now)

    def cancel(self, case_id: int, actor_id: int) -> Case:
        """The trainee withdraws their request (`/case` → Cancel); whoever handles it, or the
        people it was routed to, are told there is nothing more to do."""
        case = self.cases.cancel(case_id, actor_id)
        targets = [case.assigned_to] if case.assigned_to else list(case.routed_to)
        for person_id in targets:
            lang = self.language_of(person_id)
            self.outbox.enqueue(
                person_id, self.tr.t(lang, "desk.cancelled_staff", case_id=case.id),
                kind="note", case_id=case.id,
                dedupe_key=f"case:{case.id}:r{case.round}:cancelled:{person_id}",
            )  # fmt: skip
        return case

    def view(self, case_id: int, actor_id: int) -> tuple[Case, list[CaseEvent]]:
        """/case N: the case and its audit trail (events never hold message text)."""
        case = self.cases.authorize(case_id, actor_id, "view")
        return case, self.cases.audit(case_id)

    def shown_name(self, case: Case, actor_id: int, chat_id: int) -> str | None:
        """The trainee's name as `actor_id` may read it in chat `chat_id` (clean of control
        characters), or None: not theirs to see, or a sensitive case and a group chat (in
        Telegram, groups have negative ids): nothing of a sensitive case is shown in a group."""
        if case.sensitive and chat_id < 0:
            return None
        return clean(case.name) if self.may_view(case, actor_id) else None

    def may_view(self, case: Case, actor_id: int) -> bool:
        return bool(policy.decide(self.roster, case, actor_id, "view",
                                  at_desk=self.cases.at_desk(case.id)))  # fmt: skip

    def cases_for(self, actor_id: int) -> tuple[bool, list[Case]]:
        """(all?, cases) for /cases: a desk admin sees every active case, anyone else theirs and
        the ones routed to them. Not on the roster: `NotAllowed`."""
        if self.roster.person(actor_id) is None:
            raise NotAllowed(0, actor_id, "list cases", "not on the roster")
        if not self.roster.is_admin(actor_id):
            return False, self.cases.open_cases_for(actor_id)
        return True, self.cases.all_active()

    def case_of_message(self, chat_id: int, message_id: int) -> Case | None:
        """The case a message the desk sent belongs to (a card, a relayed message, a notice)."""
        case_id = self.outbox.case_for_message(chat_id, message_id)
        if case_id is None:
            return None
        try:
            return self.cases.get(case_id)
        except CaseNotFound:
            return None

    def sending_to(self, chat_id: int) -> bool:
        return self.outbox.sending_to(chat_id)

    def cards(self, case_id: int) -> tuple[Case, list[tuple[int, int, str, str]]]:
        """The case and every delivered copy of its card (chat, message id, text, kind)."""
        return self.cases.get(case_id), self.outbox.delivered(case_id, CARD_KINDS)

    # --- the trainee's actions ----------------------------------------------------------------

    def active_case(self, user_id: int) -> Case | None:
        return self.cases.active_case_for(user_id)

    def trainee_message(
        self, user_id: int, text: str, *, replying_to: Case | None = None, crisis: bool = False,
        copy_from: tuple[int, int] | None = None, caution: bool = False,
    ) -> TraineeMessage | None:  # fmt: skip
        """The trainee's message goes to their active case, or reopens the resolved case they
        replied to (within the window). None: not the desk's business (Puente answers).
        `crisis` (triage said so): the case becomes a crisis case, with urgent cards to the
        counselors on duty, before the message is relayed anywhere. `copy_from` (chat, message):
        a photo, voice note, document or location, copied to the counselors after `text` (which
        says what it is, with its caption); never to the desk group of a sensitive case.
        `caution` (triage heard a possible danger below the crisis line): the counselors' copy
        says so; a desk group's never does."""
        case = self.cases.active_case_for(user_id)
        if case is None and replying_to is not None and replying_to.status == RESOLVED:
            case = replying_to
        if case is None:
            return None
        reopening = case.status == RESOLVED
        try:
            message = self.cases.add_message(case.id, "in", user_id, text)
        except InvalidTransition:
            return None  # the reopen window has passed: a new question for Puente
        case = self.crisis_in_case(case.id, message.id, text) if crisis else self.cases.get(case.id)
        self._relay_in(case, message, reopening=reopening, copy_from=copy_from,
                       caution=caution and not crisis)  # fmt: skip
        return TraineeMessage(case, message, reopening)

    def _relay_in(
        self, case: Case, message: CaseMessage, *, reopening: bool,
        copy_from: tuple[int, int] | None = None, caution: bool = False,
    ) -> None:  # fmt: skip
        """Relay a trainee's message to whoever handles the case; with nobody routed, to the desk
        chat (for a sensitive case without name or text, as its first card there)."""
        if case.assigned_to or case.routed_to:
            targets = [case.assigned_to] if case.assigned_to else list(case.routed_to)
            relay_to_counselors(case, message, self.roster, self.outbox, self.tr,
                                copy_from=copy_from, caution=caution)  # fmt: skip
        else:
            targets = []
            lang = _lang(self.roster.desk.language)
            if case.sensitive:
                text = self.tr.t(lang, "desk.from_trainee_redacted", case_id=case.id)
            else:
                text = self.tr.t(lang, "desk.from_trainee", case_id=case.id,
                                 name=clean(case.name), text=clean(message.text))  # fmt: skip
            enqueue_parts(
                self.outbox, self.roster.desk.chat_id, text, kind="relay_in", case_id=case.id,
                dedupe_key=f"msg:{message.id}:desk", thread_id=self.roster.desk.thread_id,
            )  # fmt: skip
            if copy_from is not None and not case.sensitive:  # nothing of a sensitive case
                self.outbox.enqueue(
                    self.roster.desk.chat_id, clean(message.text), kind="relay_in",
                    case_id=case.id, dedupe_key=f"msg:{message.id}:desk:copy",
                    thread_id=self.roster.desk.thread_id, copy_from=copy_from,
                )  # fmt: skip
        if reopening:
            self._announce_reopened(case, targets)

    def _announce_reopened(self, case: Case, targets: list[int]) -> None:
        """The people on the case are told it is open again, and so is the trainee."""
        for person_id in targets:
            lang = self.language_of(person_id)
            self.outbox.enqueue(
                person_id,
                self.tr.t(lang, "desk.reopened", case_id=case.id, name=clean(case.name)),
                kind="reopened", case_id=case.id,
                dedupe_key=f"case:{case.id}:r{case.round}:reopened:{person_id}",
            )  # fmt: skip
        self.outbox.enqueue(
            case.chat_id, self.tr.t(case.language, "desk.reopened_trainee", case_id=case.id),
            kind="ack", case_id=case.id, dedupe_key=f"case:{case.id}:r{case.round}:reopened",
        )  # fmt: skip

    def reopen(self, case_id: int, actor_id: int) -> Case:
        """The trainee's "Reopen" (offered after a resolution): the case waits again for the
        person who had it (or the people it was routed to), who are told, as is the trainee."""
        case = self.cases.reopen(case_id, actor_id)
        targets = [case.assigned_to] if case.assigned_to else list(case.routed_to)
        self._announce_reopened(case, targets)
        return case

    def reopen_offer(self, user_id: int) -> Case | None:
        """After a resolution, the trainee writes again without replying to the case: Puente
        answers, and offers once per round to reopen the case (an audit event marks the offer).
        None: no case resolved within the reopen window, or the offer was made already."""
        case = self.cases.recent_case_for(user_id)
        if case is None or case.anonymized:
            return None
        offered = any(e.kind == "reopen_offered" and e.detail.get("round") == case.round
                      for e in self.cases.audit(case.id))  # fmt: skip
        if offered:
            return None
        self.cases.record_event(case.id, "reopen_offered", None, {"round": case.round})
        return case

    def rate(self, case_id: int, actor_id: int, score: int, *, round: int | None = None) -> Case:
        """The trainee rates a resolved case, once per round (a stale button is refused)."""
        if round is not None:
            case = self.cases.get(case_id)
            if case.round != round:
                raise InvalidTransition(case, "rate")
        return self.cases.rate(case_id, score, by=actor_id)

    def forget(self, user_id: int) -> Forgotten:
        """Before a person's data is erased (/forget): close their active cases, with a note to
        whoever handles them (and to the desk when nobody does), and list the messages already
        delivered to staff that carry their name or words, for the channel to blank out. Other
        people's cases are untouched, whoever runs it."""
        closed = []
        while (case := self.cases.active_case_for(user_id)) is not None:
            self.cases.close_forgotten(case.id, user_id)
            targets = [case.assigned_to] if case.assigned_to else list(case.routed_to)
            chats = targets or [self.roster.desk.chat_id]
            for chat_id in chats:
                lang = self.language_of(chat_id)
                self.outbox.enqueue(
                    chat_id, self.tr.t(lang, "desk.forgotten", case_id=case.id),
                    kind="note", case_id=None, dedupe_key=f"case:{case.id}:forgotten:{chat_id}",
                    thread_id=None if targets else self.roster.desk.thread_id,
                )  # fmt: skip
            closed.append(case.id)
        delivered = [
            (chat_id, message_id, case.id)
            for case in self.cases.cases_of(user_id)
            for chat_id, message_id, _text, _kind in self.outbox.delivered(case.id, STAFF_KINDS)
            if chat_id != case.chat_id
        ]
        return Forgotten(closed, delivered)

    def chat_opened(self, user_id: int) -> int:
        """The person pressed Start in a private chat: what the desk wrote to them about their
        active or recently resolved cases and Telegram refused (they had never written to the
        bot: a case asked for in a group) goes out now. Returns how many messages are due again."""
        cases = [c for c in self.cases.cases_of(user_id)
                 if c.active or self.cases.recent_case_for(user_id) == c]  # fmt: skip
        return sum(
            self.outbox.retry_refused(case.chat_id, case.id, TRAINEE_KINDS) for case in cases
        )

    def settle_deliveries(self) -> int:
        """What became of the desk's messages, told to the people who need to know; returns how
        many notices were enqueued or released. Idempotent and durable (run after every
        delivery round): every step is keyed or guarded, so a crash in the middle repeats
        nothing and loses nothing.

        - A counselor's receipt (held since the reply) is released once the relay was delivered;
          it says "not delivered" and why when the relay failed for good; while the relay is
          failing but still being retried, a "not delivered yet" notice goes out once.
        - Every desk message that failed for good is reported to the desk admins in private
          (the case number, the kind, the recipient and the error, never the message's text)
          and in the case's audit trail."""
        done = 0
        for receipt in self.outbox.held(("relay_ack",)):
            # The relay in all its parts (a long text, the copy of a photo): "delivered" only
            # when every part is, "not delivered" as soon as one failed for good.
            key = receipt.dedupe_key.removesuffix(":ack")
            parts = self.outbox.family(key, ("relay_out",))
            lang = self.language_of(receipt.chat_id)
            failed = [p for p in parts if p.status == "failed"]
            retrying = [p for p in parts if p.status == "pending" and p.attempts and p.last_error]
            if all(p.status == "sent" for p in parts):
                done += self.outbox.release(receipt.id)
            elif failed:
                text = self.tr.t(lang, "desk.relay_undeliverable", case_id=receipt.case_id,
                                 reason=_reason(failed[0].last_error))  # fmt: skip
                done += self.outbox.release(receipt.id, text)
            elif retrying and f"{key}:delayed" not in self.outbox.by_keys([f"{key}:delayed"]):
                self.outbox.enqueue(
                    receipt.chat_id,
                    self.tr.t(lang, "desk.relay_delayed", case_id=receipt.case_id,
                              reason=_reason(retrying[0].last_error)),
                    kind="note", case_id=receipt.case_id, dedupe_key=f"{key}:delayed",
                    thread_id=receipt.thread_id,
                )  # fmt: skip
                done += 1
        for dead in self.outbox.unreported_failures(REPORTED_KINDS):
            # A trainee who asked in a group and never opened a private chat with the bot: what
            # the desk wrote goes out when they press Start (`chat_opened`); no alert for that.
            never_started = "initiate conversation" in (dead.last_error or "").lower()
            admins = [] if dead.kind in TRAINEE_KINDS and never_started else (
                self.roster.with_role("desk_admin"))  # fmt: skip
            for admin in admins:
                lang = _lang(admin.language)
                self.outbox.enqueue(
                    admin.id,
                    self.tr.t(lang, "desk.dead_letter", case_id=dead.case_id or "—",
                              kind=dead.kind, recipient=self._recipient(dead.chat_id, lang),
                              reason=_reason(dead.last_error), outbox_id=dead.id),
                    kind="dead_letter", case_id=dead.case_id,
                    dedupe_key=f"dead:{dead.id}:{admin.id}",
                )  # fmt: skip
                done += 1
            if dead.case_id is not None:
                try:
                    self.cases.record_event(dead.case_id, "undeliverable", None,
                                            {"kind": dead.kind, "outbox": dead.id})  # fmt: skip
                except CaseNotFound:
                    pass
            self.outbox.mark_reported(dead.id)
        return done

    def resend(self, outbox_id: int, actor_id: int) -> bool:
        """`/resend N` from a dead letter: a desk admin sends a failed desk message again (the
        policy's `may_resend`). False: no failed desk message with that number."""
        decision = policy.may_resend(self.roster, actor_id)
        if not decision:
            raise NotAllowed(0, actor_id, "resend", decision.why)
        return self.outbox.resend(outbox_id, REPORTED_KINDS)

    def _recipient(self, chat_id: int, lang: str) -> str:
        """Who a message was for, as a desk admin may read it: a staff member's name, the desk
        group, or "trainee" (no trainee's name: the alert is about delivery, not the case)."""
        person = self.roster.person(chat_id)
        if person is not None:
            return clean(person.name)
        if chat_id == self.roster.desk.chat_id:
            return "desk"
        return self.tr.t(lang, "desk.actors.trainee")

    def send_reminders(self, minutes: int, crisis_minutes: float = 5) -> list:
        """Claim reminders for cases nobody took (idempotent: each step is an audit event); a
        crisis every `crisis_minutes` until claimed."""

        return send_reminders(
            self.cases, self.roster, self.outbox, self.tr, now=self.clock(), minutes=minutes,
            crisis_minutes=crisis_minutes,
        )  # fmt: skip

    # --- the roster ---------------------------------------------------------------------------

    def reconcile_roster(self) -> list[int]:
        """At start (a new roster): active cases assigned to someone no longer on the roster
        go back to waiting and are routed again. Returns their ids."""
        moved = []
        for case in self.cases.all_active():
            gone = case.assigned_to is not None and self.roster.person(case.assigned_to) is None
            stale = [p for p in case.routed_to if self.roster.person(p) is None]
            if not gone and not (stale and case.assigned_to is None):
                continue
            case = self.cases.unassign(case.id, why="removed from the roster")
            now = self.clock()
            routing = route(case, self.roster, now)
            case = self.cases.record_routing(case.id, routing)
            notify_new_case(
                case, routing, self.roster, self.outbox,
                self.tr, promise=reply_promise(now, self.settings), now=now, ack=False,
                key=f"case:{case.id}:rerouted:{len(self.cases.audit(case.id))}",
            )  # fmt: skip
            logger.warning("case %s: its assignee left the roster; routed again", case.id)
            moved.append(case.id)
        return moved

    def _card_to(self, case: Case, person: Person) -> None:
        lang = _lang(person.language)
        self.outbox.enqueue(
            person.id, case_card(self.tr, lang, case, None, None), kind="card", case_id=case.id,
            dedupe_key=f"case:{case.id}:r{case.round}:card:{person.id}",
            reply_markup_json=card_buttons(self.tr, lang, case),
        )  # fmt: skip

    def case(self, case_id: int) -> Case:
        return self.cases.get(case_id)

def card_buttons(tr: Translator, lang: str, case: Case) -> dict | None:
    """A card's buttons for the case's state (stored/outbox form)."""
    label = lambda key: tr.t(lang, f"desk.buttons.{key}")
    if case.status == RESOLVED:
        if case.sensitive or case.reason in ("crisis", "sensitive") or case.anonymized:
            return None  # never an FAQ (bot.escalation.policy.decide_faq)
        return buttons([(tr.t(lang, "faq.save_button"), f"faq:draft:{case.id}")])
    if case.assigned_to is None:
        return buttons([(label("claim"), f"desk:claim:{case.id}"),
                        (label("resolve"), f"desk:resolve:{case.id}")])  # fmt: skip
    return buttons([(label("resolve"), f"desk:resolve:{case.id}"),
                    (label("reassign"), f"desk:reassign:{case.id}")])  # fmt: skip

def _reason(error: str | None) -> str:
    """The first line of a delivery error, short (for a notice)."""
    first = (error or "?").splitlines()[0]
    return first if len(first) <= 160 else first[:157] + "..."

def _lang(language: str | None) -> str:
    return language if language in ("es", "en", "zh-TW") else "en"
