"""GAN run configuration: the three sections ``model``, ``data`` and ``train`` on the config
base (:mod:`brushwork.config`), their validation, and the named presets.

Presets are files, ``brushwork/presets/gan/<name>.toml`` (what their numbers come from:
docs/experiments/gan-presets.md). A config file may start from a preset
(``preset = "dcgan-digits"``) and override any field; unknown keys and values of the wrong
type raise :class:`~brushwork.errors.ConfigError` naming the dotted key.
"""

from __future__ import annotations

import os
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import ConfigBase, merge_dicts, parse_override as _parse_dotted, preset_data, preset_names, read_config_file
from ..errors import BrushworkError, ConfigError

__all__ = ["GAN_ARCHS", "LOSSES", "DATASETS", "ModelConfig", "DataConfig", "TrainConfig", "GANConfig", "PRESETS", "config_from_dict",
           "validate", "family_checks", "preset_dict", "read_config_file", "merge_dicts", "parse_override", "resolve_config"]

GAN_ARCHS = ("mlp", "dcgan", "resnet", "sagan", "biggan", "stylegan2")
LOSSES = ("minimax", "nonsat", "lsgan", "wgan", "wgan-gp", "hinge")
DATASETS = ("digits", "ring", "grid", "folder")


@dataclass
class ModelConfig(ConfigBase):
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
    # GAN families: self-attention resolution (sagan / biggan; 0 = none), BigGAN's
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
class DataConfig(ConfigBase):
    """Training data: ``digits`` (scikit-learn, resized to ``img_size``), ``ring`` / ``grid``
    (2-D mixtures, ``n_points`` fixed training points), or ``folder`` (``path``: a folder or
    .zip of images, centre-cropped and resized to ``img_size``, ``channels`` 1 or 3)."""

    dataset: str = "digits"
    path: str = ""
    img_size: int = 32
    channels: int = 3
    n_points: int = 100_000


@dataclass
class TrainConfig(ConfigBase):
    """Optimisation: loss, steps (generator updates), batch (global, across processes),
    ``n_critic`` D steps per G step, TTUR learning rates, Adam betas and eps, penalties
    (``gp_weight`` for wgan-gp, ``r1_gamma`` for R1, ``clip`` for wgan), EMA of G
    (``ema_decay`` 0 = off), DiffAugment ``augment`` policy (comma list of
    translation, cutout, color), ``lr_decay`` none|linear, seed, and the intervals
    (in G steps) for logs, sample grids, diagnostics and checkpoints. ``fid_every`` > 0
    logs FID/KID of ``fid_samples`` samples in feature space ``fid_features`` (inception,
    vgg16-hed or classifier:PATH) against the training folder (folder data sets only)."""

    loss: str = "nonsat"
    steps: int = field(default=2000, metadata={"help": "Total generator steps (shortcut for --set train.steps=N)."})
    batch_size: int = field(default=64, metadata={"aliases": ("--batch",), "help": "Global batch size (split over torchrun processes)."})
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
    seed: int = field(default=0, metadata={"help": "Random seed."})
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
    # GAN families: lazy R1 (every r1_every D steps, scaled up to match), path-length
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
class GANConfig(ConfigBase):
    """A whole run: ``name`` (preset or file it came from) and the three sections."""

    name: str = "custom"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def validate(self) -> "GANConfig":
        """Choices and ranges (see :func:`validate`); returns ``self``."""
        validate(self)
        return self


def validate(cfg: GANConfig) -> None:
    """Check choices and ranges that types alone do not catch."""
    from .bounds import check_ranges

    check_ranges(cfg)  # every number in its range first: the checks below divide and compare
    m, d, t = cfg.model, cfg.data, cfg.train
    checks = [
        (m.arch in GAN_ARCHS, f"model.arch must be one of {', '.join(GAN_ARCHS)}, not {m.arch!r}"),
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
            raise _config_error(message)
    for op in filter(None, (p.strip() for p in t.augment.split(","))):
        if op not in ("translation", "cutout", "color"):
            raise ConfigError("train.augment", f"config: train.augment: unknown operation {op!r} (translation, cutout, color)")


def _config_error(message: str) -> ConfigError:
    """A ConfigError for ``message``, its field the first dotted key it names."""
    key = re.search(r"\b(?:model|data|train)\.\w+", message)
    return ConfigError(key.group(0) if key else "", f"config: {message}")


def family_checks(cfg: GANConfig) -> list[tuple[bool, str]]:
    """(ok, message) checks of the GAN-family options (families, regularisers, growing, ADA)."""
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


PRESETS: dict[str, dict[str, Any]] = {name: preset_data("gan", name) for name in preset_names("gan")}
"""The named presets (``presets/gan/<name>.toml``): the keys each sets over the defaults."""


def config_from_dict(d: dict[str, Any]) -> GANConfig:
    """Build and validate a :class:`GANConfig` from a nested dict (unknown keys / bad types raise)."""
    return GANConfig.from_dict(d)


def preset_dict(name: str) -> dict[str, Any]:
    """The nested dict of preset ``name`` (defaults filled in)."""
    return GANConfig.from_dict({"name": name, **preset_data("gan", name)}, validate=False).to_dict()


def parse_override(text: str) -> dict[str, Any]:
    """``"train.steps=100"`` -> ``{"train": {"steps": 100}}`` (value parsed as YAML: numbers, bools, lists)."""
    if "=" in text and len(text.split("=", 1)[0].strip().split(".")) != 2:
        raise BrushworkError(f"--set {text!r}: key must be section.key (model.*, data.*, train.*)")
    return _parse_dotted(text, depth=2)


def resolve_config(*, preset: str | None = None, file: str | os.PathLike | None = None, overrides: typing.Sequence[dict[str, Any]] = ()) -> GANConfig:
    """Preset -> file -> overrides, validated. The file may name its own ``preset``."""
    file_data = read_config_file(file) if file else {}
    named = file_data.pop("preset", None)
    base_preset = preset or named
    if base_preset is None and not file_data:
        raise BrushworkError("give a preset (--preset NAME) or a config file (--config FILE)")
    if base_preset is not None and not isinstance(base_preset, str):
        raise BrushworkError("config: preset must be a string")
    data = preset_dict(base_preset) if base_preset is not None else {}
    data = merge_dicts(data, file_data)
    if file and "name" not in file_data:
        data["name"] = Path(file).stem
    for o in overrides:
        data = merge_dicts(data, o)
    return config_from_dict(data)
