"""Load: many people chatting with the real bot at once, through the Bot API emulator.

`python -m bot` runs as a process (the real entry point, the real index in `data/`, SQLite in a
temporary folder) against the local Bot API emulator (tests/e2e/emulator, Node). Each simulated
person writes `--messages` questions one after the other: a question, the reply, a pause to read
(`--think` seconds on average, exponential, seeded), the next question. All `--people` start
within the first `--think` seconds.

Measured per message: the time from the person's send to the bot's reply reaching the emulator
(the emulator timestamps the reply call when it arrives, in seconds with ms precision). Checked: every message gets exactly one reply
(lost = no reply within `--timeout`; duplicated = more than one), and each person's replies come
in the order of their questions (each question has a distinct, known answer, found beforehand
with the same assistant in-process).

The per-person rate limit is raised for the run (PUENTE_RATE_LIMIT_MESSAGES=10000): 50 people
behind one test client are not spammers. Targets: p95 <= 1 s, 0 lost, order kept.

Usage: python -m bench.load [--people 50] [--messages 10] [--think 2.0] [--timeout 60]
                            [--seed 7] [--json OUT]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench._common import (
    DATA,
    KNOWLEDGE,
    ROOT,
    loadavg,
    machine_table,
    md_table,
    summarize,
    write_json,
)

CANDIDATES = [
    "What are the laundry hours in the dorm?",
    "¿Cuánto es el apoyo económico mensual?",
    "When is the monthly allowance paid?",
    "How many hours of Mandarin class do we have per week?",
    "¿Qué pasa si falto a clase sin avisar?",
    "How do I apply for the residence card (ARC)?",
    "宿舍的洗衣房幾點開放？",
    "What is the fee for the Level 2 exam?",
    "Can I get a refund if I cancel my exam registration?",
    "What ID do I need to bring to the exam?",
    "¿Dónde está la oficina del programa?",
    "Is there a curfew in the dormitory?",
    "How much is the dorm deposit?",
    "¿Tenemos seguro médico?",
    "What should I do if I lose my student ID card?",
    "¿Cuándo empiezan las prácticas en la empresa?",
]


def signature(text: str) -> str:
    """What identifies an answer in the chat: its first 60 non-space characters."""
    return "".join(text.split())[:60]


def pick_questions(count: int) -> tuple[list[str], list[str]]:
    """`count` questions whose replies are plain answers (no escalation) and differ."""
    from bot.assistant import Assistant
    from bot.config import Settings

    settings = Settings(_env_file=None, PUENTE_DATA_DIR=DATA, PUENTE_KNOWLEDGE_DIR=KNOWLEDGE)
    assistant = Assistant.from_settings(settings)
    questions, signatures = [], []
    for question in CANDIDATES:
        record = assistant.answer(question)
        sig = signature(record.answer)
        if record.escalate or sig in signatures:
            continue
        questions.append(question)
        signatures.append(sig)
        if len(questions) == count:
            break
    if len(questions) < count:
        raise SystemExit(f"only {len(questions)} distinct plain answers among the candidates")
    return questions, signatures


class Replies:
    """The bot's sendMessage calls, per chat, polled from the emulator's call log."""

    def __init__(self, emulator) -> None:
        self.emulator = emulator
        self.by_chat: dict[int, list[tuple[float, str]]] = {}
        self.cond = threading.Condition()
        self.stop = threading.Event()
        self.seen = 0
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self.stop.is_set():
            calls = self.emulator.calls("sendMessage")
            fresh = calls[self.seen:]
            done = 0
            for call in fresh:  # a call is logged on arrival; its status once answered
                if call.get("status") is None:
                    break
                done += 1
            if done:
                with self.cond:
                    for call in fresh[:done]:
                        if call.get("ok"):
                            chat = int(call["params"]["chat_id"])
                            self.by_chat.setdefault(chat, []).append(
                                (float(call["time"]), call["params"].get("text", ""))
                            )
                    self.seen += done
                    self.cond.notify_all()
            self.stop.wait(0.05)

    def wait_count(self, chat: int, count: int, timeout: float) -> bool:
        deadline = time.time() + timeout
        with self.cond:
            while len(self.by_chat.get(chat, [])) < count:
                left = deadline - time.time()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--think", type=float, default=2.0, help="mean pause between messages (s)")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from tests.e2e.emulator import BotApiEmulator

    if not (DATA / "manifest.json").exists():
        raise SystemExit("no index in data/: run `python ingest.py` first")
    questions, signatures = pick_questions(args.messages)
    emulator = BotApiEmulator().start()
    workdir = Path(tempfile.mkdtemp(prefix="puente-load-"))
    log = (workdir / "bot.log").open("w")
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": emulator.token,
        "TELEGRAM_API_URL": emulator.url,
        "PUENTE_DATA_DIR": str(DATA),
        "PUENTE_KNOWLEDGE_DIR": str(KNOWLEDGE),
        "DATABASE_URL": f"sqlite:///{workdir / 'puente.db'}",
        "PUENTE_ROSTER_FILE": str(workdir / "no-roster.yaml"),
        "PUENTE_RATE_LIMIT_MESSAGES": "10000",
        "PUENTE_LOG_LEVEL": "WARNING",
    }
    bot = subprocess.Popen([sys.executable, "-m", "bot"], cwd=ROOT, env=env,
                           stdin=subprocess.DEVNULL, stdout=log, stderr=log)  # fmt: skip
    replies = Replies(emulator)
    replies.thread.start()
    try:
        warm_chat = 999_999
        emulator.user_sends(warm_chat, "hello", first_name="Warm")
        if not replies.wait_count(warm_chat, 1, 180):
            raise SystemExit(f"the bot never answered; see {workdir / 'bot.log'}")

        rng = random.Random(args.seed)
        sent: dict[int, list[float]] = {}
        failures: list[str] = []
        load_start = loadavg()

        def person(index: int) -> None:
            chat = 10_000 + index
            r = random.Random(rng.random())
            order = list(range(len(questions)))
            r.shuffle(order)
            times = sent.setdefault(chat, [])
            time.sleep(r.uniform(0, args.think))
            for k, q in enumerate(order):
                times.append(time.time())
                emulator.user_sends(chat, questions[q], first_name=f"P{index}")
                if not replies.wait_count(chat, k + 1, args.timeout):
                    failures.append(f"chat {chat}: no reply to message {k + 1}")
                    return
                time.sleep(r.expovariate(1 / args.think) if args.think > 0 else 0)
            sent[chat] = times
            person.orders[chat] = order  # type: ignore[attr-defined]

        person.orders = {}  # type: ignore[attr-defined]
        started = time.time()
        threads = [threading.Thread(target=person, args=(i,)) for i in range(args.people)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        elapsed = time.time() - started
        load_end = loadavg()
        # Anything late or doubled shows up by now.
        time.sleep(1.0)
        with replies.cond:
            got = {chat: list(v) for chat, v in replies.by_chat.items()}
    finally:
        replies.stop.set()
        replies.thread.join(timeout=5)
        bot.terminate()
        try:
            bot.wait(timeout=30)
        except subprocess.TimeoutExpired:
            bot.kill()
            bot.wait()
        log.close()
        emulator.stop()

    latencies, lost, duplicated, out_of_order = [], 0, 0, 0
    for chat, times in sent.items():
        chat_replies = got.get(chat, [])
        lost += max(0, len(times) - len(chat_replies))
        duplicated += max(0, len(chat_replies) - len(times))
        order = person.orders.get(chat, [])  # type: ignore[attr-defined]
        for k, t_sent in enumerate(times):
            if k < len(chat_replies):
                t_reply, text = chat_replies[k]
                latencies.append((t_reply - t_sent) * 1000)
                if k < len(order) and signature(_plain(text)) != signatures[order[k]]:
                    out_of_order += 1
    total = sum(len(t) for t in sent.values())
    stats = summarize(latencies)
    print(machine_table())
    print()
    print(f"load average before / after: {load_start} / {load_end}")
    print(f"rate limit raised for the run: PUENTE_RATE_LIMIT_MESSAGES=10000; think time "
          f"{args.think}s (mean, exponential); {args.people} people x {args.messages} messages")
    print()
    rows = [[
        args.people, args.messages, total, round(elapsed, 1), round(total / elapsed, 1),
        stats["p50_ms"], stats["p95_ms"], stats["max_ms"], lost, duplicated, out_of_order,
    ]]  # fmt: skip
    print(md_table(
        ["people", "msgs each", "messages", "wall s", "msg/s", "p50 ms", "p95 ms", "max ms",
         "lost", "duplicated", "out of order"], rows,
    ))  # fmt: skip
    ok = stats["p95_ms"] <= 1000 and lost == 0 and duplicated == 0 and out_of_order == 0
    print()
    print(("PASS" if ok else "MISS") + ": target p95 <= 1000 ms, 0 lost, 0 duplicated, order kept")
    for failure in failures[:10]:
        print("  " + failure)
    write_json(args.json, {"stats": stats, "lost": lost, "duplicated": duplicated,
                           "out_of_order": out_of_order, "messages": total,
                           "load_before": load_start, "load_after": load_end})  # fmt: skip
    return 0 if ok else 1


def _plain(text: str) -> str:
    """The bot sends HTML; the answer's own text is what the signature is taken from."""
    import html
    import re

    return html.unescape(re.sub(r"<[^>]+>", "", text))


if __name__ == "__main__":
    raise SystemExit(main())
