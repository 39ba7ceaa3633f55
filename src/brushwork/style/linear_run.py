"""Inference with the linear style transform (``--method gram``): :class:`GramStylizer` loads a
``gram`` model folder (the packaged ``gram-hed`` by default: transform + its ``relu4_1``
decoder) with the VGG encoder, and stylises images one after another with
:func:`brushwork.style.linear.transfer`: for files, folders, video frames, the web studio and
the benchmark. Same call as :class:`~brushwork.style.feedforward.FeedForward`
(``g(content, styles, options, mask)``), plus the ``variety`` and ``seed`` of
:class:`GramOptions`. :func:`export_onnx` writes the whole network as one ONNX graph.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Sequence

import torch

from ..errors import BrushworkError
from ..imageio import resize, resize_long_side
from ..precision import autocast, resolve_precision
from . import linear as L
from .color import match_color, transfer_luminance
from .feedforward import FFOptions, keep_freed_memory
from .tiling import run_tiled


@dataclass(frozen=True)
class GramOptions(FFOptions):
    """:class:`~.feedforward.FFOptions` plus ``variety`` (0 to 1: how far the transform is
    perturbed by a random orthogonal matrix; 0 = deterministic) and the ``seed`` that picks it."""

    variety: float = 0.0
    seed: int = 0

    def validate(self) -> "GramOptions":
        super().validate()
        L.perturbation(4, self.variety, self.seed)  # the range check
        return self


def as_gram_options(options: FFOptions) -> GramOptions:
    """``options`` as :class:`GramOptions` (variety 0 when plain :class:`FFOptions`)."""
    if isinstance(options, GramOptions):
        return options
    return GramOptions(**{k: getattr(options, k) for k in FFOptions.__dataclass_fields__})


class GramStylizer:
    """A loaded ``gram`` model and its encoder, ready to stylise; ``kind`` is ``"gram"``.

    Args:
        model: model folder or packaged name (default: the packaged ``gram-hed``).
        backbone: refuse the model unless it was trained with this backbone.
        weights: local weights file for the encoder's backbone.
        precision: ``auto``, ``float32`` or ``bfloat16`` (encoder and decoder; the transform and
            its covariances stay float32).
    """

    kind = "gram"

    def __init__(self, model: str | os.PathLike | None = None, *, backbone: str | None = None, weights: str | os.PathLike | None = None,
                 device: str = "cpu", precision: str = "auto", progress: bool = False) -> None:
        from ..backbones.vgg import load_vgg
        from .pretrained import check_backbone, default_model, from_pretrained, read_config, resolve_model_dir

        self.dir = resolve_model_dir(model) if model is not None else default_model("gram")
        self.record = read_config(self.dir)
        if self.record["kind"] != "gram":
            raise BrushworkError(f"{self.dir}: is a {self.record['kind']!r} model; use --method {self.record['kind']}")
        self.backbone = check_backbone(self.record, backbone, self.dir)
        self.device, self.precision = torch.device(device), resolve_precision(precision, device)
        self.net: L.LinearStyleNet = from_pretrained(self.dir, kind="gram", device=device)  # type: ignore[assignment]
        self.net.decoder.to(memory_format=torch.channels_last)
        if self.precision == "bfloat16":
            self.net.decoder.to(torch.bfloat16)  # bfloat16 throughout the decoder (see fast.weight_precision)
        self.encoder = load_vgg(self.backbone, weights, device=device, progress=progress)
        if self.encoder.arch != self.net.config.arch:
            raise BrushworkError(f"{self.dir}: decoder mirrors {self.net.config.arch} but backbone {self.backbone} is {self.encoder.arch}")
        if self.device.type == "cpu":
            keep_freed_memory()
        self._cache: tuple[tuple, list] | None = None

    def check(self, n_styles: int, options: FFOptions, has_mask: bool = False) -> None:
        """BrushworkError unless ``n_styles`` style images, ``options`` and a mask go together."""
        as_gram_options(options).validate()
        if not n_styles:
            raise BrushworkError("the gram method needs at least one style image")
        if has_mask and options.tile:
            raise BrushworkError("a mask cannot be combined with tiling; use a size cap (--size) instead")
        if has_mask and n_styles != 2:
            raise BrushworkError(f"a mask needs exactly two styles (inside, outside), not {n_styles}")

    def __call__(self, content: torch.Tensor, styles: Sequence[torch.Tensor] = (), options: FFOptions = GramOptions(),
                 mask: torch.Tensor | None = None) -> torch.Tensor:
        """Stylise ``content`` ``(3, H, W)`` in [0, 1] with ``styles`` ``(3, h, w)``; ``mask`` ``(1, H, W)``
        (first style where 1, second where 0). Returns ``(3, H', W')``, long side ``options.size``."""
        o = as_gram_options(options)
        self.check(len(styles), o, mask is not None)
        x = content.to(self.device)
        if o.size is not None:
            x = resize_long_side(x, o.size)
        if mask is not None:
            mask = resize(mask.to(self.device).expand(3, -1, -1), tuple(x.shape[-2:]))[:1]
        with torch.inference_mode(), autocast(self.precision, self.device):
            codes = self._codes(styles, x, o)
            fn = lambda t: L.transfer(self.encoder, self.net, t, codes, alpha=o.alpha, style_weights=o.style_weights,  # noqa: E731
                                      mask=mask, variety=o.variety, seed=o.seed)
            y = run_tiled(fn, x, o.tile) if o.tile else fn(x)
        y = y.float().clamp(0, 1)
        return transfer_luminance(y, x) if o.preserve_color == "luminance" else y

    def _codes(self, styles: Sequence[torch.Tensor], x: torch.Tensor, o: GramOptions) -> list[L.StyleCode]:
        """The styles' codes: once per call (not per tile), reused by the next call given the very
        same style tensors (video frames) unless histogram matching ties them to the content."""
        reusable = o.preserve_color != "histogram"
        if reusable and self._cache is not None:
            (cached, size), codes = self._cache
            if size == o.style_size and len(cached) == len(styles) and all(a is b for a, b in zip(cached, styles)):
                return codes
        prepared = [s.to(self.device) for s in styles]
        for s in prepared:
            L.check_style(s)  # before any resizing: a too small style is the user's to fix
        if o.style_size is not None:
            prepared = [resize_long_side(s, o.style_size) for s in prepared]
        if o.preserve_color == "histogram":
            prepared = [match_color(s, x) for s in prepared]
        codes = L.style_codes(self.encoder, self.net, prepared)
        self._cache = ((tuple(styles), o.style_size), codes) if reusable else None
        return codes


class _GramGraph(torch.nn.Module):
    """Encoder, transform and decoder on ``content`` ``(1, 3, H, W)`` (multiples of 8), ``style``
    ``(1, 3, h, w)`` and ``alpha`` ``(1,)``; output clamped to [0, 1]."""

    def __init__(self, encoder: torch.nn.Module, net: L.LinearStyleNet) -> None:
        super().__init__()
        self.encoder, self.net = encoder, net

    def forward(self, content: torch.Tensor, style: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        layer = self.net.config.layer
        fc = self.encoder(content, [layer])[layer]
        t = self.net.transform(fc, *self.net.transform.style_code(self.encoder(style, [layer])[layer]))
        a = alpha.view(1, 1, 1, 1)
        return self.net.decoder(a * t + (1 - a) * fc).clamp(0, 1)


def export_onnx(g: GramStylizer, path: str | os.PathLike, *, opset: int = 17, check: bool = True, size: int = 64, tol: float = 1e-3) -> dict:
    """Write the model as ONNX (inputs ``content`` ``(1, 3, H, W)``, H and W multiples of 8, ``style``
    ``(1, 3, h, w)``, ``alpha`` ``(1,)``; output ``output`` in [0, 1]; dynamic sizes) and, with
    ``check``, compare onnxruntime with PyTorch on seeded images of ``size`` px (BrushworkError above
    ``tol``). Returns ``{"path", "opset", "kind", "max_abs_diff"}``."""
    from ..backbones.vgg import load_vgg
    from ..onnx_export import check_onnx, export_graph
    from .pretrained import from_pretrained

    gen = torch.Generator().manual_seed(0)
    encoder = load_vgg(g.backbone, device="cpu", progress=False).to(memory_format=torch.contiguous_format)
    model = _GramGraph(encoder, from_pretrained(g.dir, kind="gram")).eval()  # float32 copies for tracing
    args = (torch.rand(1, 3, size, size, generator=gen), torch.rand(1, 3, size + 8, size - 8, generator=gen), torch.tensor([0.8]))
    names = ["content", "style", "alpha"]
    axes = {"content": {2: "height", 3: "width"}, "style": {2: "style_height", 3: "style_width"}, "output": {2: "height", 3: "width"}}
    export_graph(model, args, path, inputs=names, outputs=["output"], dynamic_axes=axes, opset=opset)
    diff = check_onnx(path, model, args, names, tol=tol) if check else None
    return {"path": str(path), "opset": opset, "kind": "gram", "max_abs_diff": diff}
