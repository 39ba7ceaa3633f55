"""`brushwork stylize CONTENT STYLE [STYLE ...] -o OUT`: optimisation-based style transfer."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import BrushworkError
from ..imageio import DEFAULT_MAX_PIXELS, IMAGE_SUFFIXES, list_images, save_image
from ..style.optimize import StyleOptions, StyleProgress
from .batch import Batch
from .common import device_option, json_option, quiet_option, reserve_output, resolve_device, show_progress
from .options import build, flag_errors, options_from
from .stylize_options import OnePassOptions



def _floats(text: str | None, what: str) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        return tuple(float(x) for x in text.replace(" ", "").split(",") if x)
    except ValueError:
        raise BrushworkError(f"{what} must be comma-separated numbers, not {text!r}") from None


def _output_paths(content: Path, out: Path) -> list[tuple[Path, Path]]:
    """Pairs (content file, output file); a folder of contents maps to a folder of outputs."""
    if content.is_dir():
        files = list_images(content)
        if not files:
            raise BrushworkError(f"{content}: contains no images")
        if out.suffix.lower() in IMAGE_SUFFIXES:
            raise BrushworkError(f"{content} is a folder, so -o must be a folder too, not {out}")
        return [(f, out / f"{f.stem}.png") for f in files]
    if out.suffix.lower() not in IMAGE_SUFFIXES:
        raise BrushworkError(f"{out}: unsupported output format {out.suffix or '(none)'}; use one of {', '.join(IMAGE_SUFFIXES)}")
    return [(content, out)]


def reserve_outputs(content: Path, out: Path) -> None:
    """Create the output folder, or the output file's temporary file, before any work
    (OutputError now if it cannot be written); the reservation ends with the command."""
    from ..fsutil import reserve_folder

    if content.is_dir():
        if out.suffix.lower() not in IMAGE_SUFFIXES:
            reserve_folder(out)
    elif out.suffix.lower() in IMAGE_SUFFIXES:
        reserve_output(out)


class _Reporter:
    """Progress bar plus intermediate saves; a callback for :class:`StyleProgress` events."""

    def __init__(self, show: bool, save_every: int, out: Path, label: str) -> None:
        self.bar = None
        self.show, self.save_every, self.out, self.label = show, save_every, out, label

    def __call__(self, p: StyleProgress) -> None:
        if self.show:
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=p.steps, desc=self.label, unit="it", leave=False)
            self.bar.update(1)
            self.bar.set_postfix(scale=f"{p.scale}/{p.scales}", style=f"{p.losses['style']:.4f}", content=f"{p.losses['content']:.3f}")
        if self.save_every and p.step % self.save_every == 0 and p.step < p.steps:
            save_image(p.image(), self.out.with_name(f"{self.out.stem}_step{p.step:05d}{self.out.suffix}"))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


@click.command()
@click.argument("content", type=click.Path(path_type=Path))
@click.argument("styles", nargs=-1, type=click.Path(path_type=Path))
@click.option("-o", "--output", "output", required=True, type=click.Path(path_type=Path), help="Output image (or folder when CONTENT is a folder).")
@options_from(StyleOptions)
@click.option("--mask", type=click.Path(path_type=Path), help="Grey mask, same size as CONTENT: first style inside, second (if any) outside.")
@click.option("--backbone", default="vgg16-hed", show_default=True, help="vgg16-hed, vgg19-imagenet, vgg16-imagenet or a .pth/.safetensors file.")
@click.option("--weights", type=click.Path(path_type=Path), help="Local weights file for the backbone (offline use).")
@click.option("--pooling", type=click.Choice(["max", "avg"]), default="max", show_default=True)
@click.option("--save-every", type=click.IntRange(min=0), default=0, help="Also save the image every N iterations.")
@click.option("--keep-alpha/--no-keep-alpha", default=True, show_default=True, help="Re-attach the content's transparency.")
@click.option("--quality", type=click.IntRange(1, 100), default=95, show_default=True, help="JPEG/WebP quality.")
@click.option("--bit-depth", type=click.Choice(["8", "16"]), default="8", show_default=True, help="16 needs a .tif output.")
@click.option("--max-pixels", type=click.IntRange(min=1), default=DEFAULT_MAX_PIXELS, show_default=True, help="Refuse larger input images.")
@options_from(OnePassOptions)
@device_option
@quiet_option
@json_option
def stylize(content: Path, styles: tuple[Path, ...], output: Path, mask: Path | None, backbone: str, weights: Path | None, pooling: str,
            save_every: int, keep_alpha: bool, quality: int, bit_depth: str, max_pixels: int, device: str, quiet: bool, as_json: bool, **fields) -> None:
    """Paint CONTENT (an image or a folder of images) in the style of STYLE(s).

    Multi-scale optimisation from about 128 px up to --size, with a Gram
    (default) or sliced-Wasserstein style loss on VGG features; or one pass of a
    feed-forward model: --method fast --model DIR (no STYLE) or --method adain [--model DIR].
    """
    reserve_outputs(content, output)  # an unwritable output fails now, not after the work
    one_pass = build(OnePassOptions, fields)
    common = dict(keep_alpha=keep_alpha, quality=quality, bit_depth=int(bit_depth), max_pixels=max_pixels, quiet=quiet, as_json=as_json)
    if one_pass.method != "optimize":
        return _run_one_pass(content, styles, output, one_pass, build(StyleOptions, fields, validate=False), mask=mask, backbone=backbone,
                             weights=weights, device=device, **common)
    options = build(StyleOptions, fields)
    _run_optimize(content, styles, output, options, mask=mask, backbone=backbone, weights=weights, pooling=pooling, save_every=save_every,
                  device=device, **common)


def _run_one_pass(content: Path, styles: tuple[Path, ...], output: Path, one: OnePassOptions, opts: StyleOptions, *, mask: Path | None,
                  backbone: str, weights: Path | None, device: str, **common) -> None:
    """``--method`` other than optimize: one pass of a feed-forward network."""
    if one.method in ("magenta", "multistyle26"):
        from .stylize_magenta import run_magenta

        with flag_errors(extra={"strength": "--alpha"}):
            return run_magenta(content, styles, output, method=one.method, model=one.model, size=opts.size, style_weights=opts.style_blend,
                               style_index=one.style_index, alpha=one.alpha, preserve_color=opts.preserve_color, precision=opts.precision,
                               device=resolve_device(device), pairs=_output_paths, mask=mask, tile=one.tile, **common)
    if one.variety and one.method != "gram":
        raise BrushworkError("--variety applies to --method gram only")
    from .stylize_ff import run_feedforward

    default_backbone = click.get_current_context().get_parameter_source("backbone").name == "DEFAULT"
    return run_feedforward(content, styles, output, method=one.method, model=one.model, size=opts.size, style_weights=opts.style_blend,
                           preserve_color=opts.preserve_color, mask=mask, alpha=one.alpha, tile=one.tile, precision=opts.precision,
                           backbone=None if default_backbone else backbone, weights=weights, device=resolve_device(device), pairs=_output_paths,
                           **common, **({"variety": one.variety, "seed": opts.seed} if one.method == "gram" else {}))


def _run_optimize(content: Path, styles: tuple[Path, ...], output: Path, options: StyleOptions, *, mask: Path | None, backbone: str,
                  weights: Path | None, pooling: str, save_every: int, device: str, keep_alpha: bool, quality: int, bit_depth: int,
                  max_pixels: int, quiet: bool, as_json: bool) -> None:
    """``--method optimize``: multi-scale optimisation of each content image."""
    if not styles:
        raise BrushworkError("give at least one STYLE image (or --method fast --model DIR)")
    import time

    from ..api import stylize_images
    from ..backbones.vgg import load_vgg
    from ..imageio import load_image

    if bit_depth == 16 and output.suffix.lower() not in (".tif", ".tiff"):
        raise BrushworkError("--bit-depth 16 needs a .tif or .tiff output")
    if not content.exists():
        raise BrushworkError(f"{content}: no such file or folder")
    device = resolve_device(device)
    pairs = _output_paths(content, output)
    style_images = [load_image(s, max_pixels=max_pixels).rgb for s in styles]  # decoded once for every content
    model = load_vgg(backbone, weights, pooling=pooling, device=device, progress=not quiet)
    batch = Batch(content, output, quiet=quiet, as_json=as_json)

    def one(src: Path, dst: Path) -> dict:
        reporter = _Reporter(show_progress(quiet, as_json), save_every, dst, src.name)
        start = time.perf_counter()
        try:
            out = stylize_images(src, style_images, options, mask=mask, model=model, device=device,
                                 keep_alpha=keep_alpha, max_pixels=max_pixels, callback=reporter)
        finally:
            reporter.close()
        save_image(out.result.image, dst, quality=quality, bit_depth=bit_depth, alpha=out.alpha)
        w, h = out.result.image.shape[2], out.result.image.shape[1]
        report = {
            "output": str(dst), "size": [int(w), int(h)], "method": "optimize", "backbone": backbone,
            "seconds": round(time.perf_counter() - start, 3), "iterations": out.result.iterations,
            "losses": {k: round(v, 6) for k, v in out.result.losses.items()},
        }
        if not as_json and not quiet:
            click.echo(f"{dst}  {w}x{h}  {report['seconds']:.1f} s", err=True)
        return report

    for src, dst in pairs:
        batch.run(src, dst, lambda: one(src, dst))
    batch.finish()
