"""Export a generator to ONNX and check it against PyTorch with onnxruntime.

The exported graph takes ``z`` ``(N, z_dim)`` float32 (and ``y`` ``(N,)`` int64 for a
conditional generator) and returns images ``(N, C, H, W)`` in ``[0, 1]`` (or raw 2-D
points); the batch dimension is dynamic.
"""

from __future__ import annotations

import copy
import os
import warnings
from typing import Any

import torch
import torch.nn as nn

from ..errors import BrushworkError
from ..fsutil import atomic_path
from .sample import LoadedGenerator


class _Unit(nn.Module):
    """G followed by the map to [0, 1] (images), so the ONNX output is ready to save."""

    def __init__(self, gen: LoadedGenerator) -> None:
        super().__init__()
        self.G, self.image = baked(gen.G), gen.is_image

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        out = self.G(z, y)
        return self.G.to_unit(out).clamp(0, 1) if self.image else out


def baked(G: nn.Module) -> nn.Module:
    """A copy of ``G`` with parametrisations (spectral norm) folded into plain weights:
    ONNX has no operator for their power iteration, and in eval mode they are constant."""
    from torch.nn.utils import parametrize

    G = copy.deepcopy(G)
    for module in list(G.modules()):
        for name in list(getattr(module, "parametrizations", {}) or {}):
            parametrize.remove_parametrizations(module, name, leave_parametrized=True)
    return G


def export_onnx(gen: LoadedGenerator, path: str | os.PathLike, *, opset: int = 17, check: bool = True, batch: int = 4) -> dict[str, Any]:
    """Write ``gen`` as ONNX to ``path`` (atomically); with ``check``, compare onnxruntime's output
    with PyTorch's on ``batch`` seeded inputs. Returns ``{"path", "opset", "max_abs_diff"}``.

    Raises BrushworkError when the check fails (max difference over 1e-4) or onnx /
    onnxruntime are not installed (``pip install brushwork[onnx]``).
    """
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise BrushworkError("ONNX export needs the onnx package: pip install 'brushwork[onnx]'") from None
    model = _Unit(gen).cpu().eval()
    g = torch.Generator().manual_seed(0)
    z = torch.randn(batch, gen.z_dim, generator=g)
    y = torch.arange(batch) % gen.num_classes if gen.num_classes else None
    args = (z, y) if y is not None else (z,)
    names = ["z", "y"] if y is not None else ["z"]
    axes = {n: {0: "batch"} for n in names} | {"images": {0: "batch"}}
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # stage / shape branches are constants by design
        torch.onnx.export(model, args, str(tmp), input_names=names, output_names=["images"], dynamic_axes=axes, opset_version=opset, dynamo=False)
    result: dict[str, Any] = {"path": str(path), "opset": opset, "max_abs_diff": None}
    if check:
        result["max_abs_diff"] = check_onnx(path, model, args, names)
    return result


def export_graph(model: nn.Module, args: tuple[torch.Tensor, ...], path: str | os.PathLike, *, inputs: list[str], outputs: list[str],
                 dynamic_axes: dict[str, dict[int, str]], opset: int = 17) -> None:
    """``torch.onnx.export`` of ``model`` on example ``args`` to ``path``, atomically (any module, not only GANs)."""
    import warnings

    try:
        import onnx  # noqa: F401
    except ImportError:
        raise BrushworkError("ONNX export needs the onnx package: pip install 'brushwork[onnx]'") from None
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(model, args, str(tmp), input_names=inputs, output_names=outputs, dynamic_axes=dynamic_axes, opset_version=opset, dynamo=False)


def check_onnx(path: str | os.PathLike, model: nn.Module, args: tuple[torch.Tensor, ...], names: list[str], tol: float = 1e-4) -> float:
    """Max absolute difference between onnxruntime and PyTorch on ``args``; raises over ``tol``."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise BrushworkError("checking the ONNX file needs onnxruntime: pip install 'brushwork[onnx]' (or pass --no-check)") from None
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {n: a.numpy() for n, a in zip(names, args)})
    with torch.no_grad():
        want = model(*args).numpy()
    diff = float(abs(got - want).max())
    if not diff <= tol:
        raise BrushworkError(f"{path}: ONNX output differs from PyTorch by {diff:.2e} (> {tol:g})")
    return diff
