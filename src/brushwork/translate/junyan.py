"""The generators of junyanz/pytorch-CycleGAN-and-pix2pix, in that code's state-dict layout.

Published CycleGAN (``latest_net_G_A.pth``, ``latest_net_G_B.pth``) and pix2pix
(``latest_net_G.pth``) weights load into these modules key for key. They differ from
Brushwork's own :mod:`~brushwork.translate.networks` (which are left as they are): no input
skip, no bias in the convolutions followed by a batch norm, batch norm as an option (pix2pix's
default), and the keys of the original nesting (``model.N...``, ``model.model.1.model.3...``).

* :class:`ResnetNet` (``resnet_6blocks`` / ``resnet_9blocks``): reflection pad 3 + 7x7 conv,
  norm, ReLU; two stride-2 3x3 convs (zero padding 1), norm, ReLU; ``n_blocks`` residual
  blocks (reflection-padded 3x3 conv, norm, ReLU, [dropout], reflection-padded 3x3 conv, norm,
  plus the input); two 3x3 stride-2 transposed convs (padding 1, output padding 1), norm, ReLU;
  reflection pad 3 + 7x7 conv; tanh. Height and width must be multiples of 4.
* :class:`UnetNet` (``unet_128``: 7 levels, ``unet_256``: 8): nested skip blocks, each a 4x4
  stride-2 conv down (LeakyReLU 0.2 before it, norm after it, except at the outermost and
  innermost levels) and a 4x4 stride-2 transposed conv up (ReLU before, norm after, tanh at
  the outermost level), the input concatenated to the output below the outermost level (after
  that LeakyReLU, which the original applies in place to the input it also concatenates);
  widths ``ngf * (1, 2, 4, 8, 8, ...)``. Height and width must be multiples of ``2**levels``.

Images in and out are ``(N, C, H, W)`` in ``[-1, 1]``. Norms: ``instance`` (no affine, no
running statistics; the convolutions have biases), ``batch`` (affine; the running statistics, or
with ``batch_stats="image"`` each image's own; the convolutions before a norm have no bias) or
``none``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import BrushworkError

LAYOUTS = ("resnet", "unet")
NORMS = ("instance", "batch", "none")


@dataclass(frozen=True)
class JunyanSpec:
    """Shape of one published generator.

    Attributes:
        layout: ``resnet`` or ``unet``.
        ngf: width of the first layer (64 in every published model).
        n_blocks: residual blocks (``resnet``; 6 or 9).
        levels: U-Net levels, ``num_downs`` in the original code (``unet``; 7 or 8, at least 5).
        norm: ``instance``, ``batch`` or ``none``.
        dropout: dropout 0.5 in the residual blocks (``resnet``: shifts the keys of the second
            conv) or after the middle U-Net levels (``unet``); inactive in eval mode.
        input_nc, output_nc: image channels in and out.
        batch_stats: for batch norms, ``running`` (the file's running statistics: the original
            ``test.py --eval``) or ``image`` (each image's own statistics, as the original
            ``test.py`` without ``--eval`` normalises its one-image batches).
    """

    layout: str
    ngf: int = 64
    n_blocks: int = 9
    levels: int = 8
    norm: str = "instance"
    dropout: bool = False
    input_nc: int = 3
    output_nc: int = 3
    batch_stats: str = "running"

    def __post_init__(self) -> None:
        if self.batch_stats not in ("running", "image"):
            raise BrushworkError(f"batch_stats must be running or image, not {self.batch_stats!r}")
        if self.layout not in LAYOUTS:
            raise BrushworkError(f"junyan generator layout must be resnet or unet, not {self.layout!r}")
        if self.norm not in NORMS:
            raise BrushworkError(f"junyan generator norm must be instance, batch or none, not {self.norm!r}")
        if self.layout == "unet" and self.levels < 5:
            raise BrushworkError(f"a junyan U-Net has at least 5 levels, not {self.levels}")
        if min(self.ngf, self.input_nc, self.output_nc) < 1 or self.n_blocks < 0:
            raise BrushworkError("junyan generator widths must be positive")

    def to_dict(self) -> dict:
        """JSON-able constructor arguments."""
        return asdict(self)


class ImageStatsBatchNorm(nn.BatchNorm2d):
    """A batch norm (same parameters and buffers) that normalises each image with its own
    statistics, as a training-mode batch norm does a batch of one; the running statistics are kept
    but not used."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.instance_norm(x, weight=self.weight, bias=self.bias, eps=self.eps)


def _norm(kind: str, channels: int) -> nn.Module:
    """``kind``: ``instance``, ``batch``, ``batch-image`` (:class:`ImageStatsBatchNorm`) or ``none``."""
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "batch-image":
        return ImageStatsBatchNorm(channels)
    return nn.Identity()


def _norm_kind(spec: "JunyanSpec") -> str:
    return "batch-image" if spec.norm == "batch" and spec.batch_stats == "image" else spec.norm


class ResnetBlock(nn.Module):
    """``x + conv_block(x)``; see the module docs."""

    def __init__(self, dim: int, norm: str, dropout: bool) -> None:
        super().__init__()
        bias = norm == "instance"
        first: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), _norm(norm, dim), nn.ReLU(True)]
        drop: list[nn.Module] = [nn.Dropout(0.5)] if dropout else []
        second: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), _norm(norm, dim)]
        self.conv_block = nn.Sequential(*first, *drop, *second)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetNet(nn.Module):
    """The CycleGAN ResNet generator (see the module docs); ``multiple`` = 4."""

    def __init__(self, spec: JunyanSpec) -> None:
        super().__init__()
        self.spec, self.multiple = spec, 4
        g, bias, norm = spec.ngf, spec.norm == "instance", _norm_kind(spec)
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(spec.input_nc, g, 7, bias=bias), _norm(norm, g), nn.ReLU(True)]
        for width in (g, 2 * g):
            layers += [nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, bias=bias), _norm(norm, 2 * width), nn.ReLU(True)]
        layers += [ResnetBlock(4 * g, norm, spec.dropout) for _ in range(spec.n_blocks)]
        for width in (4 * g, 2 * g):
            layers += [nn.ConvTranspose2d(width, width // 2, 3, stride=2, padding=1, output_padding=1, bias=bias),
                       _norm(norm, width // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(g, spec.output_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, input_nc, H, W)`` in [-1, 1] -> ``(N, output_nc, H, W)`` in [-1, 1]."""
        return self.model(x)


class UnetLevel(nn.Module):
    """One skip block: ``down -> inner level -> up``, concatenated with its input below the outermost level."""

    def __init__(self, outer: int, inner: int, sub: "UnetLevel | None", *, norm: str, input_nc: int | None = None,
                 outermost: bool = False, dropout: bool = False) -> None:
        super().__init__()
        self.outermost = outermost
        bias = norm == "instance"
        down_conv = nn.Conv2d(input_nc or outer, inner, 4, stride=2, padding=1, bias=bias)
        if outermost:
            up_conv = nn.ConvTranspose2d(2 * inner, outer, 4, stride=2, padding=1)
            layers: list[nn.Module] = [down_conv, sub, nn.ReLU(True), up_conv, nn.Tanh()]  # type: ignore[list-item]
        elif sub is None:  # innermost
            up_conv = nn.ConvTranspose2d(inner, outer, 4, stride=2, padding=1, bias=bias)
            layers = [nn.LeakyReLU(0.2, True), down_conv, nn.ReLU(True), up_conv, _norm(norm, outer)]
        else:
            up_conv = nn.ConvTranspose2d(2 * inner, outer, 4, stride=2, padding=1, bias=bias)
            layers = [nn.LeakyReLU(0.2, True), down_conv, _norm(norm, inner), sub, nn.ReLU(True), up_conv, _norm(norm, outer)]
            layers += [nn.Dropout(0.5)] if dropout else []
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The level's output; below the outermost level ``cat([leaky_relu(x), up(...)])``: the
        original's first layer is an in-place LeakyReLU, so its skip carries the activated input."""
        if self.outermost:
            return self.model(x)
        x = F.leaky_relu(x, 0.2)
        return torch.cat([x, self.model[1:](x)], 1)


class UnetNet(nn.Module):
    """The pix2pix U-Net generator (see the module docs); ``multiple`` = ``2**levels``."""

    def __init__(self, spec: JunyanSpec) -> None:
        super().__init__()
        self.spec, self.multiple = spec, 2**spec.levels
        g, norm = spec.ngf, _norm_kind(spec)
        level = UnetLevel(8 * g, 8 * g, None, norm=norm)
        for _ in range(spec.levels - 5):
            level = UnetLevel(8 * g, 8 * g, level, norm=norm, dropout=spec.dropout)
        for outer in (4 * g, 2 * g, g):
            level = UnetLevel(outer, 2 * outer, level, norm=norm)
        self.model = UnetLevel(spec.output_nc, g, level, norm=norm, input_nc=spec.input_nc, outermost=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, input_nc, H, W)`` in [-1, 1], H and W multiples of ``2**levels`` -> ``(N, output_nc, H, W)``."""
        return self.model(x)


def build(spec: JunyanSpec) -> nn.Module:
    """A fresh (untrained) generator of ``spec``, in eval mode."""
    net = ResnetNet(spec) if spec.layout == "resnet" else UnetNet(spec)
    return net.eval()


def network_config(net: nn.Module) -> dict | None:
    """``{"family": "junyan", **spec}`` for a generator of this module (what a ``translator``
    model folder records under ``config["network"]``), None for any other network."""
    spec = getattr(net, "spec", None)
    return {"family": "junyan", **spec.to_dict()} if isinstance(spec, JunyanSpec) else None


def from_network_config(values: dict) -> nn.Module:
    """The generator that :func:`network_config` describes (BrushworkError for another family)."""
    values = dict(values)
    family = values.pop("family", None)
    if family != "junyan":
        raise BrushworkError(f"unknown translator network family {family!r} (known: junyan)")
    return build(JunyanSpec(**values))
