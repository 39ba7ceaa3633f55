"""GAN run configuration: dataclasses, named presets, TOML/YAML files and ``key=value`` overrides.

A config has three sections, ``model``, ``data`` and ``train``; a file may start from a
preset (``preset = "dcgan-digits"``) and override any field. Unknown keys and values of
the wrong type raise :class:`~brushwork.errors.BrushworkError` naming the key.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BrushworkError

ARCHS = ("mlp", "dcgan", "resnet", "sagan", "biggan", "stylegan2")
LOSSES = ("minimax", "nonsat", "lsgan", "wgan", "wgan-gp", "hinge")
DATASETS = ("digits", "ring", "grid", "folder")


@dataclass
class ModelConfig:
    """Generator and discriminator architecture.

    ``arch``: ``mlp`` (classic / mixture pairs), ``dcgan`` or ``resnet`` (SNGAN).
    Widths: channels of the last G layer / first D layer (``dcgan``), all layers
    (``resnet``). ``g_hidden`` / ``d_hidden``, ``g_batchnorm``, ``maxout`` and
    ``output`` apply to ``mlp`` only; ``d_batchnorm`` to ``dcgan`` only.
    ``conditional`` uses the data set's labels (conditional BN in G, projection D).
    """

    arch: str = "dcgan"
    z_dim: int = 100
    g_width: int = 64
    d_width: int = 64
    g_hidden: list[int] = field(default_factory=lambda: [128, 128, 100])
    d_hidden: list[int] = field(default_factory=lambda: [128, 128])
    g_batchnorm: bool = False
    d_batchnorm: bool = True
    maxout: int = 1
    output: str = "sigmoid"
    spectral_norm: bool = False
    minibatch_std: bool = False
    pack: int = 1
    conditional: bool = False
    # mlp D only: random Fourier features of each input sample (count; frequency std in cycles per unit).
    d_fourier: int = 0
    d_fourier_scale: float = 1.0
    # mlp G only: random Fourier features of z (same meaning; frequency std in cycles per unit of z).
    g_fourier: int = 0
    g_fourier_scale: float = 1.0
    # GAN families (issue 9): self-attention resolution (sagan / biggan; 0 = none), BigGAN's
    # shared class-embedding size, StyleGAN2's w size (0 = z_dim), mapping depth and G
    # architecture (skip | resnet), and progressive growing's first resolution (dcgan /
    # resnet; 0 = off; schedule in train.grow_every / train.fade_steps).
    attention_res: int = 0
    shared_dim: int = 16
    w_dim: int = 0
    mapping_layers: int = 4
    g_arch: str = "skip"
    progressive_from: int = 0


@dataclass
class DataConfig:
    """Training data: ``digits`` (scikit-learn, resized to ``img_size``), ``ring`` / ``grid``
    (2-D mixtures, ``n_points`` fixed training points), or ``folder`` (``path``: a folder or
    .zip of images, centre-cropped and resized to ``img_size``, ``channels`` 1 or 3)."""

    dataset: str = "digits"
    path: str = ""
    img_size: int = 32
    channels: int = 3
    n_points: int = 100_000


@dataclass
class TrainConfig:
    """Optimisation: loss, steps (generator updates), batch (global, across processes),
    ``n_critic`` D steps per G step, TTUR learning rates, Adam betas and eps, penalties
    (``gp_weight`` for wgan-gp, ``r1_gamma`` for R1, ``clip`` for wgan), EMA of G
    (``ema_decay`` 0 = off), DiffAugment ``augment`` policy (comma list of
    translation, cutout, color), ``lr_decay`` none|linear, seed, and the intervals
    (in G steps) for logs, sample grids, diagnostics and checkpoints. ``fid_every`` > 0
    logs FID/KID of ``fid_samples`` samples in feature space ``fid_features`` (inception,
    vgg16-hed or classifier:PATH) against the training folder (folder data sets only)."""

    loss: str = "nonsat"
    steps: int = 2000
    batch_size: int = 64
    n_critic: int = 1
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    adam_eps: float = 1e-8
    gp_weight: float = 10.0
    r1_gamma: float = 0.0
    clip: float = 0.01
    ema_decay: float = 0.0
    ema_start: int = 0
    augment: str = ""
    lr_decay: str = "none"
    seed: int = 0
    log_every: int = 50
    sample_every: int = 500
    diag_every: int = 500
    ckpt_every: int = 500
    keep_checkpoints: int = 2
    amp: bool = False
    fused: bool = True
    fid_every: int = 0
    fid_features: str = "inception"
    fid_samples: int = 2048
    # GAN families (issue 9): lazy R1 (every r1_every D steps, scaled up to match), path-length
    # regularisation (weight, every pl_every G steps), style-mixing probability, BigGAN's
    # orthogonal regularisation weight, progressive growing's schedule, and ADA (target of
    # the r_t = E[sign D(real)] overfitting signal, 0 = off; adjust every ada_interval D steps
    # so p can move 0 -> 1 over ada_kimg thousand images).
    r1_every: int = 1
    pl_weight: float = 0.0
    pl_every: int = 4
    style_mixing: float = 0.0
    ortho_reg: float = 0.0
    grow_every: int = 500
    fade_steps: int = 250
    ada_target: float = 0.0
    ada_interval: int = 4
    ada_kimg: float = 20.0


@dataclass
class GANConfig:
    """A whole run: ``name`` (preset or file it came from) and the three sections."""

    name: str = "custom"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (round-trips through :func:`config_from_dict`)."""
        return dataclasses.asdict(self)


def _mixture_model(pack: int = 1) -> dict[str, Any]:
    return dict(arch="mlp", z_dim=2, g_hidden=[400] * 4, d_hidden=[200] * 3, g_batchnorm=True, maxout=5, output="linear", pack=pack)


def _brushwork_mixture_model(**extra: Any) -> dict[str, Any]:
    # PacGAN's widths (ring, 3k steps: 94% high quality; G 3x128 / D 2x128: 80%). No batch
    # norm in G: batch statistics jitter every training sample and eval-mode running
    # statistics lag the weights, and the 3-std quality radius (0.03 on the ring) cannot
    # absorb either. PacGAN2 (pack 3-4 learned far slower in a few thousand steps).
    return dict(_mixture_model(pack=2), g_batchnorm=False, **extra)


# Grid: a D on raw coordinates stayed at chance (loss 2 log 2) against a G spread evenly over
# the square for all of 3k steps (2% high quality); random Fourier input features let it see
# the 25 narrow modes within a few hundred steps, and a lazy R1 penalty (every 16 D steps:
# an R1 pass every step cost 1.3x throughput) keeps that sharper D from collapsing G onto a
# few modes (without R1: 1 mode). Frequency std 0.15 cycles/unit; one or two seeds each:
# 0.5 -> 17-18 modes / 35 % HQ, 0.25 -> 23-24 / 37-71 %, 0.15 -> 25 / 40-82 %, 0.1 -> 25 / 31 %.
# 128 frequencies instead of 32 (12k steps): the worst seeds of the 32-frequency D, which kept wide
# bridges and unequal modes, came to 94 % (seed 4: 85.0 -> 94.4 %, seed 7: 77.6 -> 94.2 %); seed 0
# 93.7 -> 91.7 %, seed 6 stays 86.7 % with a lost mode; 256 frequencies: 88.1 % (seed 7), 86.4 % (seed 6).
_GRID_D = dict(d_fourier=128, d_fourier_scale=0.15)
# The misses sit on bridges along the grid lines: G maps the connected 2-D z plane onto 25 islands,
# and a ReLU G on raw z bends slowly (the same spectral bias), so z between two islands lands between
# them. 64 random Fourier features of z (std 0.25 cycles per unit of z) let G step more sharply; 12k
# steps, seeds 0 / 2 / 3 / 6: 95.4 / 92.1 / 96.9 / 91.8 % -> 95.7 / 94.4 / 95.6 / 94.6 %. Std 0.5:
# 94.1 / 94.5 / 93.7 / 91.8 % (the clusters got a wider halo); std 1.0: seed 2 93.8 %, seed 6 90.5 %.
_GRID_G = dict(g_fourier=64, g_fourier_scale=0.25)
# 10 seeds, 12k steps: R1 0.3 -> 0.6 kept every mode (24.9 -> 25.0) and lowered reverse KL 0.055 ->
# 0.036 at 92.0 -> 90.9 % HQ; batch 100 -> 250 (2x the time a run) then gave 94.6 % HQ, reverse KL 0.011.
_GRID_TRAIN = dict(r1_gamma=0.6, r1_every=16, batch_size=250)


def _brushwork_mixture_train(**extra: Any) -> dict[str, Any]:
    # 10x PacGAN's learning rate decayed linearly to 0 (the low-rate tail sharpens the modes), EMA of G.
    # 12k steps (PacGAN: 400k), bench mixture over 10 seeds: grid 48.8 % -> 89.5 % high quality
    # (78-96 % per seed; 24k on seed 0: 92 %; see _GRID_TRAIN for the rest), ring 94.0 % -> 97.7 %.
    # The rest sit on bridges between modes.
    return _mixture_train(steps=12_000, lr_g=1e-3, lr_d=1e-3, beta1=0.5, lr_decay="linear", ema_decay=0.99, ema_start=500, **extra)


def _mixture_train(**kw: Any) -> dict[str, Any]:
    base = dict(loss="nonsat", steps=10_000, batch_size=100, lr_g=1e-4, lr_d=1e-4, beta1=0.8, beta2=0.999, log_every=100, sample_every=2000, diag_every=1000, ckpt_every=2000)
    base.update(kw)
    return base


_HINGE_TTUR = dict(loss="hinge", lr_g=1e-4, lr_d=4e-4, beta1=0.0, beta2=0.999)
_STYLE_TRAIN = dict(loss="nonsat", lr_g=2e-3, lr_d=2e-3, beta1=0.0, beta2=0.99, r1_gamma=0.1, r1_every=16, style_mixing=0.9, ema_decay=0.995, ema_start=100)
FAMILY_PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "sagan-digits": dict(
        model=dict(arch="sagan", z_dim=64, g_width=32, d_width=32, attention_res=8),
        data=dict(dataset="digits", img_size=16, channels=1),
        train=dict(_HINGE_TTUR, steps=3000, batch_size=64),
    ),
    "sagan-folder": dict(
        model=dict(arch="sagan", z_dim=64, g_width=64, d_width=64, attention_res=16),
        data=dict(dataset="folder", img_size=32, channels=3),
        train=dict(_HINGE_TTUR, steps=20_000, batch_size=64, ema_decay=0.999, ema_start=1000),
    ),
    # 9k steps with the rates decayed to 0 and bfloat16 autocast where native. Seed 0, one run each:
    # 3k -> FD 0.89; 6k -> 0.62; 9k -> 0.33; + lazy R1 at 6k 0.64; nonsat loss with R1, lr_g 2e-4 or
    # lr_d 2e-4 collapse the variety within a class (97-99 % confident, FD 1.4-3.2).
    "biggan-digits": dict(
        model=dict(arch="biggan", z_dim=60, g_width=32, d_width=32, conditional=True, shared_dim=16, attention_res=8),
        data=dict(dataset="digits", img_size=16, channels=1),
        train=dict(_HINGE_TTUR, steps=9000, batch_size=64, ortho_reg=1e-4, ema_decay=0.999, ema_start=200, lr_decay="linear", amp=True),
    ),
    "biggan-folder": dict(
        model=dict(arch="biggan", z_dim=64, g_width=64, d_width=64, attention_res=16),
        data=dict(dataset="folder", img_size=32, channels=3),
        train=dict(_HINGE_TTUR, steps=20_000, batch_size=64, ortho_reg=1e-4, ema_decay=0.999, ema_start=1000),
    ),
    # Class-conditional (class embedding into the mapping network, projection D), G width 32, 6k steps
    # with the rate decayed to 0, bfloat16 autocast where native. Seed 0: unconditional width 16 at 3k
    # -> 70 % confident / FD 1.15; conditional width 16 at 6k -> 92 % / 0.52; width 32 -> 96 % / 0.35.
    "stylegan2-digits": dict(
        model=dict(arch="stylegan2", z_dim=64, g_width=32, d_width=32, minibatch_std=True, mapping_layers=2, conditional=True),
        data=dict(dataset="digits", img_size=16, channels=1),
        train=dict(_STYLE_TRAIN, steps=6000, batch_size=64, lr_decay="linear", amp=True),
    ),
    "stylegan2-folder": dict(
        model=dict(arch="stylegan2", z_dim=64, g_width=32, d_width=64, minibatch_std=True, mapping_layers=4),
        data=dict(dataset="folder", img_size=32, channels=3),
        train=dict(_STYLE_TRAIN, steps=20_000, batch_size=64, pl_weight=2.0, ada_target=0.6),
    ),
    "progressive-dcgan-folder": dict(
        model=dict(arch="dcgan", z_dim=64, g_width=32, d_width=32, progressive_from=8),
        data=dict(dataset="folder", img_size=32, channels=3),
        train=dict(loss="nonsat", steps=20_000, batch_size=64, lr_g=2e-4, lr_d=2e-4, beta1=0.5, grow_every=5000, fade_steps=2500),
    ),
}


PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    # The classic pair on digits at 28 px (784 = 28 x 28 outputs).
    "mlp-digits": dict(
        model=dict(arch="mlp", z_dim=100, g_hidden=[128, 128, 100], d_hidden=[128, 128], output="sigmoid"),
        data=dict(dataset="digits", img_size=28, channels=1),
        train=dict(loss="nonsat", steps=5000, batch_size=64, lr_g=2e-4, lr_d=2e-4, beta1=0.5),
    ),
    # No BN in D (one joint real+fake pass), rates decayed linearly to 0, a short EMA (0.999 lagged a 3k-step run).
    "dcgan-digits": dict(
        model=dict(arch="dcgan", z_dim=64, g_width=32, d_width=32, d_batchnorm=False),
        data=dict(dataset="digits", img_size=16, channels=1),
        train=dict(loss="nonsat", steps=3000, batch_size=64, lr_g=2e-4, lr_d=2e-4, beta1=0.5, lr_decay="linear", ema_decay=0.99, ema_start=300),
    ),
    # Brushwork's best digits preset (bench digits' default): class-conditional DCGAN (conditional BN
    # in G, projection D), width 64, minibatch-std in D, lazy R1 (0.2 every 16 D steps), 6k steps.
    # One seed each (bench digits, 6k steps): unconditional width 32 -> 58 % confident, FD 1.37;
    # conditional width 64 -> 82 % / 0.52 (3k), 92 % / 0.57 with minibatch-std, 91 % / 0.29 with R1 too
    # (without minibatch-std R1 collapsed: 7 classes). amp: bfloat16 autocast where the CPU / GPU runs it natively.
    "cdcgan-digits": dict(
        model=dict(arch="dcgan", z_dim=64, g_width=64, d_width=64, d_batchnorm=False, conditional=True, minibatch_std=True),
        data=dict(dataset="digits", img_size=16, channels=1),
        train=dict(loss="nonsat", steps=6000, batch_size=64, lr_g=2e-4, lr_d=2e-4, beta1=0.5, lr_decay="linear", ema_decay=0.99, ema_start=300, r1_gamma=0.2, r1_every=16, amp=True),
    ),
    "wgan-gp-grid": dict(
        model=dict(_mixture_model(), g_batchnorm=False),
        data=dict(dataset="grid"),
        train=_mixture_train(loss="wgan-gp", n_critic=5, lr_g=1e-4, lr_d=1e-4, beta1=0.5, beta2=0.9, gp_weight=0.1),
    ),
    "sngan-folder": dict(
        model=dict(arch="resnet", z_dim=128, g_width=128, d_width=128, spectral_norm=True),
        data=dict(dataset="folder", img_size=32, channels=3),
        train=dict(loss="hinge", steps=20_000, batch_size=64, lr_g=1e-4, lr_d=4e-4, beta1=0.0, beta2=0.9, ema_decay=0.999, ema_start=1000, augment="translation,cutout,color"),
    ),
    # PacGAN's plain-GAN baseline and Brushwork's mixture presets (see `brushwork bench mixture`).
    "gan-ring": dict(model=_mixture_model(), data=dict(dataset="ring"), train=_mixture_train()),
    "gan-grid": dict(model=_mixture_model(), data=dict(dataset="grid"), train=_mixture_train()),
    "pacgan-ring": dict(model=_brushwork_mixture_model(), data=dict(dataset="ring"), train=_brushwork_mixture_train()),
    "pacgan-grid": dict(model=_brushwork_mixture_model(**_GRID_D, **_GRID_G), data=dict(dataset="grid"), train=_brushwork_mixture_train(**_GRID_TRAIN)),
    # GAN families (issue 9); *-folder presets need data.path (see `brushwork bench families`).
    **FAMILY_PRESETS,
}


def _check_value(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, list):
            raise BrushworkError(f"config: {where} must be a list, not {type(value).__name__} ({value!r})")
        return [_check_value(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if hint is bool:
        ok = isinstance(value, bool)
    elif hint is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif hint is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif hint is str:
        ok = isinstance(value, str)
    else:
        ok = True
    if not ok:
        raise BrushworkError(f"config: {where} must be {getattr(hint, '__name__', hint)}, not {type(value).__name__} ({value!r})")
    return value


def _section(cls: type, values: Any, where: str) -> Any:
    if not isinstance(values, dict):
        raise BrushworkError(f"config: [{where}] must be a table of keys, not {type(values).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise BrushworkError(f"config: unknown key {where}.{unknown[0]} (known: {', '.join(sorted(names))})")
    return cls(**{k: _check_value(v, hints[k], f"{where}.{k}") for k, v in values.items()})


def config_from_dict(d: dict[str, Any]) -> GANConfig:
    """Build and validate a :class:`GANConfig` from a nested dict (unknown keys / bad types raise)."""
    if not isinstance(d, dict):
        raise BrushworkError("config: expected a table with [model], [data] and [train] sections")
    unknown = sorted(set(d) - {"name", "model", "data", "train"})
    if unknown:
        raise BrushworkError(f"config: unknown key {unknown[0]!r} (known: name, preset, model, data, train)")
    cfg = GANConfig(
        name=_check_value(d.get("name", "custom"), str, "name"),
        model=_section(ModelConfig, d.get("model", {}), "model"),
        data=_section(DataConfig, d.get("data", {}), "data"),
        train=_section(TrainConfig, d.get("train", {}), "train"),
    )
    validate(cfg)
    return cfg


def validate(cfg: GANConfig) -> None:
    """Check choices and ranges that types alone do not catch."""
    from .bounds import check_ranges

    check_ranges(cfg)  # every number in its range first: the checks below divide and compare
    m, d, t = cfg.model, cfg.data, cfg.train
    checks = [
        (m.arch in ARCHS, f"model.arch must be one of {', '.join(ARCHS)}, not {m.arch!r}"),
        (t.loss in LOSSES, f"train.loss must be one of {', '.join(LOSSES)}, not {t.loss!r}"),
        (d.dataset in DATASETS, f"data.dataset must be one of {', '.join(DATASETS)}, not {d.dataset!r}"),
        (m.output in ("sigmoid", "tanh", "linear"), f"model.output must be sigmoid, tanh or linear, not {m.output!r}"),
        (t.lr_decay in ("none", "linear"), f"train.lr_decay must be none or linear, not {t.lr_decay!r}"),
        (d.channels in (1, 3), f"data.channels must be 1 or 3, not {d.channels}"),
        (t.steps >= 0 and t.batch_size > 0 and t.n_critic > 0, "train.steps must be >= 0, batch_size and n_critic > 0"),
        (m.pack >= 1 and m.maxout >= 1 and m.z_dim > 0, "model.pack, model.maxout and model.z_dim must be positive"),
        (t.batch_size % m.pack == 0, f"train.batch_size {t.batch_size} must be divisible by model.pack {m.pack}"),
        (0.0 <= t.ema_decay < 1.0, f"train.ema_decay must be in [0, 1), not {t.ema_decay}"),
        (min(t.log_every, t.sample_every, t.diag_every, t.ckpt_every) > 0, "train.*_every intervals must be positive"),
        (t.keep_checkpoints >= 1, "train.keep_checkpoints must be at least 1"),
        (min(m.d_fourier, m.g_fourier) >= 0 and min(m.d_fourier_scale, m.g_fourier_scale) > 0, "model.d_fourier / g_fourier must be >= 0 and their *_scale > 0"),
        (not (d.dataset in ("ring", "grid") and m.arch != "mlp"), f"data.dataset {d.dataset} (2-D points) needs model.arch mlp"),
        (not (d.dataset in ("ring", "grid") and (m.conditional or t.augment)), "2-D mixtures take no conditional model and no augment"),
        (not (d.dataset == "folder" and not d.path), "data.dataset folder needs data.path (a folder or .zip of images)"),
        (not (m.conditional and m.pack > 1), "model.pack > 1 cannot be combined with model.conditional"),
        (t.fid_every >= 0 and t.fid_samples >= 2, "train.fid_every must be >= 0 and train.fid_samples >= 2"),
        (not (t.fid_every and d.dataset != "folder"), "train.fid_every needs data.dataset folder (FID compares with the image files)"),
    ]
    checks += family_checks(cfg)
    for ok, message in checks:
        if not ok:
            raise BrushworkError(f"config: {message}")
    for op in filter(None, (p.strip() for p in t.augment.split(","))):
        if op not in ("translation", "cutout", "color"):
            raise BrushworkError(f"config: train.augment: unknown operation {op!r} (translation, cutout, color)")


def family_checks(cfg: GANConfig) -> list[tuple[bool, str]]:
    """(ok, message) checks of the issue-9 options (families, regularisers, growing, ADA)."""
    m, t = cfg.model, cfg.train
    image = cfg.data.dataset not in ("ring", "grid")
    return [
        (m.g_arch in ("skip", "resnet"), f"model.g_arch must be skip or resnet, not {m.g_arch!r}"),
        (m.attention_res >= 0 and m.shared_dim > 0 and m.w_dim >= 0 and m.mapping_layers >= 1, "model.attention_res and model.w_dim must be >= 0, model.shared_dim and model.mapping_layers >= 1"),
        (not (m.attention_res and m.arch not in ("sagan", "biggan")), f"model.attention_res applies to sagan and biggan, not {m.arch}"),
        (not (m.progressive_from and m.arch not in ("dcgan", "resnet")), f"model.progressive_from (progressive growing) applies to dcgan and resnet, not {m.arch}"),
        (t.grow_every > 0 and t.fade_steps >= 0 and t.fade_steps <= t.grow_every, "train.grow_every must be positive and train.fade_steps between 0 and grow_every"),
        (t.r1_every >= 1 and t.pl_every >= 1 and t.ada_interval >= 1 and t.ada_kimg > 0, "train.r1_every, train.pl_every, train.ada_interval and train.ada_kimg must be positive"),
        (t.pl_weight >= 0 and t.ortho_reg >= 0 and 0 <= t.style_mixing <= 1, "train.pl_weight and train.ortho_reg must be >= 0, train.style_mixing in [0, 1]"),
        (not ((t.pl_weight or t.style_mixing) and m.arch != "stylegan2"), "train.pl_weight and train.style_mixing need model.arch stylegan2"),
        (0 <= t.ada_target < 1, f"train.ada_target must be in [0, 1) (0 = no ADA), not {t.ada_target}"),
        (not (t.ada_target and (not image or t.augment)), "train.ada_target (ADA) needs images and no DiffAugment (train.augment) at the same time"),
    ]


def preset_dict(name: str) -> dict[str, Any]:
    """The nested dict of preset ``name`` (defaults filled in)."""
    if name not in PRESETS:
        raise BrushworkError(f"unknown preset {name!r} (known: {', '.join(sorted(PRESETS))})")
    p = PRESETS[name]
    cfg = GANConfig(name=name, model=ModelConfig(**p["model"]), data=DataConfig(**p["data"]), train=TrainConfig(**p["train"]))
    return cfg.to_dict()


def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """Parse a ``.toml``, ``.yaml``/``.yml`` or ``.json`` file into a dict."""
    p = Path(path)
    if not p.is_file():
        raise BrushworkError(f"{p}: no such config file")
    text = p.read_text(encoding="utf-8", errors="replace")
    try:
        if p.suffix.lower() == ".toml":
            try:
                import tomllib
            except ModuleNotFoundError:  # Python < 3.11
                import tomli as tomllib  # type: ignore[no-redef]
            data = tomllib.loads(text)
        elif p.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        elif p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            raise BrushworkError(f"{p}: config files must end in .toml, .yaml, .yml or .json")
    except BrushworkError:
        raise
    except Exception as exc:  # parser errors of three libraries
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BrushworkError(f"{p}: cannot parse config ({first})") from None
    if not isinstance(data, dict):
        raise BrushworkError(f"{p}: a config file must hold a table of keys")
    return data


def merge_dicts(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Deep merge: ``update``'s values replace ``base``'s, nested dicts merged key by key (copies)."""
    out = copy.deepcopy(base)
    for k, v in update.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge_dicts(out[k], v)
        else:
            out[k] = v
    return out


def parse_override(text: str) -> dict[str, Any]:
    """``"train.steps=100"`` -> ``{"train": {"steps": 100}}`` (value parsed as YAML: numbers, bools, lists)."""
    import yaml

    if "=" not in text:
        raise BrushworkError(f"--set {text!r}: expected section.key=value")
    key, raw = text.split("=", 1)
    parts = key.strip().split(".")
    if len(parts) != 2 or not all(parts):
        raise BrushworkError(f"--set {text!r}: key must be section.key (model.*, data.*, train.*)")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    if isinstance(value, str):  # YAML 1.1 reads "1e-3" as a string
        try:
            value = float(value)
        except ValueError:
            pass
    return {parts[0]: {parts[1]: value}}


def resolve_config(*, preset: str | None = None, file: str | os.PathLike | None = None, overrides: typing.Sequence[dict[str, Any]] = ()) -> GANConfig:
    """Preset -> file -> overrides, validated. The file may name its own ``preset``."""
    data: dict[str, Any] = {}
    file_data = read_config_file(file) if file else {}
    base_preset = preset or file_data.pop("preset", None)
    if file_data.get("preset") is not None:
        file_data.pop("preset")
    if base_preset is None and not file_data:
        raise BrushworkError("give a preset (--preset NAME) or a config file (--config FILE)")
    if base_preset is not None:
        if not isinstance(base_preset, str):
            raise BrushworkError("config: preset must be a string")
        data = preset_dict(base_preset)
    data = merge_dicts(data, file_data)
    if file and "name" not in file_data:
        data["name"] = Path(file).stem
    for o in overrides:
        data = merge_dicts(data, o)
    return config_from_dict(data)
