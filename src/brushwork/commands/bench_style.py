"""`brushwork bench stylize|infer|quality`: the stylisation benchmarks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..bench.infer import KINDS
from ..bench.quality_methods import ARBITRARY
from .bench import threads_option_with_default, use_threads
from .common import device_option, json_option, resolve_device
from .report import print_report


def stylize_table(report: dict[str, Any]) -> str:
    """Seconds, iterations, throughput and scores of the default and the reference run."""
    lines = [f"size {report['size'][0]}x{report['size'][1]} on {report['device']}; conv throughput {report['conv_gflops']:.0f} GFLOP/s",
             f"{'run':<10}{'seconds':>9}{'iters':>7}{'s/iter':>9}{'GFLOP/s':>9}{'gram loss':>11}{'colour':>9}{'t to ref':>10}"]
    for name in ("default", "reference"):
        r = report[name]
        reached = "never" if r["time_to_reference"] is None else f"{r['time_to_reference']:.1f}"
        lines.append(f"{name:<10}{r['seconds']:>9.1f}{r['iterations']:>7}{r['seconds_per_iteration']:>9.3f}{r['gflops']:>9.1f}"
                     f"{r['loss']:>11.4f}{r['color_distance']:>9.4f}{reached:>10}")
    return "\n".join(lines + [f"speed-up {report['speedup']:.2f}x"])


@click.command("stylize")
@click.option("--size", type=click.IntRange(64, 2048), default=512, show_default=True, help="Output long side in px.")
@click.option("--reference-iterations", type=click.IntRange(min=1), default=300, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), help="Also save both results side by side to this folder.")
@device_option
@json_option
def stylize(size: int, reference_iterations: int, out: Path | None, device: str, as_json: bool) -> None:
    """Time default stylisation against single-scale Gram + L-BFGS (300 iterations) on the same inputs.

    Inputs: scikit-image's astronaut photo and a generated brush-stroke painting,
    both at --size. Reports seconds, seconds per iteration, the Gram objective of
    each result, the speed-up, and GFLOP/s against a conv measured in this run.
    """
    from ..bench.stylize import run_stylize

    print_report(run_stylize(size, reference_iterations, resolve_device(device), out), as_json, stylize_table)


def infer_table(report: dict[str, Any], precisions: list[str]) -> str:
    """One line per model kind and precision, then the change between ``precisions`` and the optimiser's time."""
    lines = []
    for key, value in report.items():
        if isinstance(value, dict) and "model" in value:
            cells = "  ".join(f"{k} px {v:.3f} s" for k, v in value.items() if k not in ("model", "load_s"))
            lines.append(f"{key:<16} {cells}   ({value['model']}, loaded in {value['load_s']:.2f} s)")
    for kind, q in report.get("precision_change", {}).items():
        lines.append(f"{kind:<16} {' vs '.join(precisions[::-1])}: max abs diff {q['max_abs_diff']}, PSNR {q['psnr_db']} dB")
    if "optimize_512" in report:
        lines.append(f"optimize 512 px   {report['optimize_512']:.1f} s")
    return "\n".join(lines + [f"device {report['device']}, load average {report['load_average']}"])


def _comma_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


@click.command("infer")
@click.option("--sizes", default="512,1024", show_default=True, help="Square image sizes in px.")
@click.option("--precision", "precisions", default="float32,bfloat16", show_default=True, help="float32, bfloat16, auto, or two of them compared on the same images.")
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True, help="Timed runs per size (best is reported).")
@threads_option_with_default(0)
@click.option("--optimize/--no-optimize", default=True, show_default=True, help="Also time the optimisation method at 512 px.")
@click.option("--kinds", default=",".join(KINDS), show_default=True, help="Comma-separated model kinds to time.")
@device_option
@json_option
def infer(sizes: str, precisions: str, repeats: int, threads: int, optimize: bool, kinds: str, device: str, as_json: bool) -> None:
    """Seconds per image of each feed-forward model kind at each size.

    JSON: {"fast_light": {"512": s, "1024": s}, "fast": {...}, "adain": {...}, "optimize_512": s, "device": ...}
    (plus "<kind>_<precision>" entries for a second precision and "precision_change" comparing the two).
    """
    from ..bench.infer import run_infer

    use_threads(threads)
    size_list = [int(s) for s in _comma_list(sizes)]
    precision_list = _comma_list(precisions)
    if not set(precision_list) <= {"auto", "float32", "bfloat16"} or not 1 <= len(precision_list) <= 2:
        raise click.BadParameter("use one or two of float32, bfloat16, auto", param_hint="--precision")
    kind_list = tuple(_comma_list(kinds))
    if not kind_list or any(k not in KINDS for k in kind_list):
        raise click.BadParameter(f"use some of {', '.join(KINDS)}", param_hint="--kinds")
    report = run_infer(size_list, precision_list, repeats, resolve_device(device), optimize, kind_list)
    print_report(report, as_json, lambda r: infer_table(r, precision_list))


def quality_table(result: dict[str, Any]) -> str:
    """The per-method means as a plain-text table."""
    from ..bench.quality import SCORES

    lines = [f"{'method':<20}" + "".join(f"{k:>10}" for k in SCORES) + f"{'pairs':>7}"]
    for name, s in result["methods"].items():
        lines.append(f"{name:<20}" + "".join(f"{s[k]:>10.4f}" if k in s else f"{'-':>10}" for k in SCORES) + f"{s['n']:>7}")
    return "\n".join(lines + [f"note: {n}" for n in result["notes"]] + [f"contact sheet: {result['contact_sheet']}"])


@click.command("quality")
@click.option("--pairs", "pairs_dir", type=click.Path(path_type=Path, file_okay=False), help="Folder with content/ and style/ subfolders (same stems pair up; else every combination). Default: the shared photos x paintings.")
@click.option("--max-pairs", type=click.IntRange(min=0), default=12, show_default=True, help="Cap on the default pairs, spread over photos and paintings (0: all).")
@click.option("--methods", help=f"Comma-separated subset of {', '.join((*ARBITRARY, 'fast'))} (default: all).")
@click.option("--size", type=click.IntRange(64, 2048), default=512, show_default=True, help="Long side of every output in px.")
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("bench-quality"), show_default=True, help="Folder for images, contact sheet and page.")
@threads_option_with_default(0)
@device_option
@json_option
def quality(pairs_dir: Path | None, max_pairs: int, methods: str | None, size: int, out_dir: Path, threads: int, device: str, as_json: bool) -> None:
    """Every stylisation method on the same pairs, scored in spaces it does not optimise in."""
    from ..bench.quality import run_quality

    use_threads(threads)
    say = None if as_json else (lambda line: click.echo(line, err=True))
    result = run_quality(pairs_dir, max_pairs, _comma_list(methods) if methods else None, size, out_dir,
                         resolve_device(device), progress=say)
    print_report(result, as_json, quality_table)
