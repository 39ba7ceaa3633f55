"""Mode-collapse metrics for 2-D Gaussian mixtures (VEEGAN, Srivastava et al. 2017; PacGAN, Lin et al. 2018).

Protocol: generate 2,500 samples; assign each to its nearest mode centre; a sample is
*high quality* when its distance to that centre is at most 3 standard deviations; a mode is
*captured* when at least one high-quality sample is assigned to it; the *reverse KL* is
``KL(p || uniform)`` where ``p`` is the histogram of the high-quality samples over modes.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

EVAL_SAMPLES = 2500


@dataclass
class MixtureScores:
    """``modes``: modes captured; ``high_quality``: fraction of samples within 3 std (0..1);
    ``reverse_kl``: nats, ``None`` when no sample is high quality; ``counts``: high-quality
    samples per mode; ``n``: samples scored."""

    modes: int
    high_quality: float
    reverse_kl: float | None
    counts: list[int]
    n: int

    def to_dict(self) -> dict:
        """JSON-able dict."""
        return asdict(self)


def mixture_scores(samples: torch.Tensor, centers: torch.Tensor, std: float, *, radius: float = 3.0) -> MixtureScores:
    """Score ``samples`` ``(N, 2)`` against mode ``centers`` ``(K, 2)`` with per-mode ``std``.

    ``radius`` is the high-quality threshold in standard deviations (3 in the papers).
    """
    x = samples.detach().double().cpu()
    c = centers.double().cpu()
    dist = torch.cdist(x, c)  # (N, K)
    d, nearest = dist.min(dim=1)
    hq = d <= radius * std
    counts = torch.bincount(nearest[hq], minlength=len(c))
    n_hq = int(hq.sum())
    if n_hq == 0:
        rkl = None
    else:
        p = counts.double() / n_hq
        nz = p > 0
        rkl = float((p[nz] * torch.log(p[nz] * len(c))).sum())
    return MixtureScores(int((counts > 0).sum()), n_hq / max(1, len(x)), rkl, counts.tolist(), len(x))


def summarize(values: list[float | None]) -> dict[str, float | None]:
    """Mean and standard error (``std / sqrt(n)``, sample std) of the non-``None`` values."""
    v = [float(a) for a in values if a is not None]
    if not v:
        return {"mean": None, "stderr": None, "n": 0}
    mean = sum(v) / len(v)
    var = sum((a - mean) ** 2 for a in v) / (len(v) - 1) if len(v) > 1 else 0.0
    return {"mean": mean, "stderr": math.sqrt(var / len(v)), "n": len(v)}
