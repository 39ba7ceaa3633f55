"""What a GAN training step touches (:class:`GANParts`), where training stands, and building them from a config."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch
import torch.nn as nn

from ..data.datasets import BatchOrder, TensorData, load_digits, load_image_folder, load_mixture
from ..errors import BrushworkError
from ..precision import fast_bf16
from ..precision import autocast as precision_autocast
from ..training.distributed import DistInfo
from ..training.ema import EMA
from .ada import AdaptiveAugment
from .bounds import check_model_memory, parameter_count
from .config import GANConfig
from .models import Discriminator, Generator, build_discriminator, build_generator
from .regularizers import PathLength


@dataclass
class GANParts:
    """Everything a step touches. ``gen`` drives all training randomness (see module docs)."""

    G: Generator
    D: Discriminator
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    ema: EMA | None
    gen: torch.Generator
    data: TensorData
    order: BatchOrder
    device: torch.device
    dist: DistInfo
    joint_d: bool  # real and fake through D in one pass (no batch-coupled layers)
    amp: bool = False  # bfloat16 autocast for forward passes (where bf16 is native: CUDA, AMX / AVX-512 BF16 CPUs)
    ada: AdaptiveAugment | None = None  # adaptive augmentation and its probability
    pl: PathLength | None = None  # path-length regulariser and its running mean

    def autocast(self) -> contextlib.AbstractContextManager:
        """Mixed-precision context for forward passes (a no-op unless ``amp``)."""
        return precision_autocast("bfloat16", self.device) if self.amp else contextlib.nullcontext()


@dataclass
class Position:
    """Where training stands: G updates done and global data batches consumed."""

    step: int = 0
    batches: int = 0


def load_data(cfg: GANConfig) -> TensorData:
    """The training set named by ``cfg.data`` (images in [0, 1] or 2-D points)."""
    d = cfg.data
    if d.dataset == "digits":
        return load_digits(d.img_size)
    if d.dataset in ("ring", "grid"):
        return load_mixture(d.dataset, d.n_points, cfg.train.seed)
    return load_image_folder(d.path, d.img_size, d.channels)


def expected_shape(cfg: GANConfig) -> tuple[int, ...]:
    """Sample shape the data set will have: ``(2,)`` for mixtures, else ``(C, S, S)``."""
    d = cfg.data
    if d.dataset in ("ring", "grid"):
        return (2,)
    return (1 if d.dataset == "digits" else d.channels, d.img_size, d.img_size)


def preflight(cfg: GANConfig) -> None:
    """Fail fast (BrushworkError) on a missing / empty data source or a size the models cannot
    make, before a run folder is created."""
    from ..data.files import image_refs

    if cfg.data.dataset == "folder":
        image_refs(cfg.data.path)
    if cfg.data.dataset == "digits" and not 8 <= cfg.data.img_size <= 128:
        raise BrushworkError(f"digits: image size must be between 8 and 128 px, not {cfg.data.img_size}")
    shape = expected_shape(cfg)
    with torch.device("meta"):
        G = build_generator(cfg.model, shape, 10)
        D = build_discriminator(cfg.model, shape, 10)
    check_model_memory(cfg, shape, parameter_count(G) + parameter_count(D), training=True)


def build_parts(cfg: GANConfig, data: TensorData, device: torch.device, dist: DistInfo) -> GANParts:
    """Models (same initial weights on every process), optimisers, EMA, RNG and batch order."""
    m, t = cfg.model, cfg.train
    if t.batch_size % (dist.world * m.pack):
        raise BrushworkError(f"train.batch_size {t.batch_size} must split evenly over {dist.world} process(es) in packs of {m.pack}")
    torch.manual_seed(t.seed)
    G = build_generator(m, data.sample_shape, data.num_classes).to(device)
    D = build_discriminator(m, data.sample_shape, data.num_classes).to(device)
    if device.type == "cuda" and len(data.sample_shape) == 3:
        G, D = G.to(memory_format=torch.channels_last), D.to(memory_format=torch.channels_last)
    fused = t.fused and (device.type in ("cpu", "cuda"))
    opt_g = torch.optim.Adam(G.parameters(), lr=t.lr_g, betas=(t.beta1, t.beta2), eps=t.adam_eps, fused=fused or None)
    opt_d = torch.optim.Adam(D.parameters(), lr=t.lr_d, betas=(t.beta1, t.beta2), eps=t.adam_eps, fused=fused or None)
    ema = EMA(G, t.ema_decay, t.ema_start) if t.ema_decay > 0 else None
    gen = torch.Generator().manual_seed(t.seed + 1)
    data.x = G.from_unit(data.x).to(device)
    if data.y is not None:
        data.y = data.y.to(device)
    order = BatchOrder(len(data), t.batch_size, t.seed, rank=dist.rank, world=dist.world)
    coupled = any(isinstance(mod, nn.modules.batchnorm._BatchNorm) or type(mod).__name__ == "MinibatchStd" for mod in D.modules())
    amp = t.amp and fast_bf16(device)
    ada = AdaptiveAugment(t.ada_target, t.ada_interval, t.ada_kimg, t.batch_size) if t.ada_target > 0 else None
    pl = PathLength() if t.pl_weight > 0 else None
    return GANParts(G, D, opt_g, opt_d, ema, gen, data, order, device, dist, joint_d=not coupled, amp=amp, ada=ada, pl=pl)
