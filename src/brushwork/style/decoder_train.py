"""Training of the reconstruction decoders (:mod:`brushwork.style.decoders`) on the shared loop.

Each decoder learns only to invert the frozen encoder up to its level: the loss is the
relative pixel error of the reconstruction plus ``feature_weight`` times the relative error of
its features at the same level (Li et al., 2017). Random crops (random scale, position and
flip) of every image in the sources, drawn from one generator the checkpoint stores, so a
resumed run continues bitwise. Photos named in ``holdout`` are never trained on: the previews
show their reconstruction and log its PSNR.

The decoder folder ``OUT`` receives the level at every checkpoint (:func:`~.decoders.save_level`,
the other levels in ``OUT`` are kept) and the run lives in ``OUT/run-<layer>``.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..backbones.vgg import VGGFeatures, load_vgg
from ..data.bundled import bundled_photo
from ..config import ConfigBase, checked, require
from ..data.datasets import center_crop_resize
from ..errors import BrushworkError
from ..imageio import list_images, load_image
from ..precision import autocast
from ..training.loop import Callback, Interrupted, LoopResult, default_callback, seed_everything
from ..training.trainer import Schedule, Trainer, run_training
from ..training.runs import create_run, read_run
from .decoders import LevelConfig, LevelDecoder, level_index, load_decoders, save_level
from .feedforward import keep_freed_memory
from .crops import BUNDLED, CropPool
from .losses import relative_mse

__all__ = ["DecoderTrainConfig", "Interrupted", "load_run_config", "start", "train"]

RUN_KIND = "style-decoder"
DEFAULT_HOLDOUT = ("lenna.jpg", "newyork.jpg")


@dataclass
class DecoderTrainConfig(ConfigBase):
    """Options of one decoder run (stored in ``run.json``; a resumed run reuses them).

    Attributes:
        layer: the level to invert (``relu1_1`` .. ``relu5_1``).
        sources: image files or folders (photos and paintings alike) to train on.
        holdout: file names (e.g. ``lenna.jpg``) never trained on; previews and PSNR use them.
        bundled_photos: also train on scikit-image's bundled photos.
        width: hidden-channel multiplier of the decoder (1.0 = the encoder's widths).
        input_scale: the decoder's input scale; 0 = 1 / RMS of the level's features on the
            first four training images (centre crops: the same on every resume).
        size: side of the square training crops in px.
        batch_size, steps, lr: Adam on batches of ``batch_size`` crops for ``steps`` steps.
        feature_weight: weight of the feature reconstruction loss (pixel loss weight 1).
        backbone: the encoder the decoder inverts.
        amp: bfloat16 autocast for the passes (CPU with AMX or CUDA).
        half: store the decoder's weights as float16.
        init: a decoder folder whose ``layer`` decoder the run starts from (its width and input
            scale replace ``width`` and ``input_scale``); None starts from random weights.
    """

    error_prefix = "decoder training options: "

    layer: str = field(metadata={"choices": ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"), "help": "The encoder level the decoder inverts."})
    sources: list[str] = field(metadata={"cli": False})
    holdout: list[str] = field(default_factory=lambda: list(DEFAULT_HOLDOUT), metadata={"multiple": True, "help": "File names never trained on (previews and held-out PSNR)."})
    bundled_photos: bool = field(default=True, metadata={"help": "Also train on scikit-image's bundled photos."})
    width: float = field(default=1.0, metadata={"help": "Hidden-channel multiplier (0.5: a lighter decoder)."})
    input_scale: float = field(default=0.0, metadata={"help": "Constant the features are multiplied by first (0: 1 / their RMS on the first training images)."})
    size: int = field(default=128, metadata={"help": "Side of the square random training crops in px."})
    batch_size: int = field(default=4, metadata={"aliases": ("--batch",), "help": "Crops per training step."})
    steps: int = field(default=2000, metadata={"cli": False})
    lr: float = field(default=1e-3, metadata={"help": "Adam learning rate."})
    feature_weight: float = field(default=1.0, metadata={"help": "Weight of the feature reconstruction loss (pixel loss weight 1)."})
    backbone: str = field(default="vgg16-hed", metadata={"help": "The encoder to invert."})
    seed: int = field(default=0, metadata={"help": "Random seed."})
    ckpt_every: int = field(default=100, metadata={"help": "Checkpoint (and save the level) every N steps."})
    sample_every: int = field(default=100, metadata={"flag": "--preview-every", "help": "Write preview images (and held-out PSNR) every N steps."})
    log_every: int = field(default=10, metadata={"cli": False})
    amp: bool = field(default=False, metadata={"cli": False})
    half: bool = field(default=True, metadata={"cli": False})
    init: str | None = field(default=None, metadata={"help": "Start from the LAYER decoder of this decoder folder (e.g. the packaged one) instead of random weights."})

    def validate(self) -> "DecoderTrainConfig":
        """Check ranges (ConfigError naming the field); returns ``self``."""
        checked("layer", level_index, self.layer)
        require([
            (32 <= self.size <= 1024, "size", f"size must be between 32 and 1024 px, not {self.size}"),
            (self.size % 16 == 0, "size", f"size must be a multiple of 16 px, not {self.size}"),
            (self.batch_size >= 1, "batch_size", "batch_size must be positive"),
            (self.steps >= 1, "steps", "steps must be positive"),
            (self.lr > 0, "lr", "lr must be positive"),
            (self.feature_weight >= 0, "feature_weight", "feature_weight must not be negative"),
            (self.input_scale >= 0, "input_scale", "input_scale must not be negative (0: automatic)"),
            (bool(self.sources), "sources", "no training images: give --content and/or --styles"),
        ])
        return self


def split_sources(sources: list[str], holdout: list[str]) -> tuple[list[str], list[Path]]:
    """``(training files, held-out files)``: every image in ``sources`` (files or folders), the
    ones whose file name is in ``holdout`` set aside. BrushworkError for a missing source."""
    files: list[Path] = []
    for src in sources:
        p = Path(src)
        if not p.exists():
            raise BrushworkError(f"{src}: no such file or folder")
        files += [p] if p.is_file() else list_images(p)
    keep = {h.lower() for h in holdout}
    train = [str(f) for f in files if f.name.lower() not in keep]
    held = [f for f in files if f.name.lower() in keep]
    if not train:
        raise BrushworkError("no training images left after the held-out photos")
    return train, held


def reconstruction_loss(vgg: VGGFeatures, dec: LevelDecoder, x: torch.Tensor, feature_weight: float, autocast_ctx=contextlib.nullcontext) -> dict[str, torch.Tensor]:
    """Pixel and feature reconstruction losses of ``dec`` on images ``x`` ``(N, 3, H, W)``, H and W
    multiples of the level's scale: ``{"pixel", "feature"}`` (relative mean squared errors)."""
    layer = dec.config.layer
    with torch.no_grad(), autocast_ctx():
        fx = vgg(x, [layer])[layer].float()
    with autocast_ctx():
        y = dec(fx)
        fy = vgg(y, [layer])[layer] if feature_weight > 0 else None
    parts = {"pixel": relative_mse(y.float(), x)}
    if fy is not None:
        parts["feature"] = relative_mse(fy.float(), fx)
    return parts


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB of images in [0, 1] (``b`` the reference)."""
    mse = float((a.clamp(0, 1) - b).pow(2).mean())
    return 10 * math.log10(1.0 / max(mse, 1e-12))


@torch.no_grad()
def reconstruct(vgg: VGGFeatures, dec: LevelDecoder, image: torch.Tensor) -> torch.Tensor:
    """``dec``'s reconstruction of ``image`` ``(3, H, W)`` (cropped to a multiple of 16 px), clamped."""
    h, w = (s - s % 16 for s in image.shape[-2:])
    x = image[None, :, :h, :w]
    return dec(vgg(x, [dec.config.layer])[dec.config.layer])[0].float().clamp(0, 1)


@dataclass
class DecoderParts:
    """What a step touches; ``gen`` drives all training randomness."""

    cfg: DecoderTrainConfig
    net: LevelDecoder
    opt: torch.optim.Optimizer
    gen: torch.Generator
    pool: CropPool
    held: list[torch.Tensor]
    vgg: VGGFeatures
    device: torch.device

    def autocast(self) -> contextlib.AbstractContextManager:
        return autocast("bfloat16" if self.cfg.amp else "float32", self.device)


def build_parts(cfg: DecoderTrainConfig, device: torch.device, vgg: VGGFeatures | None = None) -> DecoderParts:
    """Image pool (without the held-out photos), encoder, the decoder (seeded) and Adam."""
    train_files, held_files = split_sources(cfg.sources, cfg.holdout)
    pool = CropPool.from_sources(train_files, cfg.size, cfg.bundled_photos, exclude=tuple(cfg.holdout))
    held = [center_crop_resize(load_image(f).rgb, cfg.size) for f in held_files]
    held += [center_crop_resize(bundled_photo(n), cfg.size) for n in BUNDLED if n in cfg.holdout]
    vgg = vgg if vgg is not None else load_vgg(cfg.backbone, device=device)
    torch.manual_seed(cfg.seed)
    if cfg.init:
        net = load_decoders(cfg.init, backbone=cfg.backbone, layers=[cfg.layer])[cfg.layer].to(device).train().requires_grad_(True)
    else:
        scale = cfg.input_scale or feature_scale(vgg, pool.fixed(4).to(device), cfg.layer)
        net = LevelDecoder(LevelConfig(arch=vgg.arch, layer=cfg.layer, width=cfg.width, input_scale=scale)).to(device).train()
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    return DecoderParts(cfg, net, opt, gen, pool, held, vgg, device)


def train_step(p: DecoderParts, step: int) -> dict[str, float]:
    """One Adam step on a fresh batch of crops; returns the parts of the loss."""
    x = p.pool.sample(p.cfg.batch_size, p.gen).to(p.device)
    parts = reconstruction_loss(p.vgg, p.net, x, p.cfg.feature_weight, p.autocast)
    loss = parts["pixel"] + p.cfg.feature_weight * parts.get("feature", 0.0)
    p.opt.zero_grad(set_to_none=True)
    loss.backward()
    p.opt.step()
    return {"loss": loss.item(), **{k: float(v.detach()) for k, v in parts.items()}}


@torch.no_grad()
def preview(p: DecoderParts) -> tuple[torch.Tensor, float | None]:
    """Held-out photos (else the first pool images) over their reconstructions, and the
    held-out photos' mean PSNR (None without held-out photos)."""
    x = torch.stack(p.held).to(p.device) if p.held else p.pool.fixed(4).to(p.device)
    was = p.net.training
    p.net.eval()
    try:
        y = torch.stack([reconstruct(p.vgg, p.net, xi) for xi in x])
    finally:
        p.net.train(was)
    score = sum(psnr(a, b) for a, b in zip(y, x)) / len(x) if p.held else None
    return torch.cat([x, y]), score


@torch.no_grad()
def feature_scale(vgg: VGGFeatures, images: torch.Tensor, layer: str) -> float:
    """1 / RMS of ``layer``'s features of ``images`` ``(N, 3, H, W)``, to 3 significant digits."""
    rms = float(vgg(images, [layer])[layer].float().pow(2).mean().sqrt().clamp_min(1e-6))
    return float(f"{1.0 / rms:.3g}")


def _state(p: DecoderParts):
    return {"net": p.net}, {"opt": p.opt}, {"data": p.gen}


def run_dir_of(out: str | Path, layer: str) -> Path:
    """Where the run of ``layer`` in decoder folder ``out`` lives (``OUT/run-<layer>``)."""
    return Path(out) / f"run-{layer}"


def start(cfg: DecoderTrainConfig, out: str | Path) -> Path:
    """Validate ``cfg``, check its data, and create the run folder ``OUT/run-<layer>``."""
    cfg.validate()
    split_sources(cfg.sources, cfg.holdout)
    return create_run(out, name=run_dir_of(out, cfg.layer).name, tag=cfg.layer, kind=RUN_KIND, options=asdict(cfg))


def load_run_config(out: str | Path, layer: str, steps: int | None = None) -> DecoderTrainConfig:
    """The config the ``layer`` run in ``out`` was started with (``steps`` optionally raised)."""
    cfg = DecoderTrainConfig.from_dict(read_run(run_dir_of(out, layer), kind=RUN_KIND)["options"])
    if steps is not None:
        cfg.steps = steps
    return cfg.validate()


def _note(cfg: DecoderTrainConfig, width: float, step: int, seconds: float, heldout_psnr: float | None, metrics: dict[str, Any]) -> dict[str, Any]:
    """The level's training record in the folder's provenance."""
    return {"steps": step, **({"init": cfg.init} if cfg.init else {}), "batch_size": cfg.batch_size, "size": cfg.size, "lr": cfg.lr, "width": width,
            "loss": f"relative pixel MSE + {cfg.feature_weight} x relative {cfg.layer} feature MSE",
            "sources": cfg.sources, "bundled_photos": cfg.bundled_photos, "holdout": cfg.holdout,
            "train_seconds": round(seconds), "heldout_psnr_db": heldout_psnr, "metrics": metrics}


def train(
    cfg: DecoderTrainConfig,
    out: str | Path,
    *,
    resume: bool = False,
    device: str = "cpu",
    show_progress: bool = False,
    callback: Callback | None = None,
    max_steps_this_call: int | None = None,
    vgg: VGGFeatures | None = None,
) -> LoopResult:
    """Train (or resume) the ``cfg.layer`` decoder into decoder folder ``out``.

    The run folder must exist (:func:`start`). Every checkpoint also saves the level into
    ``out`` (with the held-out PSNR of the last preview in its training note).

    Raises:
        NonFiniteLoss: a loss became NaN / inf. Interrupted: Ctrl-C / SIGTERM (after a checkpoint).
    """
    run_dir, dev, emit = run_dir_of(out, cfg.layer), torch.device(device), callback or default_callback
    seed_everything(cfg.seed)
    if dev.type == "cpu":
        keep_freed_memory()
    p = build_parts(cfg, dev, vgg)
    extra: dict[str, Any] = {"seconds": 0.0, "heldout_psnr": None}  # kept in every checkpoint
    started = {"t0": time.perf_counter(), "seconds": None}

    def before_save() -> None:
        if started["seconds"] is None:  # the training time of earlier processes, as restored
            started["seconds"] = float(extra["seconds"])
        extra["seconds"] = started["seconds"] + time.perf_counter() - started["t0"]

    def show() -> tuple[torch.Tensor, dict[str, float]]:
        grid, score = preview(p)
        extra["heldout_psnr"] = None if score is None else round(score, 2)
        return grid, {} if score is None else {"heldout_psnr": score}

    def save_model(step: int, metrics: dict[str, Any], kept: dict[str, Any]) -> None:
        save_level(p.net, out, backbone=cfg.backbone, training=_note(cfg, p.net.config.width, step, kept["seconds"], kept["heldout_psnr"], metrics), half=cfg.half)

    trainer = Trainer(step=lambda step: train_step(p, step), state=lambda: _state(p), save_model=save_model, preview=show,
                      desc=f"train {cfg.layer} decoder", nrow=None, extra=extra, before_save=before_save)
    return run_training(run_dir, asdict(cfg), trainer, Schedule(cfg.steps, cfg.ckpt_every, cfg.sample_every, cfg.log_every),
                        resume=resume, emit=emit, show_progress=show_progress, max_steps_this_call=max_steps_this_call)
