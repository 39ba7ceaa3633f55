"""``pytorch-examples-fast``: pytorch/examples' fast-neural-style ``TransformerNet`` weights
(``candy.pth``, ``mosaic.pth``, ``udnie.pth``, ``rain_princess.pth``, or any model trained with
that code) as a Brushwork ``fast`` model.

The published network is Brushwork's ``johnson`` preset layer for layer: reflection-padded
9x9 / 3x3 / 3x3 convolutions, each followed by an affine instance norm (Brushwork's
one-channel-per-group GroupNorm, the same function), five residual blocks, two nearest x2
up-samplings each followed by a reflection-padded 3x3 convolution (Brushwork computes the pair
as four phase convolutions: the same result), and a 9x9 output convolution. It works on
0..255 pixels in and out; the imported config records that scaling
(:class:`~brushwork.style.fast.FastConfig`), so Brushwork's [0, 1] images give the same picture.

Key list (``fast_neural_style/neural_style/transformer_net.py``)::

    conv1.conv2d (32, 3, 9, 9)   in1 (32)      res{1..5}.conv{1,2}.conv2d (128, 128, 3, 3)
    conv2.conv2d (64, 32, 3, 3)  in2 (64)      res{1..5}.in{1,2} (128)
    conv3.conv2d (128, 64, 3, 3) in3 (128)     deconv1.conv2d (64, 128, 3, 3)  in4 (64)
    deconv2.conv2d (32, 64, 3, 3) in5 (32)     deconv3.conv2d (3, 32, 9, 9)

each convolution with ``.weight`` and ``.bias``, each norm with ``.weight`` and ``.bias``. Files
saved by PyTorch before 0.4 also carry ``in*.running_mean`` / ``in*.running_var``: they are
dropped, as the original code does (its instance norms track no statistics).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from ...errors import BrushworkError
from ...style.fast import PRESETS, TransformerNet
from .. import register_importer
from ._pth import check_keys, float_tensors, read_state_dict

FORMAT = "pytorch-examples-fast"
LICENCE = "BSD-3-Clause"
WHAT = "a pytorch/examples fast_neural_style TransformerNet"
_STALE = re.compile(r"(^|\.)in\d+\.(running_mean|running_var|num_batches_tracked)$")
CONFIG = replace(PRESETS["johnson"], input_scale=255.0, input_offset=0.0, output_scale=1.0 / 255.0, output_offset=0.0)


def _layers() -> list[tuple[str, str, tuple[int, ...], str | None, str]]:
    """``(published conv, Brushwork conv, weight shape, published norm, Brushwork norm)`` per layer."""
    c1, c2, c3 = CONFIG.channels
    k = CONFIG.edge_kernel
    rows: list[tuple[str, str, tuple[int, ...], str | None, str]] = [
        ("conv1", "net.0.0", (c1, 3, k, k), "in1", "net.0.1"),
        ("conv2", "net.1.0", (c2, c1, 3, 3), "in2", "net.1.1"),
        ("conv3", "net.2.0", (c3, c2, 3, 3), "in3", "net.2.1"),
    ]
    for r in range(CONFIG.residual_blocks):
        for j in (1, 2):
            rows.append((f"res{r + 1}.conv{j}", f"net.{3 + r}.body.{j - 1}.0", (c3, c3, 3, 3), f"res{r + 1}.in{j}", f"net.{3 + r}.body.{j - 1}.1"))
    up = 3 + CONFIG.residual_blocks
    rows += [
        ("deconv1", f"net.{up}.conv.0", (c2, c3, 3, 3), "in4", f"net.{up}.conv.1"),
        ("deconv2", f"net.{up + 1}.conv.0", (c1, c2, 3, 3), "in5", f"net.{up + 1}.conv.1"),
        ("deconv3", f"net.{up + 2}", (3, c1, k, k), None, ""),
    ]
    return rows


def published_shapes() -> dict[str, tuple[int, ...]]:
    """Every key of a published ``TransformerNet`` state dict (PyTorch 0.4 or later) with its shape."""
    shapes: dict[str, tuple[int, ...]] = {}
    for conv, _, shape, norm, _ in _layers():
        shapes[f"{conv}.conv2d.weight"], shapes[f"{conv}.conv2d.bias"] = shape, shape[:1]
        if norm is not None:
            shapes[f"{norm}.weight"], shapes[f"{norm}.bias"] = shape[:1], shape[:1]
    return shapes


def key_map() -> dict[str, str]:
    """Published key -> Brushwork ``TransformerNet`` key."""
    out: dict[str, str] = {}
    for conv, ours, _, norm, our_norm in _layers():
        for p in ("weight", "bias"):
            out[f"{conv}.conv2d.{p}"] = f"{ours}.{p}"
            if norm is not None:
                out[f"{norm}.{p}"] = f"{our_norm}.{p}"
    return out


def convert(state: dict[str, torch.Tensor], where: Path | str) -> tuple[TransformerNet, int]:
    """A float32 :class:`TransformerNet` holding the published ``state``, and how many stale
    instance-norm statistics keys were dropped. BrushworkError for keys that do not fit."""
    stale = [k for k in state if _STALE.search(k)]
    kept = {k: v for k, v in state.items() if k not in stale}
    check_keys(kept, published_shapes(), where, WHAT)
    net = TransformerNet(CONFIG)
    mapping = key_map()
    net.load_state_dict({mapping[k]: v for k, v in float_tensors(kept).items()}, strict=True)
    return net.eval().requires_grad_(False), len(stale)


def import_fast(source: Path, **options: Any) -> tuple[TransformerNet, dict[str, Any]]:
    """Import ``source``, a pytorch/examples fast-neural-style ``.pth``, as a ``fast`` model.

    No options. Returns the network and its provenance (``how``, ``licence``, ``dropped_keys``,
    ``pixels``). Raises BrushworkError (one line) for an unreadable or refused file or keys
    that do not fit (the first few named).
    """
    if options:
        raise BrushworkError(f"{FORMAT} takes no options (got {', '.join(sorted(options))})")
    source = Path(source)
    net, dropped = convert(read_state_dict(source, WHAT), source)
    net.backbone = "vgg16-imagenet"  # type: ignore[attr-defined]  # the loss network it was trained with (torchvision VGG16)
    provenance = {
        "how": "imported from pytorch/examples fast_neural_style (TransformerNet state dict)",
        "licence": LICENCE,
        "code": "https://github.com/pytorch/examples/tree/main/fast_neural_style",
        "pixels": "the network sees and gives 0..255 pixels (input_scale 255, output_scale 1/255 in the config)",
        "dropped_keys": dropped,
    }
    return net, provenance


register_importer(FORMAT, import_fast, licence=LICENCE,
                  help="pytorch/examples fast_neural_style TransformerNet .pth (candy, mosaic, udnie, rain_princess) -> fast")
