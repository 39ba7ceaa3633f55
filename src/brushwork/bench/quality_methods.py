"""The stylisation methods `bench quality` compares, each with its default options and packaged model.

``optimize`` is `brushwork stylize`'s default; ``adain``, ``wct``, ``gram`` and ``magenta`` are the
one-pass arbitrary-style methods with their packaged (or cached) models; ``fast:<name>`` is each
packaged per-style network, run only on the painting it was trained on. A method whose model is
not installed is left out with a note rather than failing the bench.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from ..errors import BrushworkError


@dataclass
class MethodUnderTest:
    """A stylisation method under test: ``run(content, style, size) -> (3, H, W)`` and whether it
    applies to a painting (``applies(style_path)``; a fast network only to its own painting)."""

    name: str
    run: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]
    applies: Callable[[Path], bool] = lambda _path: True


ARBITRARY = ("optimize", "adain", "wct", "gram", "magenta")


def _optimize(device: str) -> MethodUnderTest:
    from ..api import stylize_images
    from ..backbones.vgg import load_vgg
    from ..style.optimize import StyleOptions

    vgg = load_vgg("vgg16-hed", device=device)

    def run(content: torch.Tensor, style: torch.Tensor, size: int) -> torch.Tensor:
        return stylize_images(content, [style], StyleOptions(size=size), model=vgg, device=device).result.image

    return MethodUnderTest("optimize", run)


def _feedforward(name: str, model: str | Path, device: str, with_style: bool) -> Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]:
    from ..style.feedforward import FeedForward, FFOptions

    ff = FeedForward(model, device=device)

    def run(content: torch.Tensor, style: torch.Tensor, size: int) -> torch.Tensor:
        return ff(content, [style] if with_style else [], FFOptions(size=size))

    return run


def _universal(device: str) -> MethodUnderTest:
    from ..style.feedforward import FFOptions
    from ..style.universal import UniversalStyle

    wct = UniversalStyle(device=device)
    return MethodUnderTest("wct", lambda content, style, size: wct(content, [style], FFOptions(size=size)))


def _gram(device: str) -> MethodUnderTest:
    from ..style.linear_run import GramOptions, GramStylizer

    net = GramStylizer(None, device=device)
    return MethodUnderTest("gram", lambda content, style, size: net(content, [style], GramOptions(size=size)))


def _magenta(device: str) -> MethodUnderTest:
    from ..style.magenta_run import Magenta

    net = Magenta("magenta", None, device=device)
    return MethodUnderTest("magenta", lambda content, style, size: net(content, [style], size=size))


def _fast_models(device: str) -> list[MethodUnderTest]:
    """Every packaged fast network, applied only to the painting named in its training record."""
    from ..models import packaged_models, read_config

    out = []
    for name, folder in packaged_models().items():
        record = read_config(folder)
        painting = record.get("provenance", {}).get("training", {}).get("style")
        if record["kind"] != "fast" or not painting:
            continue
        stem = Path(painting).stem
        out.append(MethodUnderTest(f"fast:{name}", _feedforward(name, folder, device, with_style=False),
                          applies=lambda path, stem=stem: path.stem == stem))
    return out


def available_methods(names: list[str] | None = None, device: str = "cpu") -> tuple[list[MethodUnderTest], list[str]]:
    """The methods named (default: every arbitrary-style method and every packaged fast network),
    loaded; and a note for each that could not be had. BrushworkError for an unknown name."""
    wanted = names or [*ARBITRARY, "fast"]
    unknown = [n for n in wanted if n not in (*ARBITRARY, "fast")]
    if unknown:
        raise BrushworkError(f"unknown method(s) {', '.join(unknown)}; use {', '.join((*ARBITRARY, 'fast'))}")
    builders = {"optimize": _optimize, "wct": _universal, "gram": _gram, "magenta": _magenta,
                "adain": lambda d: MethodUnderTest("adain", _feedforward("adain", "adain-light", d, with_style=True))}
    methods: list[MethodUnderTest] = []
    notes: list[str] = []
    for name in wanted:
        try:
            if name == "fast":
                methods.extend(_fast_models(device))
            else:
                methods.append(builders[name](device))
        except BrushworkError as exc:
            notes.append(f"{name}: left out ({exc})")
    return methods, notes
