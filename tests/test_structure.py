"""The package's shape: no import circle among act/ and baselines/ at module level, no oversized file."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("act", "baselines")
# A cap that flags real growth, not a target: a module holds one concept, and one past ~400 lines
# usually holds two (README: Code layout). Never squeeze lines to stay under it.
MAX_LINES = 600


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules():
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _imports(path: Path, modules, local: bool = False) -> set:
    """Project modules imported at module level (TYPE_CHECKING blocks excluded); ``local``: in function bodies too."""
    tree = ast.parse(path.read_text())
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found = set()

    def visit(nodes):
        for node in nodes:
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)  # `from act import distributed`
            elif isinstance(node, ast.If) and "TYPE_CHECKING" not in ast.unparse(node.test):
                visit(node.body + node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body + node.orelse + node.finalbody)
            elif local and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.With, ast.For)):
                visit(list(ast.walk(node))[1:])

    visit(tree.body)
    return {m for m in found if m in modules}


def _graph(local: bool = False):
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        deps = set()
        for m in _imports(path, modules, local):
            deps.add(m)
            parts = m.split(".")  # importing act.x.y runs act/__init__ and act/x/__init__ first
            deps.update(".".join(parts[:i]) for i in range(1, len(parts)) if ".".join(parts[:i]) in modules)
        deps.discard(name)
        # a package's own __init__ is imported by its children: not an edge back to them
        graph[name] = {d for d in deps if not name.startswith(d + ".")}
    return graph


def _find_cycle(graph):
    state, stack = {}, []

    def dfs(u):
        state[u] = 1
        stack.append(u)
        for v in sorted(graph.get(u, ())):
            if state.get(v) == 1:
                return stack[stack.index(v):] + [v]
            if v not in state:
                cycle = dfs(v)
                if cycle:
                    return cycle
        stack.pop()
        state[u] = 2
        return None

    for u in sorted(graph):
        if u not in state:
            cycle = dfs(u)
            if cycle:
                return cycle
    return None


def test_no_import_cycle_at_module_level():
    graph = _graph()
    assert "act.adversarial" in graph and "baselines.ct" in graph["act.adversarial"]  # the checker sees edges
    assert _find_cycle(graph) is None, " -> ".join(_find_cycle(graph))


def test_no_import_cycle_hidden_in_a_function():
    """A function-local import that closes a circle only hides it: none is left."""
    cycle = _find_cycle(_graph(local=True))
    assert cycle is None, " -> ".join(cycle)


def test_cycle_finder_finds_a_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_file_over_the_size_limit():
    long = {str(p.relative_to(ROOT)): n for p in _modules().values() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"split these files (over {MAX_LINES} lines): {long}"


def _resolves(name: str) -> bool:
    import importlib

    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


def test_method_document_names_only_code_that_exists():
    """docs/METHOD.md names the function implementing each equation: every such name must resolve."""
    import re

    text = (ROOT / "docs" / "METHOD.md").read_text()
    names = sorted(set(re.findall(r"`((?:act|baselines)\.[A-Za-z0-9_.]+)`", text)))
    assert len(names) > 40  # the document names its implementations
    missing = [n for n in names if not _resolves(n)]
    assert not missing, f"docs/METHOD.md names code that does not exist: {missing}"
    assert not _resolves("act.no_such_module.f") and not _resolves("act.rng.no_such_function")


def test_sockets_are_blocked_in_tests():
    """conftest's autouse guard: an in-process test that reaches for the network fails loudly."""
    import socket

    import pytest

    with pytest.raises(OSError, match="may not touch the network"):
        socket.create_connection(("127.0.0.1", 9), timeout=1)
