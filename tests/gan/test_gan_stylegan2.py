"""StyleGAN2-style generator: modulation / demodulation against the grouped-convolution
definition, noise inputs, truncation in W, style mixing (API and CLI), path length."""

import json

import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from brushwork.cli import main
from brushwork.gan.config import ModelConfig
from brushwork.gan.models import build_generator
from brushwork.gan.models.stylegan2 import ModulatedConv, modulated_conv2d
from brushwork.gan.regularizers import PathLength


def grouped_reference(x, weight, styles, demodulate):
    """The paper's form: a per-sample weight w'_oik = w_oik s_i (/ sqrt(sum w'^2)), as a grouped conv."""
    n, cin, h, w = x.shape
    wts = weight[None] * styles[:, None, :, None, None]  # (N, O, I, k, k)
    if demodulate:
        wts = wts / torch.sqrt(wts.square().sum(dim=(2, 3, 4), keepdim=True) + 1e-8)
    out = F.conv2d(x.reshape(1, n * cin, h, w), wts.reshape(-1, cin, *weight.shape[2:]), padding=weight.shape[-1] // 2, groups=n)
    return out.reshape(n, -1, h, w)


@pytest.mark.parametrize("demodulate", [True, False])
@pytest.mark.parametrize("kernel", [1, 3])
def test_modulated_conv_matches_grouped_definition(demodulate, kernel):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 5, 6, 6, generator=g)
    weight = torch.randn(4, 5, kernel, kernel, generator=g)
    styles = torch.rand(3, 5, generator=g) * 2 + 0.1
    got = modulated_conv2d(x, weight, styles, demodulate)
    assert torch.allclose(got, grouped_reference(x, weight, styles, demodulate), atol=1e-5)


def test_modulated_conv_layer_shapes_and_demodulated_scale():
    torch.manual_seed(0)
    layer = ModulatedConv(16, 8, 3, w_dim=12, up=True)
    x, w = torch.randn(64, 16, 8, 8), torch.randn(64, 12)
    out = layer(x, w)
    assert out.shape == (64, 8, 16, 16)
    # demodulation restores unit scale for unit-variance inputs whatever the style magnitude
    big = layer(x, w * 50)
    assert 0.5 < out[:, :, 2:-2, 2:-2].std() < 1.5 and 0.5 < big[:, :, 2:-2, 2:-2].std() < 1.5


def _generator(**kw):
    torch.manual_seed(0)
    return build_generator(ModelConfig(arch="stylegan2", z_dim=8, g_width=4, **kw), (3, 16, 16))


@pytest.mark.parametrize("g_arch", ["skip", "resnet"])
def test_noise_truncation_and_mixing(g_arch):
    G = _generator(g_arch=g_arch)
    for m in G.modules():
        if hasattr(m, "noise_strength"):
            m.noise_strength.data.fill_(0.5)
    z, z2 = torch.randn(4, 8), torch.randn(4, 8)
    G.train()
    assert not torch.equal(G(z), G(z))  # fresh noise in training
    assert G.mapping.w_avg.abs().sum() > 0  # and w_avg follows the mapped w
    G.eval()
    w_avg = G.mapping.w_avg.clone()
    assert torch.equal(G(z), G(z)) and torch.equal(G.mapping.w_avg, w_avg)  # constant noise, no update in eval
    assert G.num_ws == 2 + 2 * 2
    assert torch.equal(G.mix(z, z2, None, G.num_ws), G(z))
    assert torch.equal(G.mix(z, z2, None, 0), G(z2))
    mixed = G.mix(z, z2, None, 3)
    assert not torch.allclose(mixed, G(z)) and not torch.allclose(mixed, G(z2))
    w = G.mapping(z)
    assert torch.allclose(G.truncate(w, 1.0), w)
    flat = G.synthesis(G.broadcast(G.truncate(w, 0.0)))
    assert torch.allclose(flat, flat[:1].expand_as(flat), atol=1e-6)  # psi = 0: the average image for every z


def test_path_length_penalty_updates_its_mean_and_reaches_g():
    G = _generator()
    pl = PathLength()
    penalty = pl.penalty(G, torch.randn(4, 8), None, torch.Generator().manual_seed(0))
    assert torch.isfinite(penalty) and pl.mean > 0
    penalty.backward()
    assert G.mapping.net[0].weight.grad is not None and G.mapping.net[0].weight.grad.abs().sum() > 0


@pytest.fixture(scope="module")
def style_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    argv = ["gan", "train", "--preset", "stylegan2-digits", "--set", "model.g_width=4", "--set", "model.d_width=4", "--set", "model.z_dim=8",
            "--set", "data.img_size=8", "--batch-size", "8", "--steps", "3", "--threads", "1", "--quiet", "--out", str(out), "--name", "s"]
    assert main(argv) == 0
    return out / "s"


def test_sample_cli_mix_and_truncation(style_run, tmp_path, capsys):
    from brushwork.gan.sample import load_generator, mix, sample

    assert main(["gan", "sample", str(style_run), "--mix", "1", "2", "--mix-layer", "3", "-o", str(tmp_path / "m.png"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["mix_layer"] == 3
    with Image.open(tmp_path / "m.png") as im:
        assert im.size == (3 * 10 + 2, 10 + 2)  # A, B, mix: 8 px tiles
    gen = load_generator(style_run)
    trio = mix(gen, 1, 2, layer=gen.G.num_ws)
    assert torch.allclose(trio[2], trio[0]) and torch.allclose(trio[0], sample(gen, 1, seed=1)[0])
    assert torch.allclose(mix(gen, 1, 2, layer=0)[2], trio[1])
    flat = sample(gen, 4, seed=3, truncation=0.0)
    assert torch.allclose(flat, flat[:1].expand_as(flat), atol=1e-6)
    assert not torch.allclose(sample(gen, 4, seed=3, truncation=0.7), sample(gen, 4, seed=3))


@pytest.mark.parametrize("extra,match", [
    (["--mix", "1", "2", "--mix-layer", "99"], "--mix-layer must be between 0 and 4"),
    (["--mix-layer", "2"], "--mix-layer needs --mix"),
    (["--truncation", "-1"], "must be >= 0"),
])
def test_sample_cli_bad_input(style_run, tmp_path, capsys, extra, match):
    assert main(["gan", "sample", str(style_run), "-o", str(tmp_path / "x.png"), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0], err
    assert not (tmp_path / "x.png").exists()
