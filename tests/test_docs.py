"""The documentation stays true: generated pages match their data, links resolve, the layout
names what the package holds."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PACKAGE = ROOT / "src" / "brushwork"
README_MAX_LINES = 220
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
LAYOUT_ENTRY = re.compile(r"^- `([A-Za-z0-9_]+)(\.py|/)`", re.M)


def generator():
    spec = importlib.util.spec_from_file_location("benchmarks_doc", ROOT / "scripts" / "benchmarks_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def local_targets(page: Path) -> list[str]:
    """Relative link and image targets of a markdown page, code blocks and spans left out."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    text = re.sub(r"`[^`\n]*`", "", text)
    targets = [m.group(1) for m in LINK.finditer(text)]
    return [t for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:|#", t)]


def section(text: str, heading: str) -> str:
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, f"no '## {heading}' section"
    return match.group(1)


def documented_layout() -> set[str]:
    text = section((DOCS / "architecture.md").read_text(), "Layout")
    return {name + kind for name, kind in LAYOUT_ENTRY.findall(text)}


def package_layout() -> set[str]:
    """Top-level modules (``name.py``) and folders holding files (``name/``) of src/brushwork."""
    names = {p.name for p in PACKAGE.glob("*.py") if not p.name.startswith("_")}
    for folder in PACKAGE.iterdir():
        if folder.is_dir() and not folder.name.startswith((".", "_")):
            if any(f.is_file() and "__pycache__" not in f.parts for f in folder.rglob("*")):
                names.add(folder.name + "/")
    return names


def test_benchmarks_page_is_what_the_generator_writes():
    expected = generator().render()
    assert (DOCS / "benchmarks.md").read_text() == expected, "run: python scripts/benchmarks_doc.py"


def test_every_saved_benchmark_has_a_section_with_its_command():
    text = generator().render()
    for path in sorted((DOCS / "benchmarks").glob("*.json")):
        match = re.search(rf"^## {re.escape(path.stem)}: `brushwork bench \w+`\n\n```bash\n(.+)\n```", text, re.M)
        assert match, f"no section for {path.name}"
        assert match.group(1).startswith("brushwork bench ")


def test_generator_refuses_a_json_without_a_command(tmp_path):
    (tmp_path / "infer-1.json").write_text('{"rows": []}')
    with pytest.raises(SystemExit, match="no command"):
        generator().render(tmp_path)


def test_generator_tables_follow_the_json(tmp_path):
    (tmp_path / "infer-1.json").write_text(
        '{"command": "brushwork bench infer --json", "machine": "test cpu", "threads": 2,'
        ' "models": {"fast": {"seconds": 0.08213}, "adain": {"seconds": 0.8671}}}'
    )
    text = generator().render(tmp_path)
    assert "brushwork bench infer --json" in text and "Machine: test cpu." in text
    assert "| fast | 0.0821 |" in text and "| adain | 0.867 |" in text
    assert "`threads` 2" in text


def test_readme_is_short():
    lines = (ROOT / "README.md").read_text().count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines (at most {README_MAX_LINES})"


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_and_images_exist(page):
    missing = [t for t in local_targets(page) if not (page.parent / t.split("#")[0]).exists()]
    assert not missing, f"{page.relative_to(ROOT)} links to missing {missing}"


def anchors(page: Path) -> set[str]:
    """GitHub's anchors for a page's headings (lower case, punctuation dropped, spaces to dashes)."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in re.findall(r"^#+ (.+)$", text, re.M)}


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_links_to_headings_name_existing_headings(page):
    for target in local_targets(page):
        path, _, anchor = target.partition("#")
        if anchor and path.endswith(".md"):
            assert anchor in anchors(page.parent / path), f"{page.relative_to(ROOT)}: no heading #{anchor} in {path}"


def test_every_docs_page_is_linked_from_another_page():
    linked = set()
    for page in pages():
        for target in local_targets(page):
            path = (page.parent / target.split("#")[0]).resolve()
            path = path / "README.md" if path.is_dir() else path
            if path != page.resolve():
                linked.add(path)
    orphans = [str(p.relative_to(ROOT)) for p in DOCS.rglob("*.md") if p.resolve() not in linked]
    assert not orphans, f"no other page links to {orphans}"


def test_link_check_sees_links_and_skips_code(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("[a](x.md) ![b](img/y.jpg) [c](https://e.org) [d](#top)\n`[e](z.md)`\n```\n[f](w.md)\n```\n")
    assert local_targets(page) == ["x.md", "img/y.jpg"]
    page.write_text("## AdaIN: adain-light\n## Magenta's `x` (y)\n")
    assert anchors(page) == {"adain-adain-light", "magentas-x-y"}


def commands_in(page: Path) -> list[list[str]]:
    """The ``brushwork ...`` command lines of a page's bash blocks, as words (comments cut)."""
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", page.read_text(), flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            match = re.search(r"(?:^|\s)brushwork (.*)", line.split(" #")[0])
            if match:
                lines.append(match.group(1).split())
    return lines


def resolve(words: list[str]):
    """The click command the words name, and the option spellings its ``--help`` shows."""
    import click

    from brushwork.cli import cli

    command, ctx = cli, click.Context(cli)
    for word in words:
        if not isinstance(command, click.Group) or word.startswith("-"):
            break
        command = command.get_command(ctx, word)
        assert command is not None, f"no command brushwork {' '.join(words[:words.index(word) + 1])}"
    flags = {"--help", "-h"}
    for param in command.params:
        if not getattr(param, "hidden", False):
            flags |= set(param.opts + param.secondary_opts) - set(getattr(param, "hidden_names", ()))
    return command, flags


def unknown_flags(words: list[str]) -> list[str]:
    _, flags = resolve(words)
    return [w.split("=")[0] for w in words if w.startswith("--") and w.split("=")[0] not in flags]


@pytest.mark.parametrize("page", [ROOT / "README.md", *sorted(DOCS.glob("*.md"))], ids=lambda p: p.name)
def test_commands_in_the_docs_exist_with_their_flags(page):
    for words in commands_in(page):
        assert not unknown_flags(words), f"{page.name}: brushwork {' '.join(words)}: no option {unknown_flags(words)}"


def test_command_check_finds_wrong_commands_and_flags(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("```bash\nbrushwork gan sample RUN -o g.png --seed 1 \\\n    --no-such-flag   # a --comment\n```\n")
    (words,) = commands_in(page)
    assert unknown_flags(words) == ["--no-such-flag"]
    with pytest.raises(AssertionError, match="no command brushwork gan nosuch"):
        resolve(["gan", "nosuch"])


def test_layout_names_every_module_and_subpackage():
    documented, actual = documented_layout(), package_layout()
    assert not actual - documented, f"add to docs/architecture.md Layout: {sorted(actual - documented)}"
    assert not documented - actual, f"no longer in src/brushwork: {sorted(documented - actual)}"


def test_layout_walk_sees_the_package():
    names = package_layout()
    assert {"api.py", "cli.py", "style/", "gan/"} <= names
    assert not any(n.startswith("_") for n in names)
