"""Use a trained run: load one direction's generator, translate tensors, files or folders,
and export it to ONNX.

A :class:`Translator` maps images ``(N, 3, H, W)`` (or ``(3, H, W)``) in [0, 1] to the same
shape in [0, 1]. Any size works: the input is padded (edge pixels repeated) to the multiple
the network needs and the output cropped back. Networks run in eval mode (no dropout).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data.files import SkipCounter, decode, image_refs
from ..errors import BrushworkError
from ..fsutil import atomic_path
from ..imageio import load_image, resize_long_side, save_image
from ..training import checkpoint as ckpt
from ..training.runs import read_run
from .config import TranslateConfig

DIRECTIONS = ("a2b", "b2a")


class UnitWrapper(nn.Module):
    """A generator between [0, 1] images: ``(net(2x - 1) + 1) / 2``, clamped (the exported graph)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((self.net(x * 2 - 1) + 1) / 2).clamp(0, 1)


@dataclass
class Translator:
    """One direction of a trained run (see the module docs)."""

    net: nn.Module
    cfg: TranslateConfig
    direction: str
    step: int
    multiple: int
    device: torch.device

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        single = images.dim() == 3
        x = images.unsqueeze(0) if single else images
        h, w = x.shape[-2:]
        ph, pw = -h % self.multiple, -w % self.multiple
        x = F.pad(x.to(self.device), (0, pw, 0, ph), mode="replicate") if ph or pw else x.to(self.device)
        y = UnitWrapper(self.net)(x)[..., :h, :w].cpu()
        return y[0] if single else y


def load_translator(run: str | os.PathLike, direction: str = "a2b", *, model: str | None = None, device: str = "cpu") -> Translator:
    """The generator of ``run`` (its newest checkpoint) that translates in ``direction``.

    Raises BrushworkError when ``run`` is not a translation run, has no checkpoint, was trained
    as a different ``model`` than asked for, or has no generator for ``direction``.
    """
    from .train import build_model

    if direction not in DIRECTIONS:
        raise BrushworkError(f"--direction must be a2b or b2a, not {direction!r}")
    read_run(run, kind="translate")
    path = ckpt.latest_checkpoint(run)
    tensors, state = ckpt.load_checkpoint(path)
    cfg = TranslateConfig.from_dict(state.get("config") or {})
    if model is not None and model != cfg.model:
        raise BrushworkError(f"{run}: is a {cfg.model} run, not a {model} run")
    full = build_model(cfg, "cpu", fused=False)
    net = full.generator(direction)
    name = next(n for n, m in full.named_children() if m is net)
    try:
        net.load_state_dict(ckpt.unprefixed(name, tensors))
    except RuntimeError as exc:
        raise BrushworkError(f"{path}: generator weights do not fit its config ({str(exc).splitlines()[0][:200]})") from None
    dev = torch.device(device)
    net = net.to(dev).eval().requires_grad_(False)
    return Translator(net, cfg, direction, int(state["step"]), net.multiple, dev)


def translate_path(tr: Translator, src: str | os.PathLike, out: str | os.PathLike, *, long_side: int | None = None) -> dict[str, Any]:
    """Translate an image file to ``out`` (a file), or every image of a folder into ``out`` (a
    folder, same relative names). ``long_side`` resizes inputs first. Each output is written
    atomically; unreadable images in a folder are skipped and counted.

    Returns ``{"written": [paths], "skipped": n}``.
    """
    src, out = Path(src), Path(out)
    if src.is_file():
        if out.is_dir():
            raise BrushworkError(f"{out}: is a folder; give an output file name for one input image")
        img = load_image(src).rgb
        save_image(tr(resize_long_side(img, long_side) if long_side else img), out)
        return {"written": [str(out)], "skipped": 0}
    if out.exists() and not out.is_dir():
        raise BrushworkError(f"{out}: exists and is not a folder; a folder input needs an output folder")
    refs = image_refs(src)
    skipped, written = SkipCounter(), []
    for ref in refs:
        img = decode(ref, skipped=skipped)
        if img is None:
            continue
        target = out / Path(ref.name).relative_to(src)
        save_image(tr(resize_long_side(img, long_side) if long_side else img), target)
        written.append(str(target))
    return {"written": written, "skipped": skipped.count}


def export_onnx(tr: Translator, path: str | os.PathLike, *, opset: int = 17, check: bool = True, batch: int = 2) -> dict[str, Any]:
    """Write ``tr``'s generator as ONNX (input ``images`` ``(N, 3, H, W)`` in [0, 1], H and W
    multiples of ``tr.multiple``; output the same shape in [0, 1]; batch and size dynamic),
    atomically. With ``check``, compare onnxruntime with PyTorch on seeded inputs at the training size.
    Returns ``{"path", "opset", "multiple", "max_abs_diff"}``."""
    from ..gan.export import check_onnx

    try:
        import onnx  # noqa: F401
    except ImportError:
        raise BrushworkError("ONNX export needs the onnx package: pip install 'brushwork[onnx]'") from None
    model = UnitWrapper(tr.net).cpu().eval()
    x = torch.rand(batch, 3, tr.cfg.size, tr.cfg.size, generator=torch.Generator().manual_seed(0))
    axes = {"images": {0: "batch", 2: "height", 3: "width"}, "output": {0: "batch", 2: "height", 3: "width"}}
    with atomic_path(path) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on instance norm and constant folding
        torch.onnx.export(model, (x,), str(tmp), input_names=["images"], output_names=["output"], dynamic_axes=axes, opset_version=opset, dynamo=False)
    diff = check_onnx(path, model, (x,), ["images"]) if check else None
    tr.net.to(tr.device)
    return {"path": str(path), "opset": opset, "multiple": tr.multiple, "max_abs_diff": diff}
