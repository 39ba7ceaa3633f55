"""`brushwork style ...`: train feed-forward style networks and export them to ONNX.

The commands parse options and report; the work is in :mod:`brushwork.style.ff_train`
and :mod:`brushwork.style.feedforward`.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import BrushworkError
from .common import device_option, emit_json, json_option, onnx_options, quiet_option, report_training, reserve_output, resolve_device, show_progress
from .options import FieldCommand, amp_enabled, amp_option, build, option_group, options_from, threads_option


@click.group()
def style() -> None:
    """Feed-forward style transfer: train fast (per-style) and AdaIN (arbitrary-style) networks, export them."""


FF_CONFIG = "brushwork.style.ff_config:FFTrainConfig"
COMMON_TRAIN_FIELDS = ("bundled_photos", "size", "batch_size", "lr", "content_weight", "style_weight", "tv_weight", "backbone", "seed",
                      "sample_every", "ckpt_every")


_train_options = option_group(
    click.option("--content", type=click.Path(path_type=Path), help="Folder (or .zip) of content photos."),
    click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Model folder to write (the run goes to OUT/run)."),
    click.option("--steps", type=int, help="Total training steps [default: 2000; with --resume: the run's own, or raise it to train longer]."),
    options_from(FF_CONFIG, only=COMMON_TRAIN_FIELDS),
    amp_option(help="bfloat16 autocast: bf16 (CPU with AMX, or CUDA: about 2x faster), auto (where the hardware runs it natively) or off; a bare --amp means bf16."),
    click.option("--fp32-weights", is_flag=True, help="Store float32 weights (default float16: half the size)."),
    click.option("--resume", is_flag=True, help="Continue the run in OUT exactly where its newest checkpoint stopped."),
    device_option, threads_option, quiet_option, json_option,
)


RESUME_FIXED = ("content", "style", "style_dir", "style_image", "preset", "width", "recon_steps", "identity_weight", "bundled_photos", "size", "batch_size",
                "lr", "content_weight", "style_weight", "tv_weight", "backbone", "seed", "amp", "fp32_weights")
"""Options that define a style run: given again with --resume they are refused, not ignored."""


def _warn(message: str) -> None:
    click.echo(f"brushwork: warning: {message}", err=True)


def _given_on_resume() -> list[str]:
    """The run-defining options the user typed on this command line."""
    ctx = click.get_current_context()
    return [n for n in RESUME_FIXED if ctx.get_parameter_source(n) == click.core.ParameterSource.COMMANDLINE]


def _discard_failed_start(out: Path, run_dir: Path) -> None:
    """A start that failed before its first checkpoint leaves its ``--out`` free to use again."""
    import contextlib

    from ..training.runs import discard_failed_start

    if discard_failed_start(run_dir):
        with contextlib.suppress(OSError):
            out.rmdir()  # only if the run was all it held


def _run(kind: str, out: Path, resume: bool, device: str, threads: int, quiet: bool, as_json: bool, **opts) -> None:
    from ..style.ff_config import FFTrainConfig
    from ..style.ff_train import Interrupted, load_run_config, run_dir_of, start, train
    from ..training import runtime
    from ..training.runs import read_run

    if resume:
        given = _given_on_resume()
        if given:
            raise BrushworkError(f"--{given[0].replace('_', '-')} cannot change when resuming (the run keeps its own; only --steps, --ckpt-every and --preview-every may change)")
        cfg = load_run_config(out, kind, steps=opts["steps"])
        ctx = click.get_current_context()
        for name in ("ckpt_every", "sample_every"):  # intervals change nothing in the trajectory
            if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE:
                setattr(cfg, name, opts[name])
        dev = resolve_device(runtime.restore(read_run(run_dir_of(out))["options"].get("runtime"), threads=threads, device=device, warn=_warn))
    else:
        dev = resolve_device(device)
        if opts["content"] is None:
            raise BrushworkError("--content is required (a folder of photos)")
        amp = amp_enabled(opts.pop("amp"), dev)
        cfg = build(FFTrainConfig, opts, kind=kind, content=str(opts.pop("content")), style=str(opts.pop("style")),
                    half=not opts.pop("fp32_weights"), steps=opts.pop("steps") or 2000, amp=amp, flags={"steps": "--steps"})
        start(cfg, out, runtime=runtime.capture(threads, dev))
    note = (lambda e, d: click.echo(f"brushwork: warning: {d['message']}", err=True) if e == "warning" else None) if not quiet else None
    try:
        result = train(cfg, out, resume=resume, device=dev, show_progress=show_progress(quiet, as_json), callback=note)
    except Interrupted as exc:
        click.echo(f"brushwork: {exc}", err=True)
        raise
    except BrushworkError:
        if not resume:
            _discard_failed_start(out, run_dir_of(out))
        raise
    report_training(result, {"model": str(out), "kind": kind}, f"{kind} model {out}", quiet=quiet, as_json=as_json)


@style.command("train-fast", cls=FieldCommand)
@click.option("--style", "style_image", required=False, type=click.Path(dir_okay=False, path_type=Path), help="The style image.")
@options_from(FF_CONFIG, only=("preset",))
@_train_options
def train_fast(style_image: Path | None, **opts) -> None:
    """Train a fast per-style network (Johnson et al., 2016) for one style image."""
    if style_image is None and not opts["resume"]:
        raise BrushworkError("--style is required (one style image)")
    _run("fast", style=style_image, **opts)


@style.command("train-adain", cls=FieldCommand)
@click.option("--styles", "style_dir", required=False, type=click.Path(path_type=Path), help="Folder (or .zip) of style images.")
@options_from(FF_CONFIG, only=("width", "recon_steps", "identity_weight"))
@_train_options
def train_adain(style_dir: Path | None, **opts) -> None:
    """Train an AdaIN decoder (Huang & Belongie, 2017) for arbitrary styles."""
    if style_dir is None and not opts["resume"]:
        raise BrushworkError("--styles is required (a folder of style images)")
    _run("adain", style=style_dir, **opts)


@style.command("export")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The .onnx file to write.")
@onnx_options
@json_option
def export(model: Path, output: Path, opset: int, check: bool, as_json: bool) -> None:
    """Export a fast or AdaIN model folder to ONNX (dynamic image size)."""
    reserve_output(output)  # an unwritable output fails now, not after the work
    from ..style.feedforward import FeedForward, export_onnx

    if output.suffix.lower() != ".onnx":
        raise BrushworkError(f"{output}: the output must be an .onnx file")
    from ..models import read_config

    if read_config(model)["kind"] == "gram":  # the linear style transform has its own graph
        from ..style.linear_run import GramStylizer
        from ..style.linear_run import export_onnx as export_gram

        result = export_gram(GramStylizer(model, progress=False), output, opset=opset, check=check)
    else:
        result = export_onnx(FeedForward(model), output, opset=opset, check=check)
    if as_json:
        emit_json(result)
    else:
        diff = "" if result["max_abs_diff"] is None else f" (onnxruntime max abs diff {result['max_abs_diff']:.1e})"
        click.echo(f"wrote {output}{diff}")


from .style_decoder import train_decoder  # noqa: E402  (its own module: the universal-style-transfer decoders)

style.add_command(train_decoder)

from .style_gram import export_gram, train_gram  # noqa: E402  (its own module: the linear style transform of --method gram)

style.add_command(train_gram)
style.add_command(export_gram)
