"""One weekly report across replicas: the week is claimed in `report_runs` before it is sent.

Every replica runs the weekly job; the first to insert the week's row (its primary key, an ISO
week such as "2026-W48") sends, the others find the row and stay quiet. A send that fails gives
the claim back (`release`) so a retry, here or on another replica, may take it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa

from bot.storage import schema
from bot.storage.db import Database


def week_key(day: date) -> str:
    """The ISO week `day` falls in: "2026-W48"."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


STALE_CLAIM = timedelta(minutes=30)  # a claim this old and unsent: its process died mid-send


def claim_week(db: Database, week: str, now: datetime) -> bool:
    """True when this caller took the week (and must send); False when someone already has. A
    claim left unsent for `STALE_CLAIM` (a replica killed while sending) is taken over."""
    try:
        with db.transaction() as conn:
            conn.execute(schema.report_runs.insert().values(week=week, claimed_at=now))
    except sa.exc.IntegrityError:
        r = schema.report_runs.c
        with db.transaction() as conn:
            return bool(conn.execute(
                schema.report_runs.update()
                .where(r.week == week, r.sent_at.is_(None), r.claimed_at < now - STALE_CLAIM)
                .values(claimed_at=now)
            ).rowcount)  # fmt: skip
    return True


def mark_sent(db: Database, week: str, now: datetime) -> None:
    r = schema.report_runs.c
    with db.transaction() as conn:
        conn.execute(schema.report_runs.update().where(r.week == week).values(sent_at=now))


def release(db: Database, week: str) -> None:
    """Give back a claim whose report was not sent."""
    r = schema.report_runs.c
    with db.transaction() as conn:
        conn.execute(schema.report_runs.delete().where(r.week == week, r.sent_at.is_(None)))


def sent_at(db: Database, week: str) -> datetime | None:
    r = schema.report_runs.c
    with db.connect() as conn:
        return conn.execute(sa.select(r.sent_at).where(r.week == week)).scalar()
