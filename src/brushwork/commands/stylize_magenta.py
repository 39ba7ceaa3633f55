"""`brushwork stylize --method magenta|multistyle26`: Magenta's networks (see :mod:`brushwork.style.magenta_run`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import click

from ..errors import BrushworkError
from ..imageio import save_image
from .common import emit_json


def run_magenta(content: Path, styles: tuple[Path, ...], output: Path, *, method: str, model: str | None, size: int,
                style_weights: tuple[float, ...] | None, style_index: str | None, alpha: float, preserve_color: str,
                precision: str, keep_alpha: bool, quality: int, bit_depth: int, max_pixels: int, device: str, quiet: bool,
                as_json: bool, pairs: Callable[[Path, Path], list[tuple[Path, Path]]], mask: Path | None = None, tile: int = 0) -> None:
    """Stylise CONTENT (an image or folder) with Magenta's arbitrary-style or 26-style network
    (no ``mask`` or ``tile``: it runs on the whole image at any size)."""
    from ..imageio import load_image
    from ..style.magenta_run import Magenta

    if bit_depth == 16 and output.suffix.lower() not in (".tif", ".tiff"):
        raise BrushworkError("--bit-depth 16 needs a .tif or .tiff output")
    if not content.exists():
        raise BrushworkError(f"{content}: no such file or folder")
    if mask is not None or tile:
        raise BrushworkError(f"--method {method} takes no --mask or --tile (it runs on the whole image at any size)")
    if method == "magenta" and style_index is not None:
        raise BrushworkError("--style-index is for --method multistyle26; --method magenta takes STYLE images")
    todo = pairs(content, output)
    net = Magenta(method, model, device=device, precision=precision)
    style_images = [load_image(s, max_pixels=max_pixels).rgb for s in styles]
    reports = []
    for src, dst in todo:
        start = time.perf_counter()
        loaded = load_image(src, max_pixels=max_pixels, alpha="keep" if keep_alpha else "composite")
        out = net(loaded.rgb, style_images, style_weights=style_weights, strength=alpha, size=size,
                  preserve_color=preserve_color, style_index=style_index)
        save_image(out, dst, quality=quality, bit_depth=bit_depth, alpha=loaded.alpha if keep_alpha else None)
        h, w = out.shape[-2:]
        reports.append({"output": str(dst), "size": [int(w), int(h)], "method": method, "model": str(net.dir),
                        "seconds": round(time.perf_counter() - start, 3)})
        if not as_json and not quiet:
            click.echo(f"{dst}  {w}x{h}  {reports[-1]['seconds']:.2f} s", err=True)
    if as_json:
        emit_json(reports[0] if len(reports) == 1 and not content.is_dir() else {"outputs": reports})
