"""The house rules of docs/ARCHITECTURE.md, checked by walking the source.

Every `import` counts, function-level ones included: a local import that hides
a cycle is still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("analytics", "components", "dashapp", "ingest", "pages")
MAX_LINES = 400

# Modules that compose the app and may import across every package.
COMPOSITION = ("app", "dashapp", "dashapp.factory", "dashapp.web")
COMPOSITION += ("dashapp.gunicorn_conf", "dashapp.cli")
COMPOSITION += ("dashapp.leadership",)  # GatedIngest: ingest under the leader lock
SETTINGS = ("dashapp.settings", "dashapp.setting_values")

# Our own modules each layer may import (a prefix covers its submodules).
ALLOWED: dict[str, tuple[str, ...]] = {
    "analytics": ("analytics",),
    "components": ("components",),
    "pages": ("pages", "components", "analytics", "dashapp.market"),
    "ingest": ("ingest", "dashapp.store", *SETTINGS),
    "dashapp.settings": SETTINGS,
    "dashapp.setting_values": SETTINGS,
    "dashapp.store": ("dashapp.store", *SETTINGS),
    "dashapp.auth": ("dashapp.auth", "dashapp.store", *SETTINGS),
    "dashapp.ops": ("dashapp.ops", "dashapp.auth", "dashapp.store", *SETTINGS),
    "dashapp.market": (
        "dashapp.market",
        "dashapp.ops",
        "dashapp.auth",
        "dashapp.store",
        "analytics",
        *SETTINGS,
    ),
    "dashapp.api": (
        "dashapp.api",
        "dashapp.market",
        "dashapp.ops",
        "dashapp.auth",
        "dashapp.store",
        "analytics",
        *SETTINGS,
    ),
}


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def product_modules() -> dict[str, Path]:
    """Map every product module's dotted name to its file."""
    modules = {"app": ROOT / "app.py"}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def import_edges(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Return, per module, the product modules it imports anywhere in its body."""
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    anchor = parts[: len(parts) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                names = [f"{base}.{alias.name}" for alias in node.names]
                # `from pkg import module` needs pkg only for names that are not modules
                targets = names + ([base] if set(names) - set(modules) else [])
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges[name].add(target)
    return edges


def layer_of(module: str) -> str | None:
    """Return the ALLOWED key that governs a module (None for composition)."""
    if any(_under(module, c) for c in COMPOSITION[2:]) or module in COMPOSITION:
        return None
    matches = [key for key in ALLOWED if _under(module, key)]
    return max(matches, key=len) if matches else "unlisted"


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_edges(product_modules())


def test_ar01_no_import_cycles(graph):
    assert cycles(graph) == []


def test_ar02_nothing_imports_the_entry_point(graph):
    assert sorted(m for m, targets in graph.items() if "app" in targets) == []


def test_ar03_arrows_point_one_way(graph):
    wrong = []
    for module, targets in sorted(graph.items()):
        layer = layer_of(module)
        if layer is None:
            continue
        allowed = ALLOWED.get(layer, ())
        wrong += [
            f"{module} -> {target}"
            for target in sorted(targets)
            if not any(_under(target, prefix) for prefix in allowed)
        ]
    assert wrong == []


def test_ar04_no_module_over_400_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for path in product_modules().values()
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_ar05_the_checker_sees_a_planted_cycle_and_a_wrong_arrow():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [["a", "b", "c"]]
    assert layer_of("ingest.writer") == "ingest"
    assert layer_of("dashapp.cli.users") is None
    assert layer_of("dashapp.market.queries") == "dashapp.market"
