"""Johnson et al. (2016) image transformation network for per-style fast stylisation.

Down-sampling convolutions, residual blocks and resize-convolution up-sampling (nearest
x2 then a convolution, so no checkerboard), instance normalisation and reflection
padding throughout. Takes RGB ``(N, 3, H, W)`` in ``[0, 1]`` and returns the stylised
image of the same size (any size: inputs are padded to a multiple of 4 and cropped back).

Presets: ``johnson`` is the paper's network (32/64/128 channels, 5 residual blocks,
9x9 edge convolutions, ~1.7 M parameters); ``light`` (16/32/64 channels, 3 blocks,
5x5 edges, ~0.27 M parameters) trades some stroke detail for CPU speed.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..bounds import check_float, check_int, check_int_list, check_network_memory
from ..errors import BrushworkError


@dataclass(frozen=True)
class FastConfig:
    """Shape of a :class:`TransformerNet`: channel widths of the three stages, residual
    blocks, and the kernel size of the first and last convolution.

    The pixel scaling says what the convolutions see and give: the network runs on
    ``x * input_scale + input_offset`` of an image ``x`` in [0, 1], and its output ``y`` is the
    image ``y * output_scale + output_offset``. Brushwork's own networks use [-1, 1] in and
    ``y + 0.5`` out (the defaults); networks imported from pytorch/examples work on 0..255
    pixels (``input_scale`` 255, ``output_scale`` 1/255, offsets 0).
    """

    channels: tuple[int, int, int] = (32, 64, 128)
    residual_blocks: int = 5
    edge_kernel: int = 9
    input_scale: float = 2.0
    input_offset: float = -1.0
    output_scale: float = 1.0
    output_offset: float = 0.5

    def __post_init__(self) -> None:
        self.validate()
        object.__setattr__(self, "channels", tuple(self.channels))  # a JSON list -> tuple

    def validate(self, pixels: int = 512 * 512, limit: int | None = None) -> "FastConfig":
        """Check the ranges (channels 1..1024, residual blocks 0..64, edge kernel odd 1..15, finite
        pixel scaling) and that the network plus its activations on a ``pixels``-pixel image fit in
        ``limit`` bytes (default: the available memory). Raises BrushworkError; returns ``self``."""
        check_int_list(self.channels, "fast network channels", 1, 1024, min_len=3, max_len=3)
        check_int(self.residual_blocks, "fast network residual_blocks", 0, 64)
        if check_int(self.edge_kernel, "fast network edge_kernel", 1, 15) % 2 == 0:
            raise BrushworkError(f"fast network edge_kernel must be odd, not {self.edge_kernel}")
        for name in ("input_scale", "input_offset", "output_scale", "output_offset"):
            check_float(getattr(self, name, 0.0), f"fast network {name}", -1e6, 1e6)
        check_network_memory(self.parameters(), self.activations(pixels), f"a fast network {list(self.channels)} x {self.residual_blocks} blocks", limit=limit)
        return self

    def parameters(self) -> int:
        """Number of weights of the network (convolutions and norms)."""
        (c1, c2, c3), k = self.channels, self.edge_kernel
        conv = lambda cin, cout, kk: cin * cout * kk * kk + 3 * cout  # noqa: E731 - weight, bias, norm scale/shift
        edges = conv(3, c1, k) + c1 * 3 * k * k + 3
        return edges + conv(c1, c2, 3) + conv(c2, c3, 3) + 2 * self.residual_blocks * conv(c3, c3, 3) + conv(c3, c2, 3) + conv(c2, c1, 3)

    def activations(self, pixels: int) -> int:
        """Float values alive at the peak of an inference pass on a ``pixels``-pixel image (about
        three tensors of each stage: full, 1/4 and 1/16 of the pixels)."""
        c1, c2, c3 = self.channels
        return 3 * pixels * (c1 + c2 // 4 + c3 // 16 + 4)


PRESETS = {
    "johnson": FastConfig(),
    "light": FastConfig(channels=(16, 32, 64), residual_blocks=3, edge_kernel=5),
}


def preset(name: str) -> FastConfig:
    """The named :data:`PRESETS` entry; BrushworkError for an unknown name."""
    if name not in PRESETS:
        raise BrushworkError(f"unknown fast-network preset {name!r}; use one of {', '.join(PRESETS)}")
    return PRESETS[name]


def conv_norm(cin: int, cout: int, kernel: int, stride: int = 1, relu: bool = True) -> nn.Sequential:
    """Reflection-padded convolution + instance norm (affine; as one-channel groups) [+ ReLU]."""
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, padding_mode="reflect"),
        nn.GroupNorm(cout, cout),  # = affine instance norm, with a fast channels-last CPU kernel
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class ResidualBlock(nn.Module):
    """Two 3x3 conv-norm layers with an identity shortcut (Johnson's variant, no final ReLU)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(conv_norm(channels, channels, 3), conv_norm(channels, channels, 3, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


# Which padded low-resolution row (0..2) each kernel row (dy = 0..2) lands on, per output phase:
# nearest x2 up-sampling then a reflection-padded 3x3 convolution equals, for output rows of
# phase a, a 3x3 convolution of the low-resolution input padded by one replicated row.
_PHASE = torch.tensor([[[1.0, 0, 0], [0, 1, 1], [0, 0, 0]], [[0, 0, 0], [1, 1, 0], [0, 0, 1]]])


def weight_precision(weight: torch.Tensor) -> contextlib.AbstractContextManager:
    """Where a network's weights were cast to a low precision (bfloat16), autocast switched off so
    that the network runs in that precision throughout: autocast would pad and normalise in float32,
    casting the large activations to and fro (about 1.3-2x slower on a CPU). A no-op for float32."""
    low = weight.dtype != torch.float32
    return torch.autocast(weight.device.type, enabled=False) if low else contextlib.nullcontext()


def phase_weights(w: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A 3x3 convolution's ``(cout, cin, 3, 3)`` weights and ``(cout,)`` bias as the
    ``(4 * cout, cin, 3, 3)`` weights and ``(4 * cout,)`` bias of its four output phases
    after nearest x2 up-sampling, in pixel-shuffle order."""
    rows = _PHASE.to(w)
    k = torch.einsum("ary,bsx,oiyx->oabirs", rows, rows, w)  # (cout, 2, 2, cin, 3, 3)
    return k.reshape(-1, *w.shape[1:]), b.repeat_interleave(4)


def upsample_conv(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """``conv`` (3x3, reflection-padded, stride 1) of ``x`` up-sampled x2 (nearest), computed as
    four phase convolutions of the replicate-padded ``x`` and a pixel shuffle: the same result
    (to float rounding) without the large up-sampled and padded intermediates."""
    w, b = phase_weights(conv.weight, conv.bias)
    return F.pixel_shuffle(F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), w, b), 2)


def run_sequential(layers: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """``layers(x)``, where every ``nn.Upsample`` (nearest x2) and the convolution after it run as
    one :func:`upsample_conv` (the decoders that mirror a VGG encoder)."""
    mods, i = list(layers), 0
    while i < len(mods):
        if isinstance(mods[i], nn.Upsample):
            x, i = upsample_conv(x, mods[i + 1]), i + 2
        else:
            x, i = mods[i](x), i + 1
    return x


class UpConv(nn.Module):
    """Nearest-neighbour x2 up-sampling followed by a conv-norm-ReLU (resize-convolution).

    Computed without building the up-sampled tensor: the four output phases are four 3x3
    convolutions of the (replicate-padded) low-resolution input, interleaved by a pixel
    shuffle. The result is the same (to float rounding) and the large intermediate tensors
    at the output size are never made, which is most of the cost on a CPU.
    """

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = conv_norm(cin, cout, 3)

    def phase_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(4 * cout, cin, 3, 3)`` weights and ``(4 * cout,)`` bias in pixel-shuffle order."""
        return phase_weights(self.conv[0].weight, self.conv[0].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv[2](self.conv[1](upsample_conv(x, self.conv[0])))

    def reference(self, x: torch.Tensor) -> torch.Tensor:
        """The textbook form (up-sample, then convolve): the definition :meth:`forward` matches."""
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class TransformerNet(nn.Module):
    """The image transformation network; see the module docstring."""

    kind = "fast"

    def __init__(self, config: FastConfig = FastConfig()) -> None:
        super().__init__()
        c1, c2, c3 = config.channels
        k = config.edge_kernel
        self.config = config
        self.net = nn.Sequential(
            conv_norm(3, c1, k),
            conv_norm(c1, c2, 3, stride=2),
            conv_norm(c2, c3, 3, stride=2),
            *[ResidualBlock(c3) for _ in range(config.residual_blocks)],
            UpConv(c3, c2),
            UpConv(c2, c1),
            nn.Conv2d(c1, 3, k, padding=k // 2, padding_mode="reflect"),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` in [0, 1] -> ``(N, 3, H, W)`` (unclamped; clamp for display)."""
        h, w = x.shape[-2:]
        ph, pw = (-h) % 4, (-w) % 4
        weight = self.net[0][0].weight
        with weight_precision(weight):  # bfloat16 weights: bfloat16 throughout
            x = x.to(weight.dtype)
            if ph or pw:
                x = F.pad(x, (0, pw, 0, ph), mode="reflect")
            return self.scaled(x)[..., :h, :w]

    def scaled(self, x: torch.Tensor) -> torch.Tensor:
        """The network on ``(N, 3, H, W)`` images in [0, 1] (H, W multiples of 4, the weights'
        dtype) with the config's pixel scaling applied on both sides; unclamped."""
        c = self.config
        y = self.net(x * c.input_scale + c.input_offset)
        return y * c.output_scale + c.output_offset if c.output_scale != 1.0 else y + c.output_offset
