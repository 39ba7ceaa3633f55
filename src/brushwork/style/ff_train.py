"""Training of feed-forward style networks, both kinds, on :mod:`brushwork.training.loop`.

* ``fast``: a :class:`~brushwork.style.fast.TransformerNet` for one style image, with
  Johnson et al.'s perceptual losses (content at ``relu2_2``, Gram style at
  ``relu1_2 relu2_2 relu3_3 relu4_3``, total variation).
* ``adain``: the :class:`~brushwork.style.adain.Decoder`, with the content loss against the
  AdaIN target at ``relu4_1`` and the mean/std style loss over ``relu1_1`` .. ``relu4_1``.

Both train on random crops (random scale and position) with random horizontal flips of
the images in any folders, drawn from one explicit generator that the checkpoint stores,
so ``resume`` continues bitwise. Losses are normalised by the size of their targets (as in
:mod:`brushwork.style.losses`), so the default weights work across backbones.

A model folder ``OUT`` receives the model (``save_pretrained``) at every checkpoint and
holds the run in ``OUT/run`` (``run.json``, checkpoints, preview images, metrics).
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Union

import torch

from ..backbones.vgg import VGGFeatures, load_vgg
from ..errors import BrushworkError
from ..imageio import load_image, resize_long_side
from ..models import save_pretrained
from ..precision import autocast
from ..training.loop import (
    Callback,
    Interrupted,  # noqa: F401  (re-exported: callers catch it from here)
    LoopResult,
    default_callback,
    seed_everything,
)
from ..training.trainer import Schedule, Trainer, run_training
from ..training.runs import create_run, read_run
from . import adain as A
from .crops import CropPool
from .fast import TransformerNet, preset
from .feedforward import keep_freed_memory
from .ff_config import FFTrainConfig
from .losses import GramStyleLoss, relative_mse, tv_loss

FAST_CONTENT = "relu2_2"
FAST_STYLE = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
RUN = "run"
StyleNet = Union[TransformerNet, A.Decoder]


# --------------------------------------------------------------------------- losses


class FastObjective:
    """Johnson's perceptual loss for one style image."""

    def __init__(self, vgg: VGGFeatures, style: torch.Tensor, cfg: FFTrainConfig) -> None:
        self.vgg, self.cfg = vgg, cfg
        with torch.no_grad():
            feats = vgg(resize_long_side(style, cfg.style_size)[None], list(FAST_STYLE))
        self.grams = [GramStyleLoss([feats[n]], [1.0]) for n in FAST_STYLE]

    def __call__(self, net: TransformerNet, x: torch.Tensor, autocast) -> dict[str, torch.Tensor]:
        with torch.no_grad(), autocast():
            target = self.vgg(x, [FAST_CONTENT])[FAST_CONTENT].float()
        with autocast():
            y = net(x)
            feats = self.vgg(y, list(dict.fromkeys([FAST_CONTENT, *FAST_STYLE])))
        content = relative_mse(feats[FAST_CONTENT].float(), target)
        style = sum(torch.stack([g(feats[n][i : i + 1].float()) for i in range(x.shape[0])]).mean() for n, g in zip(FAST_STYLE, self.grams)) / len(FAST_STYLE)
        return {"content": content, "style": style, "tv": tv_loss(y.float())}


class AdaINObjective:
    """Huang & Belongie's decoder loss: content vs the AdaIN target, mean/std style loss."""

    def __init__(self, vgg: VGGFeatures) -> None:
        self.vgg = vgg

    def __call__(self, dec: A.Decoder, x: torch.Tensor, s: torch.Tensor, autocast, identity: bool = False) -> dict[str, torch.Tensor]:
        """The AdaIN losses; with ``identity`` also the :meth:`reconstruction` of ``x`` (one decoder pass for both)."""
        with torch.no_grad(), autocast():
            fs = {k: v.float() for k, v in self.vgg(s, list(A.STYLE_LAYERS)).items()}
            fc = self.vgg(x, [A.CONTENT_LAYER])[A.CONTENT_LAYER].float()
            t = A.adain(fc, *A.mean_std(fs[A.CONTENT_LAYER]))
        with autocast():
            y = dec(torch.cat([t, fc]) if identity else t)
            fy = self.vgg(y, list(A.STYLE_LAYERS))
        n = x.shape[0]
        parts = {"content": relative_mse(fy[A.CONTENT_LAYER][:n].float(), t)}
        style = 0.0
        for name in A.STYLE_LAYERS:
            (m_y, s_y), (m_s, s_s) = A.mean_std(fy[name][:n].float()), A.mean_std(fs[name])
            style = style + relative_mse(m_y, m_s) + relative_mse(s_y, s_s)
        parts.update(style=style / len(A.STYLE_LAYERS), tv=tv_loss(y[:n].float()))
        if identity:
            parts["identity"] = _identity(y[n:], fy[A.CONTENT_LAYER][n:], x, fc)
        return parts

    def reconstruction(self, dec: A.Decoder, x: torch.Tensor, autocast) -> dict[str, torch.Tensor]:
        """The decoder rebuilding ``x`` from its own ``relu4_1`` features (the warm-up's loss)."""
        with torch.no_grad(), autocast():
            fc = self.vgg(x, [A.CONTENT_LAYER])[A.CONTENT_LAYER].float()
        with autocast():
            y = dec(fc)
            fy = self.vgg(y, [A.CONTENT_LAYER])[A.CONTENT_LAYER]
        return {"identity": _identity(y, fy, x, fc), "tv": tv_loss(y.float())}


def _identity(y: torch.Tensor, fy: torch.Tensor, x: torch.Tensor, fx: torch.Tensor) -> torch.Tensor:
    """How far a reconstruction ``y`` (features ``fy``) is from the image ``x`` (features ``fx``):
    relative pixel error plus relative ``relu4_1`` error, as in SANet's identity loss."""
    return relative_mse(y.float(), x) + relative_mse(fy.float(), fx)


# --------------------------------------------------------------------------- the trainer


@dataclass
class FeedForwardParts:
    """What a step touches; ``gen`` drives all training randomness."""

    cfg: FFTrainConfig
    net: StyleNet
    opt: torch.optim.Optimizer
    gen: torch.Generator
    contents: CropPool
    styles: CropPool | None
    objective: Any
    device: torch.device

    def autocast(self) -> contextlib.AbstractContextManager:
        return autocast("bfloat16" if self.cfg.amp else "float32", self.device)


def build_parts(cfg: FFTrainConfig, device: torch.device, vgg: VGGFeatures | None = None) -> FeedForwardParts:
    """Data pools, loss network, the network to train (seeded) and its optimiser."""
    contents = CropPool.from_sources([cfg.content], cfg.size, cfg.bundled_photos)
    vgg = vgg if vgg is not None else load_vgg(cfg.backbone, device=device)
    torch.manual_seed(cfg.seed)
    if cfg.kind == "fast":
        if not Path(cfg.style).is_file():
            raise BrushworkError(f"{cfg.style}: the style of a fast network must be one image file")
        net: StyleNet = TransformerNet(preset(cfg.preset))
        styles, objective = None, FastObjective(vgg, load_image(cfg.style).rgb.to(device), cfg)
    else:
        net = A.Decoder(A.AdaINConfig(arch=vgg.arch, width=cfg.width))
        styles, objective = CropPool.from_sources([cfg.style], cfg.size), AdaINObjective(vgg)
    net = net.to(device).train()
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    return FeedForwardParts(cfg, net, opt, gen, contents, styles, objective, device)


def train_step(p: FeedForwardParts, step: int) -> dict[str, float]:
    """Adam step ``step`` (0-based) on a fresh batch of crops; returns the parts of the loss."""
    c = p.cfg
    x = p.contents.sample(c.batch_size, p.gen).to(p.device)
    if p.styles is None:
        parts = p.objective(p.net, x, p.autocast)
    elif step < c.recon_steps:
        parts = p.objective.reconstruction(p.net, x, p.autocast)
    else:
        parts = p.objective(p.net, x, p.styles.sample(c.batch_size, p.gen).to(p.device), p.autocast, identity=c.identity_weight > 0)
    weights = {"content": c.content_weight, "style": c.style_weight, "tv": c.tv_weight, "identity": 1.0 if step < c.recon_steps else c.identity_weight}
    loss = sum(weights[k] * v for k, v in parts.items())
    p.opt.zero_grad(set_to_none=True)
    loss.backward()
    p.opt.step()
    return {"loss": loss.item(), **{k: float(v.detach()) for k, v in parts.items()}}


@torch.no_grad()
def preview(p: FeedForwardParts, n: int = 4) -> torch.Tensor:
    """Fixed content crops over their stylised versions (AdaIN: each with one fixed style crop)."""
    x = p.contents.fixed(n).to(p.device)
    was = p.net.training
    p.net.eval()
    try:
        if p.styles is None:
            y = p.net(x).clamp(0, 1)
            return torch.cat([x, y])
        s = p.styles.fixed(n).to(p.device)
        s = s.repeat(-(-x.shape[0] // s.shape[0]), 1, 1, 1)[: x.shape[0]]
        y = torch.stack([A.transfer(p.objective.vgg, p.net, xi, [si]) for xi, si in zip(x, s)])
        return torch.cat([x, s, y])
    finally:
        p.net.train(was)


def _state(p: FeedForwardParts):
    return {"net": p.net}, {"opt": p.opt}, {"data": p.gen}


def run_dir_of(out: str | Path) -> Path:
    """Where the run of model folder ``out`` lives."""
    return Path(out) / RUN


def start(cfg: FFTrainConfig, out: str | Path, runtime: dict[str, Any] | None = None) -> Path:
    """Validate ``cfg``, check its data, and create the run folder ``OUT/run`` (its options:
    ``cfg`` plus the process settings ``runtime`` of :func:`brushwork.training.runtime.capture`)."""
    cfg.validate()
    for src in (cfg.content, cfg.style):
        if not Path(src).exists():
            raise BrushworkError(f"{src}: no such file or folder")
    if cfg.kind == "adain":
        from ..data.files import image_refs

        image_refs(cfg.style)  # a style folder with no images fails here, before a run exists
    return create_run(out, name=RUN, tag=cfg.kind, kind=f"style-{cfg.kind}", options={**asdict(cfg), "runtime": runtime})


def load_run_config(out: str | Path, kind: str, steps: int | None = None) -> FFTrainConfig:
    """The config a run was started with (``steps`` optionally raised for a longer resume)."""
    record = read_run(run_dir_of(out), kind=f"style-{kind}")
    options = {k: v for k, v in record["options"].items() if k != "runtime"}  # process settings, not training options
    cfg = FFTrainConfig.from_dict(options)
    if steps is not None:
        cfg.steps = steps
    return cfg.validate()


def train(
    cfg: FFTrainConfig,
    out: str | Path,
    *,
    resume: bool = False,
    device: str = "cpu",
    show_progress: bool = False,
    callback: Callback | None = None,
    max_steps_this_call: int | None = None,
    vgg: VGGFeatures | None = None,
) -> LoopResult:
    """Train (or resume) a feed-forward style network into model folder ``out``.

    The run folder must exist (:func:`start`). At every checkpoint the current network
    is also saved as the model (``save_pretrained``), so even a stopped run leaves a
    usable model. ``vgg`` reuses an already loaded loss network (it must be ``cfg.backbone``).

    Raises:
        NonFiniteLoss: a loss became NaN / inf. Interrupted: Ctrl-C / SIGTERM (after a checkpoint).
    """
    run_dir, dev, emit = run_dir_of(out), torch.device(device), callback or default_callback
    seed_everything(cfg.seed)
    if dev.type == "cpu":
        keep_freed_memory()  # no page faults for every activation of every step (about 1.2x faster)
    p = build_parts(cfg, dev, vgg)

    def save_model(step: int, metrics: dict[str, Any], _extra: dict[str, Any]) -> None:
        note = {"steps": step, "batch_size": cfg.batch_size, "size": cfg.size, "content": cfg.content, "style": cfg.style, "metrics": metrics}
        prov = {"source": "Brushwork", "how": f"trained with brushwork style train-{cfg.kind}", "training": note}
        save_pretrained(p.net, out, backbone=cfg.backbone, provenance=prov, half=cfg.half)

    trainer = Trainer(step=lambda step: train_step(p, step), state=lambda: _state(p), save_model=save_model,
                      preview=lambda: (preview(p), {}), desc=f"train {cfg.kind}")
    return run_training(run_dir, asdict(cfg), trainer, Schedule(cfg.steps, cfg.ckpt_every, cfg.sample_every, cfg.log_every),
                        resume=resume, emit=emit, show_progress=show_progress, max_steps_this_call=max_steps_this_call)
