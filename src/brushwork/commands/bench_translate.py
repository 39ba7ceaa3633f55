"""`brushwork bench translate`: pix2pix and CycleGAN on a synthetic paired task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..bench.translate import PROTOCOL
from ..translate.synthetic import TASKS
from .bench import threads_option_with_default, use_threads
from .common import json_option, quiet_option
from .report import print_report


def translate_table(r: dict[str, Any]) -> str:
    """PSNR, L1 and speed of both models next to the identity baseline."""
    lines = [f"translate bench: {r['task']}, {r['size']} px, {r['steps']} steps, width {r['width']}",
             f"  {'':<10} {'PSNR dB':>8} {'L1':>7} {'steps/s':>8} {'plain':>7} {'speedup':>8}",
             f"  {'identity':<10} {r['identity']['psnr']:>8.2f} {r['identity']['l1']:>7.4f}"]
    for m in ("pix2pix", "cyclegan"):
        x = r[m]
        lines.append(f"  {m:<10} {x['psnr']:>8.2f} {x['l1']:>7.4f} {x['steps_per_second']:>8.2f} {x['reference_steps_per_second']:>7.2f} {x['speedup']:>7.2f}x   (target: +3 dB, 1.3x)")
    return "\n".join(lines)


@click.command(help="pix2pix and CycleGAN on a synthetic paired task, against the identity and a plain loop.\n\n" + PROTOCOL.format(n_train="--train", n_test="--test", size="--size").replace("\n", " "))
@click.option("--task", type=click.Choice(TASKS), default="sepia", show_default=True)
@click.option("--size", type=click.IntRange(32), default=32, show_default=True, help="Crop size in px (a multiple of 8).")
@click.option("--steps", type=click.IntRange(1), default=1500, show_default=True, help="Generator updates per model.")
@click.option("--width", type=click.IntRange(1), default=32, show_default=True, help="ngf = ndf, the networks' base width (64 in the papers).")
@click.option("--train", "n_train", type=click.IntRange(1), default=400, show_default=True, help="Training crops.")
@click.option("--test", "n_test", type=click.IntRange(1), default=64, show_default=True, help="Held-out test crops.")
@click.option("--ref-steps", type=click.IntRange(1), default=20, show_default=True, help="Steps timed per round for each loop.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--grids", type=click.Path(file_okay=False), help="Save translate-pix2pix.png / translate-cyclegan.png here (rows: input | output | ground truth, two per row).")
@click.option("--out", type=click.Path(file_okay=False), help="Keep the run folders here (default: temporary).")
@threads_option_with_default(0)
@click.option("--input-skip/--no-input-skip", default=True, show_default=True, help="CycleGAN generators with the input at their last layer (--no-input-skip: the paper's).")
@click.option("--d-layers", type=click.IntRange(1, 3), help="PatchGAN depth (3: the paper's 70 px patches; default: suited to --size).")
@click.option("--identity-weight", type=click.FloatRange(0), help="CycleGAN identity loss, times the cycle weight (default 0.5, the paper's).")
@quiet_option
@json_option
def translate(task, size, steps, width, n_train, n_test, ref_steps, seed, grids, out, threads, input_skip, d_layers, identity_weight, quiet, as_json) -> None:
    from ..bench.translate import run_translate

    use_threads(threads)
    variant = {"input_skip": input_skip, "d_layers": d_layers, "lambda_identity": identity_weight}
    result = run_translate(task, size, steps, width, n_train, n_test, ref_steps, seed, Path(out) if out else None,
                           Path(grids) if grids else None, {k: v for k, v in variant.items() if v is not None})
    print_report(result, as_json, translate_table)
