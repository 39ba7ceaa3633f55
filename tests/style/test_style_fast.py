"""Fast (Johnson) networks: layer shapes, instance norm, model files, tiling, ONNX parity."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from brushwork.errors import BrushworkError
from brushwork.style.fast import FastConfig, TransformerNet, conv_norm, preset
from brushwork.models import load as from_pretrained
from brushwork.models import read_config, save_pretrained
from brushwork.style.feedforward import check_backbone
from brushwork.style.tiling import run_tiled

TINY = FastConfig(channels=(4, 8, 8), residual_blocks=1, edge_kernel=3)


def test_output_keeps_any_input_size():
    net = TransformerNet(TINY).eval()
    for h, w in [(32, 32), (37, 50), (9, 14)]:
        assert net(torch.rand(2, 3, h, w)).shape == (2, 3, h, w)


def test_presets_have_the_documented_sizes():
    count = lambda cfg: sum(p.numel() for p in TransformerNet(cfg).parameters())
    assert 1.6e6 < count(preset("johnson")) < 1.8e6  # Johnson et al.'s network
    assert count(preset("light")) < count(preset("johnson")) / 5
    with pytest.raises(BrushworkError, match="unknown fast-network preset"):
        preset("huge")


def test_normalisation_is_affine_instance_norm():
    layer = conv_norm(3, 5, 3, relu=False)
    with torch.no_grad():
        layer[1].weight.uniform_(0.5, 2)
        layer[1].bias.uniform_(-1, 1)
    x = torch.rand(2, 3, 11, 13)
    conv = layer[0](x)
    want = F.instance_norm(conv, weight=layer[1].weight, bias=layer[1].bias, eps=1e-5)
    torch.testing.assert_close(layer(x), want, atol=1e-5, rtol=1e-5)


def test_upsampling_is_resize_convolution():
    net = TransformerNet(TINY)
    kinds = [type(m).__name__ for m in net.modules()]
    assert "ConvTranspose2d" not in kinds and kinds.count("UpConv") == 2  # nearest x2 + conv, see below


def test_save_and_load_round_trip_exactly(tmp_path):
    torch.manual_seed(1)
    net = TransformerNet(TINY).eval()
    save_pretrained(net, tmp_path / "m", backbone="vgg16-hed", provenance={"training": {"steps": 3}})
    back = from_pretrained(tmp_path / "m", kind="fast")
    assert back.config == TINY
    for k, v in net.state_dict().items():
        assert torch.equal(back.state_dict()[k], v)
    x = torch.rand(1, 3, 20, 24)
    assert torch.equal(back(x), net(x))
    rec = read_config(tmp_path / "m")
    assert rec["kind"] == "fast" and rec["backbone"] == "vgg16-hed" and rec["provenance"] == {"training": {"steps": 3}}


def test_half_precision_files_store_float16(tmp_path):
    net = TransformerNet(TINY)
    save_pretrained(net, tmp_path / "h", backbone="vgg16-hed", half=True)
    from safetensors.torch import load_file

    stored = load_file(str(tmp_path / "h" / "model.safetensors"))
    assert all(v.dtype == torch.float16 for v in stored.values())
    back = from_pretrained(tmp_path / "h")
    for k, v in net.state_dict().items():
        assert torch.equal(back.state_dict()[k], v.half().float())


def test_bad_model_folders_are_refused(tmp_path):
    net = TransformerNet(TINY)
    save_pretrained(net, tmp_path / "m", backbone="vgg16-hed")
    with pytest.raises(BrushworkError, match="trained with backbone 'vgg16-hed', not 'vgg19-imagenet'"):
        check_backbone(read_config(tmp_path / "m"), "vgg19-imagenet", tmp_path / "m")
    with pytest.raises(BrushworkError, match="not a 'adain' model"):
        from_pretrained(tmp_path / "m", kind="adain")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BrushworkError, match="not a Brushwork model"):
        from_pretrained(tmp_path / "empty")
    with pytest.raises(BrushworkError, match="no such model folder"):
        from_pretrained(tmp_path / "missing")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text("{not json")
    with pytest.raises(BrushworkError, match="unreadable model config"):
        from_pretrained(bad)
    (bad / "config.json").write_text(json.dumps({"brushwork_model": 1, "kind": "fast", "config": {"channels": [8, 8, 8], "residual_blocks": 1, "edge_kernel": 3}, "backbone": "vgg16-hed"}))
    (bad / "model.safetensors").write_bytes((tmp_path / "m" / "model.safetensors").read_bytes())
    with pytest.raises(BrushworkError, match="do not fit the fast config"):
        from_pretrained(bad)


def test_tiling_is_exact_for_pointwise_functions():
    x = torch.rand(3, 150, 210)
    torch.testing.assert_close(run_tiled(lambda t: t * 0.5 + 0.1, x, tile=64, overlap=16), x * 0.5 + 0.1)
    small = torch.rand(3, 40, 40)
    assert torch.equal(run_tiled(lambda t: t.flip(-1), small, tile=64), small.flip(-1))


def test_onnx_export_matches_pytorch_at_another_size(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from brushwork.style.feedforward import FeedForward, export_onnx

    torch.manual_seed(2)
    save_pretrained(TransformerNet(TINY), tmp_path / "m", backbone="vgg16-hed")
    ff = FeedForward(tmp_path / "m", precision="float32")  # the float32 network, compared with onnxruntime below
    result = export_onnx(ff, tmp_path / "m.onnx", size=32)
    assert result["max_abs_diff"] < 1e-3
    x = torch.rand(1, 3, 44, 60)
    (got,) = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"]).run(None, {"images": x.numpy()})
    with torch.no_grad():
        want = ff.net(x).clamp(0, 1)
    assert got.shape == (1, 3, 44, 60)
    assert float(abs(torch.from_numpy(got) - want).max()) < 1e-3


def test_api_stylizes_with_a_fast_model_folder(tmp_path):
    from brushwork.api import stylize_feedforward
    from brushwork.style.feedforward import FeedForward, FFOptions

    torch.manual_seed(3)
    save_pretrained(TransformerNet(TINY), tmp_path / "m", backbone="vgg16-hed")
    image = torch.rand(3, 30, 40)
    out = stylize_feedforward(image, model=tmp_path / "m", size=60, precision="float32")
    assert out.size == (60, 45) and out.mode == "RGB"
    ff = FeedForward(tmp_path / "m", precision="float32")
    from brushwork.style.color import rgb_to_yiq

    muted = 0.4 + 0.2 * image  # in gamut, so clamping does not disturb the chroma
    plain, kept = ff(muted), ff(muted, options=FFOptions(preserve_color="luminance"))
    chroma = lambda t: rgb_to_yiq(t)[1:]
    assert (chroma(kept) - chroma(muted)).abs().mean() < 0.2 * (chroma(plain) - chroma(muted)).abs().mean()
    with pytest.raises(BrushworkError, match="style built in"):
        ff(image, [image])
    with pytest.raises(BrushworkError, match="needs a style image"):
        ff(image, options=FFOptions(preserve_color="histogram"))


def test_phase_upsampling_equals_upsample_then_convolve():
    from brushwork.style.fast import UpConv

    torch.manual_seed(4)
    up = UpConv(5, 7)
    with torch.no_grad():
        up.conv[1].weight.uniform_(0.5, 2)
        up.conv[1].bias.uniform_(-1, 1)
    for h, w in [(9, 13), (4, 4)]:
        x = torch.rand(2, 5, h, w)
        torch.testing.assert_close(up(x), up.reference(x), atol=1e-5, rtol=1e-5)


def test_packaged_models_load_and_are_small():
    from brushwork.models import packaged_models

    models = packaged_models()
    if not models:
        pytest.skip("no packaged models in this checkout")
    total = sum((path / "model.safetensors").stat().st_size for path in models.values())
    assert total <= 25 * 2**20  # everything the package ships (the gram model alone is 12 MB)
    for name, path in models.items():
        rec = read_config(name)  # by name, as `--model candy` does
        if rec["kind"] not in ("fast", "adain"):
            continue  # the universal and gram folders have tests of their own
        assert (path / "model.safetensors").stat().st_size <= 10 * 2**20
        assert rec["backbone"] == "vgg16-hed" and rec["dtype"] == "float16" and rec["provenance"]["training"]["note"] and rec["provenance"]["licence"]
        if rec["kind"] == "fast":
            out = from_pretrained(name)(torch.rand(1, 3, 24, 32))
        else:  # an AdaIN decoder: relu4_1-like features in, 8x the size out
            out = from_pretrained(name).float()(torch.rand(1, 512, 3, 4))
        assert out.shape == (1, 3, 24, 32) and torch.isfinite(out).all()
