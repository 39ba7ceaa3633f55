"""Inference with universal style transfer (``--method wct``): :class:`UniversalStyle` loads a
decoder folder once (the packaged ``universal-hed`` by default) with the VGG encoder its decoders
invert, and stylises images one after another with :func:`brushwork.style.wct.stylize`: for
files, folders, video frames, the web studio and the benchmark. Same call as
:class:`~brushwork.style.feedforward.FeedForward` (``ff(content, styles, options, mask)``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import torch

from ..errors import BrushworkError
from ..imageio import resize_long_side
from ..precision import autocast, resolve_precision
from . import wct
from .color import match_color, transfer_luminance
from .decoders import load_decoders, packaged_dir
from .feedforward import FFOptions, keep_freed_memory


def resolve_decoders(model: str | os.PathLike | None) -> Path:
    """The decoder folder: ``model``, or the packaged ``universal-hed`` when None (or so named)."""
    if model is None or str(model) == packaged_dir().name:
        if not packaged_dir().is_dir():
            raise BrushworkError("--method wct: the packaged decoders are missing; give --model DIR")
        return packaged_dir()
    path = Path(model)
    if not path.is_dir():
        raise BrushworkError(f"{model}: no such decoder folder")
    return path


class UniversalStyle:
    """Loaded decoders and encoder, ready to stylise; ``kind`` is ``"wct"``.

    Args:
        model: decoder folder (default: the packaged ``universal-hed``).
        backbone: refuse decoders that do not invert this backbone.
        weights: local weights file for the encoder's backbone.
        levels: the levels to run (default: the folder's ``default_levels``, else all its levels).
        precision: ``float32`` or ``bfloat16`` for the network passes (the eigendecompositions are
            float64 whatever this says); ``auto`` is float32 even where bfloat16 runs natively: the
            whitening amplifies bfloat16's rounding of the features, and the output loses most of
            the painting (HED Gram distance 0.54 -> 1.21 on avril x asheville at 256 px).
    """

    kind = "wct"

    def __init__(self, model: str | os.PathLike | None = None, *, backbone: str | None = None, weights: str | os.PathLike | None = None,
                 levels: Sequence[str] | None = None, device: str = "cpu", precision: str = "auto", progress: bool = False,
                 eps: float = wct.DEFAULT_EPS) -> None:
        from ..backbones.vgg import load_vgg

        self.dir = resolve_decoders(model)
        self.device, self.eps = torch.device(device), eps
        self.precision = "float32" if precision == "auto" else resolve_precision(precision, device)
        self.decoders = load_decoders(self.dir, backbone=backbone, layers=list(levels) if levels else None, device=device)
        self.levels = list(levels) if levels else (self.decoders.default_levels or self.decoders.layers)
        self.backbone = self.decoders.backbone
        self.encoder = load_vgg(self.backbone, weights, device=device, progress=progress)
        arch = {self.decoders[n].config.arch for n in self.levels}
        if arch != {self.encoder.arch}:
            raise BrushworkError(f"{self.dir}: decoders mirror {', '.join(sorted(arch))} but backbone {self.backbone} is {self.encoder.arch}")
        self.decoders.to(memory_format=torch.channels_last)
        if self.precision == "bfloat16":
            self.decoders.to(torch.bfloat16)  # bfloat16 throughout (see fast.weight_precision)
        if self.device.type == "cpu":
            keep_freed_memory()
        self._cache: tuple[tuple, list] | None = None

    def check(self, n_styles: int, options: FFOptions, has_mask: bool = False) -> None:
        """BrushworkError unless ``n_styles`` style images, ``options`` and a mask go together."""
        options.validate()
        if not n_styles:
            raise BrushworkError("wct needs at least one style image")
        if has_mask and options.tile:
            raise BrushworkError("a mask cannot be combined with tiling; use a size cap (--size) instead")
        if has_mask and n_styles > 2:
            raise BrushworkError(f"a mask needs one style (inside) or two (inside, outside), not {n_styles}")

    def style_stats(self, styles: Sequence[torch.Tensor], x: torch.Tensor, o: FFOptions) -> list[dict[str, wct.Stats]]:
        """The styles' statistics per level, reused by the next call given the very same style
        tensors (video frames) unless histogram matching makes them depend on the content."""
        reusable = o.preserve_color != "histogram"
        if reusable and self._cache is not None:
            (cached, size), stats = self._cache
            if size == o.style_size and len(cached) == len(styles) and all(a is b for a, b in zip(cached, styles)):
                return stats
        prepared = [s.to(self.device).float() for s in styles]
        if o.style_size is not None:
            prepared = [resize_long_side(s, o.style_size) if max(s.shape[-2:]) > o.style_size else s for s in prepared]
        if o.preserve_color == "histogram":
            prepared = [match_color(s, x) for s in prepared]
        with autocast(self.precision, self.device):
            stats = wct.style_stats(self.encoder, prepared, self.levels)
        self._cache = ((tuple(styles), o.style_size), stats) if reusable else None
        return stats

    def __call__(self, content: torch.Tensor, styles: Sequence[torch.Tensor] = (), options: FFOptions = FFOptions(),
                 mask: torch.Tensor | None = None) -> torch.Tensor:
        """Stylise ``content`` ``(3, H, W)`` in [0, 1] with ``styles`` ``(3, h, w)``; ``mask`` ``(1, H, W)``
        of the content's size: the first style inside (1), the second (or the content) outside.
        Returns ``(3, H', W')`` with the long side ``options.size`` (or the content's size)."""
        self.check(len(styles), options, mask is not None)
        if mask is not None and tuple(mask.shape[-2:]) != tuple(content.shape[-2:]):
            raise BrushworkError(f"the mask is {mask.shape[-1]}x{mask.shape[-2]} px but the content is {content.shape[-1]}x{content.shape[-2]}: give a mask of the content's size")
        x = content.to(self.device).float()
        if options.size is not None:
            x = resize_long_side(x, options.size)
        if mask is not None:
            mask = torch.nn.functional.interpolate(mask.to(self.device).float()[None], size=x.shape[-2:], mode="bilinear", align_corners=False)[0].clamp(0, 1)
        with torch.inference_mode():
            stats = self.style_stats(styles, x, options)
            with autocast(self.precision, self.device):
                y = wct.stylize(self.encoder, self.decoders, x, stats, levels=self.levels, alpha=options.alpha,
                                weights=options.style_weights, mask=mask, tile=options.tile, eps=self.eps)
        y = y.float().clamp(0, 1)
        return transfer_luminance(y, x) if options.preserve_color == "luminance" else y
