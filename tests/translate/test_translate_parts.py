"""Translation building blocks: network shapes, the history pool, the losses, data and schedule."""

import math

import pytest
import torch
import torch.nn.functional as F

from brushwork.errors import BrushworkError
from brushwork.translate.base import lr_scale
from brushwork.translate.config import TranslateConfig
from brushwork.translate.data import TranslationData, load_paired, load_unpaired, sample_batch
from brushwork.translate.losses import adv_d, adv_g, l1
from brushwork.translate.networks import PatchDiscriminator, ResnetGenerator, UnetGenerator, patch_layers_for, receptive_field, resnet_blocks_for, unet_depth_for
from brushwork.translate.pool import HistoryPool
from brushwork.translate.synthetic import LUMA, make_task, render
from conftest import write_rgb


# --------------------------------------------------------------------------- networks


@pytest.mark.parametrize("shape", [(2, 3, 32, 32), (1, 3, 36, 44)])
def test_resnet_generator_keeps_shape_and_range(shape):
    g = ResnetGenerator(ngf=4, n_blocks=2)
    y = g(torch.rand(shape) * 2 - 1)
    assert y.shape == shape and y.abs().max() <= 1
    assert sum(isinstance(m, torch.nn.ConvTranspose2d) for m in g.modules()) == 2


def test_paper_resnet_generator_cannot_see_mean_colour_or_contrast_input_skip_can():
    """Instance norm right after the first (linear) convolution, with reflection padding, makes
    the paper's generator blind to a per-image gain and colour offset; the input skip is not."""
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    shifted = 0.5 * x + torch.tensor([0.3, -0.2, 0.1]).view(1, 3, 1, 1)
    torch.manual_seed(0)
    paper, skip = ResnetGenerator(ngf=8, n_blocks=2), ResnetGenerator(ngf=8, n_blocks=2, input_skip=True)
    with torch.no_grad():
        assert (paper(x) - paper(shifted)).abs().max() < 2e-3
        y = skip(x)
        assert y.shape == x.shape and y.abs().max() <= 1 and (y - skip(shifted)).abs().max() > 2e-2
        # the skip feeds the last convolution: its extra input channels act on the input itself
        last = [m for m in skip.modules() if isinstance(m, torch.nn.Conv2d)][-1]
        assert last.in_channels == 8 + 3
        last.weight.zero_()
        last.weight[:, 8:, 3, 3] = torch.eye(3)
        last.bias.zero_()
        torch.testing.assert_close(skip(x), torch.tanh(x))


def test_resnet_blocks_follow_the_paper():
    assert (resnet_blocks_for(64), resnet_blocks_for(128), resnet_blocks_for(256)) == (6, 6, 9)
    g = ResnetGenerator(ngf=2, n_blocks=9)
    assert sum(type(m).__name__ == "ResidualBlock" for m in g.modules()) == 9


def test_unet_shapes_widths_and_dropout():
    assert (unet_depth_for(256), unet_depth_for(512), unet_depth_for(64), unet_depth_for(48)) == (8, 8, 6, 4)
    g = UnetGenerator(ngf=4, depth=8, dropout=0.5)
    convs = [m for m in g.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 8, 16, 32, 32, 32, 32, 32]  # ngf * (1, 2, 4, 8, 8, 8, 8, 8)
    assert sum(isinstance(m, torch.nn.Dropout) for m in g.modules()) == 3  # pix2pix: three inner decoder levels
    y = g.eval()(torch.rand(2, 3, 256, 256) * 2 - 1)
    assert y.shape == (2, 3, 256, 256) and y.abs().max() <= 1
    small = UnetGenerator(ngf=4, depth=5).eval()
    assert small(torch.zeros(1, 3, 64, 96)).shape == (1, 3, 64, 96)


def test_unet_skip_connections_reach_the_output():
    """Every input pixel influences the output at its own position through the outer skip."""
    g = UnetGenerator(ngf=4, depth=4, dropout=0.0)
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    g(x)[0, :, 5, 7].sum().backward()
    assert x.grad[0, :, 5, 7].abs().sum() > 0


@pytest.mark.parametrize("size,channels", [(64, 3), (128, 6)])
def test_patch_discriminator_shape(size, channels):
    d = PatchDiscriminator(channels, ndf=4)
    assert d(torch.rand(2, channels, size, size)).shape == (2, 1, size // 8 - 2, size // 8 - 2)
    strides = [m.stride[0] for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
    assert strides == [2, 2, 2, 1, 1]


@pytest.mark.parametrize("n_layers,field", [(3, 70), (2, 34), (1, 16)])
def test_patchgan_receptive_field(n_layers, field):
    assert receptive_field(n_layers) == field
    # the same layer stack without instance norm (which mixes the whole image): measure it
    d = PatchDiscriminator(3, ndf=2, n_layers=n_layers)
    convs = [m for m in d.net if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == n_layers + 2
    plain = torch.nn.Sequential(*convs)
    x = torch.zeros(1, 3, 160, 160, requires_grad=True)
    out = plain(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = torch.nonzero(x.grad.abs().sum((0, 1, 3)))
    assert rows.max() - rows.min() + 1 == field


def test_patch_layers_suit_the_image_size():
    """The paper's 70 px patches where they fit in the image, smaller ones below."""
    assert [patch_layers_for(s) for s in (32, 48, 64, 70, 128, 256)] == [1, 2, 2, 3, 3, 3]
    assert all(receptive_field(patch_layers_for(s)) <= s for s in range(32, 300, 4))
    assert TranslateConfig(model="cyclegan", size=32).d_layers == 1 and TranslateConfig(model="cyclegan", size=256).d_layers == 3
    assert PatchDiscriminator(3, ndf=2, n_layers=1)(torch.rand(1, 3, 32, 32)).shape == (1, 1, 14, 14)


# --------------------------------------------------------------------------- pool


def test_pool_fills_then_swaps_half_the_time():
    pool = HistoryPool(5, (1, 2, 2))
    g = torch.Generator().manual_seed(0)
    first = torch.arange(5.0).view(5, 1, 1, 1).expand(5, 1, 2, 2).clone()
    assert torch.equal(pool(first, g), first)  # filling: images pass through
    assert int(pool.count) == 5 and torch.equal(pool.images, first)
    swapped = 0
    for i in range(200):
        new = torch.full((1, 1, 2, 2), 100.0 + i)
        before = pool.images.clone()
        out = pool(new, g)
        if torch.equal(out, new):
            assert torch.equal(pool.images, before)
        else:
            swapped += 1
            k = [j for j in range(5) if torch.equal(before[j], out[0])]
            assert len(k) == 1 and torch.equal(pool.images[k[0]], new[0])  # the new one took its place
    assert 70 < swapped < 130


def test_pool_is_deterministic_and_checkpointable():
    def run(pool, seed):
        g = torch.Generator().manual_seed(seed)
        return [pool(torch.full((2, 1, 1, 1), float(i)), g) for i in range(10)]

    a, b = HistoryPool(3, (1, 1, 1)), HistoryPool(3, (1, 1, 1))
    assert all(torch.equal(x, y) for x, y in zip(run(a, 1), run(b, 1)))
    c = HistoryPool(3, (1, 1, 1))
    c.load_state_dict(a.state_dict())
    assert torch.equal(c.images, a.images) and int(c.count) == 3
    z = torch.randn(4, 1, 1, 1)
    assert torch.equal(HistoryPool(0, (1, 1, 1))(z, torch.Generator()), z)


# --------------------------------------------------------------------------- losses


def test_losses_against_torch_functional():
    torch.manual_seed(1)
    real, fake = torch.randn(2, 1, 6, 6), torch.randn(2, 1, 6, 6)
    ones, zeros = torch.ones_like(real), torch.zeros_like(real)
    torch.testing.assert_close(adv_d("lsgan", real, fake), 0.5 * (F.mse_loss(real, ones) + F.mse_loss(fake, zeros)))
    torch.testing.assert_close(adv_g("lsgan", fake), F.mse_loss(fake, ones))
    bce = F.binary_cross_entropy_with_logits
    torch.testing.assert_close(adv_d("vanilla", real, fake), 0.5 * (bce(real, ones) + bce(fake, zeros)))
    torch.testing.assert_close(adv_g("vanilla", fake), bce(fake, ones))
    a, b = torch.rand(2, 3, 4, 4), torch.rand(2, 3, 4, 4)
    torch.testing.assert_close(l1(a, b), F.l1_loss(a, b))
    assert adv_d("lsgan", real.bfloat16(), fake.bfloat16()).dtype == torch.float32


def test_learning_rate_schedule_constant_then_linear():
    cfg = TranslateConfig(model="cyclegan", size=32, steps=10, decay_from=0.5)
    assert [lr_scale(cfg, s) for s in range(6)] == [1.0] * 6
    assert lr_scale(cfg, 9) == pytest.approx(1 - 4 / 6)
    assert all(lr_scale(cfg, s) > lr_scale(cfg, s + 1) > 0 for s in range(5, 9))


def test_config_refuses_bad_values():
    with pytest.raises(BrushworkError, match="multiple of 8"):
        TranslateConfig(model="pix2pix", size=36)
    assert TranslateConfig(model="pix2pix", size=48).unet_depth == 4
    with pytest.raises(BrushworkError, match="model must be one of"):
        TranslateConfig(model="stargan")
    cfg = TranslateConfig(model="pix2pix", size=32)
    assert (cfg.unet_depth, cfg.gan_loss, cfg.load_size) == (5, "vanilla", 36)
    assert TranslateConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(BrushworkError, match="d_layers"):
        TranslateConfig(model="cyclegan", size=32, d_layers=4)
    # a config saved before d_layers / input_skip existed keeps the networks it was trained with
    old = {k: v for k, v in TranslateConfig(model="cyclegan", size=32).to_dict().items() if k not in ("d_layers", "input_skip")}
    legacy = TranslateConfig.from_dict(old)
    assert (legacy.d_layers, legacy.input_skip) == (3, False)


# --------------------------------------------------------------------------- data


def test_renderings():
    a = torch.rand(3, 3, 16, 16)
    luma = torch.einsum("j,njhw->nhw", LUMA, a)
    assert torch.allclose(render("grey", a)[:, 1], luma)
    sepia = render("sepia", a)
    assert (sepia[:, 0] >= sepia[:, 1]).all() and (sepia[:, 1] >= sepia[:, 2]).all()  # warm
    dark = luma < 0.8  # below the red channel's clipping point the toning keeps the brightness
    torch.testing.assert_close(torch.einsum("j,njhw->nhw", LUMA, sepia)[dark], luma[dark])
    torch.testing.assert_close(render("sepia", sepia)[dark.unsqueeze(1).expand_as(a)], sepia[dark.unsqueeze(1).expand_as(a)], atol=1e-5, rtol=0)
    warm = render("warm", a)
    torch.testing.assert_close(warm ** (1 / torch.tensor([0.45, 0.85, 2.0]).view(1, 3, 1, 1)), a)  # invertible
    assert (warm[:, 0] >= a[:, 0]).all() and (warm[:, 2] <= a[:, 2]).all()
    blur = render("blur", a)
    assert blur.std() < a.std() and abs(float(blur.mean() - a.mean())) < 0.01
    assert render("edges", torch.full((1, 3, 8, 8), 0.3)).min() == 1  # flat image: no edges, white


def test_paired_batches_share_crops_and_flips():
    a, b = make_task("sepia", 6, 24, "train")
    data = TranslationData(a, b, paired=True)
    x, y = sample_batch(data, 16, 8, True, torch.Generator().manual_seed(3))
    assert x.shape == y.shape == (8, 3, 16, 16)
    torch.testing.assert_close(render("sepia", (x + 1) / 2) * 2 - 1, y)
    un = TranslationData(a, b, paired=False)
    x, y = sample_batch(un, 16, 8, True, torch.Generator().manual_seed(3))
    assert not torch.allclose(render("sepia", (x + 1) / 2) * 2 - 1, y, atol=1e-3)


def _folder(path, names, shape=(20, 24)):
    path.mkdir()
    for i, n in enumerate(names):
        arr = torch.full((*shape, 3), 20 * i, dtype=torch.uint8).numpy()
        write_rgb(path / n, arr)
    return path


def test_load_paired_and_unpaired(tmp_path):
    a = _folder(tmp_path / "a", ["x.png", "y.png"])
    b = _folder(tmp_path / "b", ["x.jpg", "y.png"])
    data = load_paired(a, b, 16)
    assert data.paired and data.a.shape == data.b.shape == (2, 3, 16, 16)
    c = _folder(tmp_path / "c", ["p.png", "q.png", "r.png"])
    with pytest.raises(BrushworkError, match="no file names in common"):
        load_paired(a, c, 16)
    d = _folder(tmp_path / "d", ["x.png"])
    with pytest.raises(BrushworkError, match="without a partner"):
        load_paired(a, d, 16)
    side = _folder(tmp_path / "side", ["s.png"], shape=(16, 32))
    assert load_paired(side, None, 16).a.shape == (1, 3, 16, 16)
    with pytest.raises(BrushworkError, match="twice as wide"):
        load_paired(a, None, 16)
    un = load_unpaired(a, c, 16)
    assert not un.paired and (len(un.a), len(un.b)) == (2, 3)
    (tmp_path / "empty").mkdir()
    with pytest.raises(BrushworkError, match="contains no images"):
        load_unpaired(a, tmp_path / "empty", 16)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "broken.png").write_bytes(b"not an image")
    with pytest.warns(UserWarning), pytest.raises(BrushworkError, match="could be read"):
        load_unpaired(a, bad, 16)


def test_held_out_photos_differ_from_training_photos():
    tr, _ = make_task("grey", 4, 32, "train")
    te, _ = make_task("grey", 4, 32, "test")
    assert tr.shape == te.shape == (4, 3, 32, 32)
    assert not any(torch.equal(x, y) for x in tr for y in te)
    assert math.isfinite(float(tr.sum()))
