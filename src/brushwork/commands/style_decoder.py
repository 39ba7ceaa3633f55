"""`brushwork style train-decoder`: train a reconstruction decoder of universal style transfer.

The options follow ``train-fast`` / ``train-adain``; the work is in :mod:`brushwork.style.decoder_train`.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import BrushworkError
from .common import device_option, json_option, quiet_option, report_training, resolve_device, show_progress
from .options import FieldCommand, amp_enabled, amp_option, build, options_from, threads_option


DECODER_CONFIG = "brushwork.style.decoder_train:DecoderTrainConfig"


@click.command("train-decoder", cls=FieldCommand)
@options_from(DECODER_CONFIG, only=("layer",))
@click.option("--content", multiple=True, type=click.Path(path_type=Path), help="Folder or file of photos (repeatable).")
@click.option("--styles", multiple=True, type=click.Path(path_type=Path), help="Folder or file of paintings, trained on as content too (repeatable).")
@options_from(DECODER_CONFIG, only=("bundled_photos", "holdout"))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Decoder folder (other levels in it are kept; the run goes to OUT/run-LAYER).")
@options_from(DECODER_CONFIG, only=("width", "input_scale"))
@options_from(DECODER_CONFIG, only=("init", "size", "batch_size"))
@click.option("--steps", type=int, help="Total training steps [default: 2000; with --resume: the run's own, or raise it].")
@options_from(DECODER_CONFIG, only=("lr", "feature_weight", "backbone", "seed", "sample_every", "ckpt_every"))
@amp_option(help="bfloat16 autocast: bf16 (CPU with AMX, or CUDA), auto (where the hardware runs it natively) or off; a bare --amp means bf16.")
@click.option("--fp32-weights", is_flag=True, help="Store float32 weights (default float16).")
@click.option("--resume", is_flag=True, help="Continue the LAYER run in OUT exactly where its newest checkpoint stopped.")
@threads_option
@device_option
@quiet_option
@json_option
def train_decoder(layer: str, content, styles, out: Path, resume: bool, threads: int, device: str, quiet: bool, as_json: bool, fp32_weights: bool,
                  steps: int | None, amp: str, **opts) -> None:
    """Train the reconstruction decoder of one level for `stylize --method wct` (Li et al., 2017)."""
    import torch

    from ..style.decoder_train import DecoderTrainConfig, Interrupted, load_run_config, start, train

    if threads:
        torch.set_num_threads(threads)
    dev = resolve_device(device)
    if resume:
        cfg = load_run_config(out, layer, steps=steps)
    else:
        sources = [str(p) for p in (*content, *styles)]
        if not sources:
            raise BrushworkError("--content and/or --styles is required (folders of training images)")
        cfg = build(DecoderTrainConfig, opts, layer=layer, sources=sources, steps=steps or 2000, half=not fp32_weights, amp=amp_enabled(amp, dev),
                    flags={"steps": "--steps"})
        start(cfg, out)
    try:
        result = train(cfg, out, resume=resume, device=dev, show_progress=show_progress(quiet, as_json))
    except Interrupted as exc:
        click.echo(f"brushwork: {exc}", err=True)
        raise
    report_training(result, {"model": str(out), "layer": layer}, f"{layer} decoder in {out}", quiet=quiet, as_json=as_json)
