"""Published key lists and forward passes for tests/models/test_models_import_pth.py, written from the
public code (with torch.nn.functional, independent of Brushwork's modules):

- pytorch/examples fast_neural_style/neural_style/transformer_net.py (TransformerNet),
- naoto0804/pytorch-AdaIN net.py (decoder, vgg), function.py (calc_mean_std), test.py (style_transfer),
- junyanz/pytorch-CycleGAN-and-pix2pix models/networks.py (ResnetGenerator, UnetGenerator).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_state(shapes: dict[str, tuple[int, ...]], seed: int = 0) -> dict[str, torch.Tensor]:
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


def _conv(x, w, b, stride=1, pad=0, mode="reflect"):
    return F.conv2d(F.pad(x, (pad,) * 4, mode=mode) if pad else x, w, b, stride)


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
    """``norm``: instance, batch (eval mode: running statistics), batch-train (training mode, as the
    original test.py without --eval runs its batches of one image) or none."""
    if norm == "batch":
        return F.batch_norm(h, sd[f"{name}.running_mean"], sd[f"{name}.running_var"], sd[f"{name}.weight"], sd[f"{name}.bias"], False, 0.1, 1e-5)
    if norm == "batch-train":
        return F.batch_norm(h, None, None, sd[f"{name}.weight"], sd[f"{name}.bias"], True, 0.1, 1e-5)
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
