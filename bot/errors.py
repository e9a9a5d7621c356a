"""Puente's exceptions: one tree, so a caller can catch a whole branch.

Each class lives beside the code that raises it (the module in brackets) and keeps the builtin
base it always had (in parentheses), so `except ValueError` and `except KeyError` still work::

    PuenteError                   anything Puente raises on purpose
    ├── SetupError                a person fixes it in a file or a setting, then starts again;
    │   │                         the command line prints its message, no traceback
    │   ├── EmbeddingModelError   (RuntimeError) EMBEDDING_MODEL cannot be loaded [bot.embeddings]
    │   ├── IndexProblem          (RuntimeError) run the ingest again [bot.index.errors]
    │   │   ├── IndexMissing         no index in the data folder yet
    │   │   ├── IndexCorrupt         unreadable or inconsistent index files
    │   │   └── IndexModelMismatch   built with another embedding model
    │   ├── RosterError           (ValueError) roster.yaml, every problem with its line
    │   │                         [bot.escalation.roster]
    │   ├── CalendarError         (ValueError) the exam calendar CSV, with row and column
    │   │                         [bot.exams.model]
    │   ├── TelegramSetupError    (RuntimeError) a Telegram setting missing or inconsistent
    │   │                         [bot.channels.telegram.app]
    │   ├── DatabaseUnavailable   (RuntimeError) DATABASE_URL cannot be opened or written (also
    │   │                         while running: a lock held too long) [bot.storage.db]
    │   └── TriageModelError      (RuntimeError) the triage model files [bot.triage.model]
    ├── InvalidHours              (ValueError) a weekly-hours text; the roster reports it as a
    │                             RosterError [bot.escalation.hours]
    ├── LoaderError               a knowledge file that cannot be read: the ingest skips it
    │                             [bot.ingestion.documents]
    ├── UnknownLanguage           (ValueError) not es, en or zh-TW [bot.storage.users]
    ├── UnknownMessage            (KeyError) no text for a locale key [bot.i18n]
    ├── UnknownSession            (KeyError) a session id that is not in the exam calendar
    │                             [bot.exams.model]
    ├── UnknownWord               (ValueError) a practice answer for a word no lesson has (any
    │                             more) [bot.mandarin.practice]
    ├── UnknownCandidate          (LookupError) no FAQ candidate with that number
    │                             [bot.learning.store]
    ├── EmptyDraft                (ValueError) an FAQ draft without a question or an answer
    │                             [bot.learning.faq]
    ├── FaqStateError             (ValueError) an FAQ candidate not in a state for this (changed
    │                             meanwhile, or rejected) [bot.learning.faq]
    ├── BadWindow                 (ValueError) a report's --since / --until [bot.report.figures]
    ├── SendError                 a send callable's own verdict on a failure [bot.outbox]
    │   ├── RetryableSendError       try again later (after `retry_after` when given)
    │   └── PermanentSendError       never delivered: a dead letter
    └── DeskError                 a desk action refused [bot.escalation.cases]
        ├── CaseNotFound             no case with that number
        ├── InvalidTransition        not in the case's current state
        └── NotAllowed               the policy says no

Errors become words for a person only at the edges: the command lines (`bot.__main__`,
`bot.ingestion.cli`) print a `SetupError`'s message instead of a traceback and exit with status
2; the Telegram handlers turn a `DeskError` into a localized reply. `tests/test_errors.py` checks
that every exception class in `bot` is in this tree.
"""

from __future__ import annotations


class PuenteError(Exception):
    """Base of every exception Puente raises on purpose."""


class SetupError(PuenteError):
    """A problem a person fixes in a file or a setting (the message says which and how); the
    command line prints the message instead of a traceback."""
