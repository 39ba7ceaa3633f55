"""The options of ``brushwork stylize`` beyond :class:`~brushwork.style.optimize.StyleOptions`:
the method and the knobs of the one-pass (feed-forward) methods."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

METHOD_HELP = ("optimize (best, slow); adain or fast: one pass of a feed-forward --model; wct: universal style transfer (packaged decoders); "
               "gram: learned linear transform of the style's Gram matrices (Li et al. 2019, packaged gram-hed); "
               "magenta: Magenta's arbitrary-style network (any STYLE); multistyle26: its 26 built-in styles.")


@dataclass(frozen=True)
class OnePassOptions:
    """Which method stylises, and the settings only the one-pass methods read."""

    method: Literal["optimize", "adain", "fast", "wct", "gram", "magenta", "multistyle26"] = field(default="optimize", metadata={"help": METHOD_HELP})
    model: str | None = field(default=None, metadata={"help": "Model folder (or packaged model name) for --method adain/fast [adain: the packaged adain-light]."})
    alpha: float = field(default=1.0, metadata={"help": "AdaIN content-style trade-off (0 = content, 1 = full style)."})
    tile: int = field(default=0, metadata={"min": 0, "help": "adain/fast: process in tiles of N px (0: whole image)."})
    variety: float = field(default=0.0, metadata={"help": "gram: 0 to 1, how far --seed perturbs the style transform (0: deterministic)."})
    style_index: str | None = field(default=None, metadata={"help": "multistyle26: built-in style 0-25, or a mix such as 3:0.7,12:0.3."})
