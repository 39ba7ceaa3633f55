"""ONNX export and parity checks for any module: every exporter (GAN, translate, style) uses these."""

from __future__ import annotations

import copy
import os
import warnings

import torch
import torch.nn as nn

from .errors import BrushworkError
from .fsutil import atomic_path


def require_onnx() -> None:
    """Raise BrushworkError when the onnx package is not installed."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise BrushworkError("ONNX export needs the onnx package: pip install 'brushwork[onnx]'") from None


def baked(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with parametrisations (spectral norm) folded into plain weights:
    ONNX has no operator for their power iteration, and in eval mode they are constant."""
    from torch.nn.utils import parametrize

    model = copy.deepcopy(model)
    for module in list(model.modules()):
        for name in list(getattr(module, "parametrizations", {}) or {}):
            parametrize.remove_parametrizations(module, name, leave_parametrized=True)
    return model


def export_graph(model: nn.Module, args: tuple[torch.Tensor, ...], path: str | os.PathLike, *, inputs: list[str], outputs: list[str],
                 dynamic_axes: dict[str, dict[int, str]], opset: int = 17, ignore: type[Warning] = UserWarning) -> None:
    """``torch.onnx.export`` of ``model`` on example ``args`` to ``path``, atomically, silencing
    warnings of class ``ignore`` (the tracer's notes on constant branches)."""
    require_onnx()
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", ignore)
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
