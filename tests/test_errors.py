"""One error tree (`bot.errors`): every exception class in `bot` is a `PuenteError`, the ones a
person fixes in a file or a setting are a `SetupError`, and the command lines print those in one
message instead of a traceback."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest

import bot
from bot import errors
from bot.errors import PuenteError, SetupError


def exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined in a module of the `bot` package, by qualified name."""
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(bot.__path__, "bot."):
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException)
                    and value.__module__ == module.__name__):  # fmt: skip
                found[f"{module.__name__}.{name}"] = value
    return found


CLASSES = exception_classes()


def test_the_walk_finds_the_exceptions_of_every_layer():
    # Were the walk to miss modules, the next test would pass on nothing.
    assert {
        "bot.embeddings.EmbeddingModelError", "bot.index.errors.IndexMissing",
        "bot.escalation.cases.NotAllowed", "bot.outbox.PermanentSendError",
        "bot.channels.telegram.app.TelegramSetupError", "bot.triage.model.TriageModelError",
    } <= set(CLASSES)  # fmt: skip


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_every_exception_in_bot_is_a_puente_error_shown_in_the_tree(name):
    cls = CLASSES[name]
    assert issubclass(cls, PuenteError), f"{name} does not derive from bot.errors.PuenteError"
    assert re.search(rf"\b{cls.__name__}\b", errors.__doc__), f"{name} is not in bot.errors' tree"


SETUP = [
    "bot.embeddings.EmbeddingModelError", "bot.index.errors.IndexProblem", "bot.index.errors.IndexMissing",
    "bot.index.errors.IndexCorrupt", "bot.index.errors.IndexModelMismatch", "bot.escalation.roster.RosterError",
    "bot.exams.model.CalendarError", "bot.channels.telegram.app.TelegramSetupError",
    "bot.storage.db.DatabaseUnavailable", "bot.triage.model.TriageModelError",
]  # fmt: skip


def test_the_setup_branch_is_what_a_person_fixes_in_a_file_or_a_setting():
    assert sorted(n for n, cls in CLASSES.items() if issubclass(cls, SetupError)) == sorted(
        [*SETUP, "bot.errors.SetupError"]
    )


@pytest.mark.parametrize(
    ("name", "builtin"),
    [
        ("bot.embeddings.EmbeddingModelError", RuntimeError),
        ("bot.index.errors.IndexProblem", RuntimeError),
        ("bot.escalation.roster.RosterError", ValueError),
        ("bot.exams.model.CalendarError", ValueError),
        ("bot.channels.telegram.app.TelegramSetupError", RuntimeError),
        ("bot.storage.db.DatabaseUnavailable", RuntimeError),
        ("bot.triage.model.TriageModelError", RuntimeError),
        ("bot.escalation.hours.InvalidHours", ValueError),
        ("bot.storage.users.UnknownLanguage", ValueError),
        ("bot.i18n.UnknownMessage", KeyError),
        ("bot.exams.model.UnknownSession", KeyError),
        ("bot.mandarin.practice.UnknownWord", ValueError),
    ],
)
def test_the_builtin_bases_are_kept_for_callers_that_catch_them(name, builtin):
    assert issubclass(CLASSES[name], builtin)


def test_named_errors_replace_key_errors_as_domain_signals():
    from bot.i18n import UnknownMessage, t

    with pytest.raises(UnknownMessage, match="no-such.key") as info:
        t("en", "no-such.key")
    assert info.value.key == "no-such.key"


def test_startup_problem_is_the_message_of_a_setup_error_only():
    from bot.__main__ import startup_problem
    from bot.embeddings import EmbeddingModelError
    from bot.escalation.cases import CaseNotFound

    assert startup_problem(EmbeddingModelError("cannot load it")) == "cannot load it"
    assert startup_problem(CaseNotFound(3)) is None
    assert startup_problem(ValueError("a bug")) is None


def test_ingest_reports_a_bad_embedding_model_in_one_line(tmp_path, monkeypatch, capsys):
    from bot import embeddings
    from bot.ingestion.cli import main

    def unloadable(name: str, **_):
        raise embeddings.EmbeddingModelError(f"cannot load embedding model {name!r}")

    monkeypatch.setattr(embeddings, "load_embedder", unloadable)
    monkeypatch.setenv("EMBEDDING_MODEL", "no-such-model")
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir()
    (knowledge / "hours.md").write_text("# Hours\n\nOpen from 09:00 to 17:00.\n", encoding="utf-8")

    code = main(["--knowledge", str(knowledge), "--data-dir", str(tmp_path / "data"), "--quiet"])

    err = capsys.readouterr().err
    assert code == 2
    assert err == "ingest: cannot load embedding model 'no-such-model'\n"
