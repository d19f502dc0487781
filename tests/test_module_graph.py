"""No module of the project imports itself back through others."""

from __future__ import annotations

import ast
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PACKAGES = ("newsroom", "providers", "stories")


def module_files() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (BASE_DIR / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(BASE_DIR).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imported_by(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project's modules ``name`` imports when it is loaded (not inside functions, not for typing)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *([node.module] if node.module else [])])
            found.update(f"{target}.{alias.name}" for alias in node.names)
            found.add(target)
    loaded = set()
    for module in found:
        parts = module.split(".")
        for end in range(1, len(parts) + 1):
            ancestor = ".".join(parts[:end])
            # A module's own packages are already loading when it runs.
            if ancestor in modules and ancestor != name and not name.startswith(ancestor + "."):
                loaded.add(ancestor)
    return loaded


def test_no_module_imports_itself_back_through_others():
    modules = module_files()
    graph = {name: imported_by(name, path, modules) for name, path in modules.items()}
    cycles = []

    def visit(name: str, trail: list[str], done: set[str]) -> None:
        if name in trail:
            cycles.append(trail[trail.index(name) :] + [name])
            return
        if name in done:
            return
        for other in sorted(graph[name]):
            visit(other, [*trail, name], done)
        done.add(name)

    done: set[str] = set()
    for name in sorted(graph):
        visit(name, [], done)
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in cycles)
    assert {"stories.imports.reconcile", "stories.workflow.plans"} <= set(graph)
