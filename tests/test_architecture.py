"""The house stays one-way: no import cycles, and the core never imports a feature.

Read from the source's own import lines (``ast``), every one of them — including those under
``TYPE_CHECKING`` and inside functions — so a cycle cannot hide behind a type-only or a lazy import.

- The core is everything in ``bot/``, ``handlers/`` and ``flows/`` outside ``bot/features/``.
- Features (``bot.features.*``) may import the core and each other, never in a circle.
- Only ``bot.plugins`` (the list of features) names a feature; the entry points take that list from it.
- ``flows/`` (the conversation engine) imports nothing of ``bot/`` or ``handlers/``; ``handlers/`` nothing
  of ``bot.features``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from bot.config.settings import ROOT

PACKAGES = ("bot", "flows", "handlers")
FEATURES = "bot.features"
#: The one module that lists the features.
FEATURE_LIST = "bot.plugins"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


def imported(path: Path, name: str, known: dict[str, Path]) -> set[str]:
    """The project modules ``name`` imports (a ``from package import module`` counts both)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imported(path, name, known) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def is_feature(name: str) -> bool:
    return name == FEATURES or name.startswith(FEATURES + ".")


def edges(graph: dict[str, set[str]]) -> Iterator[tuple[str, str]]:
    for source, targets in sorted(graph.items()):
        for target in sorted(targets):
            yield source, target


def test_no_module_imports_itself_back_through_others() -> None:
    assert cycles(import_graph()) == []


def test_the_core_never_imports_a_feature() -> None:
    wrong = [(a, b) for a, b in edges(import_graph())
             if is_feature(b) and not is_feature(a) and a != FEATURE_LIST]
    assert wrong == [], "core modules get what features offer through bot.extension, not by importing them"


def test_the_conversation_engine_imports_nothing_of_the_bot() -> None:
    wrong = [(a, b) for a, b in edges(import_graph()) if a.startswith("flows") and not b.startswith("flows")]
    assert wrong == [], "flows/ reaches the bot only through flows.ports.Deps"


def test_a_cycle_or_a_core_to_feature_import_is_caught() -> None:
    """The checks above can fail: a made-up graph with both mistakes is reported."""
    graph = {"bot.delivery.consumer": {"bot.features.booking.service"},
             "bot.features.booking.service": {"bot.delivery.consumer"}}
    assert cycles(graph) == [["bot.delivery.consumer", "bot.features.booking.service"]]
    assert [(a, b) for a, b in edges(graph) if is_feature(b) and not is_feature(a)] == [
        ("bot.delivery.consumer", "bot.features.booking.service")]
