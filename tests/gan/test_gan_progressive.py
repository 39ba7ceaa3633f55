"""Progressive growing for the DCGAN and ResNet families: schedule, fade-in blending,
and exact resume from inside a fade."""

import json

import pytest
import torch
import torch.nn.functional as F

from brushwork.errors import BrushworkError
from brushwork.gan.config import ModelConfig, resolve_config
from brushwork.gan.models import build_discriminator, build_generator
from brushwork.gan.models.progressive import schedule
from brushwork.training.checkpoint import list_checkpoints, load_checkpoint

from test_gan_families_resume import resume_pair


def test_schedule():
    assert schedule(0, 8, 32, 10, 4) == (8, 1.0)
    assert schedule(9, 8, 32, 10, 4) == (8, 1.0)
    assert schedule(10, 8, 32, 10, 4) == (16, 0.0)
    assert schedule(12, 8, 32, 10, 4) == (16, 0.5)
    assert schedule(14, 8, 32, 10, 4) == (16, 1.0)
    assert schedule(21, 8, 32, 10, 4) == (32, 0.25)
    assert schedule(1000, 8, 32, 10, 4) == (32, 1.0)


@pytest.mark.parametrize("arch", ["dcgan", "resnet"])
def test_stages_shapes_fade_and_final_equals_base(arch):
    torch.manual_seed(0)
    cfg = ModelConfig(arch=arch, z_dim=8, g_width=8, d_width=8, progressive_from=8)
    G, D = build_generator(cfg, (3, 32, 32)), build_discriminator(cfg, (3, 32, 32))
    G.eval()
    z = torch.randn(4, 8)
    G.set_stage(8, 1.0)
    low = G(z)
    assert low.shape == (4, 3, 32, 32)
    assert torch.allclose(low, F.interpolate(F.avg_pool2d(low, 4), scale_factor=4.0, mode="nearest"), atol=1e-6)  # 8 px blocks
    G.set_stage(16, 1.0)
    mid = G(z)
    G.set_stage(16, 0.0)
    assert torch.allclose(G(z), low, atol=1e-6)  # a fade starts where the previous stage ended
    G.set_stage(16, 0.5)
    half = G(z)
    pre = lambda t: torch.atanh(t.clamp(-1 + 1e-6, 1 - 1e-6))  # noqa: E731 - blending is before tanh
    assert torch.allclose(pre(half), (pre(low) + pre(mid)) / 2, atol=1e-3)
    G.set_stage(32, 1.0)
    assert torch.equal(G(z), G.base(z))
    D.set_stage(32, 1.0)
    assert torch.equal(D(mid), D.base(mid))
    for res, alpha in ((8, 1.0), (16, 0.3), (32, 0.7)):
        D.set_stage(res, alpha)
        D.zero_grad()
        x = torch.randn(4, 3, 32, 32, requires_grad=True)
        out = D(x)
        assert out.shape == (4,)
        out.sum().backward()
        assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
        assert D.from_rgb[str(res // 2 if alpha < 1 else res)].weight.grad is not None or res == 32


def test_resume_lands_exactly_inside_a_fade(tmp_path):
    extra = {"model": {"g_width": 4, "d_width": 4, "z_dim": 8, "progressive_from": 8}, "data": {"img_size": 16}, "train": {"batch_size": 8, "grow_every": 4, "fade_steps": 4, "ema_decay": 0.8}}
    run = resume_pair(tmp_path, "dcgan-digits", extra, 6)  # step 6 is halfway into the 16 px fade
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [(x["resolution"], x["fade_alpha"]) for x in lines[3:8]] == [(8, 1.0), (16, 0.0), (16, 0.25), (16, 0.5), (16, 0.75)]
    path = [p for s, p in list_checkpoints(run)]
    tensors, _ = load_checkpoint(path[-1])
    assert tensors["G.resolution"].item() == 16 and tensors["G_ema.alpha"].item() == 1.0


@pytest.mark.parametrize("extra,match", [
    ({"model": {"arch": "dcgan", "progressive_from": 64}}, "progressive growing must start"),
    ({"model": {"arch": "dcgan", "progressive_from": 12}}, "progressive growing must start"),
    ({"model": {"arch": "sagan", "progressive_from": 8}}, "applies to dcgan and resnet"),
    ({"train": {"grow_every": 10, "fade_steps": 20}}, "fade_steps"),
])
def test_bad_growth_configs(extra, match):
    from brushwork.gan.parts import preflight

    with pytest.raises(BrushworkError, match=match):
        preflight(resolve_config(preset="dcgan-digits", overrides=[{"data": {"img_size": 32}}, extra]))
