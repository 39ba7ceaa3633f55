"""The stylisation methods the service offers: a small registry, one entry a method.

A method turns the saved inputs of a job into an image. Adding a method (a feed-forward
network, say) is one :class:`Method` in :data:`METHODS`: its name, how it checks the
options a client sent, and how it runs with a progress callback.
"""

from __future__ import annotations

import threading
from dataclasses import fields
from pathlib import Path
from typing import Any, Callable

import torch

from ..errors import BrushworkError
from .gram_method import GRAM
from .method_base import COMMON_OPTIONS, JobInputs, Method, Progress, ff_options, one_pass_runner
from .wct_method import WCT


# --- Gatys (optimisation) -------------------------------------------------------------

_MODEL_LOCK = threading.Lock()
_MODELS: dict[str, Any] = {}


def shared_vgg(name: str = "vgg16-hed"):
    """The backbone ``name`` loaded once per process and shared by all workers (inference only)."""
    from ..backbones.vgg import load_vgg

    with _MODEL_LOCK:
        if name not in _MODELS:
            _MODELS[name] = load_vgg(name, None, pooling="max", device="cpu")
        return _MODELS[name]


def _gatys_check(options: dict[str, Any]) -> dict[str, Any]:
    from ..style.optimize import StyleOptions

    known = {f.name for f in fields(StyleOptions)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise BrushworkError(f"unknown option(s) for gatys: {', '.join(unknown)}")
    try:
        opts = StyleOptions(**{k: v for k, v in options.items() if v is not None})
    except TypeError as exc:
        raise BrushworkError(f"bad options: {exc}") from None
    opts.validate()
    return {k: v for k, v in options.items() if v is not None}


def _gatys_run(inputs: JobInputs, progress: Progress) -> torch.Tensor:
    from ..api import stylize_images
    from ..style.optimize import StyleOptions, StyleProgress

    def callback(p: StyleProgress) -> None:
        progress(p.step, p.steps, p.image)

    opts = StyleOptions(**inputs.options)
    out = stylize_images(inputs.content, inputs.styles, opts, model=shared_vgg(), max_pixels=inputs.max_pixels, callback=callback)
    return out.result.image


GATYS = Method("gatys", "Optimisation (Gatys, multi-scale)", _gatys_check, _gatys_run,
               options=COMMON_OPTIONS + ("iterations", "initial_iterations"))

METHODS: dict[str, Method] = {GATYS.name: GATYS, WCT.name: WCT, GRAM.name: GRAM}
"""Registered methods by name; the first is the default. The packaged feed-forward models and
those found in ``<data>/models`` are added per server by :func:`feedforward_methods`."""


# --- feed-forward models (fast networks and AdaIN decoders) ----------------------------


def _ff_check(kind: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def check(options: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(options) - set(COMMON_OPTIONS))
        if unknown:
            raise BrushworkError(f"{kind} models take no {', '.join(unknown)} (one pass, no iterations)")
        weight = float(options.get("style_weight", 1.0))
        if kind == "adain" and not 0 <= weight <= 1:
            raise BrushworkError(f"style_weight of an AdaIN model is its alpha, between 0 and 1, not {weight}")
        if kind == "fast" and weight != 1:
            raise BrushworkError("a fast model's style strength is fixed: leave style_weight at 1")
        if kind == "fast" and options.get("preserve_color") == "histogram":
            raise BrushworkError("histogram colour preservation needs a style image: use luminance with a fast model")
        from ..style.feedforward import FFOptions

        FFOptions(size=options.get("size"), alpha=weight, preserve_color=options.get("preserve_color", "none")).validate()
        return dict(options)

    return check


def _load_feedforward(model_dir: Path) -> Any:
    from ..style.feedforward import FeedForward

    return FeedForward(model_dir)


def _ff_run(model_dir: Path) -> Callable[[JobInputs, Progress], torch.Tensor]:
    return one_pass_runner(lambda: _load_feedforward(model_dir), lambda ff, c, s, o: ff(c, s, ff_options(o)))


def feedforward_methods(models_dir: Path) -> dict[str, Method]:
    """A method for each feed-forward model shipped with Brushwork and each model folder in
    ``models_dir`` (which wins over a packaged model of the same name): ``adain:NAME`` (takes
    1 to 4 style images) or ``fast:NAME`` (its style is built in). Unreadable folders are skipped."""
    from ..models import describe, packaged_models

    folders = packaged_models()
    if models_dir.is_dir():
        folders.update((p.name, p) for p in sorted(models_dir.iterdir()) if p.is_dir())
    out = {}
    for folder in folders.values():
        try:
            kind = describe(folder)["kind"]  # config and weights header: a broken folder is not offered
        except (BrushworkError, KeyError):
            continue
        if kind not in ("adain", "fast"):
            continue
        styles = (1, 4) if kind == "adain" else (0, 0)
        title = f"{'AdaIN (any style)' if kind == 'adain' else 'Fast network'}: {folder.name}"
        options = COMMON_OPTIONS if kind == "adain" else tuple(o for o in COMMON_OPTIONS if o != "style_weight")
        out[f"{kind}:{folder.name}"] = Method(f"{kind}:{folder.name}", title, _ff_check(kind), _ff_run(folder),
                                              min_styles=styles[0], max_styles=styles[1], options=options)
    from .magenta import magenta_methods  # Magenta's arbitrary-style network, when it can be had

    out.update(magenta_methods())
    return out


# --- image-to-image translation runs (CycleGAN, pix2pix) ----------------------------------


def _translate_check(options: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(options) - set(COMMON_OPTIONS))
    if unknown:
        raise BrushworkError(f"translation runs take no {', '.join(unknown)} (one pass, no iterations)")
    if float(options.get("style_weight", 1.0)) != 1 or options.get("preserve_color", "none") != "none":
        raise BrushworkError("a translation run's mapping is fixed: leave style_weight at 1 and preserve_color at none")
    size = options.get("size")
    if size is not None and not 16 <= int(size) <= 4096:
        raise BrushworkError(f"size must be between 16 and 4096 px, not {size}")
    return dict(options)


def _translate_run(run_dir: Path, direction: str) -> Callable[[JobInputs, Progress], torch.Tensor]:
    loaded: list[Any] = []
    lock = threading.Lock()

    def run(inputs: JobInputs, progress: Progress) -> torch.Tensor:
        from ..imageio import load_image, resize_long_side
        from ..translate.apply import load_translator

        with lock:
            if not loaded:
                loaded.append(load_translator(run_dir, direction))
        content = load_image(inputs.content, max_pixels=inputs.max_pixels).rgb
        size = inputs.options.get("size")
        if size is not None:
            content = resize_long_side(content, int(size))
        progress(0, 1, None)
        out = loaded[0](content)
        progress(1, 1, lambda: out)
        return out

    return run


def _translation_directions(folder: Path) -> tuple[str, tuple[str, ...]] | None:
    """``(model, directions)`` of a translation run with a checkpoint (CycleGAN: a2b and b2a;
    pix2pix: a2b) or of a translator model folder (its one direction); None for other folders."""
    from ..models import CONFIG, describe
    from ..training.checkpoint import list_checkpoints
    from ..training.runs import read_run

    try:
        if (folder / CONFIG).is_file():
            record = describe(folder)
            if record["kind"] != "translator":
                return None
            return str(record["config"]["translate"]["model"]), (str(record["config"]["direction"]),)
        model = str(read_run(folder, kind="translate")["options"]["config"]["model"])
    except (BrushworkError, KeyError, TypeError):
        return None
    if not list_checkpoints(folder):
        return None
    return model, ("a2b", "b2a") if model == "cyclegan" else ("a2b",)


def translation_methods(runs_dir: Path) -> dict[str, Method]:
    """A method ``translate:NAME:DIRECTION`` for each translation run folder in ``runs_dir``
    that has a checkpoint (CycleGAN: a2b and b2a; pix2pix: a2b), and for each translator model
    folder there (its own direction). Other folders are skipped."""
    if not runs_dir.is_dir():
        return {}
    out = {}
    for folder in sorted(p for p in runs_dir.iterdir() if p.is_dir()):
        found = _translation_directions(folder)
        if found is None:
            continue
        model, directions = found
        for direction in directions:
            name = f"translate:{folder.name}:{direction}"
            out[name] = Method(name, f"Translation ({model}, {direction.replace('2', ' to ').upper()}): {folder.name}", _translate_check,
                               _translate_run(folder, direction), min_styles=0, max_styles=0, options=("size",))
    return out


def get_method(name: str, methods: dict[str, Method] | None = None) -> Method:
    """The method called ``name``; BrushworkError naming the known ones otherwise."""
    table = METHODS if methods is None else methods
    if name not in table:
        raise BrushworkError(f"unknown method {name!r}; known: {', '.join(table)}")
    return table[name]
