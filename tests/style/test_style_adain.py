"""AdaIN: statistics of the AdaIN layer, decoder shapes, inference options, ONNX parity."""

from __future__ import annotations

import pytest
import torch

from brushwork.errors import BrushworkError
from brushwork.style import adain as A
from brushwork.models import load as from_pretrained
from brushwork.models import save_pretrained
from conftest import needs_hed


def test_adain_output_has_the_style_channel_statistics():
    g = torch.Generator().manual_seed(0)
    content = torch.randn(2, 16, 9, 11, generator=g) * 3 + 1
    style = torch.rand(2, 16, 5, 7, generator=g) * 4
    out = A.adain(content, *A.mean_std(style))
    want_mean = style.mean(dim=(2, 3))
    want_std = style.std(dim=(2, 3), unbiased=False)
    torch.testing.assert_close(out.mean(dim=(2, 3)), want_mean, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out.std(dim=(2, 3), unbiased=False), want_std, atol=1e-3, rtol=1e-3)


def test_masked_statistics_are_those_of_the_masked_region():
    feat = torch.rand(1, 4, 6, 8)
    mask = torch.zeros(1, 1, 6, 8)
    mask[..., :, :3] = 1
    mean, std = A.mean_std(feat, mask)
    region = feat[..., :, :3]
    torch.testing.assert_close(mean, region.mean(dim=(2, 3), keepdim=True))
    torch.testing.assert_close(std, (region.var(dim=(2, 3), keepdim=True, unbiased=False) + 1e-5).sqrt())


def test_blending_mixes_statistics_by_weight():
    a = (torch.zeros(1, 3, 1, 1), torch.ones(1, 3, 1, 1))
    b = (torch.ones(1, 3, 1, 1) * 4, torch.ones(1, 3, 1, 1) * 3)
    mean, std = A.blend_statistics([a, b], [3, 1])
    torch.testing.assert_close(mean, torch.full((1, 3, 1, 1), 1.0))
    torch.testing.assert_close(std, torch.full((1, 3, 1, 1), 1.5))
    with pytest.raises(BrushworkError, match="2 style"):
        A.blend_statistics([a, b], [1.0])


@pytest.mark.parametrize("arch,convs", [("vgg16", 8), ("vgg19", 9)])
def test_decoder_mirrors_the_encoder(arch, convs):
    dec = A.Decoder(A.AdaINConfig(arch=arch, width=0.25))
    assert sum(isinstance(m, torch.nn.Conv2d) for m in dec.modules()) == convs
    assert dec(torch.rand(2, 512, 4, 5)).shape == (2, 3, 32, 40)
    with pytest.raises(BrushworkError, match="width"):
        A.Decoder(A.AdaINConfig(width=5))


def test_decoder_round_trips_through_a_model_folder(tmp_path):
    torch.manual_seed(0)
    dec = A.Decoder(A.AdaINConfig(width=0.25)).eval()
    save_pretrained(dec, tmp_path / "d", backbone="vgg16-hed")
    back = from_pretrained(tmp_path / "d", kind="adain")
    x = torch.rand(1, 512, 3, 3)
    assert torch.equal(back(x), dec(x))


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from brushwork.style.feedforward import FeedForward

    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("adain") / "m"
    save_pretrained(A.Decoder(A.AdaINConfig(width=0.125)), d, backbone="vgg16-hed")
    return FeedForward(d, precision="float32")


@needs_hed
def test_inference_options(model):
    from brushwork.style.feedforward import FFOptions

    g = torch.Generator().manual_seed(1)
    content, s1, s2 = (torch.rand(3, 40, 56, generator=g) for _ in range(3))
    out = model(content, [s1], FFOptions())
    assert out.shape == (3, 40, 56) and 0 <= float(out.min()) and float(out.max()) <= 1
    with torch.no_grad():  # alpha 0 decodes the content's own features
        fc = model.encoder(A._pad8(content[None]), ["relu4_1"])["relu4_1"]
        want = model.net(fc)[0, :, :40, :56].clamp(0, 1)
    torch.testing.assert_close(model(content, [s1], FFOptions(alpha=0.0)), want, atol=1e-5, rtol=1e-5)
    same = model(content, [s1, s1], FFOptions(style_weights=(0.3, 0.7)))
    torch.testing.assert_close(same, out, atol=1e-5, rtol=1e-5)
    mask = torch.ones(1, 40, 56)
    torch.testing.assert_close(model(content, [s1, s2], FFOptions(), mask=mask), out, atol=1e-5, rtol=1e-5)
    assert model(content, [s1], FFOptions(size=80)).shape == (3, 57, 80)
    with pytest.raises(BrushworkError, match="exactly two styles"):
        model(content, [s1], FFOptions(), mask=mask)
    with pytest.raises(BrushworkError, match="at least one style"):
        model(content, [], FFOptions())


@needs_hed
def test_onnx_export_matches_pytorch_at_another_size(model, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from brushwork.style.feedforward import export_onnx

    result = export_onnx(model, tmp_path / "a.onnx", size=32)
    assert result["kind"] == "adain" and result["max_abs_diff"] < 1e-3
    g = torch.Generator().manual_seed(3)
    content, style = torch.rand(1, 3, 48, 64, generator=g), torch.rand(1, 3, 40, 40, generator=g)
    feeds = {"content": content.numpy(), "style": style.numpy(), "alpha": torch.tensor([0.6]).numpy()}
    (got,) = ort.InferenceSession(str(tmp_path / "a.onnx"), providers=["CPUExecutionProvider"]).run(None, feeds)
    with torch.no_grad():
        want = A.transfer(model.encoder, model.net, content[0], [style[0]], alpha=0.6)
    assert got.shape == (1, 3, 48, 64)
    assert float(abs(torch.from_numpy(got[0]) - want).max()) < 1e-3
