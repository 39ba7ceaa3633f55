"""VGG feature extractor: layer names, partial runs, normalisation, agreement with a plain reference."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from brushwork.backbones.vgg import VGGFeatures, layer_names
from brushwork.errors import BrushworkError


def _torchvision_style(cfg: list) -> nn.Sequential:
    """The torchvision VGG ``features`` trunk, written independently from its well-known config."""
    layers, c = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=True)]
            c = v
    return nn.Sequential(*layers)


VGG19_CFG = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]


def test_layer_names():
    names = layer_names("vgg19")
    assert names[:3] == ["conv1_1", "relu1_1", "conv1_2"] and "relu5_4" in names and names[-1] == "pool5"
    assert "relu5_4" not in layer_names("vgg16") and "relu5_3" in layer_names("vgg16")


def test_matches_plain_torchvision_trunk_with_imagenet_normalisation():
    torch.manual_seed(0)
    ref = _torchvision_style(VGG19_CFG).eval()
    model = VGGFeatures("vgg19", normalization="imagenet")
    model.features.load_state_dict(ref.state_dict())
    x = torch.rand(2, 3, 32, 32)
    normed = (x - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        expected_relu3_4 = ref[:18](normed)  # torchvision index 17 is relu3_4
        out = model(x, ["relu3_4", "relu1_1"])
    assert torch.allclose(out["relu3_4"], expected_relu3_4, atol=1e-5)
    assert out["relu1_1"].shape == (2, 64, 32, 32)


def test_caffe_normalisation_is_bgr_255_minus_mean():
    model = VGGFeatures("vgg16", normalization="caffe")
    x = torch.rand(1, 3, 4, 4)
    expected = x.flip(1) * 255 - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    assert torch.allclose(model.normalize(x), expected, atol=1e-4)


def test_only_needed_layers_run():
    model = VGGFeatures("vgg16")
    ran = []
    for i, m in enumerate(model.features):
        m.register_forward_hook(lambda mod, inp, out, i=i: ran.append(i))
    model(torch.rand(1, 3, 16, 16), ["relu2_1"])
    assert max(ran) == model.names.index("relu2_1")


def test_average_pooling_and_errors():
    assert isinstance(VGGFeatures("vgg16", pooling="avg").features[4], nn.AvgPool2d)
    with pytest.raises(BrushworkError, match="unknown VGG layer"):
        VGGFeatures("vgg16")(torch.rand(1, 3, 8, 8), ["relu5_4"])
    with pytest.raises(BrushworkError):
        VGGFeatures("vgg11")
