"""The layout's two rules, checked on the source: no import cycle between the project's modules, and the product
(`daemon`, `detector`, `db`) never imports the training-data generator (`corpus`)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("daemon", "detector", "db", "corpus", "bench")
PRODUCT = ("daemon", "detector", "db")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _imported(name: str, path: Path, modules: dict[str, Path]) -> Iterator[str]:
    """The project modules `name` imports, at module level or inside functions (a lazy import is still a
    dependency). `from a import b` names a.b when that is a module, else a."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # `import a.b.c` of a function-less path: its nearest module
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: set(_imported(name, path, modules)) for name, path in modules.items()}


def _without_packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    # A package's __init__ that re-exports its modules is not a cycle with them: leave package-to-child edges out.
    return {a: {b for b in deps if not b.startswith(a + ".")} for a, deps in graph.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_between_project_modules() -> None:
    cycles = _cycles(_without_packages(_graph()))
    assert cycles == [], f"modules that import each other (directly or around a loop): {cycles}"


def test_the_product_never_imports_the_corpus_generator() -> None:
    offenders = sorted(
        f"{name} -> {dep}"
        for name, deps in _graph().items()
        if name.split(".")[0] in PRODUCT
        for dep in deps
        if dep.split(".")[0] == "corpus"
    )
    assert offenders == [], f"the product imports the training-data generator: {offenders}"


def test_the_checker_sees_a_cycle_and_a_corpus_import() -> None:
    # The two rules above pass vacuously if the graph is empty or the search misses loops.
    graph = _graph()
    assert len(graph) > 50 and sum(map(len, graph.values())) > 100
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
