"""``cyclegan-junyan``: generators of junyanz/pytorch-CycleGAN-and-pix2pix as Brushwork
``translator`` models (``brushwork translate apply MODEL_DIR SOURCE -o OUT``).

SOURCE is one generator state dict: CycleGAN's ``latest_net_G_A.pth`` (A to B) or
``latest_net_G_B.pth`` (B to A), pix2pix's ``latest_net_G.pth``, or any ``*_net_G*.pth`` of that
code. The architecture is read from the keys (:func:`detect`):

* ``model.1.weight`` ... ``model.K.conv_block.*``: a ResNet generator
  (:class:`~brushwork.translate.junyan.ResnetNet`); blocks counted, ``ngf`` from the first conv,
  dropout from where the second block conv sits (``conv_block.5`` or ``conv_block.6``).
* ``model.model.0.weight``, ``model.model.1.model.1.weight``, ...: a U-Net
  (:class:`~brushwork.translate.junyan.UnetNet`); levels counted from the nesting.
* norm: ``batch`` where the norm layers have weights (``model.2.weight`` /
  ``model.model.1.model.2.weight``), else ``instance`` where the convolutions have biases, else
  ``none``. Instance-norm files from PyTorch 0.3 / 0.4 carry ``running_mean`` / ``running_var`` /
  ``num_batches_tracked`` of their norms: dropped, as the original code does (its instance norms
  use each image's statistics). Batch norms use the file's running statistics (the original
  ``test.py --eval``), or with the option ``batch_stats=image`` each image's own statistics (the
  original ``test.py`` without ``--eval``, which also keeps its random dropout on).

Inputs are mapped from [0, 1] to [-1, 1] and back (the original ``Normalize(0.5, 0.5)`` and
``tensor2im``); sizes that are not a multiple of the network's need are padded (edge pixels
repeated) and cropped back.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ...errors import BrushworkError
from ...translate.junyan import JunyanSpec, build
from .. import register_importer
from ._pth import check_keys, read_state_dict

FORMAT = "cyclegan-junyan"
LICENCE = "BSD-2-Clause"
WHAT = "a junyanz pytorch-CycleGAN-and-pix2pix generator"
_STATS = ("running_mean", "running_var", "num_batches_tracked")


def _resnet_spec(state: dict[str, torch.Tensor]) -> JunyanSpec:
    first = state["model.1.weight"]
    blocks = sorted({int(m.group(1)) for k in state if (m := re.match(r"model\.(\d+)\.conv_block\.", k))})
    dropout = any(k.endswith(".conv_block.6.weight") for k in state)
    last = max(int(k.split(".")[1]) for k in state if re.match(r"model\.\d+\.weight$", k))
    norm = "batch" if "model.2.weight" in state else "instance" if "model.1.bias" in state else "none"
    return JunyanSpec("resnet", ngf=first.shape[0], n_blocks=len(blocks), norm=norm, dropout=dropout,
                      input_nc=first.shape[1], output_nc=state[f"model.{last}.weight"].shape[0])


def _unet_spec(state: dict[str, torch.Tensor]) -> JunyanSpec:
    first = state["model.model.0.weight"]
    prefix, levels = "model.model.1.model.", 2
    while any(k.startswith(prefix + "3.model.") for k in state):
        prefix, levels = prefix + "3.model.", levels + 1
    second = "model.model.1.model."
    norm = "batch" if second + "2.weight" in state else "instance" if second + "1.bias" in state else "none"
    return JunyanSpec("unet", ngf=first.shape[0], levels=levels, norm=norm, dropout=True,
                      input_nc=first.shape[1], output_nc=state["model.model.3.weight"].shape[1])


def detect(state: dict[str, torch.Tensor], where: Path | str) -> JunyanSpec:
    """The generator architecture of a published state dict (see the module docs).

    Raises BrushworkError when the keys are neither a ResNet nor a U-Net generator's, or the
    architecture they describe is not one the original code builds.
    """
    try:
        if "model.model.0.weight" in state:
            return _unet_spec(state)
        if "model.1.weight" in state:
            return _resnet_spec(state)
    except (KeyError, ValueError, IndexError) as exc:
        raise BrushworkError(f"{where}: not {WHAT} state dict (no {exc})") from None
    shown = ", ".join(list(state)[:3])
    raise BrushworkError(f"{where}: not {WHAT} state dict (expected model.1.weight or model.model.0.weight; found {shown})")


def convert(state: dict[str, torch.Tensor], where: Path | str, batch_stats: str = "running") -> tuple[nn.Module, JunyanSpec, int]:
    """The eval-mode generator holding ``state``, its spec, and how many stale instance-norm
    statistics were dropped. ``batch_stats``: see :class:`~brushwork.translate.junyan.JunyanSpec`.
    BrushworkError (one line) for keys that do not fit."""
    spec = replace(detect(state, where), batch_stats=batch_stats)
    net = build(spec)
    expected = net.state_dict()
    instance = {name for name, m in net.named_modules() if isinstance(m, nn.InstanceNorm2d)}
    stale = [k for k in state if k.rsplit(".", 1)[0] in instance and k.rsplit(".", 1)[-1] in _STATS]
    kept = {k: v for k, v in state.items() if k not in stale}
    for k, v in expected.items():  # files saved before PyTorch 0.4.1 have no batch counters
        if k.endswith(".num_batches_tracked") and k not in kept:
            kept[k] = v
    check_keys(kept, {k: tuple(v.shape) for k, v in expected.items()}, where, f"{WHAT} ({_describe(spec)})")
    net.load_state_dict({k: v.to(expected[k].dtype) for k, v in kept.items()})
    return net.requires_grad_(False), spec, len(stale)


def _describe(spec: JunyanSpec) -> str:
    shape = f"resnet_{spec.n_blocks}blocks" if spec.layout == "resnet" else f"unet with {spec.levels} levels"
    return f"{shape}, ngf {spec.ngf}, {spec.norm} norm"


def _norm_note(spec: JunyanSpec) -> str:
    if spec.norm != "batch":
        return f"{spec.norm} norm"
    if spec.batch_stats == "image":
        return "batch norm with each image's own statistics (test.py without --eval; no dropout)"
    return "batch norm with the file's running statistics (test.py --eval)"


def _direction(source: Path, direction: str | None, layout: str) -> str:
    if direction is None:
        direction = "b2a" if re.search(r"G_B\b|G_B\.", source.name) else "a2b"
    if direction not in ("a2b", "b2a"):
        raise BrushworkError(f"direction must be a2b or b2a, not {direction!r}")
    if layout == "unet" and direction != "a2b":
        raise BrushworkError("a pix2pix (U-Net) generator translates a2b only")
    return direction


def import_cyclegan(source: Path, direction: str | None = None, batch_stats: str = "running", **options: Any) -> tuple[Any, dict[str, Any]]:
    """Import one junyanz generator ``.pth`` as a ``translator`` model.

    Args:
        source: the state dict file.
        direction: ``a2b`` or ``b2a``; default ``b2a`` for a ``*G_B*`` file name, else ``a2b``.
        batch_stats: batch norms with the file's ``running`` statistics (``test.py --eval``) or
            each ``image``'s own (``test.py`` without ``--eval``, less its random dropout).

    Returns the :class:`~brushwork.translate.apply.Translator` and its provenance. Raises
    BrushworkError (one line) for a refused or unreadable file, or keys that do not fit.
    """
    from ...translate.apply import Translator
    from ...translate.config import TranslateConfig

    if options:
        raise BrushworkError(f"{FORMAT} takes only the options direction and batch_stats (got {', '.join(sorted(options))})")
    source = Path(source)
    net, spec, dropped = convert(read_state_dict(source, WHAT), source, batch_stats)
    direction = _direction(source, direction, spec.layout)
    if spec.layout == "resnet":
        cfg = TranslateConfig(model="cyclegan", size=256, ngf=spec.ngf, n_blocks=spec.n_blocks, input_skip=False)
    else:
        cfg = TranslateConfig(model="pix2pix", size=2**spec.levels, ngf=spec.ngf, unet_depth=spec.levels)
    tr = Translator(net, cfg, direction, 0, net.multiple, torch.device("cpu"))
    provenance = {
        "how": f"imported from junyanz/pytorch-CycleGAN-and-pix2pix ({_describe(spec)})",
        "licence": LICENCE,
        "code": "https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix",
        "network": spec.to_dict(),
        "dropped_keys": dropped,
        "normalisation": "images mapped to [-1, 1]; " + _norm_note(spec),
    }
    return tr, provenance


register_importer(FORMAT, import_cyclegan, licence=LICENCE,
                  help="junyanz pytorch-CycleGAN-and-pix2pix generator .pth (latest_net_G_A / G_B / G) -> translator")
