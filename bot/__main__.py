"""Puente's command line: `python -m bot [run|chat|ask|search|eval]` (also the `puente` script).

  run     (the default) Telegram when TELEGRAM_BOT_TOKEN is set, else the console chat
  chat    an interactive console chat, no Telegram needed
  ask     the full answer record for a question, or for every line of --batch FILE
  search  the ranked chunks for a query, or for every line of --batch FILE
  eval    answer-quality metrics on a question set (the dev-set schema)
  eval-triage  triage metrics on a labelled corpus (eval/triage/heldout.jsonl)
  report  the weekly picture: a PNG and CSV files about the activity in the database
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from bot.channels.console import run_console
from bot.clock import Clock
from bot.config import Settings
from bot.errors import SetupError
from bot.evaluation import evaluate, format_table, read_items
from bot.language import detect_language
from bot.logging_setup import configure_logging
from bot.wiring import build_services, private_folder, private_sqlite_file

logger = logging.getLogger("bot")

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="Telegram with a token, else the console chat")
    sub.add_parser("chat", help="interactive console chat")
    ask = sub.add_parser("ask", help="answer a question")
    ask.add_argument("question", nargs="?")
    ask.add_argument("--batch", type=Path, help="one question per line; one JSON record per line out")
    ask.add_argument("--json", action="store_true", help="print the JSON record")
    ask.add_argument("--lang", choices=["es", "en", "zh-TW"], help="reply language (skip detection)")
    search = sub.add_parser("search", help="ranked chunks for a query")
    search.add_argument("query", nargs="?")
    search.add_argument("-k", type=int, default=5)
    search.add_argument("--batch", type=Path)
    search.add_argument("--json", action="store_true")
    search.add_argument("--mode", choices=["hybrid", "dense", "bm25"], default="hybrid")
    ev = sub.add_parser("eval", help="quality metrics on a JSONL question set")
    ev.add_argument("file", type=Path)
    ev.add_argument("--out", type=Path, help="write every item with its reply (JSONL)")
    ev.add_argument("--json", action="store_true", help="print the metrics as JSON")
    et = sub.add_parser("eval-triage", help="triage metrics on a labelled JSONL corpus")
    et.add_argument("file", type=Path)
    et.add_argument("--out", type=Path, help="write every item with its reply (JSONL)")
    et.add_argument("--json", action="store_true", help="print the metrics as JSON")
    rep = sub.add_parser("report", help="a PNG and CSV files about the activity in the database")
    rep.add_argument("--since", default="7d", help="Nd (the N days ending with --until) or YYYY-MM-DD")
    rep.add_argument("--until", help="the last day included, YYYY-MM-DD (default: today)")
    rep.add_argument("--out", type=Path, required=True, help="folder for report.png and the CSV files")
    rep.add_argument("--lang", choices=["es", "en", "zh-TW"], default="en", help="labels' language")
    return parser

def _lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False), flush=True)

def cmd_ask(assistant, args) -> int:
    questions = _lines(args.batch) if args.batch else [args.question or ""]
    for question in questions:
        record = assistant.answer(question, language=args.lang)
        if args.json or args.batch:
            _print_json(record.to_dict())
        else:
            print(record.answer)
    return 0

def cmd_search(retriever, args) -> int:

    queries = _lines(args.batch) if args.batch else [args.query or ""]
    for query in queries:
        hits = retriever.search(query, k=args.k, language=detect_language(query), mode=args.mode)
        rows = [
            {"source": h.chunk.source, "section": h.chunk.section, "score": round(h.score, 5),
             "text": h.chunk.text}
            for h in hits
        ]
        if args.json or args.batch:
            _print_json({"query": query, "results": rows} if args.batch else rows)
        else:
            for i, row in enumerate(rows, 1):
                print(f"{i}. [{row['score']:.4f}] {row['source']} › {row['section']}\n   {row['text'][:200]}")
    return 0

def cmd_eval(assistant, args) -> int:

    scores = evaluate(assistant, read_items(args.file))
    if args.out:
        with args.out.open("w", encoding="utf-8") as handle:
            for result in scores.results:
                handle.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")
    if args.json:
        _print_json({"overall": scores.metrics(), "by_language": scores.by_language()})
    else:
        print(format_table(scores))
    return 0

def cmd_eval_triage(assistant, args) -> int:
    # local: these names clash with bot.evaluation's, imported at the top
    from bot.triage_eval import evaluate, format_report, read_items

    scores = evaluate(assistant, read_items(args.file))
    if args.out:
        with args.out.open("w", encoding="utf-8") as handle:
            for outcome in scores.outcomes:
                handle.write(json.dumps(outcome.to_dict(), ensure_ascii=False) + "\n")
    if args.json:
        _print_json({
            "overall": scores.metrics(),
            "by_language": {k: v.metrics() for k, v in scores.by_language().items()},
            "confusion": {k: dict(v) for k, v in scores.confusion().items()},
        })  # fmt: skip
    else:
        print(format_report(scores))
    return 0

def cmd_report(settings: Settings, args) -> int:
    """The report over the configured database; no index, roster or bot needed (the embedding
    model only when there are declined questions to group)."""
    from bot.report import Window, embed_with, make_report
    from bot.report.figures import BadWindow
    from bot.storage import Database

    clock = Clock.from_settings(settings)
    tz, today = clock.tz, clock.today()
    try:
        window = Window.parse(args.since, args.until, today=today, tz=tz)
    except BadWindow as exc:
        print(f"puente: {exc}", file=sys.stderr)
        return 2
    private_folder(Path(settings.data_dir))  # as the bot does: the database holds messages
    db = Database(settings.resolved_database_url)
    private_sqlite_file(db)
    try:
        db.migrate_with_retries()

        def embed(texts: list[str]):
            # deferred: bot.embeddings loads langchain_core and torch (heavy)
            from bot.embeddings import load_embedder

            embedder = load_embedder(settings.embedding_model, device=settings.embedding_device)
            return embed_with(embedder)(texts)

        report = make_report(
            db, window, args.out, promise_hours=settings.response_promise_hours,
            language=args.lang, embed=embed,
        )  # fmt: skip
    finally:
        db.close()
    for path in (report.written.png, *report.written.csvs):
        print(path)
    print()
    print(report.summary)
    return 0

def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_level)
    command = args.command or "run"
    try:
        if command == "run":
            return run(settings)
        if command == "report":
            return cmd_report(settings, args)
        # deferred: the assistant loads the models (heavy); `report` and `--help` do not need them
        from bot.assistant import Assistant

        assistant = Assistant.from_settings(settings)
        if command == "chat":

            return run_console(assistant)
        if command == "ask":
            return cmd_ask(assistant, args)
        if command == "search":
            return cmd_search(assistant.retriever, args)
        if command == "eval":
            return cmd_eval(assistant, args)
        if command == "eval-triage":
            return cmd_eval_triage(assistant, args)
    except Exception as exc:  # a known start-up problem is one clear message; else re-raised
        problem = startup_problem(exc)
        if problem is None:
            raise
        print(f"puente: {problem}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0

def startup_problem(exc: BaseException) -> str | None:
    """The message for a problem a person fixes in a file or a setting (a `SetupError`: the
    embedding model, the index, the roster, the exam calendar, the Telegram settings, the
    database, the triage model; see `bot.errors`), shown instead of a traceback; else None."""
    return str(exc) if isinstance(exc, SetupError) else None

def run(settings: Settings) -> int:
    """Telegram when a token is configured, otherwise the console chat."""
    # deferred: the assistant loads the models (heavy); `report` and `--help` do not need them
    from bot.assistant import Assistant

    if settings.telegram_bot_token is not None:  # a bad setting fails now, not after loading
        # deferred: python-telegram-bot (heavy), only when a token is configured
        from bot.channels.telegram.app import check_settings

        check_settings(settings)

    assistant = Assistant.from_settings(settings)
    if settings.telegram_bot_token is None:

        logger.info("no TELEGRAM_BOT_TOKEN: starting the console chat")
        return run_console(assistant)
    # deferred: python-telegram-bot (heavy), only when a token is configured
    from bot.channels.telegram import run as run_telegram

    run_telegram(settings, build_services(settings, assistant))
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
