"""Universal style transfer by whitening and colouring transforms (Li et al., 2017).

At each VGG level, deepest first, the content features ``f`` (``C`` channels, ``N`` positions)
are whitened with their own covariance and coloured with the style's:

    f_cs = S^(1/2) C^(-1/2) (f - m_c) + m_s

(``C``, ``m_c``: content covariance and mean; ``S``, ``m_s``: the style's), blended with ``f`` by
``alpha`` and decoded back to an image by the level's reconstruction decoder
(:mod:`brushwork.style.decoders`); the decoded image is encoded again for the next, shallower
level. The matrix square roots come from eigendecompositions of the ``C x C`` covariances in
float64, with a regulariser ``eps`` (relative to the mean eigenvalue) added to the diagonal so
that a singular covariance (a flat style or content) never fails; the transform itself is one
``C x C`` matrix applied to all positions at once.

Several styles blend through the covariance and mean of their mixture (``weights``); a mask
confines two styles to its inside (1) and outside (0), or one style to its inside with the
content kept outside, each region whitened with its own statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from ..backbones.vgg import VGGFeatures
from ..errors import BrushworkError
from .decoders import Decoders, level_index
from .tiling import run_tiled

DEFAULT_EPS = 1e-5


@dataclass(frozen=True)
class Stats:
    """Mean ``(C, 1)`` and covariance ``(C, C)`` of features, float64."""

    mean: torch.Tensor
    cov: torch.Tensor


def feature_stats(feat: torch.Tensor, mask: torch.Tensor | None = None) -> Stats:
    """Channel mean and covariance of features ``(C, H, W)`` (or ``(1, C, H, W)``), optionally
    weighted by ``mask`` ``(1, H, W)`` in [0, 1]. The products run in float32 on centred features
    (bfloat16 features are cast up), the result is float64."""
    f = feat.reshape(feat.shape[-3], -1).float()
    if mask is None:
        mean = f.mean(dim=1, keepdim=True)
        fc = f - mean
        cov = fc @ fc.T / max(1, f.shape[1])
    else:
        w = mask.reshape(1, -1).float().to(f.device)
        w = w / w.sum().clamp_min(1e-8)
        mean = (f * w).sum(dim=1, keepdim=True)
        fc = f - mean
        cov = (fc * w) @ fc.T
    return Stats(mean.double(), cov.double())


def sqrtm(cov: torch.Tensor, eps: float = DEFAULT_EPS, inverse: bool = False) -> torch.Tensor:
    """Symmetric square root (or inverse square root) of a covariance ``(C, C)`` by eigendecomposition
    in float64, after adding ``eps`` times its mean eigenvalue (plus a tiny floor) to the diagonal."""
    c = cov.double()
    c = (c + c.T) / 2
    reg = eps * float(torch.diagonal(c).mean().clamp_min(0)) + 1e-12
    vals, vecs = torch.linalg.eigh(c + reg * torch.eye(c.shape[0], dtype=c.dtype, device=c.device))
    vals = vals.clamp_min(reg)
    d = vals.rsqrt() if inverse else vals.sqrt()
    return (vecs * d) @ vecs.T


def whiten(feat: torch.Tensor, eps: float = DEFAULT_EPS) -> torch.Tensor:
    """Features ``(C, H, W)`` with zero mean and (nearly) identity covariance."""
    s = feature_stats(feat)
    f = feat.reshape(feat.shape[0], -1).double()
    return (sqrtm(s.cov, eps, inverse=True) @ (f - s.mean)).reshape(feat.shape).to(feat.dtype)


def color(white: torch.Tensor, style: Stats, eps: float = DEFAULT_EPS) -> torch.Tensor:
    """Whitened features ``(C, H, W)`` given the style's covariance and mean."""
    f = white.reshape(white.shape[0], -1).double()
    return (sqrtm(style.cov, eps) @ f + style.mean).reshape(white.shape).to(white.dtype)


def affine(content: Stats, style: Stats, eps: float = DEFAULT_EPS) -> tuple[torch.Tensor, torch.Tensor]:
    """``(T, b)`` with ``T f + b`` the whitening-colouring transform of features ``f`` ``(C, N)``."""
    t = sqrtm(style.cov, eps) @ sqrtm(content.cov, eps, inverse=True)
    return t, style.mean - t @ content.mean


def apply_affine(feat: torch.Tensor, t: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``T f + b`` for features ``(C, H, W)``, computed in float32 (one matrix product)."""
    c = feat.shape[-3]
    f = feat.reshape(c, -1).float()
    return torch.addmm(b.float(), t.float(), f).reshape(feat.shape)


def blend(stats: Sequence[Stats], weights: Sequence[float] | None = None) -> Stats:
    """Mean and covariance of the mixture of several styles' features with ``weights`` (default equal)."""
    weights = list(weights) if weights is not None else [1.0] * len(stats)
    if len(weights) != len(stats):
        raise BrushworkError(f"{len(stats)} style(s) but {len(weights)} style weight(s)")
    total = float(sum(weights))
    if total <= 0 or any(w < 0 for w in weights):
        raise BrushworkError("style weights must be non-negative and not all zero")
    if len(stats) == 1:
        return stats[0]
    ws = [w / total for w in weights]
    mean = sum(w * s.mean for w, s in zip(ws, stats))
    second = sum(w * (s.cov + s.mean @ s.mean.T) for w, s in zip(ws, stats))
    return Stats(mean, second - mean @ mean.T)  # type: ignore[operator]


def transform(feat: torch.Tensor, styles: Sequence[Stats], *, alpha: float = 1.0, weights: Sequence[float] | None = None,
              mask: torch.Tensor | None = None, keep: torch.Tensor | None = None, content: Stats | None = None,
              eps: float = DEFAULT_EPS) -> torch.Tensor:
    """WCT of one level's features ``(C, H, W)`` with the styles' statistics at that level.

    Args:
        alpha: 0 returns ``feat``, 1 is full style.
        weights: blend of several styles (no mask).
        mask: ``(1, H, W)`` in [0, 1]: two styles inside / outside, or one style inside and ``keep``
            (default ``feat``) outside; each region whitened with its own statistics.
        content: the content's statistics when already known (tiles share the whole image's).
    """
    if alpha == 0:
        return feat
    if mask is None:
        t, b = affine(content or feature_stats(feat), blend(styles, weights), eps)
        out = apply_affine(feat, t, b)
    else:
        if len(styles) not in (1, 2):
            raise BrushworkError(f"a mask needs one style (inside) or two (inside, outside), not {len(styles)}")
        m = mask.float()
        inside = apply_affine(feat, *affine(feature_stats(feat, m), styles[0], eps))
        outside = apply_affine(feat, *affine(feature_stats(feat, 1 - m), styles[1], eps)) if len(styles) == 2 else (feat if keep is None else keep).float()
        out = m * inside + (1 - m) * outside
    return alpha * out + (1 - alpha) * feat.float()


BORDER = 16
"""Px of reflection added around the image at every level and cropped off after decoding, so the
encoder's zero padding never makes the border look like an edge (no bands along the borders)."""


def _pad(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """``x`` ``(C, H, W)`` reflected by :func:`_border` px on every side, then replicated on the
    right and bottom up to a multiple of ``multiple`` (cropped off after decoding)."""
    h, w = x.shape[-2:]
    b = _border(h, w)
    ph, pw = (-(h + 2 * b)) % multiple, (-(w + 2 * b)) % multiple
    if b:
        x = F.pad(x[None], (b, b, b, b), mode="reflect")[0]
    return F.pad(x[None], (0, pw, 0, ph), mode="replicate")[0] if ph or pw else x


def _border(h: int, w: int) -> int:
    return min(BORDER, h - 1, w - 1)


def min_style_side(levels: Sequence[str]) -> int:
    """Smallest style-image side the levels need: 2 x 2 feature positions at the deepest."""
    return 2 ** level_index(max(levels, key=level_index))


def style_stats(encoder: VGGFeatures, styles: Sequence[torch.Tensor], levels: Sequence[str]) -> list[dict[str, Stats]]:
    """Per style image ``(3, h, w)``, the :class:`Stats` at each level (one encoder pass each).

    Raises:
        BrushworkError: a style image is smaller than the deepest level needs.
    """
    need = min_style_side(levels)
    out = []
    for s in styles:
        if min(s.shape[-2:]) < need:
            raise BrushworkError(f"style image {s.shape[-1]}x{s.shape[-2]} px is too small for wct: it needs at least {need} px on each side")
        feats = encoder(s[None], list(levels))
        out.append({name: feature_stats(feats[name][0]) for name in levels})
    return out


def _tiled_stats(encoder: VGGFeatures, image: torch.Tensor, layer: str, tile: int) -> Stats:
    """Content statistics of ``image`` at ``layer`` accumulated over non-overlapping tiles."""
    _, h, w = image.shape
    count, total, second = 0, 0.0, 0.0
    for y in range(0, h, tile):
        for x in range(0, w, tile):
            piece = _pad(image[:, y : y + tile, x : x + tile], 2 ** (level_index(layer) - 1))
            f = encoder(piece[None], [layer])[layer][0].reshape(encoder.channels(layer), -1).double()
            count, total, second = count + f.shape[1], total + f.sum(1, keepdim=True), second + f @ f.T
    mean = total / count
    return Stats(mean, second / count - mean @ mean.T)


def stylize(encoder: VGGFeatures, decoders: Decoders, content: torch.Tensor, stats: Sequence[dict[str, Stats]], *,
            levels: Sequence[str] | None = None, alpha: float = 1.0, weights: Sequence[float] | None = None,
            mask: torch.Tensor | None = None, tile: int = 0, eps: float = DEFAULT_EPS) -> torch.Tensor:
    """Multi-level WCT of ``content`` ``(3, H, W)`` in [0, 1] with the styles' :func:`style_stats`.

    Args:
        levels: the levels to run (default: every level of ``decoders``), run deepest first.
        mask: ``(1, H, W)``; see :func:`transform` (outside a one-style mask the content is kept).
        tile: process each level in tiles of this many px (0: whole image); the tiles share the
            whole image's statistics.

    Returns ``(3, H, W)`` in [0, 1].
    """
    if not 0.0 <= alpha <= 1.0:
        raise BrushworkError(f"alpha must be between 0 and 1, not {alpha}")
    if not stats:
        raise BrushworkError("wct needs at least one style image")
    if mask is not None and tile:
        raise BrushworkError("a mask cannot be combined with tiling; use a size cap (--size) instead")
    order = sorted(levels or decoders.layers, key=level_index, reverse=True)
    x = content.float()
    for layer in order:
        dec = decoders[layer]
        scale = 2 ** (level_index(layer) - 1)
        styles = [s[layer] for s in stats]
        if tile:
            whole = _tiled_stats(encoder, x, layer, tile)
            fn: Callable[[torch.Tensor], torch.Tensor] = lambda t, L=layer, d=dec, st=styles, s=scale, c=whole: _level(encoder, d, t, L, s, st, alpha, weights, None, None, c, eps)  # noqa: E731
            x = run_tiled(fn, x, tile)
        else:
            keep = None
            if mask is not None and len(styles) == 1:
                keep = encoder(_pad(content.float(), scale)[None], [layer])[layer][0]
            x = _level(encoder, dec, x, layer, scale, styles, alpha, weights, mask, keep, None, eps)
    return x


def _level(encoder: VGGFeatures, dec, x: torch.Tensor, layer: str, scale: int, styles: list[Stats], alpha: float,
           weights: Sequence[float] | None, mask: torch.Tensor | None, keep: torch.Tensor | None, content: Stats | None, eps: float) -> torch.Tensor:
    """One level: encode ``x`` ``(3, H, W)``, transform, decode, crop back and clamp."""
    h, w = x.shape[-2:]
    b = _border(h, w)
    f = encoder(_pad(x, scale)[None], [layer])[layer][0]
    m = None
    if mask is not None:
        m = F.interpolate(_pad(mask.float(), scale)[None], size=f.shape[-2:], mode="area")[0]
    t = transform(f, styles, alpha=alpha, weights=weights, mask=m, keep=keep, content=content, eps=eps)
    return dec(t[None].to(f.dtype))[0, :, b : b + h, b : b + w].float().clamp(0, 1)
