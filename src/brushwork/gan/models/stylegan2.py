"""StyleGAN2-style generator (Karras et al. 2020), small enough to train on a CPU.

* Mapping: ``z`` (2nd-moment normalised; concatenated with a normalised class embedding
  when conditional) -> ``mapping_layers`` equalised-lr linear layers (lr x 0.01) -> ``w``.
  A running mean ``w_avg`` of ``w`` is tracked in training for the truncation trick.
* Synthesis: a learned 4x4 constant, then per octave two 3x3 *modulated* convolutions
  (the first after bilinear x2 up-sampling), each followed by per-pixel noise scaled by a
  learned strength, a bias and leaky ReLU x sqrt(2). Modulation scales the input channels
  by a style ``s = A(w)``; demodulation rescales each output channel by
  ``1 / sqrt(sum_{i,k} (w_oik s_i)^2 + 1e-8)``. This is the non-fused form (activations, not
  weights, are scaled), equal to the grouped-convolution form and exportable to ONNX.
* ``arch="skip"``: an RGB output per resolution, up-sampled and summed; ``arch="resnet"``:
  residual blocks ``(skip(up(x)) + convs(x)) / sqrt(2)`` and one RGB output at the end.
* ``ws`` ``(N, num_ws, w_dim)``: one ``w`` per layer; equal rows are the plain forward,
  different rows are style mixing. In training the noise is fresh (the global torch RNG);
  in eval mode it is a fixed buffer, so sampling and ONNX export are deterministic.

Simplifications against the paper: bilinear up-sampling instead of the FIR filter, a
smaller default mapping network, ``tanh`` on the output so images stay in ``[-1, 1]``.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import Generator
from .dcgan import octaves

SQRT2 = math.sqrt(2.0)


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale each row of ``x`` ``(N, D)`` to unit mean square."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class EqualLinear(nn.Module):
    """Linear layer with equalised learning rate: weights ``N(0, 1) / lr_mul``, scaled at run time."""

    def __init__(self, cin: int, cout: int, *, bias_init: float = 0.0, lr_mul: float = 1.0, activate: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin) / lr_mul)
        self.bias = nn.Parameter(torch.full((cout,), float(bias_init) / lr_mul))
        self.scale, self.lr_mul, self.activate = lr_mul / math.sqrt(cin), lr_mul, activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)
        return F.leaky_relu(y, 0.2) * SQRT2 if self.activate else y


class MappingNetwork(nn.Module):
    """``z (N, z_dim)`` [+ ``y``] -> ``w (N, w_dim)``; keeps ``w_avg`` (running mean in training)."""

    def __init__(self, z_dim: int, w_dim: int, layers: int, num_classes: int = 0, w_avg_beta: float = 0.995) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_classes, z_dim) if num_classes else None
        widths = [z_dim * (2 if num_classes else 1)] + [w_dim] * layers
        self.net = nn.Sequential(*(EqualLinear(a, b, lr_mul=0.01, activate=True) for a, b in zip(widths[:-1], widths[1:])))
        self.register_buffer("w_avg", torch.zeros(w_dim))
        self.w_avg_beta = w_avg_beta

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        x = normalize_2nd_moment(z)
        if self.embed is not None:
            x = torch.cat([x, normalize_2nd_moment(self.embed(y))], dim=1)
        w = self.net(x)
        if self.training:
            with torch.no_grad():
                self.w_avg.copy_(w.detach().float().mean(0).lerp(self.w_avg, self.w_avg_beta))
        return w


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True, eps: float = 1e-8) -> torch.Tensor:
    """Modulated (and demodulated) convolution, ``x (N, I, H, W)``, ``weight (O, I, k, k)``,
    ``styles (N, I)`` -> ``(N, O, H, W)`` ('same' padding)."""
    out = F.conv2d(x * styles[:, :, None, None], weight, padding=weight.shape[-1] // 2)
    if demodulate:
        d = (styles.square() @ weight.square().sum(dim=(2, 3)).t() + eps).rsqrt()  # (N, O)
        out = out * d[:, :, None, None]
    return out


class ModulatedConv(nn.Module):
    """A style-modulated ``k x k`` convolution ``(N, cin, H, W), w -> (N, cout, H', W')`` (H' = 2H with ``up``)."""

    def __init__(self, cin: int, cout: int, kernel: int, w_dim: int, *, demodulate: bool = True, up: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel))
        self.affine = EqualLinear(w_dim, cin, bias_init=1.0)
        self.scale, self.demodulate, self.up = 1 / math.sqrt(cin * kernel * kernel), demodulate, up

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if self.up:
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        return modulated_conv2d(x, self.weight * self.scale, self.affine(w), self.demodulate)


class StyleLayer(nn.Module):
    """Modulated 3x3 conv + per-pixel noise (learned strength) + bias + leaky ReLU x sqrt(2)."""

    def __init__(self, cin: int, cout: int, w_dim: int, resolution: int, *, up: bool = False) -> None:
        super().__init__()
        self.conv = ModulatedConv(cin, cout, 3, w_dim, up=up)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        x = self.conv(x, w)
        noise = torch.randn(x.shape[0], 1, *x.shape[2:], device=x.device, dtype=x.dtype) if self.training else self.noise_const
        x = x + noise * self.noise_strength + self.bias[:, None, None]
        return F.leaky_relu(x, 0.2) * SQRT2


class ToRGB(nn.Module):
    """Modulated 1x1 conv without demodulation, plus a bias: features -> image channels."""

    def __init__(self, cin: int, channels: int, w_dim: int) -> None:
        super().__init__()
        self.conv = ModulatedConv(cin, channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias[:, None, None]


class SynthesisBlock(nn.Module):
    """One octave: ``(N, cin, H, W) -> (N, cout, 2H, 2W)`` with two style layers (3 ws: conv0, conv1, rgb)."""

    def __init__(self, cin: int, cout: int, w_dim: int, resolution: int, channels: int, arch: str) -> None:
        super().__init__()
        self.arch = arch
        self.conv0 = StyleLayer(cin, cout, w_dim, resolution, up=True)
        self.conv1 = StyleLayer(cout, cout, w_dim, resolution)
        self.to_rgb = ToRGB(cout, channels, w_dim) if arch == "skip" else None
        self.skip = nn.Conv2d(cin, cout, 1, bias=False) if arch == "resnet" else None

    def forward(self, x: torch.Tensor, img: torch.Tensor | None, ws: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.conv1(self.conv0(x, ws[:, 0]), ws[:, 1])
        if self.skip is not None:
            h = (self.skip(F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)) + h) / SQRT2
        if self.to_rgb is not None:
            img = F.interpolate(img, scale_factor=2.0, mode="bilinear", align_corners=False) + self.to_rgb(h, ws[:, 2])
        return h, img


class StyleGAN2Generator(Generator):
    """``z (N, z_dim)`` [+ ``y``] -> images ``(N, channels, img_size, img_size)`` in ``[-1, 1]``.

    ``width``: channels at the finest resolution; coarser ones double it up to ``4 * width``.
    ``num_ws``: how many ``w`` rows :meth:`synthesis` takes (``2 + 2 * octaves``).
    """

    def __init__(self, z_dim: int = 64, img_size: int = 32, channels: int = 3, width: int = 32, num_classes: int = 0, *, w_dim: int = 0, mapping_layers: int = 4, arch: str = "skip") -> None:
        super().__init__()
        if arch not in ("skip", "resnet"):
            raise ValueError(f"model.g_arch must be skip or resnet, not {arch!r}")
        n = octaves(img_size)
        self.z_dim, self.num_classes, self.output = z_dim, num_classes, "tanh"
        self.out_shape = (channels, img_size, img_size)
        self.w_dim = w_dim or z_dim
        self.mapping = MappingNetwork(z_dim, self.w_dim, mapping_layers, num_classes)
        chans = [width * min(4, 2 ** (n - i)) for i in range(n + 1)]  # 4x4 ... img_size
        self.const = nn.Parameter(torch.randn(chans[0], 4, 4))
        self.conv = StyleLayer(chans[0], chans[0], self.w_dim, 4)
        self.rgb = ToRGB(chans[0], channels, self.w_dim) if arch == "skip" else None
        self.blocks = nn.ModuleList(SynthesisBlock(a, b, self.w_dim, 2 ** (3 + i), channels, arch) for i, (a, b) in enumerate(zip(chans[:-1], chans[1:])))
        self.final_rgb = ToRGB(chans[-1], channels, self.w_dim) if arch == "resnet" else None
        self.num_ws = 2 + 2 * n

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        """``ws (N, num_ws, w_dim)`` -> images in ``[-1, 1]``. Block ``i`` reads rows ``2i+1 .. 2i+3``."""
        x = self.conv(self.const.expand(ws.shape[0], -1, -1, -1), ws[:, 0])
        img = self.rgb(x, ws[:, 1]) if self.rgb is not None else None
        for i, block in enumerate(self.blocks):
            x, img = block(x, img, ws[:, 2 * i + 1 : 2 * i + 4])
        if self.final_rgb is not None:
            img = self.final_rgb(x, ws[:, -1])
        return self.activate(img)

    def broadcast(self, w: torch.Tensor) -> torch.Tensor:
        """``w (N, w_dim)`` -> ``(N, num_ws, w_dim)``, the same ``w`` for every layer."""
        return w.unsqueeze(1).expand(-1, self.num_ws, -1)

    def truncate(self, w: torch.Tensor, psi: float) -> torch.Tensor:
        """The truncation trick in W: ``w_avg + psi * (w - w_avg)``."""
        return self.mapping.w_avg.lerp(w, psi)

    def mix(self, z: torch.Tensor, z2: torch.Tensor, y: torch.Tensor | None, cutoff: int) -> torch.Tensor:
        """Style mixing: rows ``< cutoff`` from ``z``, the rest from ``z2`` (same labels)."""
        ws = self.broadcast(self.mapping(z, y)).clone()
        ws[:, cutoff:] = self.broadcast(self.mapping(z2, y))[:, cutoff:]
        return self.synthesis(ws)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.synthesis(self.broadcast(self.mapping(z, y)))
