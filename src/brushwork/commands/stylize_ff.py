"""`brushwork stylize --method adain|fast --model DIR`: the feed-forward branch of the stylize command."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import click

from ..errors import BrushworkError
from ..imageio import save_image
from .batch import Batch
from .common import show_progress


def run_feedforward(content: Path, styles: tuple[Path, ...], output: Path, *, method: str, model: str | None, size: int,
                    style_weights: tuple[float, ...] | None, preserve_color: str, mask: Path | None, alpha: float, tile: int,
                    precision: str, backbone: str | None, weights: Path | None, keep_alpha: bool, quality: int, bit_depth: int,
                    max_pixels: int, device: str, quiet: bool, as_json: bool, pairs: Callable[[Path, Path], list[tuple[Path, Path]]],
                    variety: float = 0.0, seed: int = 0) -> None:
    """Stylise CONTENT (an image or folder) with a feed-forward model and save the result(s)."""
    from ..imageio import load_image
    from ..style.feedforward import FeedForward, FFOptions

    loader = FeedForward
    if method == "wct":  # universal style transfer: the packaged decoders unless --model names others
        from ..style.universal import UniversalStyle as loader
    elif method == "gram":  # linear style transform: the packaged gram-hed unless --model names another
        from ..style.linear_run import GramStylizer as loader
    elif not model:
        from ..models import default_model

        model = str(default_model(method))  # AdaIN: the packaged decoder; fast: an error (style built in)
    if bit_depth == 16 and output.suffix.lower() not in (".tif", ".tiff"):
        raise BrushworkError("--bit-depth 16 needs a .tif or .tiff output")
    if not content.exists():
        raise BrushworkError(f"{content}: no such file or folder")
    options = FFOptions(size=size, tile=tile, alpha=alpha, style_weights=style_weights, preserve_color=preserve_color).validate()
    if method == "gram":
        from ..style.linear_run import GramOptions

        options = GramOptions(**vars(options), variety=variety, seed=seed).validate()
    todo = pairs(content, output)
    ff = loader(model, backbone=backbone, weights=weights, device=device, precision=precision, progress=not quiet)
    if ff.kind != method:
        raise BrushworkError(f"{model}: is a {ff.kind!r} model; use --method {ff.kind}")
    style_images = [load_image(s, max_pixels=max_pixels).rgb for s in styles]
    mask_t = load_image(mask, max_pixels=max_pixels).rgb.mean(0, keepdim=True) if mask is not None else None
    bar = None
    if show_progress(quiet, as_json) and len(todo) > 1:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc=f"stylize ({method})", unit="img")

    def one(src: Path, dst: Path) -> dict:
        start = time.perf_counter()
        loaded = load_image(src, max_pixels=max_pixels, alpha="keep" if keep_alpha else "composite")
        out = ff(loaded.rgb, style_images, options, mask=mask_t)
        save_image(out, dst, quality=quality, bit_depth=bit_depth, alpha=loaded.alpha if keep_alpha else None)
        h, w = out.shape[-2:]
        report = {"output": str(dst), "size": [int(w), int(h)], "method": method, "model": str(ff.dir), "seconds": round(time.perf_counter() - start, 3)}
        if bar is None and not as_json and not quiet:
            click.echo(f"{dst}  {w}x{h}  {report['seconds']:.2f} s", err=True)
        return report

    batch = Batch(content, output, quiet=quiet, as_json=as_json)
    for src, dst in todo:
        batch.run(src, dst, lambda: one(src, dst))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    batch.finish()
