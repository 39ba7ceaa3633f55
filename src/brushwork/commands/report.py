"""The one printer of the `bench` commands: the result as one JSON object, or as a table."""

from __future__ import annotations

from typing import Any, Callable

import click

from .common import emit_json


def plain_table(result: dict[str, Any]) -> str:
    """``key  value`` lines of the top-level scalars (nested objects are left to --json)."""
    rows = [(k, v) for k, v in result.items() if not isinstance(v, (dict, list))]
    width = max((len(k) for k, _ in rows), default=0)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def print_report(result: dict[str, Any], as_json: bool, table: Callable[[dict[str, Any]], str] = plain_table) -> None:
    """Print ``result`` as one JSON line (``as_json``) or as the text ``table(result)`` returns."""
    if as_json:
        emit_json(result)
    else:
        click.echo(table(result))
