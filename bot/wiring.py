"""Building the long-lived services from the settings, once, in `main()`."""

from __future__ import annotations

import logging
from pathlib import Path

from bot.config import Settings
from bot.services import Services

logger = logging.getLogger(__name__)


def build_services(settings: Settings, assistant) -> Services:
    """The database and user store, and the escalation desk when a roster is configured."""
    from bot.storage import Database, UserStore

    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    db.migrate()
    users = UserStore(db)
    return Services(settings=settings, assistant=assistant, users=users, desk=build_desk(settings, db))


def build_desk(settings: Settings, db):
    """The escalation desk over `db`, or None (logged) when no roster file exists."""
    from bot.escalation.roster import load_roster
    from bot.escalation.service import EscalationDesk

    roster_path = Path(settings.roster_file)
    if not roster_path.exists():
        logger.warning("no roster at %s: the counselor desk is off", roster_path)
        return None
    roster = load_roster(roster_path)  # RosterError names the line and field; main() reports it
    return EscalationDesk(db, roster, settings, reopen_window_hours=settings.reopen_window_hours)
