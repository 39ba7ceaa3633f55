"""Inference with feed-forward style models (fast per-style networks and AdaIN).

:class:`FeedForward` loads a model folder once (plus the VGG encoder an AdaIN decoder
needs, from the backbone recorded in the model) and stylises images one after another:
for folders, video frames and the web studio. It caps the working size, can run in
tiles, and runs in ``inference_mode`` with channels-last tensors, in float32 or (CPU with
AMX / CUDA) bfloat16 autocast.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
from dataclasses import dataclass
from typing import Sequence

import torch

from ..bounds import check_network_memory
from ..errors import BrushworkError
from ..imageio import resize, resize_long_side
from ..precision import autocast, resolve_precision
from . import adain as A
from .color import match_color, transfer_luminance
from ..models import load as load_model
from ..models import read_config, resolve
from .tiling import run_tiled

COLOR_MODES = ("none", "luminance", "histogram")


@dataclass(frozen=True)
class FFOptions:
    """Per-call options.

    Attributes:
        size: long side the content is processed at (``None``: as given); the output has this size.
        tile: process in tiles of this many px (0: whole image at once).
        alpha: AdaIN content-style trade-off (0 = content, 1 = full style).
        style_weights: AdaIN interpolation weights between several styles.
        preserve_color: ``none``, ``luminance`` (keep the content's colours) or
            ``histogram`` (AdaIN: recolour the styles to the content's palette first).
        style_size: long side the AdaIN style images are encoded at (``None``: as given).
    """

    size: int | None = None
    tile: int = 0
    alpha: float = 1.0
    style_weights: tuple[float, ...] | None = None
    preserve_color: str = "none"
    style_size: int | None = 512

    def validate(self) -> "FFOptions":
        if self.preserve_color not in COLOR_MODES:
            raise BrushworkError(f"preserve_color must be one of {', '.join(COLOR_MODES)}, not {self.preserve_color!r}")
        if self.size is not None and not 16 <= self.size <= 8192:
            raise BrushworkError(f"size must be between 16 and 8192 px, not {self.size}")
        if self.tile and self.tile < 64:
            raise BrushworkError(f"tile must be at least 64 px (or 0 for none), not {self.tile}")
        if not 0.0 <= self.alpha <= 1.0:
            raise BrushworkError(f"alpha must be between 0 and 1, not {self.alpha}")
        return self


def keep_freed_memory() -> bool:
    """Have glibc's allocator keep freed memory for reuse instead of handing it back to the system.

    By default glibc maps every large block (a tensor of a few MB) freshly from the system and
    unmaps it when freed, so every layer of every image pays page faults for its output tensor:
    on a 2-core CPU that is about half the time of an AdaIN pass at 512 px. Serving all blocks
    from the heap and never trimming it makes the next image reuse the memory of the previous
    one; the process keeps its peak memory until it exits (as PyTorch's GPU allocator does).
    Process-wide, once; does nothing (returns False) where the C library is not glibc.
    """
    global _HEAP_KEPT
    if _HEAP_KEPT is None:
        _HEAP_KEPT = False
        try:
            libc = ctypes.CDLL("libc.so.6")
            _HEAP_KEPT = bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
        except (OSError, AttributeError):
            pass
    return _HEAP_KEPT


_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # mallopt parameters (malloc.h)
_HEAP_KEPT: bool | None = None


def check_backbone(record: dict, backbone: str | None, where: str | os.PathLike) -> str:
    """The backbone of a style model's ``record``, which must be ``backbone`` when that is given;
    BrushworkError for a model of a kind without one (not a style model) or another backbone."""
    trained = record.get("backbone")
    if not isinstance(trained, str):
        raise BrushworkError(f"{where}: is a {record['kind']} model, not a feed-forward style model")
    if backbone is not None and backbone != trained:
        raise BrushworkError(f"{where}: this {record['kind']} model was trained with backbone {trained!r}, not {backbone!r}")
    return trained


class FeedForward:
    """A loaded model, ready to stylise. ``kind`` is ``"fast"`` or ``"adain"``.

    Args:
        model: model folder or packaged model name.
        backbone: refuse the model unless it was trained with this backbone.
        weights: local weights file for the AdaIN encoder's backbone.
        precision: ``auto``, ``float32`` or ``bfloat16`` (autocast); see :mod:`brushwork.precision`.
    """

    def __init__(self, model: str | os.PathLike, *, backbone: str | None = None, weights: str | os.PathLike | None = None,
                 device: str = "cpu", precision: str = "auto", progress: bool = False) -> None:
        self.dir = resolve(model)
        self.record = read_config(self.dir)
        self.backbone = check_backbone(self.record, backbone, self.dir)
        self.kind: str = self.record["kind"]
        self.device, self.precision = torch.device(device), resolve_precision(precision, device)
        self.net = load_model(self.dir, device=device).to(memory_format=torch.channels_last)
        if self.precision == "bfloat16":
            self.net.to(torch.bfloat16)  # runs in bfloat16 throughout, not under autocast (see fast.weight_precision)
        if self.device.type == "cpu":
            keep_freed_memory()
        self.encoder = None
        self._style_cache: tuple[tuple, list] | None = None  # ((style tensors, style_size), statistics)
        if self.kind == "adain" and getattr(self.net, "encoder", None) is not None:
            self.encoder = self.net.encoder  # stored with the decoder (an imported AdaIN model)
        elif self.kind == "adain":
            from ..backbones.vgg import load_vgg

            self.encoder = load_vgg(self.backbone, weights, device=device, progress=progress)
            if self.encoder.arch != self.net.config.arch:
                raise BrushworkError(f"{self.dir}: decoder mirrors {self.net.config.arch} but backbone {self.backbone} is {self.encoder.arch}")

    def _autocast(self) -> contextlib.AbstractContextManager:
        return autocast(self.precision, self.device)

    def check(self, n_styles: int, options: FFOptions, has_mask: bool = False) -> None:
        """BrushworkError unless this model can run with ``n_styles`` style images, ``options`` and a mask."""
        options.validate()
        if self.kind == "fast" and (n_styles or has_mask or options.style_weights):
            raise BrushworkError("a fast model has its style built in: give no style images, weights or mask (or use an AdaIN model)")
        if self.kind == "adain" and not n_styles:
            raise BrushworkError("an AdaIN model needs at least one style image")
        if has_mask and options.tile:
            raise BrushworkError("a mask cannot be combined with tiling; use a size cap (--size) instead")
        if self.kind == "fast" and options.preserve_color == "histogram":
            raise BrushworkError("histogram colour preservation needs a style image: use luminance with a fast model")

    def __call__(self, content: torch.Tensor, styles: Sequence[torch.Tensor] = (), options: FFOptions = FFOptions(), mask: torch.Tensor | None = None) -> torch.Tensor:
        """Stylise ``content`` ``(3, H, W)`` in [0, 1]; AdaIN needs ``styles`` ``(3, h, w)`` and takes
        an optional ``mask`` ``(1, H, W)`` (first style where 1, second where 0). Returns ``(3, H', W')``
        with the long side ``options.size`` (or the content's size)."""
        self.check(len(styles), options, mask is not None)
        if mask is not None and tuple(mask.shape[-2:]) != tuple(content.shape[-2:]):
            raise BrushworkError(f"mask is {mask.shape[-1]}x{mask.shape[-2]} but the content is {content.shape[-1]}x{content.shape[-2]}; they must match")
        self._check_memory(content, options)  # before the resize: a huge --size must not allocate first
        x = content.to(self.device)
        if options.size is not None:
            x = resize_long_side(x, options.size)
        if mask is not None:
            mask = resize(mask.to(self.device).expand(3, -1, -1), tuple(x.shape[-2:]))[:1]
        with torch.inference_mode(), self._autocast():
            if self.kind == "fast":
                fn = self._fast
            else:
                stats = self._style_statistics(styles, x, options)
                fn = lambda t: self._adain(t, stats, options, mask)  # noqa: E731
            y = run_tiled(fn, x, options.tile) if options.tile else fn(x)
        y = y.float().clamp(0, 1)
        return transfer_luminance(y, x) if options.preserve_color == "luminance" else y

    def _check_memory(self, x: torch.Tensor, options: FFOptions) -> None:
        """Refuse (BrushworkError) an image whose pass would not fit in the available memory."""
        cfg = self.net.config
        if not hasattr(cfg, "activations"):
            return
        h, w = x.shape[-2:]
        if options.size is not None:  # the size resize_long_side will make
            scale = options.size / max(h, w)
            h, w = max(1, round(h * scale)), max(1, round(w * scale))
        pixels = h * w if not options.tile else min(h * w, (options.tile + 128) ** 2)
        check_network_memory(cfg.parameters(), cfg.activations(pixels), f"{self.dir.name}: stylising a {w}x{h} image")

    def _fast(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x[None].contiguous(memory_format=torch.channels_last))[0].float().clamp(0, 1)

    def _style_statistics(self, styles: Sequence[torch.Tensor], x: torch.Tensor, o: FFOptions) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The styles' AdaIN statistics: computed once per call (not once per tile), and reused by
        the next call given the very same style tensors (video frames), unless histogram matching
        makes them depend on the content."""
        reusable = o.preserve_color != "histogram"
        if reusable and self._style_cache is not None:
            (cached_styles, cached_size), stats = self._style_cache  # holds the tensors: identity stays valid
            if cached_size == o.style_size and len(cached_styles) == len(styles) and all(a is b for a, b in zip(cached_styles, styles)):
                return stats
        prepared = [s.to(self.device) for s in styles]
        if o.style_size is not None:
            prepared = [resize_long_side(s, o.style_size) for s in prepared]
        if o.preserve_color == "histogram":
            prepared = [match_color(s, x) for s in prepared]
        stats = A.style_statistics(self.encoder, prepared)
        self._style_cache = ((tuple(styles), o.style_size), stats) if reusable else None
        return stats

    def _adain(self, x: torch.Tensor, stats: list[tuple[torch.Tensor, torch.Tensor]], o: FFOptions, mask: torch.Tensor | None) -> torch.Tensor:
        return A.transfer(self.encoder, self.net, x, (), alpha=o.alpha, style_weights=o.style_weights, mask=mask, stats=stats).float()


# --------------------------------------------------------------------------- ONNX


class _FastGraph(torch.nn.Module):
    """Fast network on ``images`` ``(N, 3, H, W)``, H and W multiples of 4, output clamped to [0, 1]."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net.scaled(images).clamp(0, 1)


class _AdaINGraph(torch.nn.Module):
    """Encoder, AdaIN and decoder on ``content`` ``(1, 3, H, W)`` (multiples of 8), ``style``
    ``(1, 3, h, w)`` and ``alpha`` ``(1,)``; output clamped to [0, 1]."""

    def __init__(self, encoder: torch.nn.Module, decoder: torch.nn.Module) -> None:
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, content: torch.Tensor, style: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        fc = self.encoder(content, [A.CONTENT_LAYER])[A.CONTENT_LAYER]
        fs = self.encoder(style, [A.CONTENT_LAYER])[A.CONTENT_LAYER]
        correction = getattr(self.encoder, "stats_correction", 0)
        t = A.adain(fc, *A.mean_std(fs, correction=correction), correction)
        a = alpha.view(1, 1, 1, 1)
        return self.decoder(a * t + (1 - a) * fc).clamp(0, 1)


def export_onnx(ff: FeedForward, path: str | os.PathLike, *, opset: int = 17, check: bool = True, size: int = 64, tol: float = 1e-3) -> dict:
    """Write the model as ONNX with dynamic image sizes and, with ``check``, compare onnxruntime
    with PyTorch on a seeded test image of ``size`` px (BrushworkError above ``tol``).

    Fast: input ``images`` ``(N, 3, H, W)`` in [0, 1], H and W multiples of 4. AdaIN: inputs
    ``content`` ``(1, 3, H, W)`` (multiples of 8), ``style`` ``(1, 3, h, w)``, ``alpha`` ``(1,)``.
    The output ``output`` is the stylised image in [0, 1]. Returns ``{"path", "opset", "kind", "max_abs_diff"}``.
    """
    from ..onnx_export import check_onnx, export_graph

    g = torch.Generator().manual_seed(0)
    net = load_model(ff.dir)  # a contiguous float32 CPU copy for tracing
    if ff.kind == "fast":
        model: torch.nn.Module = _FastGraph(net).eval()
        args: tuple[torch.Tensor, ...] = (torch.rand(1, 3, size, size, generator=g),)
        names = ["images"]
        axes = {"images": {0: "batch", 2: "height", 3: "width"}, "output": {0: "batch", 2: "height", 3: "width"}}
    else:
        model = _AdaINGraph(ff.encoder.cpu().to(memory_format=torch.contiguous_format), net).eval()
        args = (torch.rand(1, 3, size, size, generator=g), torch.rand(1, 3, size + 8, size - 8, generator=g), torch.tensor([0.8]))
        names = ["content", "style", "alpha"]
        axes = {"content": {2: "height", 3: "width"}, "style": {2: "style_height", 3: "style_width"}, "output": {2: "height", 3: "width"}}
    export_graph(model, args, path, inputs=names, outputs=["output"], dynamic_axes=axes, opset=opset)
    diff = check_onnx(path, model, args, names, tol=tol) if check else None
    if ff.encoder is not None:
        ff.encoder.to(ff.device, memory_format=torch.channels_last)
    return {"path": str(path), "opset": opset, "kind": ff.kind, "max_abs_diff": diff}
