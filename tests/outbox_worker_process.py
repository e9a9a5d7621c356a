"""One outbox worker process for tests/test_outbox_processes.py (not a test module).

`python -m tests.outbox_worker_process DATABASE_URL NAME SEED`: delivers the outbox until nothing
is pending or being sent. Its `send` writes each delivery to the `delivery_log` table (what
"Telegram" received, and from which worker) and fails now and then with a retryable error.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time
from datetime import timedelta

import sqlalchemy as sa

from bot.outbox import Outbox, OutboxWorker, RetryableSendError
from bot.storage import Database


def main(url: str, name: str, seed: int) -> None:
    db = Database(url)
    outbox = Outbox(db, base_delay=0.02, max_delay=0.1, claim_timeout=timedelta(seconds=2))
    rng = random.Random(seed)

    async def send(chat_id: int, text: str, reply_markup, **kwargs) -> int:
        time.sleep(0.002)  # a Bot API call takes a moment: workers interleave
        if rng.random() < 0.08:
            raise RetryableSendError("502 Bad Gateway")
        with db.transaction() as conn:
            return conn.execute(
                sa.text("INSERT INTO delivery_log (chat_id, text, worker) "
                        "VALUES (:c, :t, :w) RETURNING id"),
                {"c": chat_id, "t": text, "w": name},
            ).scalar()  # fmt: skip

    worker = OutboxWorker(outbox, send, batch_size=10)
    while outbox.pending_count():
        report = asyncio.run(worker.run_once())
        if not report.sent:
            time.sleep(0.01)  # nothing due now (retry backoff, a stale claim): poll again
    db.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
