"""The translation networks (Zhu et al. 2017; Isola et al. 2017), instance-normalised.

* :class:`ResnetGenerator`: c7s1-ngf, two stride-2 downsamplings, ``n_blocks`` residual blocks
  (6 up to 128 px, 9 above), two transposed-conv upsamplings, c7s1-3, tanh. Reflection padding.
  Input and output ``(N, 3, H, W)`` in ``[-1, 1]``; ``H`` and ``W`` must be multiples of 4.
  The paper's network normalises right after its first (linear) convolution, so it is exactly
  invariant to a per-image gain and colour offset of its input (``G(s * x + c) == G(x)``): it
  cannot see an image's mean colour or contrast and must guess them from content. With
  ``input_skip`` the input is also concatenated to the last convolution's input (as pix2pix's
  U-Net does with its outermost skip), so the output can depend on absolute colour.
* :class:`UnetGenerator`: ``depth`` 4x4 stride-2 encoder blocks with skip connections to the
  mirrored decoder (dropout in the three innermost decoder blocks, as pix2pix); ``H`` and ``W``
  must be multiples of ``2**depth``.
* :class:`PatchDiscriminator`: the 70x70 PatchGAN (three stride-2 4x4 convs then two stride-1,
  for ``n_layers=3``); one logit per overlapping patch, ``(N, 1, H/8 - 2, W/8 - 2)``. Fewer
  layers give smaller patches (:func:`receptive_field`: 34 px for 2, 16 px for 1), as the
  reference implementation's ``n_layers_D``; :func:`patch_layers_for` picks them for a size.

Instance norm throughout (no batch coupling), so real and fake may share one pass.
"""

from __future__ import annotations

import torch
import torch.nn as nn


def _norm(channels: int) -> nn.Module:
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


def init_weights(module: nn.Module, gain: float = 0.02) -> None:
    """Convolution weights ~ N(0, gain), biases 0 (the reference implementation's ``normal`` init)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def resnet_blocks_for(size: int) -> int:
    """The paper's choice: 6 residual blocks for images up to 128 px, 9 above."""
    return 6 if size <= 128 else 9


def unet_depth_for(size: int) -> int:
    """U-Net levels for ``size`` px: as many halvings as ``size`` allows exactly, at most 8
    (pix2pix's unet_256 takes 256 px down to 1x1); 64 -> 6, 48 -> 4 (a 3x3 bottleneck)."""
    return min(8, (size & -size).bit_length() - 1)


class ResidualBlock(nn.Module):
    """``x + conv-norm-relu-conv-norm(x)`` with reflection padding, channels unchanged."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=True), _norm(channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=True), _norm(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """CycleGAN's generator; see the module docs. ``multiple`` is the size divisor inputs need."""

    def __init__(self, ngf: int = 64, n_blocks: int = 6, channels: int = 3, input_skip: bool = False) -> None:
        super().__init__()
        self.multiple = 4
        self.input_skip = input_skip
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(channels, ngf, 7), _norm(ngf), nn.ReLU(True)]
        for k in (1, 2):
            layers += [nn.Conv2d(ngf * 2 ** (k - 1), ngf * 2**k, 3, stride=2, padding=1), _norm(ngf * 2**k), nn.ReLU(True)]
        layers += [ResidualBlock(ngf * 4) for _ in range(n_blocks)]
        for k in (2, 1):
            layers += [nn.ConvTranspose2d(ngf * 2**k, ngf * 2 ** (k - 1), 3, stride=2, padding=1, output_padding=1), _norm(ngf * 2 ** (k - 1)), nn.ReLU(True)]
        self._head = len(layers)  # index of the output block (pad, conv, tanh)
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf + (channels if input_skip else 0), channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.input_skip:
            return self.net(x)
        h = x
        for i, layer in enumerate(self.net):
            h = layer(torch.cat([h, x], 1) if i == self._head else h)
        return h


class UnetBlock(nn.Module):
    """One U-Net level: ``down -> inner -> up``, output concatenated with the input (skip).

    The outermost level has no skip and ends in tanh; the innermost has no inner block.
    """

    def __init__(self, outer: int, inner: int, sub: nn.Module | None, *, outermost: bool = False, dropout: float = 0.0, channels: int = 3) -> None:
        super().__init__()
        self.outermost = outermost
        in_ch = channels if outermost else outer
        down: list[nn.Module] = [nn.Conv2d(in_ch, inner, 4, stride=2, padding=1)]
        if not outermost:
            down = [nn.LeakyReLU(0.2, True), *down] + ([_norm(inner)] if sub is not None else [])
        up_in = inner if sub is None else inner * 2
        up: list[nn.Module] = [nn.ReLU(True), nn.ConvTranspose2d(up_in, channels if outermost else outer, 4, stride=2, padding=1)]
        up += [nn.Tanh()] if outermost else [_norm(outer)] + ([nn.Dropout(dropout)] if dropout > 0 else [])
        self.model = nn.Sequential(*down, *([sub] if sub is not None else []), *up)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.model(x)
        return y if self.outermost else torch.cat([x, y], 1)


class UnetGenerator(nn.Module):
    """pix2pix's generator; see the module docs. Widths ``ngf * (1, 2, 4, 8, 8, ...)``."""

    def __init__(self, ngf: int = 64, depth: int = 8, dropout: float = 0.5, channels: int = 3) -> None:
        super().__init__()
        if depth < 3:
            raise ValueError("a U-Net needs at least 3 levels")
        self.multiple = 2**depth
        widths = [ngf * min(2**i, 8) for i in range(depth)]
        block: nn.Module | None = None
        for i in range(depth - 1, 0, -1):
            inner_most = i == depth - 1
            drop = dropout if i >= 4 and not inner_most else 0.0  # pix2pix: the 3 levels above the innermost
            block = UnetBlock(widths[i - 1], widths[i], block, dropout=drop)
        self.net = UnetBlock(channels, widths[0], block, outermost=True, channels=channels)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """The PatchGAN critic; ``n_layers=3`` gives 70x70 receptive fields. Input ``(N, in_channels, H, W)``."""

    def __init__(self, in_channels: int = 3, ndf: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(in_channels, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=stride, padding=1), _norm(ndf * mult), nn.LeakyReLU(0.2, True)]
        layers += [nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1)]
        self.net = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def patch_layers_for(size: int) -> int:
    """PatchGAN layers for ``size`` px images: the most (up to the paper's 3, 70 px patches) whose
    patch fits inside the image (32 px -> 1, 64 -> 2, 70 and up -> 3), so the critic judges local
    patches rather than one padded view of the whole image."""
    return max([n for n in (1, 2, 3) if receptive_field(n) <= size] or [1])


def receptive_field(n_layers: int = 3) -> int:
    """Receptive field in px of one PatchGAN output (70 for ``n_layers=3``), computed from its layers."""
    strides = [2] * n_layers + [1, 1]
    r = 1
    for s in reversed(strides):
        r = (r - 1) * s + 4
    return r
