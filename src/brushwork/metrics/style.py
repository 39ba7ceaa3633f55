"""Style-transfer distances: how far an output is from its content photo and from its style.

All three are computed on VGG activations (``vgg16-hed`` by default, offline):

* content distance: LPIPS-like, but unlearned: at each of ``CONTENT_LAYERS``,
  unit-normalise the channel vector at every position, take the squared
  difference, sum over channels, average over positions; then average over
  layers (LPIPS's learned per-channel weights are all 1 here). 0 = identical
  features; in practice below ~1.
* Gram distance: at each of ``STYLE_LAYERS``, the relative Frobenius error
  ``|G_out - G_style| / |G_style|`` of the Gram matrices (mean outer product over
  positions); averaged over layers. Scale-free.
* sliced Wasserstein: at each of ``STYLE_LAYERS``, the Wasserstein-2 distance
  between the two sets of per-position feature vectors projected on
  ``projections`` seeded random unit directions (sorted projections, quantiles
  matched by linear interpolation), divided by the style features' RMS;
  averaged over layers. Matches whole distributions, not only second moments.

ArtFID (Wright & Ommer 2022) is ``(1 + LPIPS(output, content)) * (1 + FID(outputs, styles))``.
Here the unlearned content distance above stands in for LPIPS (LPIPS's weights
are not available offline), and FID uses the TF-FID Inception, so it is
reported only where those weights are present.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..data.files import decode
from ..errors import BrushworkError
from .extract import source_refs

CONTENT_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")
STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")


@dataclass(frozen=True)
class StyleMetrics:
    """Mean style-transfer distances over ``n`` (output, content, style) triples.

    ``fid`` (outputs vs style images, Inception) and ``artfid`` are ``None`` where
    the Inception weights are absent; ``note`` says what stands in for what.
    """

    content_distance: float
    gram_distance: float
    sliced_wasserstein: float
    fid: float | None
    artfid: float | None
    features: str
    n: int
    note: str


def content_distance(out: dict[str, torch.Tensor], content: dict[str, torch.Tensor]) -> float:
    """LPIPS-like unlearned distance between activation dicts ``{layer: (1, C, H, W)}`` (same layers, shapes)."""
    total = 0.0
    for layer, a in out.items():
        b = content[layer]
        na = a / (a.norm(dim=1, keepdim=True) + 1e-10)
        nb = b / (b.norm(dim=1, keepdim=True) + 1e-10)
        total += float((na - nb).pow(2).sum(dim=1).mean())
    return total / len(out)


def _gram(feat: torch.Tensor) -> torch.Tensor:
    f = feat[0].flatten(1).double()
    return f @ f.T / f.shape[1]


def gram_distance(out: dict[str, torch.Tensor], style: dict[str, torch.Tensor]) -> float:
    """Mean over layers of ``|G_out - G_style|_F / |G_style|_F`` for ``{layer: (1, C, H, W)}`` dicts."""
    total = 0.0
    for layer, a in out.items():
        gs = _gram(style[layer])
        total += float((_gram(a) - gs).norm() / gs.norm().clamp_min(1e-12))
    return total / len(out)


def sliced_wasserstein(out: dict[str, torch.Tensor], style: dict[str, torch.Tensor], *,
                       projections: int = 64, seed: int = 0) -> float:
    """Mean over layers of the sliced W2 distance between per-position features, over the style's RMS.

    Feature maps may differ in size: the sorted projections of the style are
    resampled (linear interpolation of quantiles) to the output's count.
    """
    gen = torch.Generator().manual_seed(seed)
    total = 0.0
    for layer, a in out.items():
        fa = a[0].flatten(1).double()  # (C, HW)
        fs = style[layer][0].flatten(1).double()
        dirs = torch.randn(fa.shape[0], projections, generator=gen, dtype=torch.float64)
        dirs = dirs / dirs.norm(dim=0, keepdim=True)
        pa = (dirs.T @ fa).sort(dim=1).values
        ps = (dirs.T @ fs).sort(dim=1).values
        if ps.shape[1] != pa.shape[1]:
            ps = F.interpolate(ps[None], size=pa.shape[1], mode="linear", align_corners=True)[0]
        rms = fs.pow(2).mean().sqrt().clamp_min(1e-12)
        total += float((pa - ps).pow(2).mean().sqrt() / rms)
    return total / len(out)


def paired_refs(outputs: str | os.PathLike, others: str | os.PathLike, label: str, n: int) -> list:
    """The ``n`` images of ``others`` paired with the outputs: one per output (sorted by name), or one for all."""
    refs = source_refs(others)
    if len(refs) == 1:
        return refs * n
    if len(refs) != n:
        raise BrushworkError(f"{others}: has {len(refs)} {label} images for {n} outputs; give one {label} image "
                             f"or one per output (paired in sorted order of file names)")
    return refs


def style_metrics(
    outputs: str | os.PathLike,
    contents: str | os.PathLike,
    styles: str | os.PathLike,
    *,
    backbone: str = "vgg16-hed",
    size: int = 256,
    device: str | torch.device = "cpu",
    inception_weights: str | os.PathLike | None = None,
    batch_size: int = 8,
    progress: bool = False,
) -> StyleMetrics:
    """Distances of stylised ``outputs`` to their ``contents`` and ``styles``.

    Args:
        outputs: folder, zip or image file of stylised images.
        contents: their content images: one per output (paired in sorted order) or a single image.
        styles: their style images: one per output or a single image.
        backbone: VGG weights for the distances (``vgg16-hed`` offline, or ``vgg19-imagenet`` ...).
        size: every image is resized to ``size x size`` px (antialiased) before VGG.
        inception_weights: local Inception file for the ArtFID part (else the cached one, if any).

    Raises:
        BrushworkError: unpairable inputs, unreadable images, missing VGG weights.
    """
    from ..backbones.vgg import load_vgg

    out_refs = source_refs(outputs)
    content_refs = paired_refs(outputs, contents, "content", len(out_refs))
    style_refs = paired_refs(outputs, styles, "style", len(out_refs))
    vgg = load_vgg(backbone, device=device, progress=False)
    content_d, gram_d, sw_d = _vgg_distances(vgg, out_refs, content_refs, style_refs, size=size, device=device, progress=progress)
    n = len(out_refs)
    note = "content distance is an unlearned LPIPS-like VGG distance, used in place of LPIPS in ArtFID"
    fid, why = _style_fid(outputs, styles, n, inception_weights=inception_weights, device=device,
                          batch_size=batch_size, progress=progress)
    artfid = None if fid is None else (1 + content_d) * (1 + fid)
    note += f"; {why}" if why else ""
    return StyleMetrics(content_distance=content_d, gram_distance=gram_d, sliced_wasserstein=sw_d, fid=fid,
                       artfid=artfid, features=backbone, n=n, note=note)


def _vgg_distances(vgg, out_refs: list, content_refs: list, style_refs: list, *, size: int,
                   device: str | torch.device, progress: bool) -> tuple[float, float, float]:
    """Mean content distance, Gram distance and sliced Wasserstein distance over the triples."""
    from tqdm import tqdm

    layers = sorted(set(CONTENT_LAYERS) | set(STYLE_LAYERS), key=vgg.names.index)

    def acts(ref):
        image = decode(ref)  # raises BrushworkError for an unreadable file: pairs must stay aligned
        x = F.interpolate(image[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        with torch.inference_mode():
            return vgg(x.clamp(0, 1).to(device), layers)

    single = {}  # a single content or style image is run through VGG once
    for refs in (content_refs, style_refs):
        if len(out_refs) > 1 and refs[0] is refs[-1]:
            single[refs[0].name] = acts(refs[0])

    sums = [0.0, 0.0, 0.0]
    for o_ref, c_ref, s_ref in tqdm(list(zip(out_refs, content_refs, style_refs)), desc="style", unit="img",
                                    disable=not progress, leave=False):
        o = acts(o_ref)
        c = single.get(c_ref.name) or acts(c_ref)
        s = single.get(s_ref.name) or acts(s_ref)
        sums[0] += content_distance({k: o[k] for k in CONTENT_LAYERS}, c)
        sums[1] += gram_distance({k: o[k] for k in STYLE_LAYERS}, s)
        sums[2] += sliced_wasserstein({k: o[k] for k in STYLE_LAYERS}, s)
    n = len(out_refs)
    return sums[0] / n, sums[1] / n, sums[2] / n


def _style_fid(outputs: str | os.PathLike, styles: str | os.PathLike, n: int, *, inception_weights: str | os.PathLike | None,
               device: str | torch.device, batch_size: int, progress: bool) -> tuple[float | None, str]:
    """FID of the outputs against the style images, and a note (why there is none, or its bias)."""
    from .evaluate import EvalOptions, fid_between

    try:
        options = EvalOptions(features="inception", weights=inception_weights, device=device,
                              batch_size=batch_size, progress=progress)
        options.extractor()
    except BrushworkError as exc:
        return None, f"no FID/ArtFID: {exc}"
    if len(source_refs(styles)) < 2 or n < 2:
        return None, "no FID/ArtFID: FID needs at least 2 outputs and 2 style images"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result, _ = fid_between(outputs, styles, options, allow_singular=True)
    if result.singular:
        return result.fid, "FID on no more images than its 2048 feature dimensions is biased upward (degenerate covariance)"
    return result.fid, ""
