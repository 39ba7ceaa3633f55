"""`brushwork weights list|path|fetch|verify`."""

from __future__ import annotations

import click

from .. import weights as registry
from .common import emit_json, json_option, quiet_option


@click.group()
def weights() -> None:
    """Named weights: list them, locate, download and verify files."""


@weights.command("list")
@json_option
def list_(as_json: bool) -> None:
    """List registered weights and whether each is available here."""
    rows = []
    for spec in registry.REGISTRY.values():
        try:
            path = str(registry.resolve(spec.name, download=False))
        except registry.BrushworkError:
            path = None
        rows.append({"name": spec.name, "arch": spec.arch, "available": path is not None, "path": path,
                     "url": spec.url, "description": spec.description})
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        state = "ready" if r["available"] else "not downloaded"
        click.echo(f"{r['name']:<16} {r['arch']:<14} {state:<15} {r['description']}")


@weights.command("path")
@click.argument("name")
def path(name: str) -> None:
    """Print the local file behind NAME (no download)."""
    click.echo(str(registry.resolve(name, download=False)))


@weights.command("fetch")
@click.argument("names", nargs=-1, required=True)
@click.option("--force", is_flag=True, help="Download again even if cached.")
@quiet_option
def fetch(names: tuple[str, ...], force: bool, quiet: bool) -> None:
    """Download NAMES into the cache, checking their SHA-256."""
    for name in names:
        click.echo(str(registry.fetch(name, progress=not quiet, force=force)))


@weights.command("verify")
@click.argument("name")
@click.option("--weights", "path", type=click.Path(), help="Check this file instead of the cached one.")
@json_option
def verify(name: str, path: str | None, as_json: bool) -> None:
    """Check the file behind NAME against its SHA-256."""
    digest = registry.verify(name, path)
    if as_json:
        emit_json({"name": name, "sha256": digest, "ok": True})
    else:
        click.echo(f"{name}: OK {digest}")
