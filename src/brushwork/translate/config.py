"""The typed configuration of a translation run, saved inside every checkpoint."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..bounds import check_float, check_int, check_types
from ..config import ConfigBase, checked, require
from .networks import patch_layers_for, resnet_blocks_for, unet_depth_for

MODELS = ("cyclegan", "pix2pix")
GAN_LOSSES = ("lsgan", "vanilla")
BIG = 10**9
LEGACY = {"d_layers": 3, "input_skip": False}  # what configs saved without these keys were trained with


@dataclass
class TranslateConfig(ConfigBase):
    """Everything that defines a CycleGAN or pix2pix run; defaults follow the papers.

    ``steps`` counts generator updates (one D update each); the learning rate is constant for
    the first ``decay_from`` fraction of them, then falls linearly towards 0 (CycleGAN's
    100 + 100 epochs). ``load_size`` > ``size`` adds random-crop jitter (pix2pix: 286 -> 256);
    ``None`` means ``size * 9 // 8``. ``n_blocks`` / ``unet_depth`` of ``None`` pick the papers'
    values for ``size`` (6 / 9 ResNet blocks; a U-Net down to 1x1). ``gan_loss`` of ``None``
    is least squares for CycleGAN and the cross-entropy (vanilla) loss for pix2pix. ``d_layers``
    (PatchGAN depth) of ``None`` picks the paper's 3 (70 px patches) for images of 70 px and up
    and fewer, smaller patches below (:func:`~.networks.patch_layers_for`). ``input_skip`` gives
    CycleGAN's ResNet generators the input at their last layer (see :mod:`.networks`: without it
    they cannot see an image's mean colour or contrast). ``amp``:
    ``bf16`` runs forward passes under bfloat16 autocast (weights, optimiser and losses stay
    float32), ``off`` does not, ``auto`` picks bf16 on CUDA and, for CycleGAN, on CPUs with AMX
    matrix units (measured there: ~1.7x on the ResNet trunk at 64 px; the U-Net's small deep
    layers run slower in bf16 on the CPU).
    """

    error_prefix = "translation config: "
    legacy_defaults = LEGACY

    model: str = field(default="cyclegan", metadata={"choices": MODELS, "flag": "--arch", "aliases": ("--model",), "help": "cyclegan (two unpaired folders) or pix2pix (aligned pairs)."})
    size: int = 64
    load_size: int | None = None
    flip: bool = True
    steps: int = 2000
    batch_size: int = field(default=1, metadata={"min": 1, "help": "Images per step (1, as the papers)."})
    lr: float = 2e-4
    beta1: float = 0.5
    decay_from: float = 0.5
    ngf: int = 64
    ndf: int = 64
    n_blocks: int | None = None
    d_layers: int | None = None
    input_skip: bool = True
    unet_depth: int | None = None
    dropout: float = 0.5
    gan_loss: str | None = None
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5
    lambda_l1: float = 100.0
    pool_size: int = 50
    seed: int = field(default=0, metadata={"help": "Random seed."})
    fused: bool = True
    amp: str = field(default="auto", metadata={"choices": ("auto", "bf16", "off"), "help": "bfloat16 autocast (auto: CUDA, and CycleGAN on CPUs with AMX)."})
    ckpt_every: int = field(default=500, metadata={"min": 1, "help": "Checkpoint every N steps (may change on --resume)."})
    sample_every: int = 250
    log_every: int = 50
    keep_checkpoints: int = 2

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> "TranslateConfig":
        """Check every field and fill the ``None`` ones with the papers' values; returns ``self``."""
        self._check_numbers()
        require([(self.model in MODELS, "model", f"model must be one of {', '.join(MODELS)}, not {self.model!r}")])
        self.load_size = self.load_size or self.size * 9 // 8
        self.n_blocks = self.n_blocks if self.n_blocks is not None else resnet_blocks_for(self.size)
        self.unet_depth = self.unet_depth or unet_depth_for(self.size)
        self.d_layers = self.d_layers or patch_layers_for(self.size)
        self.gan_loss = self.gan_loss or ("lsgan" if self.model == "cyclegan" else "vanilla")
        multiple = 4 if self.model == "cyclegan" else max(8, 2**self.unet_depth)
        require([
            (self.size >= 32 and self.size % multiple == 0, "size", f"size must be at least 32 and a multiple of {multiple} for {self.model}, not {self.size}"),  # the PatchGAN needs 32 px
            (self.load_size >= self.size, "load_size", f"load_size {self.load_size} is smaller than size {self.size}"),
            (self.gan_loss in GAN_LOSSES, "gan_loss", f"gan_loss must be one of {', '.join(GAN_LOSSES)}, not {self.gan_loss!r}"),
            (self.amp in ("auto", "bf16", "off"), "amp", f"amp must be auto, bf16 or off, not {self.amp!r}"),
            (self.d_layers in (1, 2, 3), "d_layers", f"d_layers must be 1, 2 or 3, not {self.d_layers!r}"),
        ] + [(getattr(self, name) >= 1, name, f"{name} must be at least 1, not {getattr(self, name)}") for name in ("steps", "batch_size", "ngf", "ndf")])
        return self

    def _check_numbers(self) -> None:
        """Types and ranges of every field (BrushworkError, one line) before anything uses them."""
        checked("", check_types, self, "translation config: ")
        ints = {"size": (-BIG, 1024), "load_size": (-BIG, 2048), "steps": (-BIG, BIG), "batch_size": (-BIG, 4096), "ngf": (-BIG, 1024),
                "ndf": (-BIG, 1024), "n_blocks": (0, 64), "d_layers": (-BIG, BIG), "unet_depth": (1, 10), "pool_size": (0, 100_000),
                "seed": (0, 2**62), "ckpt_every": (0, BIG), "sample_every": (0, BIG), "log_every": (0, BIG), "keep_checkpoints": (1, 1000)}
        for name, (lo, hi) in ints.items():  # lower ends of -BIG: checked below with their own messages
            if getattr(self, name) is not None:
                checked(name, check_int, getattr(self, name), f"translation config: {name}", lo, hi)
        floats = {"lr": (0, 1, True), "beta1": (0, 0.9999, False), "decay_from": (0, 1, False), "dropout": (0, 0.99, False),
                  "lambda_cycle": (0, 1e6, False), "lambda_identity": (0, 1e6, False), "lambda_l1": (0, 1e6, False)}
        for name, (lo, hi, lo_open) in floats.items():
            checked(name, check_float, getattr(self, name), f"translation config: {name}", lo, hi, lo_open=lo_open)
