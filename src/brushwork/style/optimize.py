"""Optimisation-based style transfer (the Gatys family), multi-scale, coarse to fine.

The output image itself is optimised so that its VGG features match the
content image's (content loss) and the style images' feature statistics (Gram
or sliced-Wasserstein style loss), with a total-variation penalty. Work starts
at about 128 px, where structure settles cheaply, and each larger scale (steps of
sqrt 2) starts from the upsampled result of the last, so the full-size scale
needs only a few iterations to add fine texture. An exponential moving average
of the iterates (bias-corrected) removes the optimiser's pixel noise.

All images are ``(3, H, W)`` float tensors in ``[0, 1]``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Callable

import torch
import torch.nn.functional as F

from ..backbones.vgg import VGGFeatures
from ..config import ConfigBase
from ..errors import BrushworkError, ConfigError
from ..imageio import resize
from ..precision import PRECISIONS, autocast, resolve_precision
from .color import match_color, transfer_luminance
from .losses import STYLE_LOSSES, ColorDistributionLoss, ContentLoss, SlicedWassersteinStyleLoss, tv_loss
from .memory import check_fits


@dataclass(frozen=True)
class StyleOptions(ConfigBase):
    """Everything that shapes an optimisation-based stylisation (defaults: the tuned preset).

    Attributes:
        size: long side of the output in pixels.
        iterations: optimiser steps at the full-size scale; each smaller scale after
            the first gets more in proportion to its smaller side (so every scale
            costs about the same and total work grows only linearly with size).
        initial_iterations: steps at the first (smallest) scale.
        min_size: long side of the first scale in pixels (no smaller than 64).
        content_weight: weight of the content loss.
        style_weight: overall weight of the style loss.
        style_blend: blend weights of several style images (normalised to sum 1).
        tv_weight: weight of the total-variation loss.
        color_weight: weight of the colour-distribution loss in pixel space (sliced Wasserstein-2
            between the output's and the style's OKLab colours; 0 disables it).
        style_loss: ``"gram"`` (Gatys) or ``"wasserstein"`` (sliced Wasserstein-2).
        style_layers / style_layer_weights: VGG layers matched for style and their weights.
        content_layers: VGG layers matched for content.
        optimizer: ``"adam"`` or ``"lbfgs"``.
        lr: Adam step size (image values are in [0, 1]).
        ema_decay: decay of the iterate average (0 disables it).
        style_scale: style image size relative to the output (1.0: same long side).
        preserve_color: ``"none"``, ``"luminance"`` or ``"histogram"``.
        init: ``"content"``, ``"noise"`` or ``"style"``.
        seed: random seed (noise init, style-loss projections).
        precision: ``"auto"`` (bfloat16 autocast for the VGG passes where the hardware runs it
            natively, else float32), ``"float32"`` or ``"bfloat16"``; losses are always float32.
    """

    error_prefix = "style options: "

    size: int = field(default=512, metadata={"help": "Long side of the output in px."})
    iterations: int = field(default=16, metadata={"help": "Iterations at full size (smaller scales get proportionally more)."})
    initial_iterations: int = field(default=120, metadata={"help": "Iterations at the first (smallest) scale."})
    min_size: int = field(default=128, metadata={"help": "Long side of the first scale in px."})
    content_weight: float = field(default=0.2, metadata={"help": "Weight of the content loss."})
    style_weight: float = field(default=1.0, metadata={"help": "Overall weight of the style loss."})
    style_blend: tuple[float, ...] | None = field(default=None, metadata={"flag": "--style-weights", "help": "Blend weights of the style images, e.g. 0.7,0.3."})
    tv_weight: float = field(default=0.5, metadata={"help": "Weight of the total-variation loss."})
    color_weight: float = field(default=1.0, metadata={"help": "Weight of the pixel-space colour loss (OKLab colour distribution of the style)."})
    style_loss: str = field(default="gram", metadata={"choices": ("gram", "wasserstein"), "help": "Gram matrices (Gatys) or sliced Wasserstein-2."})
    style_layers: tuple[str, ...] = field(default=("relu1_1", "relu2_1", "relu3_1", "relu4_1"), metadata={"cli": False})
    style_layer_weights: tuple[float, ...] | None = field(default=None, metadata={"help": "Weights of relu1_1,relu2_1,relu3_1,relu4_1,relu5_1."})
    content_layers: tuple[str, ...] = field(default=("relu3_1", "relu4_1"), metadata={"cli": False})
    optimizer: str = field(default="adam", metadata={"choices": ("adam", "lbfgs"), "help": "Optimiser of the image."})
    lr: float = field(default=0.02, metadata={"help": "Adam step size."})
    ema_decay: float = field(default=0.9, metadata={"cli": False})
    style_scale: float = field(default=1.0, metadata={"help": "Style image size relative to the output."})
    preserve_color: str = field(default="none", metadata={"choices": ("none", "luminance", "histogram"), "help": "Keep the content's colours."})
    init: str = field(default="content", metadata={"choices": ("content", "noise", "style"), "help": "Starting image."})
    seed: int = field(default=0, metadata={"help": "Random seed."})
    precision: str = field(default="auto", metadata={"choices": ("auto", "float32", "bfloat16"), "help": "auto: bfloat16 VGG passes where the hardware runs them natively (AVX-512 BF16/AMX CPUs, recent GPUs), else float32."})

    def validate(self) -> "StyleOptions":
        """Raise :class:`~brushwork.errors.ConfigError` (naming the field) for out-of-range values; return self."""
        checks = [
            (16 <= self.size <= 8192, f"size must be between 16 and 8192 px, not {self.size}"),
            (self.iterations >= 1 and self.initial_iterations >= 1, f"iterations must be positive, not {self.iterations} (initial: {self.initial_iterations})"),
            (all(math.isfinite(v) for v in (self.content_weight, self.style_weight, self.tv_weight, self.color_weight, self.lr, self.style_scale, *(self.style_blend or ()), *(self.style_layer_weights or ()))),
             "loss weights, style weights, learning rate and style scale must be finite numbers"),
            (self.min_size >= 16, f"min size must be at least 16 px, not {self.min_size}"),
            (min(self.content_weight, self.style_weight, self.tv_weight, self.color_weight) >= 0, "loss weights must not be negative"),
            (self.style_loss in STYLE_LOSSES, f"style loss must be one of {', '.join(STYLE_LOSSES)}, not {self.style_loss!r}"),
            (self.optimizer in ("adam", "lbfgs"), f"optimizer must be adam or lbfgs, not {self.optimizer!r}"),
            (self.lr > 0, "learning rate must be positive"),
            (0 <= self.ema_decay < 1, "ema decay must be in [0, 1)"),
            (0.05 <= self.style_scale <= 8, f"style scale must be between 0.05 and 8, not {self.style_scale}"),
            (self.preserve_color in ("none", "luminance", "histogram"), f"preserve color must be none, luminance or histogram, not {self.preserve_color!r}"),
            (self.init in ("content", "noise", "style"), f"init must be content, noise or style, not {self.init!r}"),
            (self.style_layer_weights is None or len(self.style_layer_weights) == len(self.style_layers), "give one style layer weight per style layer"),
            (self.style_blend is None or (all(w >= 0 for w in self.style_blend) and sum(self.style_blend) > 0), "style weights must be non-negative and not all zero"),
            (self.precision in PRECISIONS, f"precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}"),
        ]
        for (ok, message), name in zip(checks, _CHECKED_FIELDS):
            if not ok:
                raise ConfigError(name, message)
        return self


_CHECKED_FIELDS = ("size", "iterations", "content_weight", "min_size", "content_weight", "style_loss", "optimizer", "lr", "ema_decay",
                   "style_scale", "preserve_color", "init", "style_layer_weights", "style_blend", "precision")
"""The field each check of :meth:`StyleOptions.validate` is about, in order."""


@dataclass
class StyleProgress:
    """A progress event sent to the callback after every iteration.

    ``image`` returns the current (averaged) image, ``(3, H, W)`` on the CPU;
    calling it costs a copy, so listeners call it only when they show it.
    """

    scale: int
    scales: int
    size: tuple[int, int]
    iteration: int
    iterations: int
    step: int
    steps: int
    losses: dict[str, float]
    image: Callable[[], torch.Tensor]


@dataclass
class StyleResult:
    """The stylised image ``(3, H, W)`` in [0, 1], final losses and what it took."""

    image: torch.Tensor
    losses: dict[str, float]
    iterations: int
    seconds: float
    sizes: list[tuple[int, int]] = field(default_factory=list)


def scale_sizes(content_hw: tuple[int, int], size: int, min_size: int) -> list[tuple[int, int]]:
    """``(H, W)`` of each scale: long side from ``min_size`` to ``size`` in steps of sqrt 2."""
    h, w = content_hw
    longs = [size]
    while longs[-1] / math.sqrt(2) >= min_size * 0.95:
        longs.append(round(longs[-1] / math.sqrt(2)))
    out = []
    for long in reversed(longs):
        s = long / max(h, w)
        out.append((max(16, round(h * s)), max(16, round(w * s))))
    return out


def iteration_schedule(sizes: list[tuple[int, int]], opts: StyleOptions) -> list[int]:
    """Iterations per scale: ``initial_iterations`` first, then ``iterations * size / long side``."""
    later = [max(1, round(opts.iterations * max(sizes[-1]) / max(hw))) if opts.iterations else 0 for hw in sizes[1:]]
    return [opts.initial_iterations] + later


class _Objective:
    """Losses of one scale: content + weighted style (per region) + TV."""

    def __init__(self, model: VGGFeatures, content: torch.Tensor, styles: list[torch.Tensor],
                 blend: list[float], mask: torch.Tensor | None, opts: StyleOptions, seed: int) -> None:
        self.model, self.opts = model, opts
        self.layers = sorted(set(opts.style_layers) | set(opts.content_layers), key=model.names.index)
        layer_w = opts.style_layer_weights or tuple(1.0 for _ in opts.style_layers)
        total = sum(layer_w)
        self.layer_weights = dict(zip(opts.style_layers, (w / total for w in layer_w)))
        self.device = content.device
        self.precision = resolve_precision(opts.precision, self.device)
        with torch.no_grad():
            c_feats = self.features(content[None], opts.content_layers)
            s_feats = [self.features(s[None], opts.style_layers) for s in styles]
        self.content = {name: ContentLoss(c_feats[name]) for name in opts.content_layers}
        loss_cls = STYLE_LOSSES[opts.style_loss]
        # regions: (mask, style indices, blend); with a mask, style 0 inside and style 1 (if any) outside
        if mask is None:
            regions = [(None, list(range(len(styles))), blend)]
        else:
            regions = [(mask, [0], [1.0])] + ([(1 - mask, [1], [1.0])] if len(styles) > 1 else [])
        self.style: list[dict[str, torch.nn.Module]] = []
        self.color = [ColorDistributionLoss([styles[i] for i in idx], w, m, seed=seed * 1000 + r)
                      for r, (m, idx, w) in enumerate(regions)] if opts.color_weight > 0 else []
        for r, (m, idx, w) in enumerate(regions):
            losses = {}
            for k, name in enumerate(opts.style_layers):
                targets = [s_feats[i][name] for i in idx]
                if loss_cls is SlicedWassersteinStyleLoss:
                    losses[name] = loss_cls(targets, w, m, seed=seed * 1000 + r * 100 + k)
                else:
                    losses[name] = loss_cls(targets, w, m)
            self.style.append(losses)
        self.area = [1.0] if mask is None else [float(mask.mean())] + ([float(1 - mask.mean())] if len(styles) > 1 else [])

    def features(self, image: torch.Tensor, layers: list[str] | tuple[str, ...]) -> dict[str, torch.Tensor]:
        """VGG features at ``layers``, computed in the chosen precision and returned as float32."""
        with autocast(self.precision, self.device):
            feats = self.model(image, layers)
        return {name: f.float() for name, f in feats.items()}

    def resample(self) -> None:
        for loss in self.color:
            loss.resample()
        for region in self.style:
            for loss in region.values():
                if isinstance(loss, SlicedWassersteinStyleLoss):
                    loss.resample()

    def __call__(self, image: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        feats = self.features(image, self.layers)
        content = sum(loss(feats[name]) for name, loss in self.content.items()) / len(self.content)
        style = sum(a * sum(self.layer_weights[n] * loss(feats[n]) for n, loss in region.items())
                    for a, region in zip(self.area, self.style))
        tv = tv_loss(image) * 1e3 / max(image.shape[-2:])  # resolution-independent scale
        total = self.opts.content_weight * content + self.opts.style_weight * style + self.opts.tv_weight * tv
        parts = {"content": float(content.detach()), "style": float(style.detach()), "tv": float(tv.detach())}
        if self.color:
            color = sum(a * loss(image) for a, loss in zip(self.area, self.color))
            total = total + self.opts.color_weight * color
            parts["color"] = float(color.detach())
        return total, parts


def _initial_image(content: torch.Tensor, styles: list[torch.Tensor], init: str, generator: torch.Generator) -> torch.Tensor:
    if init == "content":
        return content.clone()
    if init == "style":
        return resize(styles[0], tuple(content.shape[-2:]))
    noise = torch.rand(content.shape, generator=generator)
    return (0.5 * noise + 0.5 * content.mean(dim=(1, 2), keepdim=True).cpu()).to(content)


def _style_at(style: torch.Tensor, out_hw: tuple[int, int], style_scale: float) -> torch.Tensor:
    long = max(16, round(max(out_hw) * style_scale))
    h, w = style.shape[-2:]
    s = long / max(h, w)
    return resize(style, (max(16, round(h * s)), max(16, round(w * s))))


class _Averager:
    """Bias-corrected exponential moving average of iterates."""

    def __init__(self, decay: float, like: torch.Tensor) -> None:
        self.decay, self.count = decay, 0
        self.value = torch.zeros_like(like)

    def update(self, x: torch.Tensor) -> None:
        self.count += 1
        self.value.mul_(self.decay).add_(x, alpha=1 - self.decay)

    def get(self, fallback: torch.Tensor) -> torch.Tensor:
        if self.decay == 0 or self.count == 0:
            return fallback.detach().clone()
        return self.value / (1 - self.decay ** self.count)


def _run_scale(objective: _Objective, image: torch.Tensor, n_iter: int, opts: StyleOptions,
               report: Callable[[int, dict[str, float], Callable[[], torch.Tensor]], None]) -> torch.Tensor:
    x = image.detach().clone()[None].contiguous().requires_grad_(True)
    avg = _Averager(opts.ema_decay, x.detach())
    if opts.optimizer == "adam":
        optim = torch.optim.Adam([x], lr=opts.lr)
        for i in range(n_iter):
            objective.resample()
            optim.zero_grad(set_to_none=True)
            loss, parts = objective(x)
            loss.backward()
            optim.step()
            with torch.no_grad():
                x.clamp_(0, 1)
            avg.update(x.detach())
            report(i + 1, parts, lambda: avg.get(x)[0].detach().cpu())
        return avg.get(x)[0].detach()
    count = [0]
    optim = torch.optim.LBFGS([x], lr=1.0, max_iter=n_iter, max_eval=int(n_iter * 1.25), history_size=50,
                              tolerance_grad=0.0, tolerance_change=0.0)

    def closure() -> torch.Tensor:
        optim.zero_grad(set_to_none=True)
        loss, parts = objective(x)
        loss.backward()
        count[0] += 1
        report(min(count[0], n_iter), parts, lambda: x.detach()[0].clamp(0, 1).cpu())
        return loss

    optim.step(closure)
    return x.detach()[0].clamp(0, 1)


def _style_blend(content: torch.Tensor, styles: list[torch.Tensor], mask: torch.Tensor | None, opts: StyleOptions) -> list[float]:
    """The normalised weight of each style image, after checking the styles and the mask fit together."""
    if not styles:
        raise BrushworkError("give at least one style image")
    if mask is not None:
        if tuple(mask.shape[-2:]) != tuple(content.shape[-2:]):
            raise BrushworkError(f"mask is {mask.shape[-1]}x{mask.shape[-2]} but the content is {content.shape[-1]}x{content.shape[-2]}; they must match")
        if len(styles) > 2:
            raise BrushworkError("with a mask give one style (inside) or two (inside, outside)")
    blend = list(opts.style_blend or [1.0] * len(styles))
    if len(blend) != len(styles):
        raise BrushworkError(f"got {len(blend)} style weights for {len(styles)} style images")
    return [w / sum(blend) for w in blend]


def stylize_tensors(
    model: VGGFeatures,
    content: torch.Tensor,
    styles: list[torch.Tensor],
    options: StyleOptions = StyleOptions(),
    *,
    mask: torch.Tensor | None = None,
    callback: Callable[[StyleProgress], None] | None = None,
) -> StyleResult:
    """Stylise ``content`` with ``styles``, all ``(3, H, W)`` in [0, 1] on the model's device.

    Args:
        model: VGG feature extractor (see :func:`brushwork.backbones.vgg.load_vgg`);
            it is switched to replicate padding, which avoids dark seams at the borders.
        content: the photo; the output keeps its aspect ratio, long side ``options.size``.
        styles: one or more style images (any sizes).
        options: see :class:`StyleOptions`.
        mask: optional ``(1, H, W)`` in [0, 1], same size as ``content``: the first
            style applies inside, the second (if given) outside, nothing else outside.
        callback: receives a :class:`StyleProgress` after every iteration.
    """
    opts = options.validate()
    model.set_padding("replicate")
    blend = _style_blend(content, styles, mask, opts)
    if opts.preserve_color == "histogram":
        styles = [match_color(s, content) for s in styles]
    start = time.perf_counter()
    generator = torch.Generator().manual_seed(opts.seed)
    torch.manual_seed(opts.seed)
    sizes = scale_sizes(tuple(content.shape[-2:]), opts.size, max(opts.min_size, 16))
    counts = iteration_schedule(sizes, opts)
    check_fits(sizes[-1], content.device)
    total_steps, done = sum(counts), 0
    image: torch.Tensor | None = None
    objective: _Objective | None = None
    for k, (hw, n_iter) in enumerate(zip(sizes, counts)):
        content_s = resize(content, hw)
        styles_s = [_style_at(s, hw, opts.style_scale) for s in styles]
        mask_s = None if mask is None else F.interpolate(mask[None].float(), size=hw, mode="area")
        if image is None:
            image = _initial_image(content_s, styles_s, opts.init, generator)
        else:
            image = F.interpolate(image[None], size=hw, mode="bicubic", align_corners=False)[0].clamp(0, 1)
        objective = _Objective(model, content_s, styles_s, blend, mask_s, opts, seed=opts.seed + k)

        def report(i: int, parts: dict[str, float], get_image: Callable[[], torch.Tensor], k=k, hw=hw, n_iter=n_iter) -> None:
            if callback is not None:
                callback(StyleProgress(k + 1, len(sizes), (hw[1], hw[0]), i, n_iter, done + i, total_steps, parts, get_image))

        if n_iter > 0:
            image = _run_scale(objective, image, n_iter, opts, report)
        done += n_iter
    assert image is not None and objective is not None
    with torch.no_grad():
        _, losses = objective(image[None])
    if opts.preserve_color == "luminance":
        image = transfer_luminance(image, resize(content, tuple(image.shape[-2:])))
    return StyleResult(image.clamp(0, 1).cpu(), losses, total_steps, time.perf_counter() - start, [(w, h) for h, w in sizes])


def with_overrides(options: StyleOptions, **overrides) -> StyleOptions:
    """A copy of ``options`` with the non-``None`` overrides applied."""
    return replace(options, **{k: v for k, v in overrides.items() if v is not None})
