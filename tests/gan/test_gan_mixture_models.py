"""Random Fourier input features of the mixture models (D on x, G on z): values, shapes, gradients, state."""

import math

import pytest
import torch

from brushwork.gan.config import resolve_config
import torch.nn.functional as F

from brushwork.gan.models import build_discriminator, build_generator
from brushwork.gan.models.mlp import FourierFeatures, MLPDiscriminator, MLPGenerator


def test_fourier_features_values():
    torch.manual_seed(0)
    f = FourierFeatures(2, 3, scale=0.5)
    x = torch.tensor([[0.0, 0.0], [1.0, -2.0]])
    b = f.freqs
    want = []
    for row in x.tolist():
        p = [row[0] * b[0, j].item() + row[1] * b[1, j].item() for j in range(3)]
        want.append(row + [math.sin(v) for v in p] + [math.cos(v) for v in p])
    assert torch.allclose(f(x), torch.tensor(want), atol=1e-6)
    assert f.out_dim == 8 and f(x).shape == (2, 8)
    # frequencies are N(0, scale^2) cycles per unit: radians = 2 pi * cycles
    big = FourierFeatures(2, 20_000, scale=0.5)
    assert float((big.freqs / (2 * math.pi)).std()) == pytest.approx(0.5, abs=0.02)


def test_fourier_discriminator_shapes_gradients_and_state():
    torch.manual_seed(0)
    D = MLPDiscriminator((2,), [16, 16], maxout=5, pack=2, fourier=8, fourier_scale=1.0)
    x = torch.randn(12, 2, requires_grad=True)
    out = D(x)
    assert out.shape == (6,)
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    sd = D.state_dict()
    assert "fourier.freqs" in sd and sd["fourier.freqs"].shape == (2, 8)
    E = MLPDiscriminator((2,), [16, 16], maxout=5, pack=2, fourier=8)
    E.load_state_dict(sd)
    assert torch.equal(E(x.detach()), D(x.detach()))


def test_config_builds_a_fourier_discriminator():
    cfg = resolve_config(preset="pacgan-grid", overrides=[{"model": {"d_fourier": 4, "d_fourier_scale": 2.0}}])
    D = build_discriminator(cfg.model, (2,))
    assert D.fourier is not None and D.fourier.freqs.shape == (2, 4)
    plain = build_discriminator(resolve_config(preset="gan-grid").model, (2,))
    assert plain.fourier is None


def test_fourier_generator_feeds_the_features_of_z_to_its_first_layer():
    torch.manual_seed(0)
    G = MLPGenerator(2, [8, 8], (2,), output="linear", fourier=4, fourier_scale=0.5)
    assert G.layers[0].in_features == 2 + 2 * 4
    z = torch.randn(5, 2, requires_grad=True)
    p = z @ G.fourier.freqs
    h = torch.cat([z, torch.sin(p), torch.cos(p)], dim=1)
    for layer in G.layers:
        h = F.relu(layer(h))
    assert torch.allclose(G(z), G.out(h), atol=1e-6)
    G(z).sum().backward()
    assert z.grad.abs().sum() > 0
    H = MLPGenerator(2, [8, 8], (2,), output="linear", fourier=4)
    H.load_state_dict(G.state_dict())
    assert torch.equal(H(z.detach()), G(z.detach()))


def test_grid_preset_builds_a_fourier_generator():
    cfg = resolve_config(preset="pacgan-grid")
    G = build_generator(cfg.model, (2,))
    assert G.fourier is not None and G.fourier.freqs.shape == (2, cfg.model.g_fourier)
    assert build_generator(resolve_config(preset="pacgan-ring").model, (2,)).fourier is None
