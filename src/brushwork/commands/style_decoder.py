"""`brushwork style train-decoder`: train a reconstruction decoder of universal style transfer.

The options follow ``train-fast`` / ``train-adain``; the work is in :mod:`brushwork.style.decoder_train`.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import BrushworkError
from .common import device_option, emit_json, json_option, quiet_option, resolve_device, show_progress

_LEVELS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]


@click.command("train-decoder")
@click.option("--layer", required=True, type=click.Choice(_LEVELS), help="The encoder level the decoder inverts.")
@click.option("--content", multiple=True, type=click.Path(path_type=Path), help="Folder or file of photos (repeatable).")
@click.option("--styles", multiple=True, type=click.Path(path_type=Path), help="Folder or file of paintings, trained on as content too (repeatable).")
@click.option("--bundled-photos/--no-bundled-photos", default=True, show_default=True, help="Also train on scikit-image's bundled photos.")
@click.option("--holdout", multiple=True, default=("lenna.jpg", "newyork.jpg"), show_default=True, help="File names never trained on (previews and held-out PSNR).")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Decoder folder (other levels in it are kept; the run goes to OUT/run-LAYER).")
@click.option("--width", type=float, default=1.0, show_default=True, help="Hidden-channel multiplier (0.5: a lighter decoder).")
@click.option("--input-scale", type=float, default=0.0, show_default=True, help="Constant the features are multiplied by first (0: 1 / their RMS on the first training images).")
@click.option("--init", type=click.Path(file_okay=False), help="Start from the LAYER decoder of this decoder folder (e.g. the packaged one) instead of random weights.")
@click.option("--size", type=int, default=128, show_default=True, help="Side of the square random training crops in px.")
@click.option("--batch", "batch_size", type=int, default=4, show_default=True)
@click.option("--steps", type=int, help="Total training steps [default: 2000; with --resume: the run's own, or raise it].")
@click.option("--lr", type=float, default=1e-3, show_default=True)
@click.option("--feature-weight", type=float, default=1.0, show_default=True, help="Weight of the feature reconstruction loss (pixel loss weight 1).")
@click.option("--backbone", default="vgg16-hed", show_default=True, help="The encoder to invert.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--preview-every", "sample_every", type=int, default=100, show_default=True, help="Write preview images (and held-out PSNR) every N steps.")
@click.option("--ckpt-every", type=int, default=100, show_default=True, help="Checkpoint (and save the level) every N steps.")
@click.option("--amp", is_flag=True, help="bfloat16 autocast (CPU with AMX, or CUDA).")
@click.option("--fp32-weights", is_flag=True, help="Store float32 weights (default float16).")
@click.option("--resume", is_flag=True, help="Continue the LAYER run in OUT exactly where its newest checkpoint stopped.")
@click.option("--threads", type=int, default=0, show_default=True, help="CPU threads for torch (0 = torch's default).")
@device_option
@quiet_option
@json_option
def train_decoder(layer: str, content, styles, out: Path, resume: bool, threads: int, device: str, quiet: bool, as_json: bool, fp32_weights: bool, **opts) -> None:
    """Train the reconstruction decoder of one level for `stylize --method wct` (Li et al., 2017)."""
    import torch

    from ..style.decoder_train import DecoderTrainConfig, Interrupted, load_run_config, start, train

    if threads:
        torch.set_num_threads(threads)
    dev = resolve_device(device)
    if resume:
        cfg = load_run_config(out, layer, steps=opts["steps"])
    else:
        sources = [str(p) for p in (*content, *styles)]
        if not sources:
            raise BrushworkError("--content and/or --styles is required (folders of training images)")
        opts["steps"] = opts["steps"] or 2000
        cfg = DecoderTrainConfig(layer=layer, sources=sources, holdout=list(opts.pop("holdout")), half=not fp32_weights, **opts)
        start(cfg, out)
    try:
        result = train(cfg, out, resume=resume, device=dev, show_progress=show_progress(quiet, as_json))
    except Interrupted as exc:
        click.echo(f"brushwork: {exc}", err=True)
        raise
    summary = {"model": str(out), "layer": layer, "step": result.step, "checkpoint": str(result.checkpoint), "metrics": result.metrics, "steps_per_second": round(result.steps_per_second, 3)}
    if as_json:
        emit_json(summary)
    elif not quiet:
        click.echo(f"trained {layer} decoder in {out} to step {result.step} ({result.steps_per_second:.2f} steps/s)")
