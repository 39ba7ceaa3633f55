"""Perceptual losses for style transfer: content, style (Gram or sliced Wasserstein), total variation.

Feature maps have shape ``(1, C, H, W)``. Each loss is normalised by the size of
its target so that per-layer losses are comparable across layers and backbones:
a content or style loss of 1.0 means "as far from the target as zero features".

Style targets may mix several style images (blend weights) and may be spatially
restricted by a mask of shape ``(1, 1, H, W)`` in ``[0, 1]`` at image resolution;
it is resampled to each layer's resolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _mask_at(mask: torch.Tensor | None, feat: torch.Tensor) -> torch.Tensor | None:
    if mask is None:
        return None
    return F.interpolate(mask, size=feat.shape[-2:], mode="area")


def gram_matrix(feat: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """``(1, C, H, W)`` -> ``(C, C)``: mean over (masked) positions of outer products."""
    f = feat[0].flatten(1)
    if mask is None:
        return f @ f.T / f.shape[1]
    w = _mask_at(mask, feat)[0].flatten(1)  # (1, HW)
    return (f * w) @ f.T / w.sum().clamp_min(1e-8)


class ContentLoss(nn.Module):
    """Mean squared feature difference divided by the target's mean square."""

    def __init__(self, target: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("target", target.detach())
        self.scale = float(target.pow(2).mean().clamp_min(1e-8))

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return (feat - self.target).pow(2).mean() / self.scale


class GramStyleLoss(nn.Module):
    """Gatys et al. (2016): squared distance between Gram matrices.

    Args:
        targets: style feature maps ``(1, C, Hi, Wi)``, one per style image.
        weights: blend weights (summing to 1); the target Gram is their weighted mean.
        mask: where the style applies in the output (``None``: everywhere).
    """

    def __init__(self, targets: list[torch.Tensor], weights: list[float], mask: torch.Tensor | None = None) -> None:
        super().__init__()
        target = sum(w * gram_matrix(t.detach()) for t, w in zip(targets, weights))
        self.register_buffer("target", target)
        self.scale = float(target.pow(2).mean().clamp_min(1e-8))
        self.mask = mask

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return (gram_matrix(feat, self.mask) - self.target).pow(2).mean() / self.scale


def _blend_samples(targets: list[torch.Tensor], weights: list[float], n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` feature vectors ``(C, n)`` from the weighted mixture of the targets' positions.

    Each target contributes ``round(weight * n)`` positions drawn without
    replacement (all of them, in random order, when it has no more than that),
    so a single style image whose positions all fit is represented exactly.
    """
    parts = []
    counts = [round(w * n) for w in weights]
    counts[-1] = n - sum(counts[:-1])
    for t, k in zip(targets, counts):
        f = t[0].flatten(1)
        if k <= 0:
            continue
        reps = [torch.randperm(f.shape[1], generator=generator) for _ in range(-(-k // f.shape[1]))]
        parts.append(f[:, torch.cat(reps)[:k].to(f.device)])
    return torch.cat(parts, dim=1)


class SlicedWassersteinStyleLoss(nn.Module):
    """Sliced Wasserstein-2 distance between feature distributions (Heitz et al., 2021).

    Features at every position are projected on ``n_projections`` random unit
    directions; the sorted projections of the output are compared with the
    quantiles of the style's. Unlike Gram matrices this matches the whole
    distribution of features, not only its second moments, which gives crisper
    brush strokes. Directions are redrawn with :meth:`resample` (every step for Adam);
    above ``max_positions`` feature positions, each call compares a fresh random
    subset of them (an unbiased estimate that keeps the sorting cheap).
    """

    def __init__(
        self,
        targets: list[torch.Tensor],
        weights: list[float],
        mask: torch.Tensor | None = None,
        n_projections: int | None = None,
        seed: int = 0,
        max_positions: int = 4096,
    ) -> None:
        super().__init__()
        self.generator = torch.Generator().manual_seed(seed)
        channels = targets[0].shape[1]
        self.max_positions = max_positions
        n_samples = min(max_positions, max(t[0, 0].numel() for t in targets))
        self.register_buffer("samples", _blend_samples([t.detach() for t in targets], weights, n_samples, self.generator))
        self.n_projections = n_projections or channels
        self.scale = float(self.samples.pow(2).mean().clamp_min(1e-8))
        self.mask = mask
        self.resample()

    def resample(self) -> None:
        """Draw new random projection directions (and re-sort the target along them)."""
        c = self.samples.shape[0]
        dirs = torch.randn(c, self.n_projections, generator=self.generator).to(self.samples)
        self.directions = dirs / dirs.norm(dim=0, keepdim=True)
        self.target_sorted = (self.directions.T @ self.samples).sort(dim=1).values  # (P, M)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        f = feat[0].flatten(1)  # (C, HW)
        mask = _mask_at(self.mask, feat)
        if mask is not None:
            keep = mask.flatten() > 0.5
            if not bool(keep.any()):
                return feat.sum() * 0
            f = f[:, keep]
        if f.shape[1] > self.max_positions:  # an unbiased random subset keeps the sort cheap at large sizes
            idx = torch.randperm(f.shape[1], generator=self.generator)[: self.max_positions].to(f.device)
            f = f[:, idx]
        proj = (self.directions.T @ f).sort(dim=1).values  # (P, n)
        target = self.target_sorted
        if target.shape[1] != proj.shape[1]:
            target = F.interpolate(target[None], size=proj.shape[1], mode="linear", align_corners=True)[0]
        return (proj - target).pow(2).mean() / self.scale


class ColorDistributionLoss(nn.Module):
    """Sliced Wasserstein-2 distance between the output's and the style's pixel colours in OKLab.

    Works in pixel space, where the VGG losses are weakest: a Gram matrix of early features
    constrains colours only through their correlations with texture, so large flat regions (a
    sky) can keep the photo's palette. This term moves the whole distribution of the output's
    colours to the painting's. Style targets blend several images by weight (pixels drawn in
    proportion) and may be masked like the style losses. ``n_projections`` directions in the
    3-D colour space are redrawn by :meth:`resample`; at most ``max_positions`` pixels are
    compared per call (a fresh random subset above that). Normalised by the style colours'
    variance, so 1.0 means "as far as a flat image of the mean colour".
    """

    def __init__(self, styles: list[torch.Tensor], weights: list[float], mask: torch.Tensor | None = None,
                 n_projections: int = 16, seed: int = 0, max_positions: int = 16384) -> None:
        super().__init__()
        from ..colorspace import srgb_to_oklab

        self.to_lab = srgb_to_oklab
        self.generator = torch.Generator().manual_seed(seed)
        self.max_positions, self.n_projections, self.mask = max_positions, n_projections, mask
        labs = [srgb_to_oklab(s.detach().float()[None]) for s in styles]  # (1, 3, h, w) each
        n = min(max_positions, max(t[0, 0].numel() for t in labs))
        self.register_buffer("samples", _blend_samples(labs, weights, n, self.generator))  # (3, n)
        self.scale = float(self.samples.var(dim=1).sum().clamp_min(1e-8))
        self.resample()

    def resample(self) -> None:
        """Draw new projection directions (and re-sort the target along them)."""
        dirs = torch.randn(3, self.n_projections, generator=self.generator).to(self.samples)
        self.directions = dirs / dirs.norm(dim=0, keepdim=True)
        self.target_sorted = (self.directions.T @ self.samples).sort(dim=1).values

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """``image`` ``(1, 3, H, W)`` in [0, 1] -> scalar loss."""
        f = self.to_lab(image.float())[0].flatten(1)  # (3, HW)
        if self.mask is not None:
            keep = _mask_at(self.mask, image).flatten() > 0.5
            if not bool(keep.any()):
                return image.sum() * 0
            f = f[:, keep]
        if f.shape[1] > self.max_positions:
            f = f[:, torch.randperm(f.shape[1], generator=self.generator)[: self.max_positions].to(f.device)]
        proj = (self.directions.T @ f).sort(dim=1).values
        target = self.target_sorted
        if target.shape[1] != proj.shape[1]:
            target = F.interpolate(target[None], size=proj.shape[1], mode="linear", align_corners=True)[0]
        return (proj - target).pow(2).mean() * 3 / self.scale


def relative_mse(x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error divided by the target's mean square (1.0 = as far as zero)."""
    return (x - target).pow(2).mean() / target.detach().pow(2).mean().clamp_min(1e-8)


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Total variation: mean squared difference of neighbouring pixels of ``(N, C, H, W)``."""
    dx = image[..., :, 1:] - image[..., :, :-1]
    dy = image[..., 1:, :] - image[..., :-1, :]
    return dx.pow(2).mean() + dy.pow(2).mean()


STYLE_LOSSES = {"gram": GramStyleLoss, "wasserstein": SlicedWassersteinStyleLoss}
