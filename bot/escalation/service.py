"""`EscalationDesk`: the one object a channel talks to (`Services.desk`).

It ties the case store, routing, the reply promise, the relay texts and the outbox together.
Everything it says is written to the outbox; the channel runs an `OutboxWorker` with its own
`send` to deliver it. Synchronous on purpose: the channel calls it in a thread.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.escalation.cases import Case, Desk
from bot.escalation.outbox import Outbox
from bot.escalation.relay import (
    ack_text,
    notify_crisis_in_case,
    notify_new_case,
    relay_to_counselors,
)
from bot.escalation.roster import Roster
from bot.escalation.routing import HoursLike, reply_promise, route
from bot.i18n import Translator, default_translator
from bot.records import AnswerRecord
from bot.storage.db import Database
from bot.storage.types import utcnow

logger = logging.getLogger(__name__)


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
        self.cases = Desk(
            db, roster=roster, clock=clock, reopen_window=timedelta(hours=reopen_window_hours)
        )
        self.outbox = Outbox(db, clock=clock)

    def open(self) -> None:
        self.db.migrate()

    def close(self) -> None:
        self.db.close()

    def request_human(
        self, *, user_id: int, chat_id: int, name: str, language: str, text: str,
        username: str | None = None,
    ) -> str:  # fmt: skip
        """/human or "Talk to a person": open (or add to) a case; return the text to reply with."""
        return self._escalate(
            user_id=user_id, chat_id=chat_id, name=name, language=language, text=text,
            reason="explicit_request", topic=None, draft=None, sources=[], username=username,
            ack_via_outbox=False,
        )  # fmt: skip

    def escalate(
        self, *, record: AnswerRecord, user_id: int, chat_id: int, name: str,
        username: str | None = None, context: list[str] | None = None,
    ) -> str:  # fmt: skip
        """An answer that escalates (crisis, sensitive, low confidence): the acknowledgement goes
        through the outbox, after the answer the channel already sent."""
        return self._escalate(
            user_id=user_id, chat_id=chat_id, name=name, language=record.language,
            text=record.question, reason=record.escalation_reason or "explicit_request",
            topic=record.topic, draft=record.answer if record.answered else None,
            sources=[c.source for c in record.sources], username=username, context=context,
            ack_via_outbox=True,
        )  # fmt: skip

    def _escalate(
        self, *, user_id, chat_id, name, language, text, reason, topic, draft, sources,
        username, ack_via_outbox, context=None,
    ) -> str:  # fmt: skip
        existing = self.cases.active_case_for(user_id)
        if existing is not None:
            if not text.strip():  # /human again, with nothing to pass on
                return self.tr.t(language, "desk.ack_already_open_no_message", case_id=existing.id)
            message = self.cases.add_message(existing.id, "in", user_id, text)
            relay_to_counselors(existing, message, self.roster, self.outbox, self.tr)
            return self.tr.t(language, "desk.ack_already_open", case_id=existing.id)
        case = self.cases.open_case(
            user_id, chat_id, name, language, reason, topic, text, context or [], draft, sources,
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
        return ack_text(self.tr, case, promise, now)

    def crisis_in_case(self, case_id: int, message_id: int, text: str) -> Case:
        """A crisis written inside an open case: whoever owns the case already has the message;
        now the counselors on duty (and the desk, redacted) get an urgent card at once, and the
        case becomes urgent. Returns the case once the cards are stored."""
        case = self.cases.get(case_id)
        now = self.clock()
        routing = route(dataclasses.replace(case, reason="crisis", sensitive=True), self.roster, now)
        case = self.cases.record_routing(case.id, routing)
        self.cases.record_event(case.id, "crisis_in_case", None, {"message": message_id})
        notify_crisis_in_case(case, message_id, text, routing, self.roster, self.outbox, self.tr)
        logger.warning("case %s: crisis message, urgent cards to %s", case.id, routing.reason)
        return case

    def case(self, case_id: int) -> Case:
        return self.cases.get(case_id)
