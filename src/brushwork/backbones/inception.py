"""Inception-v3 as used for FID: the pytorch-fid / TF-FID graph (``pt_inception-2015-12-05``).

This is the network behind the FID numbers in the literature (TensorFlow's FID
code, ported by pytorch-fid). It differs from torchvision's ImageNet Inception-v3:

* the average-pool branches of the A, C and first E blocks do not count the
  zero padding (TensorFlow's ``avg_pool``), and the last E block (``Mixed_7c``)
  max-pools its pool branch;
* the classifier has 1008 outputs (the 2015 TF graph's label set);
* the input is resized to 299x299 with bilinear interpolation
  (``align_corners=False``, no antialiasing) and scaled from [0, 1] to [-1, 1].

Parameter names follow torchvision / pytorch-fid exactly (``Conv2d_1a_3x3.conv.weight``,
``Mixed_5b.branch1x1.bn.running_mean``, ..., ``fc.weight``), so the public
state dict loads as is. Batch-norm uses ``eps=0.001`` as in TF.
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn

from .. import weights as weights_registry
from ..errors import BrushworkError

INPUT_SIZE = 299
"""Side of the square input the network sees (pixels)."""

FEATURE_DIM = 2048
"""Size of the pool3 feature vector."""

NUM_LOGITS = 1008
"""Number of classifier outputs of the 2015-12-05 graph."""

WEIGHTS_NAME = "inception-fid"
"""Registry name of the public weights (``brushwork weights fetch inception-fid``)."""


class BasicConv2d(nn.Module):
    """Convolution (no bias) -> batch norm (eps 1e-3) -> ReLU; keys ``conv.*`` and ``bn.*``."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


def _avg_pool_tf(x: torch.Tensor) -> torch.Tensor:
    """3x3 stride-1 average pool that ignores padding, as TensorFlow's does."""
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    """35x35 block (``Mixed_5b/c/d``): 64 + 64 + 96 + ``pool_features`` channels out."""

    def __init__(self, in_channels: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        pool = self.branch_pool(_avg_pool_tf(x))
        return torch.cat([self.branch1x1(x), b5, b3, pool], 1)


class InceptionB(nn.Module):
    """35x35 -> 17x17 reduction (``Mixed_6a``): 384 + 96 + ``in_channels`` channels out."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionC(nn.Module):
    """17x17 block with factorised 7x7 convolutions (``Mixed_6b..e``): 768 channels out."""

    def __init__(self, in_channels: int, channels_7x7: int) -> None:
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for conv in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            d = conv(d)
        pool = self.branch_pool(_avg_pool_tf(x))
        return torch.cat([self.branch1x1(x), b7, d, pool], 1)


class InceptionD(nn.Module):
    """17x17 -> 8x8 reduction (``Mixed_7a``): 320 + 192 + ``in_channels`` channels out."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([b3, b7, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionE(nn.Module):
    """8x8 block with split 3x3 convolutions (``Mixed_7b/c``): 2048 channels out.

    ``pool="avg"`` is the TF-FID ``Mixed_7b`` (padding-free average pool);
    ``pool="max"`` is its ``Mixed_7c`` (max pool in the pool branch).
    """

    def __init__(self, in_channels: int, pool: str = "avg") -> None:
        super().__init__()
        if pool not in ("avg", "max"):
            raise ValueError(f"pool must be 'avg' or 'max', not {pool!r}")
        self.pool = pool
        self.branch1x1 = BasicConv2d(in_channels, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(s), self.branch3x3_2b(s)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        b3dbl = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        pooled = _avg_pool_tf(x) if self.pool == "avg" else F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        return torch.cat([self.branch1x1(x), b3, b3dbl, self.branch_pool(pooled)], 1)


class FIDInceptionV3(nn.Module):
    """The TF-FID Inception-v3 trunk with its 1008-way classifier.

    ``forward`` takes RGB images ``(N, 3, H, W)`` in ``[0, 1]`` of any size and
    returns the pool3 features ``(N, 2048)`` (float32). :meth:`logits` maps those to
    the 1008 class logits. Freshly constructed, the weights are random (PyTorch's
    default initialisation): use :func:`load_inception` for the real network.
    """

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, pool="avg")
        self.Mixed_7c = InceptionE(2048, pool="max")
        self.fc = nn.Linear(FEATURE_DIM, NUM_LOGITS)
        self.requires_grad_(False)
        self.eval()

    @staticmethod
    def preprocess(x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` in [0, 1] -> ``(N, 3, 299, 299)`` in [-1, 1] (bilinear, as pytorch-fid)."""
        if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
            x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
        return 2 * x - 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pool3 features ``(N, 2048)`` of images ``(N, 3, H, W)`` in [0, 1]."""
        h = self.preprocess(x)
        for stem in (self.Conv2d_1a_3x3, self.Conv2d_2a_3x3, self.Conv2d_2b_3x3):
            h = stem(h)
        h = F.max_pool2d(h, kernel_size=3, stride=2)
        h = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(h))
        h = F.max_pool2d(h, kernel_size=3, stride=2)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b, self.Mixed_6c,
                      self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b, self.Mixed_7c):
            h = block(h)
        return h.mean(dim=(2, 3))

    def logits(self, pool3: torch.Tensor, *, bias: bool = True) -> torch.Tensor:
        """The 1008 class logits ``(N, 1008)`` from pool3 features ``(N, 2048)``.

        ``bias=False`` gives ``pool3 @ W.T`` only: that is what the original
        TensorFlow Inception Score code reads (``softmax/logits/MatMul``), and what
        torch-fidelity calls ``logits_unbiased``.
        """
        out = pool3 @ self.fc.weight.T
        return out + self.fc.bias if bias else out


def expected_keys() -> dict[str, tuple[int, ...]]:
    """Every key of the pytorch-fid state dict with its shape (``num_batches_tracked`` excluded)."""
    return {k: tuple(v.shape) for k, v in FIDInceptionV3().state_dict().items() if not k.endswith("num_batches_tracked")}


def load_state_into(model: FIDInceptionV3, state: dict[str, torch.Tensor], source: str = "state dict") -> None:
    """Load a pytorch-fid state dict by its exact key names.

    Every parameter and running statistic must be present with its exact shape;
    ``num_batches_tracked`` entries are optional (the 2018 file predates them).

    Raises:
        BrushworkError: a key is missing or unexpected, or a shape disagrees.
    """
    state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    expected = expected_keys()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k} {tuple(state[k].shape)} != {shape}" for k, shape in expected.items() if k in state and tuple(state[k].shape) != shape]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {unexpected[0]})")
        if wrong:
            parts.append(f"{len(wrong)} wrong shapes (e.g. {wrong[0]})")
        raise BrushworkError(f"{source}: not the pytorch-fid Inception-v3 weights: {'; '.join(parts)}")
    model.load_state_dict(state, strict=False)


def load_inception(
    weights: str | os.PathLike | None = None,
    *,
    device: str | torch.device = "cpu",
    download: bool = False,
) -> FIDInceptionV3:
    """The TF-FID Inception-v3 with the public ``pt_inception-2015-12-05`` weights.

    Args:
        weights: a local copy of the weights file (``--weights PATH``); by default
            the registry's cached file for ``inception-fid``.
        device: where the model lives.
        download: fetch the file when it is not cached (off by default: metrics
            never reach the network unless asked to).

    Raises:
        BrushworkError: the weights are absent (the message says how to get them)
            or the file is not this network's state dict.
    """
    path = weights_registry.resolve(WEIGHTS_NAME, weights, download=download)
    state = weights_registry.load_state_dict(path)
    model = FIDInceptionV3()
    load_state_into(model, state, str(path))
    return model.to(device)
