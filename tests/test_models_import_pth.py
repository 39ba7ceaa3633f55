"""Importers of published PyTorch .pth weights: pytorch/examples fast-neural-style, naoto0804's
AdaIN and junyanz's CycleGAN / pix2pix generators.

Each published state dict is built here with every key and shape of the public code (random
values, fixed seed), saved with torch.save, imported, and compared with a forward pass written
here from the public architecture with torch.nn.functional.
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

from brushwork import models
from brushwork.cli import main
from brushwork.errors import BrushworkError

TOL = 1e-5


def _rand(shapes: dict[str, tuple[int, ...]], seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors of ``shapes``: weights ~ N(0, 1/fan_in), norm scales ~ 1 + N(0, 0.1^2),
    biases and norm shifts ~ N(0, 0.1^2), running variances in [0.5, 1.5]."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, s in shapes.items():
        if k.endswith("num_batches_tracked"):
            out[k] = torch.tensor(1000, dtype=torch.long)
        elif k.endswith("running_var"):
            out[k] = torch.rand(s, generator=g) + 0.5
        elif len(s) == 4:
            fan = s[0] * s[2] * s[3] if ".model.3" in k or "convT" in k else s[1] * s[2] * s[3]
            out[k] = torch.randn(s, generator=g) / fan**0.5
        elif k.endswith("weight"):
            out[k] = 1 + 0.1 * torch.randn(s, generator=g)
        else:
            out[k] = 0.1 * torch.randn(s, generator=g)
    return out


def _image(path: Path, h: int, w: int, seed: int) -> torch.Tensor:
    """A smooth random RGB PNG of h x w px; returns it as (3, h, w) in [0, 1] (exactly what is stored)."""
    g = torch.Generator().manual_seed(seed)
    x = F.interpolate(torch.rand(1, 3, h // 4, w // 4, generator=g), size=(h, w), mode="bilinear", align_corners=False)[0]
    arr = (x.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    Image.fromarray(arr).save(path)
    return torch.from_numpy(arr).permute(2, 0, 1).float() / 255


def _read(path: Path) -> torch.Tensor:
    return torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1).float() / 255


def _conv(x, w, b, stride=1, pad=0, mode="reflect"):
    return F.conv2d(F.pad(x, (pad,) * 4, mode=mode) if pad else x, w, b, stride)


# --------------------------------------------------------------------------- pytorch/examples

def fast_keys(old: bool = False) -> dict[str, tuple[int, ...]]:
    """transformer_net.py: ConvLayer(.conv2d) / InstanceNorm2d(affine) names and shapes."""
    convs = [("conv1", 32, 3, 9), ("conv2", 64, 32, 3), ("conv3", 128, 64, 3)]
    convs += [(f"res{r}.conv{j}", 128, 128, 3) for r in range(1, 6) for j in (1, 2)]
    convs += [("deconv1", 64, 128, 3), ("deconv2", 32, 64, 3), ("deconv3", 3, 32, 9)]
    norms = [("in1", 32), ("in2", 64), ("in3", 128)] + [(f"res{r}.in{j}", 128) for r in range(1, 6) for j in (1, 2)] + [("in4", 64), ("in5", 32)]
    out = {}
    for name, cout, cin, k in convs:
        out[f"{name}.conv2d.weight"], out[f"{name}.conv2d.bias"] = (cout, cin, k, k), (cout,)
    for name, c in norms:
        for p in ("weight", "bias") + (("running_mean", "running_var") if old else ()):
            out[f"{name}.{p}"] = (c,)
    return out


def fast_reference(sd: dict[str, torch.Tensor], x255: torch.Tensor) -> torch.Tensor:
    """The published TransformerNet on 0..255 pixels, returning 0..255 pixels."""
    def conv(h, n, stride=1, up=False):
        w = sd[f"{n}.conv2d.weight"]
        h = F.interpolate(h, scale_factor=2, mode="nearest") if up else h
        return _conv(h, w, sd[f"{n}.conv2d.bias"], stride, w.shape[-1] // 2)

    def inorm(h, n):
        return F.instance_norm(h, weight=sd[f"{n}.weight"], bias=sd[f"{n}.bias"], eps=1e-5)

    y = F.relu(inorm(conv(x255, "conv1"), "in1"))
    y = F.relu(inorm(conv(y, "conv2", 2), "in2"))
    y = F.relu(inorm(conv(y, "conv3", 2), "in3"))
    for r in range(1, 6):
        y = y + inorm(conv(F.relu(inorm(conv(y, f"res{r}.conv1"), f"res{r}.in1")), f"res{r}.conv2"), f"res{r}.in2")
    y = F.relu(inorm(conv(y, "deconv1", up=True), "in4"))
    y = F.relu(inorm(conv(y, "deconv2", up=True), "in5"))
    return conv(y, "deconv3")


@pytest.fixture(scope="module")
def fast_state() -> dict[str, torch.Tensor]:
    sd = _rand(fast_keys(old=True), seed=1)
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

DECODER_CONVS = {1: (256, 512), 5: (256, 256), 8: (256, 256), 11: (256, 256), 14: (128, 256), 18: (128, 128), 21: (64, 128), 25: (64, 64), 28: (3, 64)}
DECODER_PLAN = [1, "up", 5, 8, 11, 14, "up", 18, 21, "up", 25, 28]
VGG_CONVS = {0: (3, 3, 1), 2: (64, 3, 3), 5: (64, 64, 3), 9: (128, 64, 3), 12: (128, 128, 3), 16: (256, 128, 3), 19: (256, 256, 3),
             22: (256, 256, 3), 25: (256, 256, 3), 29: (512, 256, 3), **{i: (512, 512, 3) for i in (32, 35, 38, 42, 45, 48, 51)}}
VGG_PLAN = [2, 5, "pool", 9, 12, "pool", 16, 19, 22, 25, "pool", 29]  # after the 1x1 conv, up to relu4_1 (index 30)


def naoto_keys() -> tuple[dict, dict]:
    """net.py: the decoder Sequential and the full 53-layer vgg Sequential (conv indices, shapes)."""
    dec = {f"{i}.{p}": s for i, (o, c) in DECODER_CONVS.items() for p, s in (("weight", (o, c, 3, 3)), ("bias", (o,)))}
    vgg = {f"{i}.{p}": s for i, (o, c, k) in VGG_CONVS.items() for p, s in (("weight", (o, c, k, k)), ("bias", (o,)))}
    return dec, vgg


def naoto_transfer(dec: dict, vgg: dict, content: torch.Tensor, style: torch.Tensor, alpha: float) -> torch.Tensor:
    """test.py's style_transfer with function.py's calc_mean_std (unbiased variance + 1e-5)."""
    def encode(x):
        h = F.conv2d(x, vgg["0.weight"], vgg["0.bias"])
        for step in VGG_PLAN:
            h = F.max_pool2d(h, 2, 2, 0, ceil_mode=True) if step == "pool" else F.relu(_conv(h, vgg[f"{step}.weight"], vgg[f"{step}.bias"], pad=1))
        return h

    def stats(f):
        n, c = f.shape[:2]
        return f.view(n, c, -1).mean(2).view(n, c, 1, 1), (f.view(n, c, -1).var(dim=2) + 1e-5).sqrt().view(n, c, 1, 1)

    cf, sf = encode(content[None]), encode(style[None])
    (cm, cs), (sm, ss) = stats(cf), stats(sf)
    t = alpha * ((cf - cm) / cs * ss + sm) + (1 - alpha) * cf
    for step in DECODER_PLAN:
        if step == "up":
            t = F.interpolate(t, scale_factor=2, mode="nearest")
        else:
            t = _conv(t, dec[f"{step}.weight"], dec[f"{step}.bias"], pad=1)
            t = t if step == 28 else F.relu(t)
    return t[0].clamp(0, 1)


def test_adain_import_carries_its_encoder_and_matches_published_code(tmp_path, capsys):
    from brushwork.imageio import resize_long_side
    from brushwork.style import adain as A
    from brushwork.style.feedforward import FeedForward, FFOptions

    dec_keys, vgg_keys = naoto_keys()
    dec, vgg = _rand(dec_keys, seed=4), _rand(vgg_keys, seed=5)
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
    torch.save(_rand(dec_keys), src / "decoder.pth")
    assert "vgg_normalised.pth: no such file" in _import_error("adain-naoto", src, tmp_path, capsys)
    short = {k: v for k, v in _rand(vgg_keys).items() if int(k.split(".")[0]) <= 29}  # cut at relu4_1: accepted
    short["29.weight"] = torch.zeros(512, 256, 1, 1)
    torch.save(short, src / "vgg_normalised.pth")
    assert "mis-shaped 29.weight (512, 256, 1, 1) (expected (512, 256, 3, 3))" in _import_error("adain-naoto", src, tmp_path, capsys)
    torch.save({k: v for k, v in _rand(dec_keys).items() if k != "14.bias"}, tmp_path / "decoder2.pth")
    err = _import_error("adain-naoto", src, tmp_path, capsys, "--option", f"decoder={tmp_path / 'decoder2.pth'}")
    assert "decoder2.pth: not a pytorch-AdaIN decoder.pth state dict (missing 14.bias)" in err


# --------------------------------------------------------------------------- junyanz/pytorch-CycleGAN-and-pix2pix

def _norm_keys(keys: dict, name: str, c: int, norm: str, old: bool) -> None:
    if norm == "batch":
        keys.update({f"{name}.weight": (c,), f"{name}.bias": (c,), f"{name}.running_mean": (c,), f"{name}.running_var": (c,), f"{name}.num_batches_tracked": ()})
    elif norm == "instance" and old:  # PyTorch 0.3 / 0.4 files
        keys.update({f"{name}.running_mean": (c,), f"{name}.running_var": (c,)})


def resnet_keys(n_blocks: int, norm: str, ngf: int = 64, old: bool = False, dropout: bool = False) -> dict:
    """networks.py ResnetGenerator (ConvTranspose2d up-sampling) keys and shapes."""
    keys: dict = {}
    bias = norm == "instance"

    def conv(name, shape, b=bias):
        keys[f"{name}.weight"] = shape
        if b:
            keys[f"{name}.bias"] = (shape[1] if name in ups else shape[0],)

    ups = {f"model.{10 + n_blocks}", f"model.{13 + n_blocks}"}
    for i, (cout, cin, k) in {1: (ngf, 3, 7), 4: (2 * ngf, ngf, 3), 7: (4 * ngf, 2 * ngf, 3)}.items():
        conv(f"model.{i}", (cout, cin, k, k))
        _norm_keys(keys, f"model.{i + 1}", cout, norm, old)
    second = 6 if dropout else 5
    for b in range(10, 10 + n_blocks):
        for j in (1, second):
            conv(f"model.{b}.conv_block.{j}", (4 * ngf, 4 * ngf, 3, 3))
            _norm_keys(keys, f"model.{b}.conv_block.{j + 1}", 4 * ngf, norm, old)
    for i, cin, cout in ((10 + n_blocks, 4 * ngf, 2 * ngf), (13 + n_blocks, 2 * ngf, ngf)):
        conv(f"model.{i}", (cin, cout, 3, 3))  # ConvTranspose2d weight: (in, out, k, k)
        _norm_keys(keys, f"model.{i + 1}", cout, norm, old)
    conv(f"model.{17 + n_blocks}", (3, ngf, 7, 7), b=True)
    return keys


def _normed(sd, name, h, norm):
    if norm == "batch":
        return F.batch_norm(h, sd[f"{name}.running_mean"], sd[f"{name}.running_var"], sd[f"{name}.weight"], sd[f"{name}.bias"], False, 0.1, 1e-5)
    return F.instance_norm(h, eps=1e-5) if norm == "instance" else h


def resnet_reference(sd: dict, x: torch.Tensor, n_blocks: int, norm: str, dropout: bool = False) -> torch.Tensor:
    b = lambda n: sd.get(f"{n}.bias")  # noqa: E731
    h = F.relu(_normed(sd, "model.2", _conv(x, sd["model.1.weight"], b("model.1"), pad=3), norm))
    for i in (4, 7):
        h = F.relu(_normed(sd, f"model.{i + 1}", F.conv2d(h, sd[f"model.{i}.weight"], b(f"model.{i}"), 2, 1), norm))
    j = 6 if dropout else 5
    for k in range(10, 10 + n_blocks):
        p = f"model.{k}.conv_block"
        r = F.relu(_normed(sd, f"{p}.2", _conv(h, sd[f"{p}.1.weight"], b(f"{p}.1"), pad=1), norm))
        h = h + _normed(sd, f"{p}.{j + 1}", _conv(r, sd[f"{p}.{j}.weight"], b(f"{p}.{j}"), pad=1), norm)
    for i in (10 + n_blocks, 13 + n_blocks):
        h = F.relu(_normed(sd, f"model.{i + 1}", F.conv_transpose2d(h, sd[f"model.{i}.weight"], b(f"model.{i}"), 2, 1, 1), norm))
    last = f"model.{17 + n_blocks}"
    return torch.tanh(_conv(h, sd[f"{last}.weight"], sd[f"{last}.bias"], pad=3))


def unet_keys(levels: int, norm: str, ngf: int = 64) -> dict:
    """networks.py UnetGenerator: nested UnetSkipConnectionBlock keys and shapes."""
    widths = [(3, ngf), (ngf, 2 * ngf), (2 * ngf, 4 * ngf), (4 * ngf, 8 * ngf)] + [(8 * ngf, 8 * ngf)] * (levels - 4)
    bias, keys, prefix = norm == "instance", {}, "model.model."
    keys[prefix + "0.weight"], keys[prefix + "3.weight"], keys[prefix + "3.bias"] = (ngf, 3, 4, 4), (2 * ngf, 3, 4, 4), (3,)
    if bias:
        keys[prefix + "0.bias"] = (ngf,)
    prefix += "1.model."
    for level, (outer, inner) in enumerate(widths[1:], start=2):
        innermost = level == levels
        up = "3" if innermost else "5"
        keys[prefix + "1.weight"], keys[prefix + f"{up}.weight"] = (inner, outer, 4, 4), (inner if innermost else 2 * inner, outer, 4, 4)
        if bias:
            keys[prefix + "1.bias"], keys[prefix + f"{up}.bias"] = (inner,), (outer,)
        if not innermost:
            _norm_keys(keys, prefix + "2", inner, norm, False)
        _norm_keys(keys, prefix + ("4" if innermost else "6"), outer, norm, False)
        prefix += "3.model."
    return keys


def unet_reference(sd: dict, x: torch.Tensor, levels: int, norm: str) -> torch.Tensor:
    b = lambda n: sd.get(f"{n}.bias")  # noqa: E731

    def level(h, p, k):
        a = F.leaky_relu(h, 0.2)  # the original's in-place LeakyReLU: the skip below carries it too
        d = F.conv2d(a, sd[p + "1.weight"], b(p + "1"), 2, 1)
        if k == levels:
            u = F.conv_transpose2d(F.relu(d), sd[p + "3.weight"], b(p + "3"), 2, 1)
            return torch.cat([a, _normed(sd, p + "4", u, norm)], 1)
        inner = level(_normed(sd, p + "2", d, norm), p + "3.model.", k + 1)
        u = F.conv_transpose2d(F.relu(inner), sd[p + "5.weight"], b(p + "5"), 2, 1)
        return torch.cat([a, _normed(sd, p + "6", u, norm)], 1)

    d = F.conv2d(x, sd["model.model.0.weight"], b("model.model.0"), 2, 1)
    inner = level(d, "model.model.1.model.", 2)
    return torch.tanh(F.conv_transpose2d(F.relu(inner), sd["model.model.3.weight"], sd["model.model.3.bias"], 2, 1))


def test_cyclegan_resnet9_import_and_translate_apply(tmp_path, capsys):
    sd = _rand(resnet_keys(9, "instance", old=True), seed=9)
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

    sd = _rand(unet_keys(8, "batch"), seed=12)
    torch.save(sd, tmp_path / "latest_net_G.pth")
    tr, prov = import_cyclegan(tmp_path / "latest_net_G.pth")
    assert tr.direction == "a2b" and tr.cfg.model == "pix2pix" and tr.multiple == 256
    assert prov["network"]["levels"] == 8 and prov["network"]["norm"] == "batch"
    x = torch.rand(1, 3, 256, 256, generator=torch.Generator().manual_seed(13))
    with torch.no_grad():
        ref = (unet_reference(sd, x * 2 - 1, 8, "batch") + 1) / 2
    assert ref.std() > 0.02 and (tr(x) - ref).abs().max().item() <= TOL


@pytest.mark.parametrize("case", ["resnet6-batch-dropout", "unet128-instance", "unet128-none"])
def test_cyclegan_variants_detected_from_keys(tmp_path, case):
    from brushwork.models.importers.cyclegan_junyan import import_cyclegan

    if case.startswith("resnet"):
        sd, size = _rand(resnet_keys(6, "batch", ngf=16, dropout=True), seed=14), 32
        forward = lambda x: resnet_reference(sd, x, 6, "batch", dropout=True)  # noqa: E731
    else:
        norm = case.split("-")[1]
        sd, size = _rand(unet_keys(7, norm, ngf=8), seed=15), 128
        forward = lambda x: unet_reference(sd, x, 7, norm)  # noqa: E731
    torch.save(sd, tmp_path / "net_G_A.pth")
    tr, prov = import_cyclegan(tmp_path / "net_G_A.pth", direction="a2b")
    x = torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(16))
    with torch.no_grad():
        assert (tr(x) - (forward(x * 2 - 1) + 1) / 2).abs().max().item() <= TOL
    broken = {k: v for k, v in sd.items() if "num_batches_tracked" not in k}  # pre-0.4.1 batch-norm files: accepted
    broken[next(iter(broken))] = torch.zeros(1, 1, 1, 1)
    torch.save(broken, tmp_path / "bad.pth")
    with pytest.raises(BrushworkError, match="mis-shaped"):
        import_cyclegan(tmp_path / "bad.pth")
