"""The optimiser's pixel-space colour-distribution loss."""

from __future__ import annotations

import pytest
import torch

from brushwork.errors import BrushworkError
from brushwork.metrics.color import color_distance
from brushwork.style.losses import ColorDistributionLoss
from brushwork.style.optimize import StyleOptions


def _two_colours(h=16, w=16):
    img = torch.zeros(3, h, w)
    img[:, :, : w // 2] = torch.tensor([0.1, 0.3, 0.35]).view(3, 1, 1)  # dark teal
    img[:, :, w // 2:] = torch.tensor([0.9, 0.7, 0.2]).view(3, 1, 1)  # ochre
    return img


def test_zero_for_the_style_itself_and_positive_elsewhere():
    style = _two_colours()
    loss = ColorDistributionLoss([style], [1.0])
    assert float(loss(style[None])) == pytest.approx(0.0, abs=1e-10)
    assert float(loss(torch.full((1, 3, 16, 16), 0.5))) > 0.1


def test_descent_moves_the_palette_to_the_style():
    torch.manual_seed(0)
    style = _two_colours()
    x = (0.6 + 0.05 * torch.randn(1, 3, 24, 24)).clamp(0, 1).requires_grad_(True)
    before = color_distance(x.detach()[0], style)
    loss = ColorDistributionLoss([style], [1.0], seed=1)
    opt = torch.optim.Adam([x], lr=0.02)
    for _ in range(150):
        loss.resample()
        opt.zero_grad()
        loss(x).backward()
        opt.step()
        with torch.no_grad():
            x.clamp_(0, 1)
    assert color_distance(x.detach()[0], style) < 0.25 * before


def test_masked_region_only_counts_inside():
    style = _two_colours()
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., :8, :] = 1
    image = style.clone()[None]
    image[..., 8:, :] = 0.5  # outside the mask: ignored
    assert float(ColorDistributionLoss([style], [1.0], mask)(image)) == pytest.approx(0.0, abs=1e-10)


def test_negative_color_weight_is_refused():
    with pytest.raises(BrushworkError):
        StyleOptions(color_weight=-1.0).validate()


def test_default_objective_is_pinned():
    """The optimiser's default loss terms and layers; change them on purpose, with the measurements."""
    o = StyleOptions()
    assert (o.style_loss, o.style_layers, o.style_layer_weights, o.content_layers) == (
        "gram", ("relu1_1", "relu2_1", "relu3_1", "relu4_1"), None, ("relu3_1", "relu4_1"))
    assert (o.content_weight, o.style_weight, o.tv_weight, o.color_weight) == (0.2, 1.0, 0.5, 1.0)
    assert (o.init, o.optimizer, o.lr, o.ema_decay, o.iterations, o.initial_iterations, o.min_size) == (
        "content", "adam", 0.02, 0.9, 16, 120, 128)
