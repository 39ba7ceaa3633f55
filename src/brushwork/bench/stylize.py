"""`brushwork bench stylize`: the default stylisation against a plain Gatys reference.

The reference is the textbook recipe, written here in a few plain lines:
single scale at full size, Gram-matrix style loss on relu1_1..relu5_1, content
loss on relu4_2, L-BFGS from the content image for 300 iterations. Both runs use
the same backbone and inputs in the same process; both final images are then
scored with the same Gram-based objective, so "loss" compares like with like.
Throughput is reported as achieved GFLOP/s (analytic VGG convolution FLOPs of
forward + backward per iteration) next to the conv throughput this machine
reaches in the same run.

Time to quality: the Gram objective is the optimiser's own space, so each run is also traced in
a space neither optimises in, the OKLab colour-distribution distance to the painting
(:mod:`brushwork.metrics.color`), every ``TRACE_EVERY`` iterations. ``time_to_reference`` is the
time (tracing excluded) each run took to first reach the reference's final distance; ``null``
when it never did.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYER = "relu4_2"


def _gram(f: torch.Tensor) -> torch.Tensor:
    f = f[0].flatten(1)
    return f @ f.T / f.shape[1]


def gram_objective(model, content: torch.Tensor, style: torch.Tensor, content_weight: float = 0.1):
    """A plain Gatys objective ``image (1,3,H,W) -> loss``: relative content MSE + mean relative Gram MSE."""
    with torch.no_grad():
        c = model(content[None], [CONTENT_LAYER])[CONTENT_LAYER]
        s = model(style[None], STYLE_LAYERS)
        grams = {k: _gram(v) for k, v in s.items()}

    def loss(image: torch.Tensor) -> torch.Tensor:
        f = model(image, (*STYLE_LAYERS, CONTENT_LAYER))
        content_term = (f[CONTENT_LAYER] - c).pow(2).mean() / c.pow(2).mean()
        style_term = sum((_gram(f[k]) - g).pow(2).mean() / g.pow(2).mean() for k, g in grams.items()) / len(grams)
        return content_weight * content_term + style_term

    return loss


TRACE_EVERY = 10


class QualityTrace:
    """``(seconds, colour distance to the style)`` along a run; the time spent tracing is not counted."""

    def __init__(self, style: torch.Tensor) -> None:
        self.style, self.points, self.calls = style.cpu(), [], 0
        self.start, self.paused = time.perf_counter(), 0.0

    def __call__(self, get_image) -> None:
        self.calls += 1
        if self.calls % TRACE_EVERY:
            return
        from ..metrics.color import color_distance

        t = time.perf_counter()
        distance = color_distance(get_image().float().cpu(), self.style)
        self.points.append((t - self.start - self.paused, distance))
        self.paused += time.perf_counter() - t

    def time_to(self, target: float) -> float | None:
        """Seconds until the distance first fell to ``target`` (or ``None``)."""
        return next((round(t, 2) for t, d in self.points if d <= target + 1e-9), None)


def reference_stylize(model, content: torch.Tensor, style: torch.Tensor, iterations: int = 300,
                      trace: QualityTrace | None = None) -> torch.Tensor:
    """Single-scale Gram + L-BFGS Gatys at the content's size; returns ``(3, H, W)``."""
    loss_fn = gram_objective(model, content, style)
    x = content.clone()[None].contiguous().requires_grad_(True)
    optim = torch.optim.LBFGS([x], max_iter=iterations, max_eval=int(iterations * 1.25), history_size=50,
                              tolerance_grad=0.0, tolerance_change=0.0)

    def closure():
        optim.zero_grad()
        loss = loss_fn(x)
        loss.backward()
        if trace is not None:
            trace(lambda: x.detach()[0].clamp(0, 1))
        return loss

    optim.step(closure)
    return x.detach()[0].clamp(0, 1)


def vgg_gflop_per_iteration(model, hw: tuple[int, int], deepest: str = "relu5_1") -> float:
    """Analytic GFLOP of one forward + input-gradient backward pass down to ``deepest``."""
    h, w = hw
    flops = 0.0
    in_ch = 3
    for name, module in zip(model.names, model.features):
        if name.startswith("conv"):
            out_ch = module.out_channels
            flops += 2 * in_ch * out_ch * 9 * h * w
            in_ch = out_ch
        if name.startswith("pool"):
            h, w = h // 2, w // 2
        if name == deepest:
            break
    return 2 * flops / 1e9


def conv_gflops(device: str) -> float:
    """Measured GFLOP/s of a 3x3 128->128 convolution at 128x128, channels-last, forward + backward."""
    conv = torch.nn.Conv2d(128, 128, 3, padding=1).to(device).to(memory_format=torch.channels_last)
    x = torch.randn(1, 128, 128, 128, device=device).contiguous(memory_format=torch.channels_last).requires_grad_(True)
    for _ in range(2):
        conv(x).sum().backward()
    n = 5
    start = time.perf_counter()
    for _ in range(n):
        conv(x).sum().backward()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - start) / n
    return 3 * 2 * 128 * 128 * 9 * 128 * 128 / seconds / 1e9  # forward + input grad + weight grad


def _inputs(size: int, device: str):
    from ..imageio import resize_long_side
    from ..style.procedural import brush_strokes, to_tensor
    from ..data.bundled import bundled_photo

    content = resize_long_side(bundled_photo("astronaut"), size).to(device)
    style = to_tensor(brush_strokes(size, "night", seed=0)).to(device)
    return content, style


def _run_row(seconds: float, iterations: int, loss: float, gflop: float, distance: float, reached: float | None) -> dict:
    return {"seconds": round(seconds, 2), "iterations": iterations, "loss": round(loss, 5),
            "seconds_per_iteration": round(seconds / iterations, 4), "gflops": round(gflop / seconds, 1),
            "color_distance": round(distance, 4), "time_to_reference": reached}


def _default_gflop(model, content: torch.Tensor, size: int, options) -> float:
    """Analytic GFLOP of the default multi-scale schedule."""
    from ..style.optimize import iteration_schedule, scale_sizes

    sizes = scale_sizes(tuple(content.shape[-2:]), size, options.min_size)
    counts = iteration_schedule(sizes, options)
    deepest = max((*options.style_layers, *options.content_layers), key=model.names.index)
    return sum(n * vgg_gflop_per_iteration(model, hw, deepest) for hw, n in zip(sizes, counts))


def run_stylize(size: int = 512, reference_iterations: int = 300, device: str = "cpu", out: Path | None = None) -> dict:
    """Time the default stylisation and the reference on the same inputs (see the module docstring);
    ``out``: also save content | default | reference side by side there as ``bench_stylize.png``."""
    from ..backbones.vgg import load_vgg
    from ..imageio import save_image
    from ..metrics.color import color_distance
    from ..style.optimize import StyleOptions, stylize_tensors

    model = load_vgg("vgg16-hed", device=device, progress=False)
    content, style = _inputs(size, device)
    peak = conv_gflops(device)
    options = StyleOptions(size=size)
    default_trace, reference_trace = QualityTrace(style), QualityTrace(style)
    start = time.perf_counter()
    result = stylize_tensors(model, content, [style], options, callback=lambda p: default_trace(p.image))
    default_s = time.perf_counter() - start - default_trace.paused
    start = time.perf_counter()
    reference = reference_stylize(model, content, style, reference_iterations, reference_trace)
    reference_s = time.perf_counter() - start - reference_trace.paused
    final = {name: color_distance(img.cpu(), style.cpu()) for name, img in (("default", result.image), ("reference", reference))}
    score = gram_objective(model, content, style)
    with torch.no_grad():
        default_loss = float(score(result.image.to(device)[None]))
        reference_loss = float(score(reference[None]))
    reference_flop = reference_iterations * vgg_gflop_per_iteration(model, tuple(content.shape[-2:]))
    if out is not None:
        save_image(torch.cat([content.cpu(), result.image, reference.cpu()], dim=2), out / "bench_stylize.png")
    return {
        "default": _run_row(default_s, result.iterations, default_loss, _default_gflop(model, content, size, options),
                            final["default"], default_trace.time_to(final["reference"])),
        "reference": _run_row(reference_s, reference_iterations, reference_loss, reference_flop,
                              final["reference"], reference_trace.time_to(final["reference"])),
        "speedup": round(reference_s / default_s, 2),
        "conv_gflops": round(peak, 1),
        "size": [int(content.shape[2]), int(content.shape[1])],
        "device": device,
    }
