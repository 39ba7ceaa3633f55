"""`brushwork bench infer`: seconds per image of the feed-forward models, with the optimisation
method's time at 512 px measured in the same run for scale.

Each model kind runs through :class:`~brushwork.style.feedforward.FeedForward` (the path
`brushwork stylize --method ...` uses, default options) on a square photo at each size, the
model already loaded (``load_s``: the time to load it, VGG encoder included): best of
``--repeats`` after one warm-up, AdaIN including the encoding of a style image of the same
size (capped at 512 px as in `stylize`) on every call. Models: the packaged defaults where present (``fast_light``: the first packaged light
fast model, ``adain``: the packaged decoder, ``gram``: the packaged linear style transform, ``wct``: the packaged universal decoders,
multi-level WCT), else freshly initialised networks of the same
shape (speed does not depend on the weights); ``fast`` is the full Johnson network. With
``--precision float32,bfloat16`` each kind is also compared with float32 on the same image (max abs
difference and PSNR in dB) so the speed-up can be weighed against the change.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import click
import torch

from ..commands.common import device_option, emit_json, json_option, resolve_device


def _best(fn: Callable[[], Any], repeats: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _model_dirs(tmp: Path) -> dict[str, Path]:
    """A model folder per kind: packaged where there is one, else a fresh network saved to ``tmp``."""
    from ..style.adain import AdaINConfig, Decoder
    from ..style.fast import TransformerNet, preset
    from ..models import packaged_models, read_config, save_pretrained

    dirs: dict[str, Path] = {}
    for name, path in packaged_models().items():
        rec = read_config(path)
        if rec["kind"] == "adain":
            dirs.setdefault("adain", path)
        elif rec["kind"] == "universal":
            dirs.setdefault("wct", path)  # the packaged decoders of `--method wct`
        elif rec["kind"] == "gram":
            dirs.setdefault("gram", path)  # the packaged linear transform of `--method gram`
        elif rec["config"]["channels"] == list(preset("light").channels):
            dirs.setdefault("fast_light", path)
    torch.manual_seed(0)
    fresh = {"fast_light": TransformerNet(preset("light")), "fast": TransformerNet(preset("johnson")), "adain": Decoder(AdaINConfig(width=0.5))}
    if "gram" not in dirs:
        from ..style.linear import LinearStyleNet

        fresh["gram"] = LinearStyleNet()
    for kind, net in fresh.items():
        if kind not in dirs:
            dirs[kind] = save_pretrained(net, tmp / kind, backbone="vgg16-hed")
    return dirs


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float((a - b).pow(2).mean())
    return float("inf") if mse == 0 else round(10 * torch.log10(torch.tensor(1.0 / mse)).item(), 2)


KINDS = ("fast_light", "fast", "adain", "wct", "gram", "magenta")


def run(sizes: list[int], precisions: list[str], repeats: int, device: str, optimize: bool,
        kinds: tuple[str, ...] = KINDS) -> dict[str, Any]:
    """Measure the model ``kinds`` (default: all); returns the JSON object described in the command's help."""
    from ..data.bundled import bundled_photo
    from ..data.datasets import center_crop_resize
    from ..style.feedforward import FeedForward, FFOptions
    from ..style.linear_run import GramStylizer
    from ..style.universal import UniversalStyle

    photo, painting = bundled_photo("astronaut"), bundled_photo("coffee")
    report: dict[str, Any] = {}
    quality: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, path in _model_dirs(Path(tmp)).items():
            if kind not in kinds:
                continue
            outputs: dict[str, torch.Tensor] = {}
            for precision in precisions:
                t = time.perf_counter()
                ff = (UniversalStyle if kind == "wct" else GramStylizer if kind == "gram" else FeedForward)(path, device=device, precision=precision)
                key = kind if precision == precisions[0] else f"{kind}_{precision}"
                report[key] = {"model": path.name, "load_s": round(time.perf_counter() - t, 3)}
                for size in sizes:
                    x = center_crop_resize(photo, size)
                    style = center_crop_resize(painting, size)
                    # a new style tensor every call: its statistics are computed each time, as for
                    # one `stylize` command (only video frames reuse them)
                    styles = (lambda: [style.clone()]) if ff.kind in ("adain", "wct", "gram") else (lambda: [])
                    opts = FFOptions()  # what `brushwork stylize --method ...` uses (style encoded at <= 512 px)
                    report[key][str(size)] = round(_best(lambda: ff(x, styles(), opts), repeats), 4)
                    if size == sizes[0]:
                        outputs[precision] = ff(x, styles(), opts)
            if len(outputs) > 1:
                a, b = outputs[precisions[0]], outputs[precisions[1]]
                quality[kind] = {"max_abs_diff": round(float((a - b).abs().max()), 4), "psnr_db": _psnr(a, b)}
    from .magenta_infer import magenta_rows  # Magenta's arbitrary-style network, when it can be had

    if "magenta" in kinds:
        report.update(magenta_rows(sizes, precisions, repeats, device, photo, painting))
    if quality:
        report["precision_change"] = quality
    if optimize:
        from ..api import stylize_images
        from ..backbones.vgg import load_vgg
        from ..style.optimize import StyleOptions

        vgg = load_vgg("vgg16-hed", device=device)
        x, s = center_crop_resize(photo, 512), center_crop_resize(painting, 512)
        t = time.perf_counter()
        stylize_images(x, [s], StyleOptions(size=512), model=vgg, device=device)
        report["optimize_512"] = round(time.perf_counter() - t, 2)
    report["device"] = device if device != "cpu" else f"cpu ({torch.get_num_threads()} threads)"
    report["load_average"] = [round(v, 2) for v in os.getloadavg()]
    return report


@click.command("infer")
@click.option("--sizes", default="512,1024", show_default=True, help="Square image sizes in px.")
@click.option("--precision", "precisions", default="float32,bfloat16", show_default=True, help="float32, bfloat16, auto, or two of them compared on the same images.")
@click.option("--repeats", type=click.IntRange(min=1), default=3, show_default=True, help="Timed runs per size (best is reported).")
@click.option("--threads", type=int, default=0, show_default=True, help="torch CPU threads (0: torch's default).")
@click.option("--optimize/--no-optimize", default=True, show_default=True, help="Also time the optimisation method at 512 px.")
@click.option("--kinds", default=",".join(KINDS), show_default=True, help="Comma-separated model kinds to time.")
@device_option
@json_option
def command(sizes: str, precisions: str, repeats: int, threads: int, optimize: bool, kinds: str, device: str, as_json: bool) -> None:
    """Seconds per image of each feed-forward model kind at each size.

    JSON: {"fast_light": {"512": s, "1024": s}, "fast": {...}, "adain": {...}, "optimize_512": s, "device": ...}
    (plus "<kind>_<precision>" entries for a second precision and "precision_change" comparing the two).
    """
    if threads:
        torch.set_num_threads(threads)
    size_list = [int(s) for s in sizes.split(",") if s.strip()]
    precision_list = [p.strip() for p in precisions.split(",") if p.strip()]
    if not set(precision_list) <= {"auto", "float32", "bfloat16"} or not 1 <= len(precision_list) <= 2:
        raise click.BadParameter("use one or two of float32, bfloat16, auto", param_hint="--precision")
    kind_list = tuple(k.strip() for k in kinds.split(",") if k.strip())
    unknown = [k for k in kind_list if k not in KINDS]
    if unknown or not kind_list:
        raise click.BadParameter(f"use some of {', '.join(KINDS)}", param_hint="--kinds")
    report = run(size_list, precision_list, repeats, resolve_device(device), optimize, kind_list)
    if as_json:
        emit_json(report)
        return
    for key, value in report.items():
        if isinstance(value, dict) and "model" in value:
            cells = "  ".join(f"{k} px {v:.3f} s" for k, v in value.items() if k not in ("model", "load_s"))
            click.echo(f"{key:<16} {cells}   ({value['model']}, loaded in {value['load_s']:.2f} s)")
    for kind, q in report.get("precision_change", {}).items():
        click.echo(f"{kind:<16} {' vs '.join(precision_list[::-1])}: max abs diff {q['max_abs_diff']}, PSNR {q['psnr_db']} dB")
    if "optimize_512" in report:
        click.echo(f"optimize 512 px   {report['optimize_512']:.1f} s")
    click.echo(f"device {report['device']}, load average {report['load_average']}")
