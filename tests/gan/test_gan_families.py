"""SAGAN / BigGAN / StyleGAN2 families and progressive growing: shapes, gradients,
self-attention against its definition, BigGAN's hierarchical latent and orthogonal
regulariser, truncation, ONNX parity of every family, and bad configs at the CLI."""

import pytest
import torch
import torch.nn as nn

from brushwork.cli import main
from brushwork.gan.config import ModelConfig
from brushwork.gan.models import build_discriminator, build_generator
from brushwork.gan.models.attention import SelfAttention
from brushwork.gan.regularizers import orthogonal_penalty

CASES = [
    ("sagan", (3, 32, 32), dict(attention_res=16)),
    ("sagan", (1, 16, 16), dict(attention_res=8)),
    ("biggan", (3, 32, 32), dict(attention_res=8, z_dim=20)),
    ("biggan", (3, 64, 64), dict(attention_res=32, z_dim=20)),
    ("stylegan2", (3, 32, 32), dict(minibatch_std=True)),
    ("stylegan2", (1, 16, 16), dict(g_arch="resnet")),
    ("dcgan", (3, 32, 32), dict(progressive_from=8)),
    ("resnet", (3, 32, 32), dict(progressive_from=16, spectral_norm=True)),
]


@pytest.mark.parametrize("arch,shape,extra", CASES)
@pytest.mark.parametrize("conditional", [False, True])
def test_shapes_and_gradients(arch, shape, extra, conditional):
    torch.manual_seed(0)
    extra = dict(extra)
    cfg = ModelConfig(arch=arch, z_dim=extra.pop("z_dim", 16), g_width=8, d_width=8, conditional=conditional, **extra)
    G, D = build_generator(cfg, shape, 10), build_discriminator(cfg, shape, 10)
    y = torch.randint(0, 10, (4,)) if conditional else None
    x = G(torch.randn(4, cfg.z_dim), y)
    assert x.shape == (4, *shape) and x.abs().max() <= 1
    out = D(x, y)
    assert out.shape == (4,)
    out.sum().backward()
    for name, p in [*G.named_parameters(), *D.named_parameters()]:
        if name.startswith(("to_rgb.", "from_rgb.")):  # growing heads: unused at the final stage
            continue
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    if cfg.attention_res:
        assert G.attention.gamma.grad.abs() > 0 and D.attention.gamma.grad.abs() > 0


def _attention_by_definition(block, x):
    """SAGAN attention written out with explicit weights (no spectral norm): keys and values max-pooled 2x2."""
    w = lambda conv: conv.weight[:, :, 0, 0]  # noqa: E731
    n, c, h, wd = x.shape
    flat = x.flatten(2)  # (N, C, HW)

    def pooled(conv):  # project, then the max over each 2x2 window
        y = torch.einsum("oc,ncp->nop", w(conv), flat).view(n, -1, h // 2, 2, wd // 2, 2)
        return y.amax(dim=(3, 5)).flatten(2)  # (N, O, HW/4)

    q = torch.einsum("oc,ncp->nop", w(block.query), flat)
    k, v = pooled(block.key), pooled(block.value)
    out = torch.zeros(n, v.shape[1], h * wd)
    for i in range(n):
        for p in range(h * wd):
            weights = torch.softmax(q[i, :, p] @ k[i], dim=0)  # over pooled positions
            out[i, :, p] = v[i] @ weights
    o = torch.einsum("oc,ncp->nop", w(block.out), out).view(n, c, h, wd)
    return x + block.gamma * o


def test_self_attention_against_its_definition_and_gradients():
    torch.manual_seed(0)
    block = SelfAttention(16, spectral_norm=False)
    x = torch.randn(2, 16, 4, 6, requires_grad=True)
    assert torch.equal(block(x), x)  # gamma starts at 0: identity
    block.gamma.data.fill_(0.7)
    out = block(x)
    assert out.shape == x.shape
    assert torch.allclose(out, _attention_by_definition(block, x), atol=1e-5)
    out.square().sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in block.parameters())
    assert torch.isfinite(x.grad).all()


def test_biggan_hierarchical_latent_and_shared_embedding():
    torch.manual_seed(0)
    G = build_generator(ModelConfig(arch="biggan", z_dim=20, g_width=8, conditional=True, shared_dim=6), (3, 32, 32), 10)
    assert G.z_sizes == [5, 5, 5, 5] and len(G.blocks) == 3
    z, y = torch.randn(2, 20), torch.tensor([1, 7])
    stem, conds = G.conditions(z, y)
    assert stem.shape == (2, 5) and all(c.shape == (2, 11) for c in conds)
    z2 = z.clone()
    z2[:, 10:15] += 1  # the chunk of the second block only
    stem2, conds2 = G.conditions(z2, y)
    assert torch.equal(stem, stem2) and torch.equal(conds[0], conds2[0]) and torch.equal(conds[2], conds2[2])
    assert not torch.equal(conds[1], conds2[1])
    assert all(torch.equal(c[:, 5:], G.shared(y)) for c in conds)  # one shared class embedding


def test_orthogonal_penalty_against_hand_computation():
    lin = nn.Linear(2, 2, bias=False)
    lin.weight.data = torch.tensor([[1.0, 0.0], [1.0, 1.0]])  # W W^T = [[1, 1], [1, 2]]
    assert orthogonal_penalty(lin).item() == pytest.approx(2.0)
    q, _ = torch.linalg.qr(torch.randn(5, 5))
    lin5 = nn.Linear(5, 5)
    lin5.weight.data = q * 3
    assert orthogonal_penalty(lin5).item() == pytest.approx(0.0, abs=1e-4)
    sn = nn.utils.parametrizations.spectral_norm(nn.Linear(2, 2, bias=False))
    sn.parametrizations.weight.original.data = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    assert orthogonal_penalty(sn).item() == pytest.approx(2.0)  # the raw weight, not the normalised one


@pytest.mark.parametrize("preset,sets", [
    ("sagan-digits", ["model.attention_res=8", "model.conditional=true"]),
    ("biggan-digits", ["model.z_dim=12", "train.n_critic=2"]),
    ("stylegan2-digits", ["train.ada_target=0.6"]),
    ("dcgan-digits", ["model.progressive_from=8", "data.img_size=16", "train.grow_every=2", "train.fade_steps=2"]),  # last step (4th): half-way into the fade
])
def test_every_family_trains_samples_and_exports_with_onnx_parity(tmp_path, preset, sets):
    pytest.importorskip("onnxruntime")
    import onnxruntime as ort

    from brushwork.gan.sample import generate, load_generator

    argv = ["gan", "train", "--preset", preset, "--set", "model.g_width=8", "--set", "model.d_width=8", "--set", "data.img_size=16"]
    for s in sets:
        argv += ["--set", s]
    assert main([*argv, "--batch-size", "8", "--steps", "4", "--threads", "1", "--quiet", "--out", str(tmp_path), "--name", "r"]) == 0
    run = tmp_path / "r"
    assert main(["gan", "sample", str(run), "-n", "4", "--truncation", "0.8", "-o", str(tmp_path / "s.png")]) == 0
    assert main(["gan", "export", str(run), "-o", str(tmp_path / "g.onnx")]) == 0
    gen = load_generator(run)
    if preset.startswith("dcgan"):
        assert gen.G.stage() == (16, 0.5)  # exported in the middle of the fade it was trained to
    z = torch.randn(5, gen.z_dim)
    y = torch.arange(5) % gen.num_classes if gen.num_classes else None
    feeds = {"z": z.numpy()} | ({"y": y.numpy()} if y is not None else {})
    (got,) = ort.InferenceSession(str(tmp_path / "g.onnx"), providers=["CPUExecutionProvider"]).run(None, feeds)
    assert abs(torch.from_numpy(got) - generate(gen, z, y)).max() < 1e-4  # batch 5: the batch axis is dynamic


def test_truncation_narrows_biggan_samples(tmp_path):
    from brushwork.gan.sample import load_generator, sample

    assert main(["gan", "train", "--preset", "biggan-digits", "--set", "model.g_width=8", "--set", "model.d_width=8", "--set", "data.img_size=8",
                 "--set", "model.attention_res=0", "--batch-size", "8", "--steps", "2", "--threads", "1", "--quiet", "--out", str(tmp_path), "--name", "r"]) == 0
    gen = load_generator(tmp_path / "r")
    wide, narrow = sample(gen, 64, seed=0, class_id=3), sample(gen, 64, seed=0, class_id=3, truncation=0.1)
    assert narrow.std(dim=0).mean() < 0.5 * wide.std(dim=0).mean()


@pytest.mark.parametrize("sets,match", [
    (["model.arch=sagan", "model.attention_res=12"], "attention_res 12 px is impossible"),
    (["model.arch=biggan", "model.attention_res=16"], "attention_res 16 px is impossible at 16 px"),
    (["model.arch=stylegan2", "data.img_size=24"], "powers of two"),
    (["model.arch=dcgan", "model.attention_res=8"], "applies to sagan and biggan"),
    (["model.arch=dcgan", "train.style_mixing=0.5"], "need model.arch stylegan2"),
    (["model.arch=stylegan2", "model.g_arch=unet"], "skip or resnet"),
    (["model.arch=biggan", "model.z_dim=2"], "too small to split"),
])
def test_bad_family_configs_exit_2_with_one_line(tmp_path, capsys, sets, match):
    argv = ["gan", "train", "--preset", "dcgan-digits", "--steps", "1", "--out", str(tmp_path / "runs"), "--quiet"]
    for s in sets:
        argv += ["--set", s]
    assert main([*argv, "--set", "data.img_size=16"] if not any("img_size" in s for s in sets) else argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and match in err[0], err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
