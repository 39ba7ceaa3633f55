"""What CycleGAN and pix2pix share: optimisers, the learning-rate schedule, freezing the
critics during the generator update, the checkpointed objects and the generator per direction."""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch
import torch.nn as nn

from ..errors import BrushworkError
from ..precision import autocast, fast_bf16
from .config import TranslateConfig


def adam(params, cfg: TranslateConfig, fused: bool) -> torch.optim.Adam:
    """Adam with the papers' ``betas=(beta1, 0.999)``; fused kernels when ``fused``."""
    return torch.optim.Adam(list(params), lr=cfg.lr, betas=(cfg.beta1, 0.999), fused=fused or None, foreach=None if fused else False)


@contextlib.contextmanager
def frozen(*modules: nn.Module) -> Iterator[None]:
    """No parameter gradients for ``modules`` inside (input gradients still flow through)."""
    for m in modules:
        m.requires_grad_(False)
    try:
        yield
    finally:
        for m in modules:
            m.requires_grad_(True)


def lr_scale(cfg: TranslateConfig, step: int) -> float:
    """Learning-rate factor before generator update ``step`` (0-based): 1 for the first
    ``decay_from * steps`` updates, then linear towards 0 (the reference's ``lambda_rule``)."""
    constant = int(cfg.decay_from * cfg.steps)
    return 1.0 - max(0, step - constant) / float(cfg.steps - constant + 1)


class TranslationModel(nn.Module):
    """Base of :class:`~.cyclegan.CycleGAN` and :class:`~.pix2pix.Pix2Pix`.

    Subclasses build their networks (and any other state modules) and implement
    :meth:`generator_modules` (in :attr:`directions` order), :meth:`critic_modules`,
    :meth:`train_step` and :meth:`visuals`; :func:`~.train.build_model` adds the optimisers.
    """

    directions: tuple[str, ...] = ("a2b",)

    def __init__(self, cfg: TranslateConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.opt_g: torch.optim.Optimizer
        self.opt_d: torch.optim.Optimizer

    amp_dtype: torch.dtype | None = None
    _amp_device: torch.device = torch.device("cpu")

    def use_amp(self, device: torch.device) -> None:
        """Resolve ``cfg.amp`` for ``device`` (see :class:`~.config.TranslateConfig`): ``auto``
        means bfloat16 where :func:`brushwork.precision.fast_bf16` says the device runs it
        natively, on CUDA always and on the CPU for CycleGAN only (pix2pix measured slower)."""
        amp = self.cfg.amp
        if amp == "auto":
            native = fast_bf16(device) and (device.type == "cuda" or self.cfg.model == "cyclegan")
            amp = "bf16" if native else "off"
        self.amp_dtype = torch.bfloat16 if amp == "bf16" else None
        self._amp_device = device

    def autocast(self) -> contextlib.AbstractContextManager:
        """bfloat16 autocast for forward passes when :meth:`use_amp` chose it, else a no-op."""
        return autocast("float32" if self.amp_dtype is None else "bfloat16", self._amp_device)

    def make_optimizers(self, fused: bool) -> None:
        """One Adam over all generator parameters, one over all critic parameters."""
        self.opt_g = adam((p for g in self.generator_modules() for p in g.parameters()), self.cfg, fused)
        self.opt_d = adam((p for d in self.critic_modules() for p in d.parameters()), self.cfg, fused)

    def generator_modules(self) -> list[nn.Module]:
        raise NotImplementedError

    def critic_modules(self) -> list[nn.Module]:
        raise NotImplementedError

    def generator(self, direction: str) -> nn.Module:
        """The network that translates in ``direction`` (``a2b`` or ``b2a``)."""
        if direction not in self.directions:
            raise BrushworkError(f"a {self.cfg.model} run translates {' or '.join(self.directions)}, not {direction!r}")
        return self.generator_modules()[self.directions.index(direction)]

    def set_lr(self, step: int) -> None:
        """Apply the schedule for generator update ``step`` to both optimisers."""
        lr = self.cfg.lr * lr_scale(self.cfg, step)
        for opt in (self.opt_g, self.opt_d):
            for group in opt.param_groups:
                group["lr"] = lr

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The optimisers by checkpoint name."""
        return {"opt_g": self.opt_g, "opt_d": self.opt_d}

    def train_step(self, real_a: torch.Tensor, real_b: torch.Tensor, gen: torch.Generator) -> dict[str, float]:
        """One generator and one critic update on batches in ``[-1, 1]``; returns the losses."""
        raise NotImplementedError

    @torch.no_grad()
    def visuals(self, real_a: torch.Tensor, real_b: torch.Tensor) -> torch.Tensor:
        """Sample-grid tiles ``(N * k, 3, H, W)`` in ``[-1, 1]``, ``k`` per example (see :attr:`columns`)."""
        raise NotImplementedError

    columns: tuple[str, ...] = ()
