"""Adaptive discriminator augmentation: the probability follows D's overfitting signal,
is logged, and is saved and restored exactly on resume."""

import json

import pytest
import torch

from brushwork.errors import BrushworkError
from brushwork.gan.ada import OPS, AdaptiveAugment
from brushwork.gan.config import resolve_config
from brushwork.training.checkpoint import latest_checkpoint

from test_gan_families_resume import resume_pair


def test_probability_rises_when_d_overfits_and_falls_otherwise():
    ada = AdaptiveAugment(target=0.6, interval=2, kimg=0.1, batch_size=10)  # step 10 * 2 / 100 = 0.2
    ada.observe(10, 10)
    assert ada.p == 0.0  # adjusts only every `interval` D steps
    ada.observe(8, 10)
    assert ada.rt == pytest.approx(0.9) and ada.p == pytest.approx(0.2)  # (10 + 8) / 20
    for _ in range(20):
        ada.observe(10, 10)
    assert ada.p == 1.0  # clamped
    ada.observe(-10, 10)
    ada.observe(10, 10)  # r_t = 0 < target
    assert ada.p == pytest.approx(0.8)
    restored = AdaptiveAugment(target=0.6, interval=2, kimg=0.1, batch_size=10)
    restored.load_state_dict(json.loads(json.dumps(ada.state_dict())))
    assert restored.state_dict() == ada.state_dict()


def test_augment_probability_zero_and_one():
    x = torch.rand(6, 3, 8, 8) * 2 - 1
    ada = AdaptiveAugment()
    g = torch.Generator().manual_seed(0)
    assert torch.equal(ada.augment(x, g), x)  # p = 0: identity, no randomness drawn
    assert torch.equal(g.get_state(), torch.Generator().manual_seed(0).get_state())
    ada.p = 1.0
    x.requires_grad_(True)
    out = ada.augment(x, torch.Generator().manual_seed(1))
    assert out.shape == x.shape and not torch.allclose(out, x)
    out.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()  # differentiable for G


def test_each_operation_against_its_definition():
    x = torch.arange(2 * 3 * 4 * 4, dtype=torch.float32).view(2, 3, 4, 4)
    ops = dict(OPS)
    g = torch.Generator().manual_seed(0)
    assert torch.equal(ops["xflip"](x, g, 2, 0), x.flip(3))
    turned = ops["rotate90"](x, torch.Generator().manual_seed(0), 2, 0)
    for i in range(2):
        assert any(torch.equal(turned[i], torch.rot90(x[i], k, dims=(1, 2))) for k in (1, 2, 3))
    sat = ops["saturation"](x, torch.Generator().manual_seed(0), 2, 0)
    assert torch.allclose(sat.mean(1), x.mean(1), atol=1e-4)  # grey value kept
    con = ops["contrast"](x, torch.Generator().manual_seed(0), 2, 0)
    assert torch.allclose(con.mean((1, 2, 3)), x.mean((1, 2, 3)), atol=1e-3)  # image mean kept


def test_ada_probability_is_logged_and_restored_on_resume(tmp_path):
    extra = {"model": {"g_width": 4, "d_width": 4, "z_dim": 8}, "data": {"img_size": 8}, "train": {"batch_size": 8, "ada_target": 0.05, "ada_interval": 1, "ada_kimg": 0.05}}
    run = resume_pair(tmp_path, "dcgan-digits", extra, 5)
    ps = [json.loads(x)["ada_p"] for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(ps) == 10 and any(0 < p for p in ps[:5]) and any(0 < p for p in ps[5:])
    assert json.loads(latest_checkpoint(run).read_text())["ada"]["p"] == ps[-1]


def test_ada_and_diffaugment_are_alternatives():
    with pytest.raises(BrushworkError, match="ada_target"):
        resolve_config(preset="dcgan-digits", overrides=[{"train": {"ada_target": 0.6, "augment": "color"}}])
