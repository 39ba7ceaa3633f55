"""Training of the linear style transform (`brushwork style train-gram`) on the shared loop.

Only :class:`~.linear.LinearTransform` learns; the VGG and the decoder (taken from a trained
``relu4_1`` decoder folder, by default the packaged ``adain-light``) stay frozen. Two objectives:

* ``decoded`` (the paper's): decode the transformed features and measure, in the loss network,
  the content loss at ``relu4_1`` against the content's features and the Gram style loss over
  ``relu1_1 .. relu4_1`` against the style image's Gram matrices.
* ``features`` (no decoder pass): at the transform's own level, the content loss against the
  content's features and the style loss between the covariance and mean of the transformed
  features and those of the style.

Data (random crops of content photos and paintings), losses normalised by their targets, run
folders, checkpoints and exact resume come from :mod:`.crops`, :mod:`.losses`, :mod:`.ff_train` and :mod:`brushwork.training`.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..backbones.vgg import VGGFeatures, load_vgg
from ..config import ConfigBase, require
from ..errors import BrushworkError
from ..imageio import resize
from ..precision import autocast
from ..training.loop import Callback, LoopResult, default_callback, seed_everything
from ..training.trainer import Schedule, Trainer, run_training
from ..training.runs import create_run, read_run
from . import adain as A
from . import linear as L
from .crops import CropPool
from .feedforward import keep_freed_memory
from .ff_train import run_dir_of
from .losses import relative_mse
from .pretrained import from_pretrained, save_pretrained

KIND = "style-gram"
OBJECTIVES = ("decoded", "features")


@dataclass
class GramTrainConfig(ConfigBase):
    """Options of one ``train-gram`` run (stored in ``run.json``; a resumed run reuses them).

    Attributes:
        content, style: folders (or zips) of content photos and of style images.
        exclude: file names (e.g. ``lenna.jpg``) left out of both, for evaluation.
        decoder: the frozen ``relu4_1`` decoder: an AdaIN model folder or packaged name.
        init: a ``gram`` model folder whose transform the run starts from (e.g. a ``features`` run).
        objective: ``decoded`` (paper) or ``features`` (no decoder pass); see the module docstring.
        size: side of the square random crops in px; batch_size, steps, lr: Adam.
        content_weight, style_weight: loss weights (losses are relative to their targets).
    """

    error_prefix = "gram training options: "

    content: str = field(metadata={"cli": False})
    style: str = field(metadata={"cli": False})
    exclude: tuple[str, ...] = field(default=(), metadata={"multiple": True, "help": "File names never trained on (held out for evaluation; repeatable)."})
    bundled_photos: bool = field(default=False, metadata={"help": "Also train on scikit-image's bundled photos."})
    decoder: str = field(default="adain-light", metadata={"help": "The frozen relu4_1 decoder: an AdaIN model (folder or packaged name) or a universal decoder folder."})
    init: str | None = field(default=None, metadata={"help": "Start the transform from this gram model folder (e.g. a features-objective run)."})
    objective: str = field(default="decoded", metadata={"choices": ("decoded", "features"), "help": "decoded: losses of the decoded image (the paper's); features: losses on the transformed features (no decoder pass)."})
    matrix_size: int = field(default=32, metadata={"cli": False})
    size: int = field(default=128, metadata={"help": "Side of the square random training crops in px."})
    batch_size: int = field(default=4, metadata={"aliases": ("--batch",), "help": "Crops per training step."})
    steps: int = field(default=2000, metadata={"cli": False})
    lr: float = field(default=5e-4, metadata={"help": "Adam learning rate."})
    content_weight: float = field(default=1.0, metadata={"help": "Weight of the content loss."})
    style_weight: float = field(default=10.0, metadata={"help": "Weight of the style loss."})
    backbone: str = field(default="vgg16-hed", metadata={"help": "VGG encoder / loss network (recorded in the model)."})
    seed: int = field(default=0, metadata={"help": "Random seed."})
    ckpt_every: int = field(default=100, metadata={"help": "Checkpoint (and save the model) every N steps."})
    sample_every: int = field(default=100, metadata={"flag": "--preview-every", "help": "Write preview images every N steps."})
    log_every: int = field(default=10, metadata={"cli": False})
    amp: bool = field(default=False, metadata={"cli": False})
    half: bool = field(default=True, metadata={"cli": False})

    def validate(self) -> "GramTrainConfig":
        """Check choices and ranges (ConfigError naming the field); returns ``self``."""
        require([
            (self.objective in OBJECTIVES, "objective", f"objective must be one of {', '.join(OBJECTIVES)}, not {self.objective!r}"),
            (32 <= self.size <= 1024, "size", f"size must be between 32 and 1024 px, not {self.size}"),
            (self.batch_size >= 1, "batch_size", "batch_size must be positive"),
            (self.steps >= 1, "steps", "steps must be positive"),
            (self.lr > 0, "lr", "lr must be positive"),
            (min(self.content_weight, self.style_weight) >= 0, "style_weight", "loss weights (content_weight, style_weight) must not be negative"),
        ])
        self.exclude = tuple(self.exclude)
        return self


def load_decoder(name: str, backbone: str) -> A.Decoder:
    """The frozen ``relu4_1`` decoder: an AdaIN model folder (or packaged name), or a folder of
    reconstruction decoders (kind ``universal``) with a ``relu4_1`` level, whose layout is the same."""
    from . import decoders as D

    path = Path(name)
    if path.is_dir() and (path / D.CONFIG).is_file() and f'"kind": "{D.KIND}"' in (path / D.CONFIG).read_text(encoding="utf-8", errors="replace"):
        level = D.load_decoders(path, backbone=backbone, layers=[A.CONTENT_LAYER])[A.CONTENT_LAYER]
        dec = A.Decoder(A.AdaINConfig(arch=level.config.arch, width=level.config.width))
        dec.load_state_dict(level.state_dict())
        return dec
    return from_pretrained(name, kind="adain", backbone=backbone)


def batch_gram(feat: torch.Tensor) -> torch.Tensor:
    """``(N, C, H, W)`` -> ``(N, C, C)``: mean over positions of outer products (float32)."""
    f = feat.float().flatten(2)
    return f @ f.transpose(1, 2) / f.shape[-1]


STRIDE = {"relu3_1": 4, "relu4_1": 8}
SCALES = (1.0, 1.5)
"""Short sides (times the crop size) the images are encoded at: the crops' scale augmentation."""


class FeaturePool:
    """Encoder features of every image of an :class:`~.crops.CropPool`, computed once at each of
    :data:`SCALES` (with, for styles, the Gram matrices of the whole image at ``relu1_1 .. relu4_1``),
    and sampled as random square crops of ``size / stride`` feature positions with random flips.

    Cropping features instead of images saves the encoder pass of every step (the VGG forward is
    most of a CPU step); away from the crop's border the two are the same.
    """

    def __init__(self, vgg: VGGFeatures, images: CropPool, layer: str, with_grams: bool, autocast) -> None:
        self.k = images.size // STRIDE[layer]
        layers = list(dict.fromkeys([*A.STYLE_LAYERS, layer])) if with_grams else [layer]
        self.feats, self.grams = [], []
        with torch.no_grad(), autocast():
            for img in images.images:
                for scale in SCALES:
                    h, w = img.shape[-2:]
                    short = round(images.size * scale)
                    x = resize(img, (max(short, round(h * short / min(h, w))), max(short, round(w * short / min(h, w)))))
                    f = {n: v.float() for n, v in vgg(x[None].to(next(vgg.parameters()).device), layers).items()}
                    self.feats.append(f[layer][0].contiguous(memory_format=torch.contiguous_format))
                    self.grams.append({n: batch_gram(f[n])[0] for n in A.STYLE_LAYERS} if with_grams else {})

    def sample(self, n: int, gen: torch.Generator) -> tuple[torch.Tensor, list[int]]:
        """``(n, C, k, k)`` random feature crops and the index of the (image, scale) each came from."""
        crops, picks = [], []
        for _ in range(n):
            i = int(torch.randint(len(self.feats), (1,), generator=gen))
            f = self.feats[i]
            top = int(torch.randint(f.shape[1] - self.k + 1, (1,), generator=gen))
            left = int(torch.randint(f.shape[2] - self.k + 1, (1,), generator=gen))
            crop = f[:, top : top + self.k, left : left + self.k]
            crops.append(crop.flip(-1) if bool(torch.rand((), generator=gen) < 0.5) else crop)
            picks.append(i)
        return torch.stack(crops), picks

    def gram_targets(self, picks: list[int]) -> dict[str, torch.Tensor]:
        """The style Gram matrices ``{layer: (n, C, C)}`` of the picked images."""
        return {name: torch.stack([self.grams[i][name] for i in picks]) for name in A.STYLE_LAYERS}


class GramObjective:
    """The losses of content feature crops ``fc`` and style feature crops ``fs`` with the style
    images' Gram matrices ``grams`` (see module docstring)."""

    def __init__(self, vgg: VGGFeatures, objective: str) -> None:
        self.vgg, self.objective = vgg, objective

    def __call__(self, net: L.LinearStyleNet, fc: torch.Tensor, fs: torch.Tensor, grams: dict[str, torch.Tensor] | None, autocast) -> dict[str, torch.Tensor]:
        with autocast():
            t = net.transform(fc, *net.transform.style_code(fs)).float()
        if self.objective == "features":
            centred = t - t.mean(dim=(2, 3), keepdim=True)
            target = fs - fs.mean(dim=(2, 3), keepdim=True)
            style = relative_mse(batch_gram(centred), batch_gram(target)) + relative_mse(t.mean(dim=(2, 3)), fs.mean(dim=(2, 3)))
            return {"content": relative_mse(t, fc), "style": style}
        with autocast():
            fy = self.vgg(net.decoder(t), list(A.STYLE_LAYERS))
        style = sum(relative_mse(batch_gram(fy[n]), grams[n]) for n in A.STYLE_LAYERS) / len(A.STYLE_LAYERS)
        return {"content": relative_mse(fy[A.CONTENT_LAYER].float(), fc), "style": style}


@dataclass
class GramParts:
    """What a step touches; ``gen`` drives all training randomness."""

    cfg: GramTrainConfig
    net: L.LinearStyleNet
    opt: torch.optim.Optimizer
    gen: torch.Generator
    contents: CropPool
    styles: CropPool
    content_feats: FeaturePool
    style_feats: FeaturePool
    objective: GramObjective
    device: torch.device

    def autocast(self) -> contextlib.AbstractContextManager:
        return autocast("bfloat16" if self.cfg.amp else "float32", self.device)


def build_parts(cfg: GramTrainConfig, device: torch.device, vgg: VGGFeatures | None = None) -> GramParts:
    """Pools, loss network, the network (seeded transform, frozen decoder) and the optimiser."""
    contents = CropPool.from_sources([cfg.content], cfg.size, cfg.bundled_photos, exclude=tuple(cfg.exclude))
    styles = CropPool.from_sources([cfg.style], cfg.size, exclude=tuple(cfg.exclude))
    vgg = vgg if vgg is not None else load_vgg(cfg.backbone, device=device)
    decoder = load_decoder(cfg.decoder, cfg.backbone)
    torch.manual_seed(cfg.seed)
    net = L.LinearStyleNet(L.LinearConfig(matrix_size=cfg.matrix_size, arch=decoder.config.arch, decoder_width=decoder.config.width))
    net.decoder.load_state_dict(decoder.state_dict())
    if cfg.init:
        net.transform.load_state_dict(from_pretrained(cfg.init, kind="gram", backbone=cfg.backbone).transform.state_dict())
    net.decoder.requires_grad_(False).eval()
    net = net.to(device)
    net.transform.train()
    opt = torch.optim.Adam(net.transform.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    cast = lambda: autocast("bfloat16" if cfg.amp else "float32", device)  # noqa: E731
    feats = FeaturePool(vgg, contents, net.config.layer, False, cast), FeaturePool(vgg, styles, net.config.layer, cfg.objective == "decoded", cast)
    if not cfg.init:
        L.init_projection(net.transform, feats[0].feats + feats[1].feats)
    return GramParts(cfg, net, opt, gen, contents, styles, *feats, GramObjective(vgg, cfg.objective), device)


def train_step(p: GramParts, step: int) -> dict[str, float]:
    """Adam step ``step`` (0-based) on fresh content and style crops; returns the parts of the loss."""
    c = p.cfg
    fc, _ = p.content_feats.sample(c.batch_size, p.gen)
    fs, picks = p.style_feats.sample(c.batch_size, p.gen)
    grams = p.style_feats.gram_targets(picks) if c.objective == "decoded" else None
    parts = p.objective(p.net, fc.to(p.device), fs.to(p.device), grams, p.autocast)
    loss = c.content_weight * parts["content"] + c.style_weight * parts["style"]
    p.opt.zero_grad(set_to_none=True)
    loss.backward()
    p.opt.step()
    return {"loss": loss.item(), **{k: float(v.detach()) for k, v in parts.items()}}


@torch.no_grad()
def preview(p: GramParts, n: int = 4) -> torch.Tensor:
    """Fixed content crops, fixed style crops and the stylised contents, as rows."""
    x, s = p.contents.fixed(n).to(p.device), p.styles.fixed(n).to(p.device)
    s = s.repeat(-(-x.shape[0] // s.shape[0]), 1, 1, 1)[: x.shape[0]]
    p.net.transform.eval()
    try:
        vgg = p.objective.vgg
        y = torch.stack([L.transfer(vgg, p.net, xi, L.style_codes(vgg, p.net, [si])) for xi, si in zip(x, s)])
    finally:
        p.net.transform.train()
    return torch.cat([x, s, y])


def _state(p: GramParts):
    return {"transform": p.net.transform}, {"opt": p.opt}, {"data": p.gen}


def start(cfg: GramTrainConfig, out: str | Path) -> Path:
    """Validate ``cfg``, check its data, and create the run folder ``OUT/run``."""
    cfg.validate()
    for src in (cfg.content, cfg.style):
        if not Path(src).exists():
            raise BrushworkError(f"{src}: no such file or folder")
    load_decoder(cfg.decoder, cfg.backbone)  # a wrong decoder fails before a run exists
    return create_run(out, name="run", tag="gram", kind=KIND, options=asdict(cfg))


def load_run_config(out: str | Path, steps: int | None = None) -> GramTrainConfig:
    """The config a run was started with (``steps`` optionally raised for a longer resume)."""
    cfg = GramTrainConfig.from_dict(read_run(run_dir_of(out), kind=KIND)["options"])
    if steps is not None:
        cfg.steps = steps
    return cfg.validate()


def train(cfg: GramTrainConfig, out: str | Path, *, resume: bool = False, device: str = "cpu", show_progress: bool = False,
          callback: Callback | None = None, max_steps_this_call: int | None = None, vgg: VGGFeatures | None = None) -> LoopResult:
    """Train (or resume) the linear transform into model folder ``out`` (run folder from :func:`start`).

    At every checkpoint the model (transform + its decoder) is saved into ``out``.
    Raises NonFiniteLoss (a NaN / inf loss) and Interrupted (Ctrl-C / SIGTERM, after a checkpoint).
    """
    run_dir, dev, emit = run_dir_of(out), torch.device(device), callback or default_callback
    seed_everything(cfg.seed)
    if dev.type == "cpu":
        keep_freed_memory()
    p = build_parts(cfg, dev, vgg)

    def save_model(step: int, metrics: dict[str, Any], _extra: dict[str, Any]) -> None:
        note = {"steps": step, "batch_size": cfg.batch_size, "size": cfg.size, "content": cfg.content, "style": cfg.style,
                "exclude": list(cfg.exclude), "decoder": str(cfg.decoder), "objective": cfg.objective, "metrics": metrics}
        save_pretrained(p.net, out, backbone=cfg.backbone, training=note, half=cfg.half)

    trainer = Trainer(step=lambda step: train_step(p, step), state=lambda: _state(p), save_model=save_model,
                      preview=lambda: (preview(p), {}), desc="train gram")
    return run_training(run_dir, asdict(cfg), trainer, Schedule(cfg.steps, cfg.ckpt_every, cfg.sample_every, cfg.log_every),
                        resume=resume, emit=emit, show_progress=show_progress, max_steps_this_call=max_steps_this_call)
