"""Use a trained run: load one direction's generator, translate tensors, files or folders,
and export it to ONNX.

A generator comes from a model folder (hub kind ``translator``, one folder per direction:
``RUN/model-a2b``, ``RUN/model-b2a``, written at every checkpoint) or from the newest
checkpoint of a run folder.

A :class:`Translator` maps images ``(N, 3, H, W)`` (or ``(3, H, W)``) in [0, 1] to the same
shape in [0, 1]. Any size works: the input is padded (edge pixels repeated) to the multiple
the network needs and the output cropped back. Networks run in eval mode (no dropout).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data.files import decode, image_refs
from ..errors import BrushworkError
from ..imageio import load_image, resize_long_side, save_image
from ..models.pretrained import Pretrained
from ..models.registry import CONFIG
from ..training import checkpoint as ckpt
from ..training.runs import read_run
from .config import TranslateConfig

DIRECTIONS = ("a2b", "b2a")
GENERATOR_NAMES = {"cyclegan": {"a2b": "G_A", "b2a": "G_B"}, "pix2pix": {"a2b": "G"}}  # checkpoint prefixes


def model_dir(run: str | os.PathLike, direction: str) -> Path:
    """Where a run keeps the model folder of ``direction``: ``RUN/model-<direction>``."""
    return Path(run) / f"model-{direction}"


class UnitWrapper(nn.Module):
    """A generator between [0, 1] images: ``(net(2x - 1) + 1) / 2``, clamped (the exported graph)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((self.net(x * 2 - 1) + 1) / 2).clamp(0, 1)


@dataclass
class Translator(Pretrained):
    """One direction of a trained run (see the module docs); hub kind ``translator``."""

    kind: ClassVar[str] = "translator"

    net: nn.Module
    cfg: TranslateConfig
    direction: str
    step: int
    multiple: int
    device: torch.device

    @property
    def config(self) -> TranslateConfig:
        """The run's translation config (the constructor arguments of the generator)."""
        return self.cfg

    @torch.no_grad()
    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        single = images.dim() == 3
        x = images.unsqueeze(0) if single else images
        h, w = x.shape[-2:]
        ph, pw = -h % self.multiple, -w % self.multiple
        x = F.pad(x.to(self.device), (0, pw, 0, ph), mode="replicate") if ph or pw else x.to(self.device)
        y = UnitWrapper(self.net)(x)[..., :h, :w].cpu()
        return y[0] if single else y


def generator_for(cfg: TranslateConfig, direction: str) -> nn.Module:
    """A freshly initialised generator of a ``cfg.model`` run for ``direction`` (no critics, no pools)."""
    from .networks import ResnetGenerator, UnetGenerator

    if direction not in GENERATOR_NAMES[cfg.model]:
        raise BrushworkError(f"a {cfg.model} run translates {' or '.join(GENERATOR_NAMES[cfg.model])}, not {direction!r}")
    if cfg.model == "cyclegan":
        return ResnetGenerator(cfg.ngf, cfg.n_blocks, input_skip=cfg.input_skip)
    return UnetGenerator(cfg.ngf, cfg.unet_depth, cfg.dropout)


def load_translator(run: str | os.PathLike, direction: str | None = "a2b", *, model: str | None = None, device: str = "cpu") -> Translator:
    """The generator that translates in ``direction``: from a model folder ``run`` (its own
    direction, which must be ``direction`` unless that is None), or from the newest checkpoint
    of the run ``run`` (``None``: ``a2b``).

    Raises BrushworkError when ``run`` is neither, has no checkpoint, was trained as a
    different ``model`` than asked for, or has no generator for ``direction``.
    """
    if direction is not None and direction not in DIRECTIONS:
        raise BrushworkError(f"direction must be a2b or b2a, not {direction!r}")
    if (Path(run) / CONFIG).is_file():
        return _from_model_folder(run, direction, model, device)
    direction = direction or "a2b"
    read_run(run, kind="translate")
    path = ckpt.latest_checkpoint(run)
    tensors, state = ckpt.load_checkpoint(path)
    cfg = TranslateConfig.from_dict(state.get("config") or {})
    if model is not None and model != cfg.model:
        raise BrushworkError(f"{run}: is a {cfg.model} run, not a {model} run")
    net = generator_for(cfg, direction)
    try:
        net.load_state_dict(ckpt.unprefixed(GENERATOR_NAMES[cfg.model][direction], tensors))
    except RuntimeError as exc:
        raise BrushworkError(f"{path}: generator weights do not fit its config ({str(exc).splitlines()[0][:200]})") from None
    dev = torch.device(device)
    net = net.to(dev).eval().requires_grad_(False)
    return Translator(net, cfg, direction, int(state["step"]), net.multiple, dev)


def _from_model_folder(path: str | os.PathLike, direction: str | None, model: str | None, device: str) -> Translator:
    from ..models import load

    tr = load(path, kind="translator", device=device)
    if model is not None and model != tr.cfg.model:
        raise BrushworkError(f"{path}: is a {tr.cfg.model} model, not a {model} model")
    if direction is not None and tr.direction != direction:
        raise BrushworkError(f"{path}: this model folder translates {tr.direction}, not {direction}")
    return tr


def save_model_folders(generators: dict[str, nn.Module], cfg: TranslateConfig, step: int, run: str | os.PathLike) -> list[Path]:
    """Write ``RUN/model-<direction>`` for every direction of ``generators`` (direction -> network)
    through the hub, each whole or not at all. Returns the folders."""
    from ..models import save_pretrained

    written = []
    for direction, net in generators.items():
        tr = Translator(net, cfg, direction, step, net.multiple, torch.device("cpu"))
        prov = {"how": f"trained with brushwork translate train ({cfg.model})", "source": Path(run).name, "step": step}
        written.append(save_pretrained(tr, model_dir(run, direction), provenance=prov))
    return written


def translate_path(tr: Translator, src: str | os.PathLike, out: str | os.PathLike, *, long_side: int | None = None) -> dict[str, Any]:
    """Translate an image file to ``out`` (a file), or every image of a folder into ``out`` (a
    folder, same relative names). ``long_side`` resizes inputs first. Each output is written
    atomically; a folder's images that cannot be read or written are skipped and counted.

    Returns ``{"written": [paths], "skipped": n, "files": [{"input", "output", "status", "reason"}]}``
    (``files`` for a folder: every image, ``status`` ``"ok"`` or ``"failed"`` with its ``reason``).
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
    files: list[dict[str, Any]] = []
    for ref in image_refs(src):
        target = out / Path(ref.name).relative_to(src)
        try:
            img = decode(ref)
            save_image(tr(resize_long_side(img, long_side) if long_side else img), target)
        except BrushworkError as exc:
            files.append({"input": ref.name, "output": str(target), "status": "failed", "reason": str(exc)})
            continue
        files.append({"input": ref.name, "output": str(target), "status": "ok"})
    written = [f["output"] for f in files if f["status"] == "ok"]
    return {"written": written, "skipped": len(files) - len(written), "files": files}


def export_onnx(tr: Translator, path: str | os.PathLike, *, opset: int = 17, check: bool = True, batch: int = 2) -> dict[str, Any]:
    """Write ``tr``'s generator as ONNX (input ``images`` ``(N, 3, H, W)`` in [0, 1], H and W
    multiples of ``tr.multiple``; output the same shape in [0, 1]; batch and size dynamic),
    atomically. With ``check``, compare onnxruntime with PyTorch on seeded inputs at the training size.
    Returns ``{"path", "opset", "multiple", "max_abs_diff"}``."""
    from ..onnx_export import check_onnx, export_graph

    model = UnitWrapper(tr.net).cpu().eval()
    x = torch.rand(batch, 3, tr.cfg.size, tr.cfg.size, generator=torch.Generator().manual_seed(0))
    axes = {"images": {0: "batch", 2: "height", 3: "width"}, "output": {0: "batch", 2: "height", 3: "width"}}
    # the tracer's notes on instance norm and constant folding
    export_graph(model, (x,), path, inputs=["images"], outputs=["output"], dynamic_axes=axes, opset=opset, ignore=Warning)
    diff = check_onnx(path, model, (x,), ["images"]) if check else None
    tr.net.to(tr.device)
    return {"path": str(path), "opset": opset, "multiple": tr.multiple, "max_abs_diff": diff}
