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
from typing import Any

import torch

from .timing import best_seconds


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


def run_infer(sizes: list[int], precisions: list[str], repeats: int = 3, device: str = "cpu", optimize: bool = True,
              kinds: tuple[str, ...] = KINDS) -> dict[str, Any]:
    """Measure the model ``kinds`` (default: all): ``{kind: {"model", "load_s", "<size>": s}, ...,
    "<kind>_<precision>": ..., "precision_change", "optimize_512", "device", "load_average"}``."""
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
                    report[key][str(size)] = round(best_seconds(lambda: ff(x, styles(), opts), repeats), 4)
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
