"""The console chat: try Puente in a terminal, no Telegram needed (`python -m bot chat`)."""

from __future__ import annotations

import sys
from typing import TextIO

PROMPT = "you> "
BANNER = (
    "Puente console chat. Ask in Spanish, English or Chinese; follow-ups are read with the "
    "question before them. /lang es|en|zh-TW picks the reply language, /lang auto detects it "
    "again, /forget starts a new conversation, /quit (or Ctrl-D) leaves."
)
CHAT_ID = 0  # the console is one conversation


def run_console(
    assistant, *, stdin: TextIO | None = None, stdout: TextIO | None = None, conversations=None
) -> int:
    """Read questions line by line and print Puente's replies until end of input. The
    conversation logic is Telegram's (`bot.conversation.Conversations`), kept in memory."""
    if conversations is None:
        # deferred: bot.conversation loads SQLAlchemy (heavy), only when no store is given
        from bot.conversation import Conversations, MemoryConversationStore

        conversations = Conversations(assistant, MemoryConversationStore())
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    interactive = stdin.isatty()
    print(BANNER, file=stdout, flush=True)
    language: str | None = None
    while True:
        if interactive:
            print(PROMPT, end="", file=stdout, flush=True)
        line = stdin.readline()
        if not line:
            return 0
        text = line.strip()
        if not text:
            continue
        if text in ("/quit", "/exit"):
            return 0
        if text.startswith("/lang"):
            choice = text.split(maxsplit=1)[1].strip() if " " in text else ""
            language = None if choice in ("", "auto") else _language(choice)
            print(f"puente> language: {language or 'auto'}", file=stdout, flush=True)
            continue
        if text == "/forget":
            conversations.forget(CHAT_ID)
            print("puente> (a new conversation)", file=stdout, flush=True)
            continue
        record = conversations.reply(CHAT_ID, text, user_id=CHAT_ID, language=language)
        print("puente> " + record.answer.replace("\n", "\n        "), file=stdout, flush=True)
        if record.escalate:
            print(f"        [escalated: {record.escalation_reason}]", file=stdout, flush=True)
        elif record.offer_counselor:
            print("        [a counselor can be offered here]", file=stdout, flush=True)


def _language(choice: str) -> str | None:
    choice = choice.lower()
    if choice.startswith("zh") or choice in ("中文", "chinese"):
        return "zh-TW"
    if choice in ("es", "español", "espanol", "spanish"):
        return "es"
    if choice in ("en", "english", "inglés"):
        return "en"
    return None
