"""Options and helpers shared by the subcommands: --json, --quiet, --device."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..errors import BrushworkError

json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object at the end.")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
device_option = click.option("--device", default="auto", show_default=True, help="cpu, cuda, cuda:N or auto.")


def onnx_options(command):
    """``--opset`` and ``--check/--no-check`` of every ``export`` command."""
    command = click.option("--check/--no-check", default=True, show_default=True, help="Compare onnxruntime's output with PyTorch's on a test input.")(command)
    return click.option("--opset", type=int, default=17, show_default=True, help="ONNX opset version.")(command)


def resolve_device(name: str) -> str:
    """``auto`` -> ``cuda`` when available else ``cpu``; refuse CUDA where there is none."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise BrushworkError(f"--device {name}: CUDA is not available on this machine")
    if name != "cpu" and not name.startswith("cuda") and name != "mps":
        raise BrushworkError(f"--device must be cpu, cuda, cuda:N or auto, not {name!r}")
    return name


def reserve_output(path: Any):
    """Reserve output file ``path`` (:class:`~brushwork.fsutil.OutputTarget`) until the running
    command ends: an unwritable target fails at once; saving ``path`` later fills the reservation."""
    from ..fsutil import OutputTarget

    target = OutputTarget(path)
    ctx = click.get_current_context(silent=True)
    return ctx.with_resource(target) if ctx is not None else target


def emit_json(obj: Any) -> None:
    """Print ``obj`` as one JSON line on stdout."""
    sys.stdout.write(json.dumps(obj, sort_keys=False) + "\n")
    sys.stdout.flush()


def show_progress(quiet: bool, as_json: bool) -> bool:
    """Progress bars go to a terminal's stderr unless --quiet (--json alone keeps them on stderr)."""
    return not quiet and sys.stderr.isatty()


def report_training(result: Any, fields: dict[str, Any], line: str, *, quiet: bool, as_json: bool, **extra: Any) -> None:
    """End of a training command: the JSON summary (``fields``, the result's step, checkpoint,
    metrics and steps/s, then ``extra``) with --json, else ``line`` plus the step and speed."""
    summary = {**fields, "step": result.step, "checkpoint": str(result.checkpoint), "metrics": result.metrics,
               "steps_per_second": round(result.steps_per_second, 3), **extra}
    if as_json:
        emit_json(summary)
    elif not quiet:
        click.echo(f"trained {line} to step {result.step} ({result.steps_per_second:.2f} steps/s)")
