"""`brushwork stylize CONTENT STYLE [STYLE ...] -o OUT`: optimisation-based style transfer."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import BrushworkError
from ..imageio import DEFAULT_MAX_PIXELS, IMAGE_SUFFIXES, list_images, save_image
from ..style.optimize import StyleOptions, StyleProgress
from .batch import Batch
from .common import device_option, json_option, quiet_option, reserve_output, resolve_device, show_progress

_D = StyleOptions()


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
@click.option("--size", type=int, default=_D.size, show_default=True, help="Long side of the output in px.")
@click.option("--iterations", type=int, default=_D.iterations, show_default=True, help="Iterations at full size (smaller scales get proportionally more).")
@click.option("--initial-iterations", type=int, default=_D.initial_iterations, show_default=True, help="Iterations at the first (smallest) scale.")
@click.option("--min-size", type=int, default=_D.min_size, show_default=True, help="Long side of the first scale in px.")
@click.option("--style-weights", help="Blend weights of the style images, e.g. 0.7,0.3.")
@click.option("--content-weight", type=float, default=_D.content_weight, show_default=True)
@click.option("--style-weight", type=float, default=_D.style_weight, show_default=True)
@click.option("--tv-weight", type=float, default=_D.tv_weight, show_default=True)
@click.option("--color-weight", type=float, default=_D.color_weight, show_default=True, help="Weight of the pixel-space colour loss (OKLab colour distribution of the style).")
@click.option("--style-loss", type=click.Choice(["gram", "wasserstein"]), default=_D.style_loss, show_default=True)
@click.option("--style-layer-weights", help="Weights of relu1_1,relu2_1,relu3_1,relu4_1,relu5_1.")
@click.option("--style-scale", type=float, default=_D.style_scale, show_default=True, help="Style image size relative to the output.")
@click.option("--preserve-color", type=click.Choice(["none", "luminance", "histogram"]), default=_D.preserve_color, show_default=True)
@click.option("--init", type=click.Choice(["content", "noise", "style"]), default=_D.init, show_default=True)
@click.option("--optimizer", type=click.Choice(["adam", "lbfgs"]), default=_D.optimizer, show_default=True)
@click.option("--lr", type=float, default=_D.lr, show_default=True, help="Adam step size.")
@click.option("--mask", type=click.Path(path_type=Path), help="Grey mask, same size as CONTENT: first style inside, second (if any) outside.")
@click.option("--backbone", default="vgg16-hed", show_default=True, help="vgg16-hed, vgg19-imagenet, vgg16-imagenet or a .pth/.safetensors file.")
@click.option("--weights", type=click.Path(path_type=Path), help="Local weights file for the backbone (offline use).")
@click.option("--pooling", type=click.Choice(["max", "avg"]), default="max", show_default=True)
@click.option("--seed", type=int, default=_D.seed, show_default=True)
@click.option("--precision", type=click.Choice(["auto", "float32", "bfloat16"]), default=_D.precision, show_default=True, help="auto: bfloat16 VGG passes where the hardware runs them natively (AVX-512 BF16/AMX CPUs, recent GPUs), else float32.")
@click.option("--save-every", type=click.IntRange(min=0), default=0, help="Also save the image every N iterations.")
@click.option("--keep-alpha/--no-keep-alpha", default=True, show_default=True, help="Re-attach the content's transparency.")
@click.option("--quality", type=click.IntRange(1, 100), default=95, show_default=True, help="JPEG/WebP quality.")
@click.option("--bit-depth", type=click.Choice(["8", "16"]), default="8", show_default=True, help="16 needs a .tif output.")
@click.option("--max-pixels", type=click.IntRange(min=1), default=DEFAULT_MAX_PIXELS, show_default=True, help="Refuse larger input images.")
@click.option("--method", type=click.Choice(["optimize", "adain", "fast", "wct", "gram", "magenta", "multistyle26"]), default="optimize", show_default=True, help="optimize (best, slow); adain or fast: one pass of a feed-forward --model; wct: universal style transfer (packaged decoders); gram: learned linear transform of the style's Gram matrices (Li et al. 2019, packaged gram-hed); magenta: Magenta's arbitrary-style network (any STYLE); multistyle26: its 26 built-in styles.")
@click.option("--model", "ff_model", help="Model folder (or packaged model name) for --method adain/fast [adain: the packaged adain-light].")
@click.option("--alpha", type=float, default=1.0, show_default=True, help="AdaIN content-style trade-off (0 = content, 1 = full style).")
@click.option("--tile", type=click.IntRange(min=0), default=0, help="adain/fast: process in tiles of N px (0: whole image).")
@click.option("--variety", type=float, default=0.0, show_default=True, help="gram: 0 to 1, how far --seed perturbs the style transform (0: deterministic).")
@click.option("--style-index", help="multistyle26: built-in style 0-25, or a mix such as 3:0.7,12:0.3.")
@device_option
@quiet_option
@json_option
def stylize(content: Path, styles: tuple[Path, ...], output: Path, size: int, iterations: int, initial_iterations: int,
            min_size: int, style_weights: str | None, content_weight: float, style_weight: float, tv_weight: float, color_weight: float,
            style_loss: str, style_layer_weights: str | None, style_scale: float, preserve_color: str, init: str,
            optimizer: str, lr: float, mask: Path | None, backbone: str, weights: Path | None, pooling: str, seed: int, precision: str,
            save_every: int, keep_alpha: bool, quality: int, bit_depth: str, max_pixels: int, method: str,
            ff_model: str | None, alpha: float, tile: int, device: str, quiet: bool, as_json: bool, style_index: str | None = None, variety: float = 0.0) -> None:
    """Paint CONTENT (an image or a folder of images) in the style of STYLE(s).

    Multi-scale optimisation from about 128 px up to --size, with a Gram
    (default) or sliced-Wasserstein style loss on VGG features; or one pass of a
    feed-forward model: --method fast --model DIR (no STYLE) or --method adain [--model DIR].
    """
    reserve_outputs(content, output)  # an unwritable output fails now, not after the work
    if method in ("magenta", "multistyle26"):
        from .stylize_magenta import run_magenta

        return run_magenta(content, styles, output, method=method, model=ff_model, size=size, style_weights=_floats(style_weights, "--style-weights"),
                           style_index=style_index, alpha=alpha, preserve_color=preserve_color, precision=precision, keep_alpha=keep_alpha,
                           quality=quality, bit_depth=int(bit_depth), max_pixels=max_pixels, device=resolve_device(device), quiet=quiet,
                           as_json=as_json, pairs=_output_paths, mask=mask, tile=tile)
    if variety and method != "gram":
        raise BrushworkError("--variety applies to --method gram only")
    if method != "optimize":
        from .stylize_ff import run_feedforward

        return run_feedforward(content, styles, output, method=method, model=ff_model, size=size, style_weights=_floats(style_weights, "--style-weights"),
                               preserve_color=preserve_color, mask=mask, alpha=alpha, tile=tile, precision=precision,
                               backbone=None if click.get_current_context().get_parameter_source("backbone").name == "DEFAULT" else backbone,
                               weights=weights, keep_alpha=keep_alpha, quality=quality, bit_depth=int(bit_depth), max_pixels=max_pixels,
                               device=resolve_device(device), quiet=quiet, as_json=as_json, pairs=_output_paths,
                               **({"variety": variety, "seed": seed} if method == "gram" else {}))
    if not styles:
        raise BrushworkError("give at least one STYLE image (or --method fast --model DIR)")
    import time

    from ..api import stylize_images
    from ..backbones.vgg import load_vgg
    from ..imageio import load_image

    options = StyleOptions(
        size=size, iterations=iterations, initial_iterations=initial_iterations, min_size=min_size,
        content_weight=content_weight, style_weight=style_weight, tv_weight=tv_weight, color_weight=color_weight,
        style_blend=_floats(style_weights, "--style-weights"), style_loss=style_loss,
        style_layer_weights=_floats(style_layer_weights, "--style-layer-weights"), style_scale=style_scale,
        preserve_color=preserve_color, init=init, optimizer=optimizer, lr=lr, seed=seed, precision=precision,
    ).validate()
    if bit_depth == "16" and output.suffix.lower() not in (".tif", ".tiff"):
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
        save_image(out.result.image, dst, quality=quality, bit_depth=int(bit_depth), alpha=out.alpha)
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
