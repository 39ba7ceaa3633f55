"""Importers of published PyTorch .pth weights: pytorch/examples fast-neural-style, naoto0804's
AdaIN and junyanz's CycleGAN / pix2pix generators.

Each published state dict is built with every key and shape of the public code (random values,
fixed seed; key lists and functional forward passes in pth_published.py), saved with torch.save,
imported, and compared with that forward pass.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from pth_published import (fast_keys, fast_reference, naoto_keys, naoto_transfer, random_state, resnet_keys, resnet_reference,
                           unet_keys, unet_reference)

from brushwork import models
from brushwork.cli import main
from brushwork.errors import BrushworkError

TOL = 1e-5


def _image(path: Path, h: int, w: int, seed: int) -> torch.Tensor:
    """A smooth random RGB PNG of h x w px; returns it as (3, h, w) in [0, 1] (exactly what is stored)."""
    g = torch.Generator().manual_seed(seed)
    x = F.interpolate(torch.rand(1, 3, h // 4, w // 4, generator=g), size=(h, w), mode="bilinear", align_corners=False)[0]
    arr = (x.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    Image.fromarray(arr).save(path)
    return torch.from_numpy(arr).permute(2, 0, 1).float() / 255


def _read(path: Path) -> torch.Tensor:
    return torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1).float() / 255


# --------------------------------------------------------------------------- pytorch/examples

@pytest.fixture(scope="module")
def fast_state() -> dict[str, torch.Tensor]:
    sd = random_state(fast_keys(old=True), seed=1)
    sd["deconv3.conv2d.weight"] *= 60.0  # outputs spread over 0..255 as a trained model's do
    sd["deconv3.conv2d.bias"] += 128.0
    return sd


def test_fast_import_cli_matches_published_network(tmp_path, fast_state, capsys):
    pth = tmp_path / "candy.pth"
    torch.save(fast_state, pth, _use_new_zipfile_serialization=False)  # the 2017 files: legacy format, running stats
    out = tmp_path / "candy-fast"
    assert main(["models", "import", "pytorch-examples-fast", str(pth), "-o", str(out)]) == 0
    record = json.loads((out / "config.json").read_text())
    assert record["kind"] == "fast"
    assert record["config"]["input_scale"] == 255.0 and record["config"]["output_scale"] == pytest.approx(1 / 255)
    prov = record["provenance"]
    assert prov["sha256"] == hashlib.sha256(pth.read_bytes()).hexdigest()
    assert prov["licence"] == "BSD-3-Clause" and prov["dropped_keys"] == 30
    net = models.load(out, kind="fast")
    x = torch.rand(2, 3, 32, 48, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref = fast_reference(fast_state, x * 255) / 255
        assert ref.std() > 0.05
        assert (net(x) - ref).abs().max().item() <= TOL
    photo = tmp_path / "photo.png"
    img = _image(photo, 32, 48, seed=3)
    result = tmp_path / "out.png"
    capsys.readouterr()
    argv = ["stylize", str(photo), "-o", str(result), "--method", "fast", "--model", str(out), "--precision", "float32", "--size", "48"]
    assert main(argv) == 0
    with torch.no_grad():
        expected = (fast_reference(fast_state, img[None] * 255)[0] / 255).clamp(0, 1)
    assert (_read(result) - expected).abs().max().item() <= 0.5 / 255 + TOL  # 8-bit rounding only


def _import_error(fmt: str, src: Path, tmp_path: Path, capsys, *extra: str) -> str:
    capsys.readouterr()
    out = tmp_path / "refused-model"
    assert main(["models", "import", fmt, str(src), "-o", str(out), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()
    return err


def test_fast_refuses_missing_extra_and_misshaped_keys(tmp_path, fast_state, capsys):
    cases = {
        "missing": {k: v for k, v in fast_state.items() if not k.startswith("res3.")},
        "extra": {**fast_state, "res6.conv1.conv2d.weight": torch.zeros(128, 128, 3, 3)},
        "shaped": {**fast_state, "conv1.conv2d.weight": torch.zeros(32, 3, 5, 5)},
    }
    for name, sd in cases.items():
        torch.save(sd, tmp_path / f"{name}.pth")
        err = _import_error("pytorch-examples-fast", tmp_path / f"{name}.pth", tmp_path, capsys)
        expect = {"missing": "missing res3.conv1.conv2d.weight", "extra": "unexpected res6.conv1.conv2d.weight",
                  "shaped": "conv1.conv2d.weight (32, 3, 5, 5) (expected (32, 3, 9, 9))"}[name]
        assert expect in err, err


def _write_marker(path: str) -> None:
    Path(path).write_text("code ran")


class _Payload:
    """Pickles as a call of :func:`_write_marker`: unpickled freely, it would write the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (_write_marker, (str(self.marker),))


def test_pickled_code_is_refused_and_never_runs(tmp_path, fast_state, capsys):
    marker = tmp_path / "marker.txt"
    evil = tmp_path / "evil.pth"
    torch.save({**fast_state, "conv1.conv2d.weight": _Payload(marker)}, evil)
    for fmt in ("pytorch-examples-fast", "cyclegan-junyan"):
        err = _import_error(fmt, evil, tmp_path, capsys)
        assert "refused" in err and "nothing was loaded" in err and "_write_marker" in err, err
    folder = tmp_path / "adain-src"
    folder.mkdir()
    torch.save({"1.weight": _Payload(marker)}, folder / "decoder.pth")
    torch.save({"0.weight": torch.zeros(3, 3, 1, 1)}, folder / "vgg_normalised.pth")
    assert "nothing was loaded" in _import_error("adain-naoto", folder, tmp_path, capsys)
    assert not marker.exists()


def test_files_that_are_not_state_dicts_are_one_line_errors(tmp_path, capsys):
    (tmp_path / "text.pth").write_text("not a checkpoint")
    torch.save(torch.zeros(3), tmp_path / "tensor.pth")
    torch.save({"conv1": [1, 2, 3]}, tmp_path / "list.pth")
    assert "not a readable PyTorch .pth" in _import_error("pytorch-examples-fast", tmp_path / "text.pth", tmp_path, capsys)
    assert "holds a Tensor, not a state dict" in _import_error("pytorch-examples-fast", tmp_path / "tensor.pth", tmp_path, capsys)
    assert "not a state dict of tensors" in _import_error("cyclegan-junyan", tmp_path / "list.pth", tmp_path, capsys)
    torch.save({"features.0.weight": torch.zeros(64, 3, 3, 3)}, tmp_path / "vgg.pth")
    assert "expected model.1.weight or model.model.0.weight" in _import_error("cyclegan-junyan", tmp_path / "vgg.pth", tmp_path, capsys)
    with pytest.raises(BrushworkError, match="takes no options"):
        models.import_model("pytorch-examples-fast", tmp_path / "tensor.pth", tmp_path / "m", size=3)


# --------------------------------------------------------------------------- naoto0804/pytorch-AdaIN

def test_adain_import_carries_its_encoder_and_matches_published_code(tmp_path, capsys):
    from brushwork.imageio import resize_long_side
    from brushwork.style import adain as A
    from brushwork.style.feedforward import FeedForward, FFOptions

    dec_keys, vgg_keys = naoto_keys()
    dec, vgg = random_state(dec_keys, seed=4), random_state(vgg_keys, seed=5)
    dec["28.weight"] *= 4.0
    dec["28.bias"] += 0.5
    src = tmp_path / "naoto"
    src.mkdir()
    torch.save(dec, src / "decoder.pth")
    torch.save(vgg, src / "vgg_normalised.pth")
    out = tmp_path / "adain-naoto"
    assert main(["models", "import", "adain-naoto", str(src), "-o", str(out)]) == 0
    prov = models.read_config(out)["provenance"]
    assert prov["licence"] == "MIT" and prov["dropped_keys"] == 14
    assert prov["files"] == {n: hashlib.sha256((src / n).read_bytes()).hexdigest() for n in ("decoder.pth", "vgg_normalised.pth")}
    g = torch.Generator().manual_seed(6)
    content, style = torch.rand(3, 32, 40, generator=g), torch.rand(3, 36, 28, generator=g)  # style: odd sizes after pooling
    with torch.no_grad():
        ref = naoto_transfer(dec, vgg, content, style, alpha=0.8)
        assert ref.std() > 0.05
        net = models.load(out, kind="adain")
        assert (A.transfer(net.encoder, net, content, [style], alpha=0.8) - ref).abs().max().item() <= TOL
    ff = FeedForward(out, precision="float32")
    assert (ff(content, [style], FFOptions(alpha=0.8, style_size=None)) - ref).abs().max().item() <= TOL
    photo, painting, result = tmp_path / "photo.png", tmp_path / "painting.png", tmp_path / "out.png"
    img, sty = _image(photo, 32, 40, seed=7), _image(painting, 36, 28, seed=8)
    argv = ["stylize", str(photo), str(painting), "-o", str(result), "--method", "adain", "--model", str(out), "--precision", "float32", "--size", "40"]
    assert main(argv) == 0
    with torch.no_grad():
        expected = naoto_transfer(dec, vgg, img, resize_long_side(sty, 512), alpha=1.0)  # the CLI encodes styles at 512 px
    assert (_read(result) - expected).abs().max().item() <= 0.5 / 255 + 1e-4


def test_adain_import_names_bad_keys_and_missing_files(tmp_path, capsys):
    dec_keys, vgg_keys = naoto_keys()
    src = tmp_path / "naoto"
    src.mkdir()
    torch.save(random_state(dec_keys), src / "decoder.pth")
    assert "vgg_normalised.pth: no such file" in _import_error("adain-naoto", src, tmp_path, capsys)
    short = {k: v for k, v in random_state(vgg_keys).items() if int(k.split(".")[0]) <= 29}  # cut at relu4_1: accepted
    short["29.weight"] = torch.zeros(512, 256, 1, 1)
    torch.save(short, src / "vgg_normalised.pth")
    assert "mis-shaped 29.weight (512, 256, 1, 1) (expected (512, 256, 3, 3))" in _import_error("adain-naoto", src, tmp_path, capsys)
    torch.save({k: v for k, v in random_state(dec_keys).items() if k != "14.bias"}, tmp_path / "decoder2.pth")
    err = _import_error("adain-naoto", src, tmp_path, capsys, "--option", f"decoder={tmp_path / 'decoder2.pth'}")
    assert "decoder2.pth: not a pytorch-AdaIN decoder.pth state dict (missing 14.bias)" in err


# --------------------------------------------------------------------------- junyanz/pytorch-CycleGAN-and-pix2pix

def test_cyclegan_resnet9_import_and_translate_apply(tmp_path, capsys):
    sd = random_state(resnet_keys(9, "instance", old=True), seed=9)
    pth = tmp_path / "latest_net_G_B.pth"
    torch.save(sd, pth)
    out = tmp_path / "zebra2horse"
    assert main(["models", "import", "cyclegan-junyan", str(pth), "-o", str(out)]) == 0
    record = models.read_config(out)
    assert record["kind"] == "translator" and record["config"]["direction"] == "b2a"
    assert record["config"]["network"]["n_blocks"] == 9 and record["config"]["network"]["norm"] == "instance"
    assert record["provenance"]["sha256"] == hashlib.sha256(pth.read_bytes()).hexdigest()
    assert record["provenance"]["licence"] == "BSD-2-Clause" and record["provenance"]["dropped_keys"] == 2 * (3 + 18 + 2)
    tr = models.load(out, kind="translator")
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(10))
    with torch.no_grad():
        ref = (resnet_reference(sd, x * 2 - 1, 9, "instance") + 1) / 2
    assert ref.std() > 0.05 and (tr(x) - ref).abs().max().item() <= TOL
    photo, result = tmp_path / "horse.png", tmp_path / "out.png"
    img = _image(photo, 32, 32, seed=11)
    assert main(["translate", "apply", str(out), str(photo), "-o", str(result), "--direction", "b2a"]) == 0
    with torch.no_grad():
        expected = (resnet_reference(sd, img[None] * 2 - 1, 9, "instance")[0] + 1) / 2
    assert (_read(result) - expected).abs().max().item() <= 0.5 / 255 + TOL


def test_pix2pix_unet256_batch_norm_matches_published_network(tmp_path):
    from brushwork.models.importers.cyclegan_junyan import import_cyclegan

    sd = random_state(unet_keys(8, "batch"), seed=12)
    torch.save(sd, tmp_path / "latest_net_G.pth")
    tr, prov = import_cyclegan(tmp_path / "latest_net_G.pth")
    assert tr.direction == "a2b" and tr.cfg.model == "pix2pix" and tr.multiple == 256
    assert prov["network"]["levels"] == 8 and prov["network"]["norm"] == "batch"
    x = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(13))
    with torch.no_grad():
        ref = (unet_reference(sd, x * 2 - 1, 8, "batch") + 1) / 2
    assert ref.std() > 0.02 and (tr(x) - ref).abs().max().item() <= TOL


@pytest.mark.parametrize("case", ["resnet6-batch-dropout", "unet128-instance", "unet128-none", "unet128-batch-image"])
def test_cyclegan_variants_detected_from_keys(tmp_path, case):
    from brushwork.models.importers.cyclegan_junyan import import_cyclegan

    stats = "image" if case.endswith("-image") else "running"
    if case.startswith("resnet"):
        sd, size = random_state(resnet_keys(6, "batch", ngf=16, dropout=True), seed=14), 32
        forward = lambda x: resnet_reference(sd, x, 6, "batch", dropout=True)  # noqa: E731
    else:
        norm = case.split("-")[1]
        sd, size = random_state(unet_keys(7, norm, ngf=8), seed=15), 128
        forward = lambda x: unet_reference(sd, x, 7, "batch-train" if stats == "image" else norm)  # noqa: E731
    torch.save(sd, tmp_path / "net_G_A.pth")
    tr, prov = import_cyclegan(tmp_path / "net_G_A.pth", direction="a2b", batch_stats=stats)
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(16))
    with torch.no_grad():
        assert (tr(x) - (forward(x * 2 - 1) + 1) / 2).abs().max().item() <= TOL
        if stats == "image":  # the choice travels in the model folder
            again = models.load(models.save_pretrained(tr, tmp_path / "m"), kind="translator")
            assert torch.equal(again(x), tr(x))
    broken = {k: v for k, v in sd.items() if "num_batches_tracked" not in k}  # pre-0.4.1 batch-norm files: accepted
    broken[next(iter(broken))] = torch.zeros(1, 1, 1, 1)
    torch.save(broken, tmp_path / "bad.pth")
    with pytest.raises(BrushworkError, match="mis-shaped"):
        import_cyclegan(tmp_path / "bad.pth")
