"""The house's layering, read from the source: no module imports one above it, and there is no
import cycle. Only imports that run when a module is imported count (not those inside functions,
which defer a heavy load and say so, nor `if TYPE_CHECKING:` blocks)."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[1] / "bot"

# Lowest first. A module may import its own layer or the ones below; the README's "Design in a
# page" lists the same order.
LAYERS: list[set[str]] = [
    {"bot", "bot.errors", "bot.config", "bot.records", "bot.textnorm", "bot.textsplit", "bot.clock",
     "bot.topics", "bot.logging_setup", "bot.i18n", "bot.language", "bot.informal",
     "bot.evaluation", "bot.answering.evidence"},  # fmt: skip
    {"bot.storage", "bot.index", "bot.embeddings", "bot.outbox", "bot.anticipated"},
    {"bot.ingestion", "bot.mandarin", "bot.ranking", "bot.retrieval", "bot.triage", "bot.exams",
     "bot.conversation", "bot.escalation"},  # fmt: skip
    {"bot.answering", "bot.learning", "bot.report", "bot.triage_eval"},
    {"bot.assistant"},
    {"bot.services", "bot.wiring"},
    {"bot.channels", "bot.__main__"},
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(BOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in BOT.rglob("*.py")}


def layer_of(module: str) -> int:
    best, rank = "", None
    for n, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > len(best):
                best, rank = name, n
    assert rank is not None, f"{module} is in no layer: add it to LAYERS"
    return rank


def imports_at_import_time(module: str) -> set[str]:
    """The bot modules `module` imports when it is imported."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def resolve(target: str, names: list[str]) -> None:
        for name in names:  # `from bot.storage import schema`: the submodule, not the package
            if f"{target}.{name}" in MODULES:
                found.add(f"{target}.{name}")
            elif target in MODULES:
                found.add(target)

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
                continue
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name in MODULES)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.split(".")[0] == "bot":
                    resolve(target, [a.name for a in node.names])
            elif isinstance(node, (ast.If, ast.Try, ast.With)):
                visit(node.body)
                visit(getattr(node, "orelse", []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)
                visit(getattr(node, "finalbody", []))

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    found.discard(module)
    return found


GRAPH = {module: imports_at_import_time(module) for module in MODULES}


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return [
        f"{module} (layer {layer_of(module)}) imports {target} (layer {layer_of(target)})"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if layer_of(target) > layer_of(module)
    ]


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    state: dict[str, int] = {}  # 1: on the path, 2: done
    cycles: list[list[str]] = []

    def walk(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                cycles.append(path[path.index(target):] + [target])
            elif target not in state:
                walk(target, path + [target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])
    return cycles


def test_no_module_imports_a_layer_above_it() -> None:
    assert upward_imports(GRAPH) == []


def test_there_is_no_import_cycle() -> None:
    assert import_cycles(GRAPH) == []


def test_the_checks_see_an_upward_import_and_a_cycle() -> None:
    """The two tests above fail on a violation: the real graph with one bad edge added."""
    assert "bot.index" in GRAPH["bot.retrieval"]  # the graph is read, not empty
    assert "bot.storage.schema" in GRAPH["bot.storage.migrations"]  # submodules resolved
    upward = {**GRAPH, "bot.retrieval": GRAPH["bot.retrieval"] | {"bot.assistant"}}
    assert upward_imports(upward) == ["bot.retrieval (layer 2) imports bot.assistant (layer 4)"]
    cyclic = {**GRAPH, "bot.textnorm": GRAPH["bot.textnorm"] | {"bot.retrieval"}}
    assert ["bot.textnorm", "bot.retrieval", "bot.textnorm"] in import_cycles(cyclic)
