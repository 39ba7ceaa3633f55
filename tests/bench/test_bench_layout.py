"""The bench layer: pure ``run_*() -> dict`` functions under brushwork.bench, thin click commands
under brushwork.commands that print what those functions return through one printer."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import brushwork.bench
import brushwork.commands
from brushwork.cli import main

BENCH_DIR = Path(brushwork.bench.__file__).parent
COMMANDS_DIR = Path(brushwork.commands.__file__).parent
COMMANDS = {"digits", "families", "features", "infer", "mixture", "quality", "serve", "stylize", "translate"}


def _imports(tree: ast.AST) -> set[str]:
    names = {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    return names | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}


@pytest.mark.parametrize("path", sorted(BENCH_DIR.glob("*.py")), ids=lambda p: p.name)
def test_bench_modules_neither_import_click_nor_print(path):
    tree = ast.parse(path.read_text())
    imports = _imports(tree)
    assert not {m for m in imports if m.split(".")[0] == "click" or "commands" in m.split(".")}
    calls = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert "print" not in calls


def test_bench_modules_import_each_other_without_cycles():
    """Counting imports inside functions too: ``a`` imports ``b`` imports ``a`` is a cycle."""
    graph = {}
    for path in BENCH_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        graph[path.stem] = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 1 and n.module}
    done, stack = set(), []

    def visit(name):
        assert name not in stack, f"import cycle: {' -> '.join([*stack, name])}"
        if name in done:
            return
        stack.append(name)
        for dep in graph.get(name, ()):
            visit(dep)
        stack.pop()
        done.add(name)

    for name in graph:
        visit(name)


def test_every_bench_command_prints_through_the_shared_printer():
    commands = {}
    for path in COMMANDS_DIR.glob("bench_*.py"):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and any("command" in ast.unparse(d) for d in node.decorator_list):
                calls = {ast.unparse(c.func) for c in ast.walk(node) if isinstance(c, ast.Call)}
                commands[node.name] = "print_report" in calls
    assert set(commands) == COMMANDS and all(commands.values())


def _recording(monkeypatch, module, name: str) -> list:
    """Wrap ``module.name`` so that each return value is kept."""
    results, real = [], getattr(module, name)

    def wrapper(*args, **kwargs):
        results.append(real(*args, **kwargs))
        return results[-1]

    monkeypatch.setattr(module, name, wrapper)
    return results


def test_features_json_and_table_are_what_run_features_returns(monkeypatch, capsys):
    from brushwork.bench import features
    from brushwork.commands.bench_system import features_table

    results = _recording(monkeypatch, features, "run_features")
    argv = ["bench", "features", "--spaces", "classifier", "--batch-size", "2", "--batches", "1", "--image-size", "16",
            "--fid-n", "50", "--device", "cpu"]
    assert main([*argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(json.dumps(results[-1]))
    assert results[-1]["fid"]["n"] == 50 and results[-1]["batch_size"] == 2
    assert main(argv) == 0
    assert capsys.readouterr().out == features_table(results[-1]) + "\n"


def test_mixture_json_is_what_run_mixture_returns(monkeypatch, capsys):
    from brushwork.bench import mixture

    results = _recording(monkeypatch, mixture, "run_mixture")
    argv = ["bench", "mixture", "--dataset", "ring", "--seeds", "1", "--steps", "2", "--samples", "50", "--ref-steps", "2",
            "--quiet", "--json"]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(json.dumps(results[-1]))
    assert printed["dataset"] == "ring" and printed["seeds"] == 1 and printed["steps"] == 2


def test_bench_lists_every_command(capsys):
    assert main(["bench", "--help"]) == 0
    listed = capsys.readouterr().out.split("Commands:", 1)[1]
    assert {line.split()[0] for line in listed.strip().splitlines()} == COMMANDS


def test_print_report_prints_json_or_the_table(capsys):
    from brushwork.commands.report import print_report

    print_report({"a": 1, "b": {"c": 2}}, as_json=True)
    assert json.loads(capsys.readouterr().out) == {"a": 1, "b": {"c": 2}}
    print_report({"a": 1}, as_json=False, table=lambda r: f"a is {r['a']}")
    assert capsys.readouterr().out == "a is 1\n"
