"""`brushwork style train-gram` and `brushwork style export-gram`: the linear style transform
(Li et al., 2019) of ``--method gram``; the work is in :mod:`brushwork.style.linear_train` and
:mod:`brushwork.style.linear_run`."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import BrushworkError
from .common import device_option, emit_json, json_option, onnx_options, quiet_option, report_training, resolve_device, show_progress
from .options import FieldCommand, amp_enabled, amp_option, build, options_from, threads_option


GRAM_CONFIG = "brushwork.style.linear_train:GramTrainConfig"


@click.command("train-gram", cls=FieldCommand)
@click.option("--content", type=click.Path(path_type=Path), help="Folder (or .zip) of content photos.")
@click.option("--styles", "style_dir", type=click.Path(path_type=Path), help="Folder (or .zip) of style images.")
@options_from(GRAM_CONFIG, only=("exclude", "bundled_photos", "decoder", "objective", "init"))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Model folder to write (the run goes to OUT/run).")
@options_from(GRAM_CONFIG, only=("size", "batch_size"))
@click.option("--steps", type=int, help="Total training steps [default: 2000; with --resume: the run's own, or raise it].")
@options_from(GRAM_CONFIG, only=("lr", "content_weight", "style_weight", "backbone", "seed", "sample_every", "ckpt_every"))
@amp_option(help="bfloat16 autocast: bf16 (CPU with AMX, or CUDA), auto (where the hardware runs it natively) or off; a bare --amp means bf16.")
@click.option("--fp32-weights", is_flag=True, help="Store float32 weights (default float16).")
@click.option("--resume", is_flag=True, help="Continue the run in OUT exactly where its newest checkpoint stopped.")
@threads_option
@device_option
@quiet_option
@json_option
def train_gram(content: Path | None, style_dir: Path | None, out: Path, steps: int | None, amp: str,
               fp32_weights: bool, resume: bool, threads: int, device: str, quiet: bool, as_json: bool, **opts) -> None:
    """Train the linear style transform (Li et al., 2019) of --method gram for arbitrary styles."""
    import torch

    from ..style.linear_train import GramTrainConfig, load_run_config, start, train

    if threads:
        torch.set_num_threads(threads)
    if resume:
        cfg = load_run_config(out, steps=steps)
    else:
        if content is None or style_dir is None:
            raise BrushworkError("--content and --styles are required (folders of photos and of paintings)")
        cfg = build(GramTrainConfig, opts, content=str(content), style=str(style_dir), steps=steps or 2000, half=not fp32_weights,
                    amp=amp_enabled(amp, resolve_device(device)), flags={"steps": "--steps"})
        start(cfg, out)
    note = (lambda e, d: click.echo(f"brushwork: warning: {d['message']}", err=True) if e == "warning" else None) if not quiet else None
    result = train(cfg, out, resume=resume, device=resolve_device(device), show_progress=show_progress(quiet, as_json), callback=note)
    report_training(result, {"model": str(out), "kind": "gram"}, f"gram model {out}", quiet=quiet, as_json=as_json)


@click.command("export-gram")
@click.argument("model", required=False)
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="The .onnx file to write.")
@onnx_options
@json_option
def export_gram(model: str | None, output: Path, opset: int, check: bool, as_json: bool) -> None:
    """Export a gram model folder (default: the packaged gram-hed) to ONNX, checked with onnxruntime."""
    from ..style.linear_run import GramStylizer, export_onnx

    if output.suffix.lower() != ".onnx":
        raise BrushworkError(f"{output}: the output must be an .onnx file")
    result = export_onnx(GramStylizer(model, progress=False), output, opset=opset, check=check)
    if as_json:
        emit_json(result)
    else:
        diff = "" if result["max_abs_diff"] is None else f" (onnxruntime max abs diff {result['max_abs_diff']:.1e})"
        click.echo(f"wrote {output}{diff}")
