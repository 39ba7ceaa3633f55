"""VGG16/VGG19 feature extractor with named layers (``relu1_1`` ... ``relu5_4``).

Takes RGB images in ``[0, 1]`` of shape ``(N, 3, H, W)`` and applies the input
convention of its weights itself (Caffe BGR minus mean for ``vgg16-hed``, ImageNet
mean/std for torchvision's weights). A call runs only as deep as the deepest layer
it asks for. Parameters follow torchvision's key layout (``features.N.weight``), so
torchvision state dicts load directly.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import torch
from torch import nn

from .. import weights as weights_registry
from ..errors import BrushworkError
from ..models.pretrained import Pretrained

_CFG = {
    "vgg16": [2, 2, 3, 3, 3],
    "vgg19": [2, 2, 4, 4, 4],
}
_CHANNELS = [64, 128, 256, 512, 512]
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def layer_names(arch: str) -> list[str]:
    """Names of every stage in order: ``conv1_1, relu1_1, ..., pool5``."""
    names = []
    for block, n in enumerate(_CFG[arch], start=1):
        for i in range(1, n + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return names


class VGGFeatures(Pretrained, nn.Module):
    """VGG convolutional trunk returning a dict of named activations (hub kind ``backbone``).

    Args:
        arch: ``"vgg16"`` or ``"vgg19"``.
        pooling: ``"max"`` (as trained) or ``"avg"`` (Gatys et al.'s smoother variant).
        normalization: ``"caffe"`` or ``"imagenet"`` (see module docstring).
    """

    kind = "backbone"

    def __init__(self, arch: str = "vgg16", pooling: str = "max", normalization: str = "imagenet") -> None:
        super().__init__()
        if arch not in _CFG:
            raise BrushworkError(f"unknown VGG architecture {arch!r}; use vgg16 or vgg19")
        if pooling not in ("max", "avg"):
            raise BrushworkError(f"pooling must be 'max' or 'avg', not {pooling!r}")
        if normalization not in ("caffe", "imagenet"):
            raise BrushworkError(f"normalization must be 'caffe' or 'imagenet', not {normalization!r}")
        self.arch, self.pooling, self.normalization = arch, pooling, normalization
        self.names = layer_names(arch)
        layers: list[nn.Module] = []
        in_ch = 3
        for block, n in enumerate(_CFG[arch]):
            for _ in range(n):
                layers += [nn.Conv2d(in_ch, _CHANNELS[block], 3, padding=1), nn.ReLU()]
                in_ch = _CHANNELS[block]
            layers.append(nn.MaxPool2d(2, 2) if pooling == "max" else nn.AvgPool2d(2, 2))
        self.features = nn.Sequential(*layers)
        if normalization == "caffe":
            mean, std = torch.tensor(_CAFFE_MEAN_BGR) / 255.0, torch.full((3,), 1 / 255.0)
        else:
            mean, std = torch.tensor(_IMAGENET_MEAN), torch.tensor(_IMAGENET_STD)
        self.register_buffer("mean", mean.view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", std.view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    @property
    def config(self) -> dict[str, str]:
        """The constructor arguments: ``{"arch", "pooling", "normalization"}``."""
        return {"arch": self.arch, "pooling": self.pooling, "normalization": self.normalization}

    def set_padding(self, mode: str) -> "VGGFeatures":
        """Padding of every convolution: ``"zeros"`` (as trained) or ``"replicate"``.

        Replicate padding keeps the image border from looking like a black frame
        to the network, which otherwise paints dark seams along the edges of an
        optimised image. Returns self.
        """
        if mode not in ("zeros", "replicate", "reflect"):
            raise BrushworkError(f"padding must be zeros, replicate or reflect, not {mode!r}")
        for m in self.features:
            if isinstance(m, nn.Conv2d):
                m.padding_mode = mode
        return self

    def channels(self, layer: str) -> int:
        """Number of channels of the named layer (``relu3_1`` -> 256)."""
        return _CHANNELS[int(layer[4]) - 1]

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """RGB [0, 1] -> the network's input convention."""
        if self.normalization == "caffe":
            x = x.flip(1)  # RGB -> BGR; mean/std are stored in BGR order, scaled by 1/255
        return (x - self.mean) / self.std

    def forward(self, x: torch.Tensor, layers: list[str] | tuple[str, ...]) -> dict[str, torch.Tensor]:
        """Activations of ``layers`` for images ``x`` of shape ``(N, 3, H, W)``, RGB in [0, 1]."""
        unknown = [name for name in layers if name not in self.names]
        if unknown:
            raise BrushworkError(f"unknown VGG layer(s) {', '.join(unknown)} for {self.arch}")
        wanted = set(layers)
        last = max(self.names.index(name) for name in layers)
        out: dict[str, torch.Tensor] = {}
        h = self.normalize(x).contiguous(memory_format=torch.channels_last)  # about 2x faster convs on CPU
        for i, (name, module) in enumerate(zip(self.names, self.features)):
            h = module(h)
            if name in wanted:
                out[name] = h
            if i == last:
                break
        return out


def _repooled(model: VGGFeatures, pooling: str) -> VGGFeatures:
    """A copy of ``model`` with ``pooling`` instead of its own (same weights)."""
    other = VGGFeatures(model.arch, pooling=pooling, normalization=model.normalization)
    other.features.load_state_dict(model.features.state_dict())
    other.backbone, other.provenance = model.backbone, model.provenance
    return other


def _infer_arch(state: dict[str, torch.Tensor], path: Path) -> str:
    n_convs = sum(1 for k in state if k.startswith("features.") and k.endswith(".weight"))
    for arch, cfg in _CFG.items():
        if n_convs == sum(cfg):
            return arch
    raise BrushworkError(f"{path}: expected torchvision VGG keys (features.N.weight) for 13 or 16 convolutions, found {n_convs}")


def _load_into(model: VGGFeatures, state: dict[str, torch.Tensor], path: Path) -> None:
    features = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    try:
        model.features.load_state_dict(features, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1].strip() if len(str(exc).splitlines()) > 1 else str(exc)
        raise BrushworkError(f"{path}: weights do not fit {model.arch} ({first})") from None


@functools.lru_cache(maxsize=4)
def _cached_state(path: str, mtime: float) -> dict[str, torch.Tensor]:
    return weights_registry.load_state_dict(path)


def load_vgg(
    backbone: str = "vgg16-hed",
    weights: str | os.PathLike | None = None,
    *,
    pooling: str = "max",
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> VGGFeatures:
    """Build a VGG feature extractor with real weights.

    Args:
        backbone: a registry name (``vgg16-hed``, ``vgg19-imagenet``, ``vgg16-imagenet``),
            the path of a local ``.pth`` / ``.safetensors`` file in torchvision's
            VGG layout (architecture inferred from its keys, ImageNet normalisation), or a
            hub model folder of kind ``backbone`` (its own normalisation).
        weights: local file to use instead of the registry's (``--weights PATH``).
        pooling: ``"max"`` or ``"avg"``.
        device: where the model lives.
    """
    if backbone in weights_registry.REGISTRY:
        spec = weights_registry.get_spec(backbone)
        if spec.arch not in _CFG:
            raise BrushworkError(f"{backbone} is not a VGG backbone")
        path = weights_registry.resolve(backbone, weights, progress=progress)
        normalization = spec.normalization
    else:
        path = Path(backbone)
        if path.is_dir():  # a hub model folder of kind backbone
            from ..models import load

            model = load(path, kind="backbone")
            if pooling != model.pooling:
                model = _repooled(model, pooling)
            return model.to(device=device, memory_format=torch.channels_last)
        if not path.is_file():
            known = ", ".join(n for n, s in weights_registry.REGISTRY.items() if s.arch in _CFG)
            raise BrushworkError(f"unknown backbone {backbone!r}: use one of {known} or a .pth/.safetensors file")
        normalization = "imagenet"
    state = _cached_state(str(path), os.path.getmtime(path))
    model = VGGFeatures(_infer_arch(state, path), pooling=pooling, normalization=normalization)
    _load_into(model, state, path)
    return model.to(device=device, memory_format=torch.channels_last)
