"""How the packages of botframework depend on each other, read from the source with ``ast``."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import botframework

ROOT = Path(botframework.__file__).resolve().parent


def runtime_imports(tree: ast.Module) -> Iterator[str]:
    """The absolute module names a module imports when it runs (``if TYPE_CHECKING:`` left out)."""
    skipped = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for statement in node.body
        for inner in ast.walk(statement)
    }
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def top_level(module: str) -> str | None:
    """The package or module right under botframework/ that ``module`` belongs to."""
    parts = module.split(".")
    if parts[0] != "botframework" or len(parts) < 2:
        return None
    name = parts[1]
    return name if (ROOT / name).is_dir() or (ROOT / f"{name}.py").is_file() else None


def package_graph() -> dict[str, set[str]]:
    """Which top-level parts of botframework/ each one imports at run time.

    ``__main__`` modules are left out: nothing imports them, so they close no loop.
    """
    graph: dict[str, set[str]] = {}
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.name == "__main__.py" or relative == Path("__init__.py"):
            continue
        source = relative.parts[0].removesuffix(".py")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = {top_level(name) for name in runtime_imports(tree)}
        graph.setdefault(source, set()).update(t for t in targets if t and t != source)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One loop of the graph as a path that ends where it starts, or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return path[path.index(node) :] + [node]
        if node in done:
            return None
        for target in sorted(graph.get(node, ())):
            if cycle := visit(target, [*path, node]):
                return cycle
        done.add(node)
        return None

    return next((c for node in sorted(graph) if (c := visit(node, []))), None)


def test_no_import_cycle_between_packages() -> None:
    graph = package_graph()
    assert {"evaluation", "reinforce", "cli", "messenger"} <= set(graph)
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_cycle_finder_finds_a_loop() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_type_checking_imports_do_not_count() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\nimport botframework.text\n"
        "if TYPE_CHECKING:\n    from botframework.bot import Bot\n"
    )
    assert "botframework.bot" not in set(runtime_imports(tree))
    assert "botframework.text" in set(runtime_imports(tree))


def test_no_core_module_imports_the_builtin_plugins() -> None:
    for path in ROOT.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        every = {
            alias.name if isinstance(node, ast.Import) else node.module or ""
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        }
        assert not any(name.split(".")[0] == "botframework_plugins" for name in every), path


def test_writing_a_plugin_module_does_not_import_torch() -> None:
    code = "import sys, botframework; from botframework import hookimpl; "
    code += "print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_every_public_name_loads() -> None:
    for name in botframework.__all__:
        assert getattr(botframework, name) is not None, name
