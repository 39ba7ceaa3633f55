"""Export a generator to ONNX and check it against PyTorch with onnxruntime.

The exported graph takes ``z`` ``(N, z_dim)`` float32 (and ``y`` ``(N,)`` int64 for a
conditional generator) and returns images ``(N, C, H, W)`` in ``[0, 1]`` (or raw 2-D
points); the batch dimension is dynamic.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.nn as nn

from ..onnx_export import baked, check_onnx, export_graph
from .sample import LoadedGenerator


class _Unit(nn.Module):
    """G followed by the map to [0, 1] (images), so the ONNX output is ready to save."""

    def __init__(self, gen: LoadedGenerator) -> None:
        super().__init__()
        self.G, self.image = baked(gen.G), gen.is_image

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        out = self.G(z, y)
        return self.G.to_unit(out).clamp(0, 1) if self.image else out


def export_onnx(gen: LoadedGenerator, path: str | os.PathLike, *, opset: int = 17, check: bool = True, batch: int = 4) -> dict[str, Any]:
    """Write ``gen`` as ONNX to ``path`` (atomically); with ``check``, compare onnxruntime's output
    with PyTorch's on ``batch`` seeded inputs. Returns ``{"path", "opset", "max_abs_diff"}``.

    Raises BrushworkError when the check fails (max difference over 1e-4) or onnx /
    onnxruntime are not installed (``pip install brushwork[onnx]``).
    """
    model = _Unit(gen).cpu().eval()
    g = torch.Generator().manual_seed(0)
    z = torch.randn(batch, gen.z_dim, generator=g)
    y = torch.arange(batch) % gen.num_classes if gen.num_classes else None
    args = (z, y) if y is not None else (z,)
    names = ["z", "y"] if y is not None else ["z"]
    axes = {n: {0: "batch"} for n in names} | {"images": {0: "batch"}}
    # stage / shape branches are constants by design
    export_graph(model, args, path, inputs=names, outputs=["images"], dynamic_axes=axes, opset=opset, ignore=torch.jit.TracerWarning)
    result: dict[str, Any] = {"path": str(path), "opset": opset, "max_abs_diff": None}
    if check:
        result["max_abs_diff"] = check_onnx(path, model, args, names)
    return result
