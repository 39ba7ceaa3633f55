"""The options of one feed-forward style training run (``fast`` or ``adain``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..bounds import check_float, check_int, check_types
from ..config import ConfigBase, checked, require
from .fast import preset

_INT_LOW = {"recon_steps": -10**9, "seed": 0, "ckpt_every": 0, "sample_every": 0, "log_every": 0}


@dataclass
class FFTrainConfig(ConfigBase):
    """Options of one training run (stored in ``run.json``; a resumed run reuses them).

    Attributes:
        kind: ``fast`` or ``adain``.
        content: folder (or zip) of content images.
        style: one style image (``fast``) or a folder of style images (``adain``).
        preset: fast-network preset (``light`` / ``johnson``); ignored for AdaIN.
        width: AdaIN decoder channel multiplier (1.0 = the paper's).
        bundled_photos: also train on scikit-image's bundled photos.
        size: side of the square training crops in px.
        style_size: long side of the style image for a fast network's Gram targets.
        batch_size, steps, lr: Adam on batches of ``batch_size`` crops for ``steps`` steps.
        content_weight, style_weight, tv_weight: loss weights.
        recon_steps: AdaIN only: the first ``recon_steps`` steps train the decoder as an
            autoencoder (the identity loss alone), as Li et al.'s universal style transfer
            decoders are trained: a decoder that inverts the encoder keeps the content's
            structure, which a short (CPU) run of the AdaIN losses alone never reaches.
        identity_weight: AdaIN only: weight of the identity loss (the decoder rebuilding the
            content from its own ``relu4_1`` features: relative pixel plus feature error, as
            in Park & Lee's SANet) added to every AdaIN step; it keeps the decoder an
            inverter while it learns to paint (0 = the paper's loss).
        backbone: VGG loss network / encoder (recorded in the model).
        amp: bfloat16 autocast for the forward passes (CPU with AMX or CUDA).
        half: store the model's weights as float16.
    """

    error_prefix = "training options: "

    kind: str
    content: str
    style: str
    preset: str = "light"
    width: float = 1.0
    bundled_photos: bool = False
    size: int = 256
    style_size: int = 384
    batch_size: int = 4
    steps: int = 2000
    lr: float = 1e-3
    content_weight: float = 1.0
    style_weight: float = 5.0
    tv_weight: float = 1.0
    recon_steps: int = 0
    identity_weight: float = 0.0
    backbone: str = "vgg16-hed"
    seed: int = 0
    ckpt_every: int = 200
    sample_every: int = 100
    log_every: int = 10
    amp: bool = False
    half: bool = True

    def validate(self) -> "FFTrainConfig":
        """Check types and ranges (ConfigError naming the field, one line); returns ``self``."""
        checked("", check_types, self, "")
        for name in ("steps", "batch_size", "style_size", "recon_steps", "seed", "ckpt_every", "sample_every", "log_every"):
            checked(name, check_int, getattr(self, name), name, _INT_LOW.get(name, 1), 10**9)
        checked("lr", check_float, self.lr, "lr", 0, 1, lo_open=True)
        checked("width", check_float, self.width, "width", 0.1, 2.0)
        for name in ("content_weight", "style_weight", "tv_weight", "identity_weight"):
            checked(name, check_float, getattr(self, name), name, -1e9, 1e9)  # signs: below
        require([
            (self.kind in ("fast", "adain"), "kind", f"kind must be fast or adain, not {self.kind!r}"),
            (32 <= self.size <= 1024, "size", f"size must be between 32 and 1024 px, not {self.size}"),
            (min(self.content_weight, self.style_weight, self.tv_weight) >= 0, "style_weight", "loss weights (content_weight, style_weight, tv_weight) must not be negative"),
            (self.recon_steps >= 0, "recon_steps", "recon_steps must not be negative"),
            (self.identity_weight >= 0, "identity_weight", "identity_weight must not be negative"),
            (self.recon_steps == self.identity_weight == 0 or self.kind == "adain", "recon_steps", "recon_steps and identity_weight apply to AdaIN decoders only"),
        ])
        if self.kind == "fast":
            checked("preset", preset, self.preset)
        return self
