"""Ranges of every number in a GAN config, and the memory of the networks it describes.

A run's config comes from presets, files, ``--set`` and checkpoint JSON that anyone may
have edited: :func:`check_ranges` refuses negative or huge widths, layer lists, sizes,
NaN learning rates and the like with one line before anything is built or written, and
:func:`check_model_memory` refuses networks that would not fit in the available memory.
"""

from __future__ import annotations

import math
import typing
from typing import Any, Sequence

from ..bounds import check_float, check_int, check_int_list, check_network_memory
from ..errors import BrushworkError

if typing.TYPE_CHECKING:
    from .config import GANConfig

BIG = 10**9
# Lower ends of -BIG / -1e6: the sign is checked by validate() itself, with its own message.
_INTS = {
    "model": {"z_dim": (1, 4096), "g_width": (1, 2048), "d_width": (1, 2048), "maxout": (1, 16), "pack": (1, 64),
              "d_fourier": (-BIG, 16384), "g_fourier": (-BIG, 16384), "attention_res": (0, 1024), "shared_dim": (1, 4096),
              "w_dim": (0, 4096), "mapping_layers": (1, 16), "progressive_from": (0, 1024)},
    "data": {"img_size": (4, 1024), "channels": (1, 3), "n_points": (1, 10_000_000)},
    "train": {"steps": (0, BIG), "batch_size": (1, 65536), "n_critic": (1, 100), "ema_start": (0, BIG), "seed": (0, 2**62),
              "log_every": (1, BIG), "sample_every": (1, BIG), "diag_every": (1, BIG), "ckpt_every": (1, BIG),
              "keep_checkpoints": (1, 1000), "fid_every": (0, BIG), "fid_samples": (2, 1_000_000), "r1_every": (1, 10**6),
              "pl_every": (1, 10**6), "grow_every": (1, BIG), "fade_steps": (0, BIG), "ada_interval": (1, 10**6)},
}
# (lo, hi, lo excluded, hi excluded)
_FLOATS = {
    "model": {"d_fourier_scale": (-1e6, 1e6, False, False), "g_fourier_scale": (-1e6, 1e6, False, False)},
    "train": {"lr_g": (0, 1, True, False), "lr_d": (0, 1, True, False), "beta1": (0, 1, False, True), "beta2": (0, 1, False, True),
              "adam_eps": (0, 1, True, False), "gp_weight": (0, 1e6, False, False), "r1_gamma": (0, 1e6, False, False),
              "clip": (0, 1e6, True, False), "ema_decay": (0, 1, False, True), "pl_weight": (0, 1e6, False, False),
              "style_mixing": (0, 1, False, False), "ortho_reg": (0, 1e6, False, False), "ada_target": (0, 1, False, True),
              "ada_kimg": (0, 1e6, True, False)},
}


def check_ranges(cfg: "GANConfig") -> None:
    """Raise BrushworkError (``config: section.key ...``) for the first field outside its range."""
    try:
        for section, fields in _INTS.items():
            part = getattr(cfg, section)
            for name, (lo, hi) in fields.items():
                check_int(getattr(part, name), f"{section}.{name}", lo, hi)
        for section, fields in _FLOATS.items():
            part = getattr(cfg, section)
            for name, (lo, hi, lo_open, hi_open) in fields.items():
                check_float(getattr(part, name), f"{section}.{name}", lo, hi, lo_open=lo_open, hi_open=hi_open)
        check_int_list(cfg.model.g_hidden, "model.g_hidden", 1, 16384, max_len=16)
        check_int_list(cfg.model.d_hidden, "model.d_hidden", 1, 16384, max_len=16)
    except BrushworkError as exc:
        raise BrushworkError(f"config: {exc}") from None


def check_sample_shape(shape: Any, where: str) -> tuple[int, ...]:
    """A checkpoint's ``sample_shape``: ``(2,)``-like points or ``(C, H, W)`` with C 1..4 and sides 1..4096."""
    if not isinstance(shape, (list, tuple)) or len(shape) not in (1, 3):
        raise BrushworkError(f"{where}: sample_shape must be [D] or [C, H, W], not {shape!r:.60}")
    hi = (4, 4096, 4096) if len(shape) == 3 else (65536,)
    return tuple(check_int(v, f"{where}: sample_shape[{i}]", 1, h) for i, (v, h) in enumerate(zip(shape, hi)))


def parameter_count(module: Any) -> int:
    """Number of parameters (works on modules built on the ``meta`` device)."""
    return sum(p.numel() for p in module.parameters())


def check_model_memory(cfg: "GANConfig", shape: Sequence[int], parameters: int, *, training: bool, batch: int | None = None) -> None:
    """Refuse a G + D pair with ``parameters`` weights whose training (or sampling) at ``shape``
    would not fit in the available memory. Activations: about ``batch x values per sample x
    width`` floats for image networks, ``batch x hidden units x maxout`` for MLPs, twice that
    for the backward pass."""
    m = cfg.model
    n = batch if batch is not None else cfg.train.batch_size
    per_sample = math.prod(shape) * max(m.g_width, m.d_width) if len(shape) == 3 else (sum(m.g_hidden) + sum(m.d_hidden)) * m.maxout + m.d_fourier + m.g_fourier
    activations = n * per_sample * (4 if training else 2)
    check_network_memory(parameters, activations, f"config: a {m.arch} G + D pair for {list(shape)} samples, batch {n}", training=training)


def build_checked_generator(cfg: "GANConfig", shape: Sequence[int], num_classes: int, where: str) -> Any:
    """:func:`~.models.build_generator`, after building it on the ``meta`` device (no memory)
    to check that it fits in the available memory for sampling batches of 64."""
    import torch

    from .models import build_generator

    with torch.device("meta"):
        meta = build_generator(cfg.model, shape, num_classes)
    try:
        check_model_memory(cfg, shape, parameter_count(meta), training=False, batch=64)
    except BrushworkError as exc:
        raise BrushworkError(f"{where}: {exc}") from None
    return build_generator(cfg.model, shape, num_classes)
