"""The options of one feed-forward style training run (``fast`` or ``adain``)."""

from __future__ import annotations

from dataclasses import dataclass, field

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

    kind: str = field(metadata={"cli": False})
    content: str = field(metadata={"cli": False})
    style: str = field(metadata={"cli": False})
    preset: str = field(default="light", metadata={"choices": ("light", "johnson"), "help": "Network size (fast networks)."})
    width: float = field(default=1.0, metadata={"help": "Decoder channel multiplier (0.5: a light decoder)."})
    bundled_photos: bool = field(default=False, metadata={"help": "Also train on scikit-image's bundled photos."})
    size: int = field(default=256, metadata={"help": "Side of the square random training crops in px."})
    style_size: int = field(default=384, metadata={"cli": False})
    batch_size: int = field(default=4, metadata={"aliases": ("--batch",), "help": "Crops per training step."})
    steps: int = field(default=2000, metadata={"cli": False})
    lr: float = field(default=1e-3, metadata={"help": "Adam learning rate."})
    content_weight: float = field(default=1.0, metadata={"help": "Weight of the content loss."})
    style_weight: float = field(default=5.0, metadata={"help": "Weight of the style loss."})
    tv_weight: float = field(default=1.0, metadata={"help": "Weight of the total-variation loss."})
    recon_steps: int = field(default=0, metadata={"help": "First train the decoder this many steps as an autoencoder of the content (keeps structure in short runs)."})
    identity_weight: float = field(default=0.0, metadata={"help": "Weight of the identity loss (the decoder rebuilding the content) added to every AdaIN step."})
    backbone: str = field(default="vgg16-hed", metadata={"help": "VGG loss network / encoder (recorded in the model)."})
    seed: int = field(default=0, metadata={"help": "Random seed."})
    ckpt_every: int = field(default=200, metadata={"help": "Checkpoint (and save the model) every N steps."})
    sample_every: int = field(default=100, metadata={"flag": "--preview-every", "help": "Write preview images every N steps."})
    log_every: int = field(default=10, metadata={"cli": False})
    amp: bool = field(default=False, metadata={"cli": False})
    half: bool = field(default=True, metadata={"cli": False})

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
