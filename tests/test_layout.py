"""The layout keeps its layers: an import graph of codey/ with no circle and no upward import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.helpers import ROOT

PACKAGE = ROOT / "codey"
#: Third-party packages only the transport may import.
HTTP = ("requests", "urllib3", "sseclient")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _statements(tree: ast.AST, top_level_only: bool) -> list[ast.AST]:
    """Every node, or only those run at import time (function bodies skipped)."""
    found: list[ast.AST] = []
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            todo.extend(node.orelse)
            continue
        found.append(node)
        if top_level_only and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        todo.extend(ast.iter_child_nodes(node))
    return found


def _imports(path: Path, top_level_only: bool) -> set[str]:
    """The modules ``path`` imports (absolute names), without TYPE_CHECKING blocks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path.parent)
    found: set[str] = set()
    for node in _statements(tree, top_level_only):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = parts[: len(parts) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _graph(top_level_only: bool) -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(path, top_level_only):
            # "from codey.x import y" names module codey.x, or codey.x.y if that is one.
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def _layer(module: str) -> str:
    if module == "codey.__main__":
        return "codey.cli"  # ``python -m codey`` is the command line's door
    for layer in ("codey.cli", "codey.testing"):
        if module == layer or module.startswith(layer + "."):
            return layer
    return "codey"


def test_the_graph_sees_the_package() -> None:
    """The graph is not empty: it knows the modules and their best-known edges."""
    graph = _graph(top_level_only=True)
    assert "codey._stream" in graph["codey._api"]
    assert "codey._errors" in graph["codey.cli._exit"]
    assert len(graph) > 30
    # An import made inside a function is an edge too, when asked for.
    assert "codey._schema" not in graph["codey._stream"]
    assert "codey._schema" in _graph(top_level_only=False)["codey._stream"]


def test_no_import_circle() -> None:
    """No module imports itself through others, even lazily (parents excepted):
    a circle closed by an import inside a function is a circle all the same."""
    graph = _graph(top_level_only=False)
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if node.startswith(target + "."):
                continue  # a package's own __init__ runs first; not a circle
            if state.get(target) == 1:
                circle = [*path[path.index(target) :], target]
                pytest.fail("import circle: " + " -> ".join(circle))
            if target not in state:
                visit(target)
        path.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


@pytest.mark.parametrize(
    ("lower", "higher"),
    [("codey", "codey.cli"), ("codey", "codey.testing"), ("codey.testing", "codey.cli")],
)
def test_no_import_upwards(lower: str, higher: str) -> None:
    """The library never imports the command line or the test server, even lazily."""
    graph = _graph(top_level_only=False)
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if _layer(module) == lower
        for target in targets
        if _layer(target) == higher
    )
    assert upward == []


#: The ground floor and all it may import of codey, even lazily: what it needs from
#: above is handed to it (the registry tells _secrets its key variables, the stream
#: redacts the errors it raises, a provider takes tools and schemas as plain values).
GROUND_FLOOR = {
    "codey._errors": set(),
    "codey._attachments": {"codey._errors"},
    "codey._types": {"codey._attachments"},
    "codey._secrets": {"codey._errors"},
    "codey._schema": {"codey._errors"},
    "codey._providers._base": {"codey._attachments", "codey._errors", "codey._types"},
}


@pytest.mark.parametrize("module", sorted(GROUND_FLOOR))
def test_the_ground_floor_looks_down_only(module: str) -> None:
    assert _graph(top_level_only=False)[module] <= GROUND_FLOOR[module]


def test_the_front_door_lends_nothing_private() -> None:
    """Request assembly lives in codey._request: other modules take only the public
    functions from codey._api (stream, complete...), never its helpers."""
    import codey

    borrowed = sorted(
        f"{_module_name(path)} imports codey._api.{alias.name}"
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module == "codey._api"
        for alias in node.names
        if alias.name not in codey.__all__
    )
    assert borrowed == []


def test_only_the_transport_speaks_http() -> None:
    offenders = sorted(
        f"{_module_name(path)} imports {name}"
        for path in PACKAGE.rglob("*.py")
        for name in _imports(path, top_level_only=False)
        if name.split(".")[0] in HTTP and "_transport" not in _module_name(path)
    )
    assert offenders == []


def test_no_module_is_huge() -> None:
    """One idea per module: none over 550 lines (a long one must say why, here)."""
    allowed = {}
    big = sorted(
        f"{_module_name(path)}: {count} lines"
        for path in PACKAGE.rglob("*.py")
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > 550
        and _module_name(path) not in allowed
    )
    assert big == []
