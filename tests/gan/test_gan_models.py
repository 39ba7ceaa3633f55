"""Shapes and gradients of every GAN model family and option."""

import pytest
import torch

from brushwork.errors import BrushworkError
from brushwork.gan.config import ModelConfig
from brushwork.gan.models import build_discriminator, build_generator
from brushwork.gan.models.layers import MinibatchStd, pack


CASES = [
    # (arch, sample_shape, extra config)
    ("mlp", (1, 28, 28), dict(g_hidden=[128, 128, 100], d_hidden=[128, 128])),
    ("mlp", (2,), dict(z_dim=2, g_hidden=[16] * 4, d_hidden=[8] * 3, g_batchnorm=True, maxout=5, output="linear")),
    ("dcgan", (1, 16, 16), dict(g_width=8, d_width=8)),
    ("dcgan", (3, 32, 32), dict(g_width=8, d_width=8)),
    ("dcgan", (3, 64, 64), dict(g_width=4, d_width=4, spectral_norm=True, d_batchnorm=False)),
    ("resnet", (3, 32, 32), dict(g_width=8, d_width=8, spectral_norm=True)),
    ("resnet", (3, 64, 64), dict(g_width=4, d_width=4, spectral_norm=True)),
    ("resnet", (3, 128, 128), dict(g_width=4, d_width=4, spectral_norm=True)),
]


def _check_grads(module: torch.nn.Module) -> None:
    grads = [p.grad for p in module.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize("arch,shape,extra", CASES)
@pytest.mark.parametrize("conditional", [False, True])
def test_shapes_and_gradients(arch, shape, extra, conditional):
    torch.manual_seed(0)
    cfg = ModelConfig(arch=arch, z_dim=extra.pop("z_dim", 16), conditional=conditional, **extra)
    G = build_generator(cfg, shape, num_classes=10)
    D = build_discriminator(cfg, shape, num_classes=10)
    z = torch.randn(4, cfg.z_dim)
    y = torch.randint(0, 10, (4,)) if conditional else None
    x = G(z, y)
    assert x.shape == (4, *shape)
    if G.output == "tanh":
        assert x.abs().max() <= 1
    if G.output == "sigmoid":
        assert 0 <= x.min() and x.max() <= 1
    logits = D(x, y)
    assert logits.shape == (4,)
    logits.sum().backward()
    _check_grads(G)
    _check_grads(D)


def test_conditional_generator_depends_on_class():
    torch.manual_seed(0)
    cfg = ModelConfig(arch="resnet", z_dim=8, g_width=8, d_width=8, conditional=True)
    G = build_generator(cfg, (3, 16, 16), num_classes=3)
    with torch.no_grad():  # make the class embedding matter
        for block in G.blocks:
            block.norm1.norm.beta.weight.normal_()
    G.eval()
    z = torch.randn(2, 8)
    a = G(z, torch.tensor([0, 0]))
    b = G(z, torch.tensor([1, 1]))
    assert not torch.allclose(a, b)


@pytest.mark.parametrize("arch,shape", [("mlp", (2,)), ("dcgan", (1, 16, 16)), ("resnet", (3, 16, 16))])
def test_packing_and_minibatch_std(arch, shape):
    cfg = ModelConfig(arch=arch, z_dim=4, g_width=4, d_width=4, d_hidden=[8], pack=2, minibatch_std=True, output="linear")
    D = build_discriminator(cfg, shape)
    x = torch.randn(8, *shape, requires_grad=True)
    out = D(x)
    assert out.shape == (4,)
    out.sum().backward()
    assert x.grad.abs().sum() > 0


def test_pack_joins_consecutive_samples():
    x = torch.arange(12.0).view(6, 2)
    assert pack(x, 3).tolist() == [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]]
    with pytest.raises(ValueError):
        pack(x, 4)


def test_minibatch_std_value():
    x = torch.tensor([[0.0, 0.0], [2.0, 4.0]])  # group of 2: std per feature 1 and 2 -> mean 1.5
    out = MinibatchStd(group_size=2)(x)
    assert out.shape == (2, 3)
    assert torch.allclose(out[:, 2], torch.tensor([1.5, 1.5]), atol=1e-4)


def test_packed_conditional_is_refused():
    with pytest.raises(BrushworkError):
        build_discriminator(ModelConfig(arch="dcgan", pack=2, conditional=True), (3, 32, 32), num_classes=10)


@pytest.mark.parametrize("size", [12, 48, 256, 4])
def test_image_size_the_model_cannot_make(size):
    with pytest.raises(BrushworkError, match="powers of two"):
        build_generator(ModelConfig(arch="dcgan"), (3, size, size))
