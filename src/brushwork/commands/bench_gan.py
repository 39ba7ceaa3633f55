"""`brushwork bench mixture|digits|families`: the GAN benchmarks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..bench.digits import PROTOCOL as DIGITS_PROTOCOL
from ..bench.families import FAMILIES
from ..bench.families import PROTOCOL as FAMILIES_PROTOCOL
from ..bench.mixture import PROTOCOL as MIXTURE_PROTOCOL
from .bench import threads_option_with_default, use_threads
from .common import json_option, quiet_option
from .report import print_report


def _say(quiet: bool, prefix: str = ""):
    """A progress callback writing to stderr, or none with --quiet."""
    return (lambda message: None) if quiet else (lambda message: click.echo(f"{prefix}{message}", err=True))


def mixture_table(result: dict[str, Any]) -> str:
    """A plain-text table of the result."""

    def cell(d: dict[str, Any], key: str, scale: float = 1.0, fmt: str = ".2f") -> str:
        m, e = d.get(key), d.get(f"{key}_stderr")
        if m is None:
            return "n/a"
        return f"{m * scale:{fmt}}" + (f" ± {e * scale:{fmt}}" if e is not None else "")

    k = 8 if result["dataset"] == "ring" else 25
    lines = [f"mixture {result['dataset']}: {result['protocol_note']}", f"{'method':<28} {'modes /' + str(k):>14} {'HQ %':>14} {'reverse KL':>14} {'steps/s':>10}"]
    for name in ("brushwork", "baseline"):
        d = result[name]
        lines.append(f"{name + ' (' + d['config'] + ')':<28} {cell(d, 'modes'):>14} {cell(d, 'high_quality', 100, '.1f'):>14} {cell(d, 'reverse_kl', 1, '.3f'):>14} {d['steps_per_second']:>10.1f}")
    for name in ("brushwork", "baseline"):
        d = result.get(f"{name}_rejection")
        if d is not None:
            lines.append(f"{name + ' + rejection sampling':<28} {cell(d, 'modes'):>14} {cell(d, 'high_quality', 100, '.1f'):>14} {cell(d, 'reverse_kl', 1, '.3f'):>14} {'':>10} accepted {100 * d['acceptance']:.1f}%")
    lines.append(f"{'brushwork step, timed':<28} {'':>14} {'':>14} {'':>14} {result['step_steps_per_second']:>10.1f}")
    lines.append(f"{'plain reference loop, timed':<28} {'':>14} {'':>14} {'':>14} {result['reference_steps_per_second']:>10.1f}")
    for name, p in result["paper"].items():
        lines.append(f"{'PacGAN paper: ' + name:<28} {p['modes']:>14.1f} {100 * p['high_quality']:>14.1f} {p['reverse_kl']:>14.2f}")
    lines.append(f"throughput: {result['speedup']:.2f}x the plain reference loop (same model, timed alternately, best of 2; the steps/s column is whole training runs with diagnostics)")
    return "\n".join(lines)


@click.command(help="Mode collapse on 2-D Gaussian mixtures: Brushwork's best preset vs the plain GAN.\n\n" + MIXTURE_PROTOCOL.replace("\n", " "))
@click.option("--dataset", type=click.Choice(["grid", "ring"]), default="grid", show_default=True)
@click.option("--seeds", type=click.IntRange(1, 100), default=3, show_default=True, help="Independent runs per method (the papers use 10).")
@click.option("--steps", type=click.IntRange(1), default=12_000, show_default=True, help="Generator steps per run, for both methods (PacGAN: 400,000).")
@click.option("--preset", help="Brushwork's preset (default: pacgan-<dataset>; its data set is replaced by --dataset).")
@click.option("--config", type=click.Path(dir_okay=False), help="Brushwork's config file instead of a preset.")
@click.option("--samples", type=click.IntRange(1), default=2500, show_default=True, help="Generated samples scored per run.")
@click.option("--ref-steps", type=click.IntRange(1), default=200, show_default=True, help="Steps timed for Brushwork's step and the plain reference loop (twice each, alternately).")
@click.option("--out", type=click.Path(file_okay=False), help="Keep the run folders here (default: a temporary folder).")
@threads_option_with_default(1)
@click.option("--baseline-seeds", type=click.IntRange(1, 100), help="Train the baseline on only the first N seeds (default: all).")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True, help="Runs trained at once (worker processes of one thread each).")
@click.option("--rejection/--no-rejection", default=False, show_default=True, help="Also score discriminator rejection sampling (`gan sample --rejection`), in rows of their own.")
@click.option("--rejection-quantile", type=click.FloatRange(0, 1, max_open=True), default=0.95, show_default=True, help="With --rejection: DRS's gamma as a quantile of the acceptance score.")
@click.option("--rejection-calibrate", type=click.IntRange(0), default=500, show_default=True, help="With --rejection: steps of discriminator fine-tuning before sampling.")
@quiet_option
@json_option
def mixture(dataset, seeds, steps, preset, config, samples, ref_steps, out, threads, baseline_seeds, jobs, rejection, rejection_quantile, rejection_calibrate, quiet, as_json) -> None:
    from ..bench.mixture import run_mixture

    use_threads(threads)
    result = run_mixture(dataset, seeds, steps, config, samples, ref_steps, Path(out) if out else None, progress=_say(quiet),
                         preset=preset, jobs=jobs, baseline_seeds=baseline_seeds,
                         rejection=rejection_quantile if rejection else None, calibrate_steps=rejection_calibrate)
    print_report(result, as_json, mixture_table)


def digits_table(result: dict[str, Any]) -> str:
    """The judge's scores next to their targets, and the throughput against the plain loop."""
    rows = [
        ("classes covered (>= 5%)", f"{result['classes_covered']} / 10", "10 / 10"),
        ("confident fraction (p > 0.9)", f"{100 * result['confident_fraction']:.1f}%", f">= 90% (real held-out digits: {100 * result['real_confident_fraction']:.1f}%)"),
        *([("class agreement (conditional)", f"{100 * result['class_agreement']:.1f}%", "")] if "class_agreement" in result else []),
        ("class KL to uniform", f"{result['kl_to_uniform']:.3f}", ""),
        ("Frechet distance (features)", f"{result['fd']:.3f}", f"<= {3 * result['fd_real_vs_real']:.3f} (3x real-vs-real {result['fd_real_vs_real']:.3f})"),
        ("steps/s (plain loop)", f"{result['steps_per_second']:.1f} ({result['reference_steps_per_second']:.1f})", f"{result['speedup']:.2f}x"),
    ]
    lines = [f"digits bench: {result['preset']}, {result['steps']} steps (judge accuracy on held-out half: {100 * result['judge_accuracy']:.1f}%)"]
    return "\n".join(lines + [f"  {name:<30} {value:>14}   {target}" for name, value, target in rows])


@click.command(help="GAN on scikit-learn's digits, judged by a classifier.\n\n" + DIGITS_PROTOCOL.replace("\n", " "))
@click.option("--preset", default="cdcgan-digits", show_default=True, help="A preset that trains on digits (cdcgan-digits: Brushwork's best, class-conditional; dcgan-digits, mlp-digits, biggan-digits, stylegan2-digits ...).")
@click.option("--steps", type=click.IntRange(1), help="Generator steps [default: the preset's own].")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--ref-steps", type=click.IntRange(1), default=100, show_default=True, help="Steps timed for Brushwork's step and the plain reference loop (twice each, alternately, best of each).")
@click.option("--grid", type=click.Path(dir_okay=False), help="Also save 64 samples as an image grid here (look at them).")
@click.option("--out", type=click.Path(file_okay=False), help="Keep the run folder here (default: temporary).")
@threads_option_with_default(0)
@quiet_option
@json_option
def digits(preset, steps, seed, ref_steps, grid, out, threads, quiet, as_json) -> None:
    from ..bench.digits import run_digits

    use_threads(threads)
    print_report(run_digits(preset, steps, seed, ref_steps, Path(out) if out else None, grid), as_json, digits_table)


def families_table(result: dict[str, Any]) -> str:
    """FD, KID, precision / recall and speed per family, under the real-vs-real floor."""
    floor = result["real_vs_real"]
    lines = [f"families bench: {result['crops']} natural {result['size']} px crops, {result['steps']} steps at batch {result['batch_size']}, {result['samples']} samples, vgg16-hed features",
             f"  {'family':<18} {'FD':>8} {'x DCGAN':>8} {'KID':>8} {'prec':>6} {'recall':>6} {'steps/s':>8}",
             f"  {'(real vs real)':<18} {floor['fd']:>8.3f} {'':>8} {floor['kid']:>8.4f} {floor['precision']:>6.2f} {floor['recall']:>6.2f}"]
    for r in result["families"]:
        ratio = f"{r['fd_vs_dcgan']:.2f}" if r["fd_vs_dcgan"] is not None else "-"
        lines.append(f"  {r['family']:<18} {r['fd']:>8.3f} {ratio:>8} {r['kid']:>8.4f} {r['precision']:>6.2f} {r['recall']:>6.2f} {r['steps_per_second']:>8.1f}")
    return "\n".join(lines)


@click.command(help="Every GAN family on natural-image crops for the same step budget.\n\n" + " ".join(FAMILIES_PROTOCOL.split()))
@click.option("--family", "families", multiple=True, type=click.Choice(list(FAMILIES)), help="Families to run (repeatable; default all).")
@click.option("--size", type=click.Choice(["32", "64"]), default="32", show_default=True, help="Crop size in px.")
@click.option("--steps", type=click.IntRange(1), default=600, show_default=True, help="Generator steps per family.")
@click.option("--batch-size", type=click.IntRange(2), default=32, show_default=True)
@click.option("--crops", type=click.IntRange(100), default=2000, show_default=True, help="Crops in the training set.")
@click.option("--samples", type=click.IntRange(10), default=256, show_default=True, help="Generated (and real) images scored per family.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--shared-data", default="../shared/data", show_default=True, help="Shared data folder whose content/ photos are cropped (skipped when absent).")
@click.option("--out", type=click.Path(file_okay=False), help="Keep run folders and sample grids here (default: temporary).")
@threads_option_with_default(1)
@quiet_option
@json_option
def families(families, size, steps, batch_size, crops, samples, seed, shared_data, out, threads, quiet, as_json) -> None:
    from ..bench.families import run_families

    use_threads(threads)
    result = run_families(list(families), int(size), steps, batch_size, crops, samples, seed, shared_data,
                          Path(out) if out else None, _say(quiet, "families bench: "))
    print_report(result, as_json, families_table)
