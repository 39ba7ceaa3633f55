"""The package's shape: imports point down a layer table, no import cycles, short functions and modules.

The import graph is read with ``ast`` from every module under ``src/brushwork``: absolute
``brushwork.`` and relative imports, at module level and inside functions (lazy imports count);
imports under ``if TYPE_CHECKING:`` are type annotations only and do not.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "brushwork"

# Units (a top-level module, a subpackage, or a part of one), lowest layer first. A module belongs
# to the unit with the longest matching name; "" is the package itself (brushwork/__init__.py).
# A unit may import itself and units of lower layers only.
LAYERS: list[set[str]] = [
    {"errors"},
    {"fsutil", "memory", "precision", "colorspace"},
    {"bounds", "imageio", "weights", "config", "onnx_export", "video"},
    {"imagegrid", "data", "models"},  # models: the hub (registry, folders), not its kinds
    {"backbones", "training"},
    {"metrics"},
    {"gan", "style", "translate"},
    {"models.kinds", "models.importers", "api"},  # hub plug-ins, found by name at run time
    {"bench"},
    {"cli"},  # loads brushwork.commands.* by name; the commands use its LazyGroup
    {"web"},
    {"commands"},
    {"__main__", ""},
]

# Imports against the table that stay for now, (from unit, to unit): reason.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {}

# Import cycles between modules that stay for now: {modules}: reason.
ALLOWED_CYCLES: dict[frozenset[str], str] = {}

MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400
# Modules other refactors are still splitting; emptied when they are done.
SIZE_ALLOWED: set[str] = set()


def module_names(root: Path) -> dict[str, Path]:
    """Dotted module name (without the package prefix; "" for the package) -> file."""
    out = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(root / PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skip


def _targets(name: str, path: Path, node: ast.Import | ast.ImportFrom, modules: dict[str, Path]) -> list[str]:
    """The package modules an import statement in module ``name`` loads (its deepest existing module per name)."""
    if isinstance(node, ast.Import):
        wanted = [a.name for a in node.names]
    else:
        if node.level:
            base = name.split(".") if name else []
            if path.name != "__init__.py":
                base = base[:-1]
            base = base[: len(base) - (node.level - 1)]
            origin = ".".join([PACKAGE, *base, *([node.module] if node.module else [])])
        else:
            origin = node.module or ""
        wanted = [f"{origin}.{a.name}" for a in node.names]
    found = []
    for full in wanted:
        if full != PACKAGE and not full.startswith(PACKAGE + "."):
            continue
        dotted = full[len(PACKAGE) + 1:]
        while dotted and dotted not in modules:
            dotted = dotted.rpartition(".")[0]
        found.append(dotted)
    return found


def import_graph(root: Path = SRC) -> dict[str, set[str]]:
    """Module -> the package modules it imports (module level and inside functions)."""
    modules = module_names(root)
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), str(path))
        skip = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in skip:
                graph[name].update(t for t in _targets(name, path, node, modules) if t != name)
        graph.setdefault(name, set())
    return dict(graph)


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[set[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    out.append(component)
    return out


def unit_of(module: str) -> str:
    units = set().union(*LAYERS)
    candidates = [u for u in units if u and (module == u or module.startswith(u + "."))]
    return max(candidates, key=len) if candidates else module


def layer_of(unit: str) -> int:
    for i, layer in enumerate(LAYERS):
        if unit in layer:
            return i
    raise KeyError(unit)


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_the_graph_reader_sees_relative_lazy_and_absolute_imports_but_not_type_checking(tmp_path):
    pkg = tmp_path / PACKAGE
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "low.py").write_text("X = 1\n")
    (pkg / "typed.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from . import leaf\n")
    (pkg / "sub" / "leaf.py").write_text("def f():\n    from ..low import X\n    import brushwork.typed\n")
    (pkg / "sub" / "other.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..low import X\nfrom .leaf import f\n")
    g = import_graph(tmp_path)
    assert g["sub"] == {"sub.leaf"}
    assert g["sub.leaf"] == {"low", "typed"}
    assert g["sub.other"] == {"sub.leaf"}
    assert strongly_connected({"a": {"b"}, "b": {"a", "c"}, "c": set()}) == [{"c"}, {"a", "b"}]


def test_every_module_is_in_a_unit_of_the_layer_table(graph):
    assert "training.adversarial" in graph["gan.step"]  # the reader sees this package's imports
    missing = sorted({unit_of(m) for m in graph} - set().union(*LAYERS))
    assert not missing, f"add these to LAYERS in tests/test_layers.py: {missing}"


def test_imports_only_point_down_the_layers(graph):
    wrong = []
    for module, targets in sorted(graph.items()):
        src = unit_of(module)
        for target in sorted(targets):
            dst = unit_of(target)
            if dst != src and layer_of(dst) >= layer_of(src) and (src, dst) not in ALLOWED_UPWARD:
                wrong.append(f"{module} -> {target} ({src}: layer {layer_of(src)}, {dst}: layer {layer_of(dst)})")
    assert not wrong, "imports against the layer table:\n" + "\n".join(wrong)


def test_no_import_cycles(graph):
    cycles = [c for c in strongly_connected(graph) if len(c) > 1]
    unexpected = [sorted(c) for c in cycles if frozenset(c) not in ALLOWED_CYCLES]
    assert not unexpected, f"import cycles: {unexpected}"


def test_allow_lists_name_what_still_exists(graph):
    cycles = {frozenset(c) for c in strongly_connected(graph) if len(c) > 1}
    assert not set(ALLOWED_CYCLES) - cycles, "remove the cycles that are gone from ALLOWED_CYCLES"
    used = {(unit_of(m), unit_of(t)) for m, ts in graph.items() for t in ts}
    assert not set(ALLOWED_UPWARD) - used, "remove the imports that are gone from ALLOWED_UPWARD"


def test_functions_and_modules_are_short():
    too_long = []
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        rel = path.relative_to(SRC / PACKAGE).as_posix()
        if rel in SIZE_ALLOWED:
            continue
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{rel}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    too_long.append(f"{rel}:{node.lineno} {node.name}: {lines} lines")
    assert not too_long, f"over {MAX_FUNCTION_LINES} lines a function or {MAX_MODULE_LINES} a module:\n" + "\n".join(too_long)


def test_test_folders_mirror_the_package():
    """Tests of a subpackage live in the folder of the same name; a folder needs its subpackage."""
    tests = Path(__file__).resolve().parent
    folders = {p.name for p in tests.iterdir() if p.is_dir() and any(p.glob("test_*.py"))}
    packages = {p.parent.name for p in (SRC / PACKAGE).glob("*/__init__.py")}
    assert folders <= packages, f"test folders without a subpackage: {sorted(folders - packages)}"
    for prefix in ("gan", "metrics", "models", "style", "translate", "web", "training", "bench"):
        stray = sorted(p.name for p in tests.glob(f"test_{prefix}_*.py"))
        assert not stray, f"move these into tests/{prefix}/: {stray}"
