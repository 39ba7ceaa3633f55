"""`brushwork stylize-video IN -o OUT --model DIR`: frame-by-frame feed-forward stylisation."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import BrushworkError
from .common import device_option, emit_json, json_option, quiet_option, reserve_output, resolve_device, show_progress


@click.command("stylize-video")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Output video (.mp4, .mkv, .mov, .avi, .webm).")
@click.option("--model", help="Fast or AdaIN model folder (or packaged model name); with --method wct, another decoder folder.")
@click.option("--method", type=click.Choice(["model", "wct", "gram"]), default="model", show_default=True, help="model: the --model's own kind; wct: universal style transfer (the packaged decoders unless --model); gram: the linear style transform (packaged gram-hed unless --model).")
@click.option("--style", "styles", multiple=True, type=click.Path(dir_okay=False, path_type=Path), help="Style image(s) for an AdaIN model (repeatable).")
@click.option("--style-weights", help="AdaIN interpolation weights of several styles, e.g. 0.7,0.3.")
@click.option("--alpha", type=float, default=1.0, show_default=True, help="AdaIN content-style trade-off.")
@click.option("--size", type=int, help="Long side of the output frames in px (default: the source's).")
@click.option("--smoothing", type=click.FloatRange(0.0, 0.99), default=0.0, show_default=True, help="Temporal smoothing against flicker (0: off; 0.3 is mild).")
@click.option("--preserve-color", type=click.Choice(["none", "luminance", "histogram"]), default="none", show_default=True)
@click.option("--max-frames", type=click.IntRange(min=1), help="Stylise only the first N frames.")
@click.option("--precision", type=click.Choice(["auto", "float32", "bfloat16"]), default="auto", show_default=True, help="auto: bfloat16 where the hardware runs it natively.")
@device_option
@quiet_option
@json_option
def stylize_video(source: Path, output: Path, model: str | None, method: str, styles: tuple[Path, ...], style_weights: str | None, alpha: float, size: int | None,
                  smoothing: float, preserve_color: str, max_frames: int | None, precision: str, device: str, quiet: bool, as_json: bool) -> None:
    """Stylise every frame of SOURCE with a feed-forward model; the audio is kept."""
    import time

    from ..imageio import load_image
    from ..style.feedforward import FeedForward, FFOptions
    from ..video import stylize_video as run
    from .stylize import _floats

    if source.resolve() == output.resolve():
        raise BrushworkError(f"{output}: refusing to overwrite the source video")
    from ..video import VIDEO_SUFFIXES

    if output.suffix.lower() in VIDEO_SUFFIXES:
        reserve_output(output)  # an unwritable output fails now, not after every frame
    options = FFOptions(size=size, alpha=alpha, style_weights=_floats(style_weights, "--style-weights"), preserve_color=preserve_color).validate()
    loader = FeedForward
    if method == "wct":  # universal style transfer: the same call as a feed-forward model
        from ..style.universal import UniversalStyle as loader
    elif method == "gram":  # the linear style transform: packaged gram-hed unless --model
        from ..style.linear_run import GramStylizer as loader
    elif not model:
        raise BrushworkError("--model is required (a fast or AdaIN model folder), or use --method wct")
    ff = loader(model, device=resolve_device(device), precision=precision, progress=not quiet)
    style_images = [load_image(s).rgb for s in styles]
    ff.check(len(style_images), options, has_mask=False)
    bar = None
    if show_progress(quiet, as_json):
        from tqdm import tqdm

        bar = tqdm(desc="stylize-video", unit="frame")

    def on_frame(done: int, total: int) -> None:
        if bar is not None:
            bar.total = total or None
            bar.update(1)

    start = time.perf_counter()
    try:
        result = run(source, output, lambda frame: ff(frame, style_images, options), smoothing=smoothing, max_frames=max_frames, on_frame=on_frame)
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - start
    summary = {"output": str(result.path), "frames": result.frames, "size": list(result.size), "fps": result.fps, "audio": result.audio,
               "seconds": round(seconds, 2), "seconds_per_frame": round(seconds / max(1, result.frames), 4)}
    if as_json:
        emit_json(summary)
    elif not quiet:
        click.echo(f"{output}  {result.frames} frames  {result.size[0]}x{result.size[1]}  {summary['seconds_per_frame']:.3f} s/frame" + ("  (audio kept)" if result.audio else ""), err=True)
