"""What the quality benchmarks depend on: a judge that scores real training images like real
held-out ones, mixture generators whose samples do not depend on their batch, and (slow) the
ring preset reaching high-quality samples on every mode."""

import pytest
import torch

from brushwork.bench.digits import fit_judge, judge, to_judge
from brushwork.data.datasets import load_digits, mixture_centers, mixture_std
from brushwork.gan.config import resolve_config
from brushwork.gan.mixture import mixture_scores
from brushwork.gan.models import build_generator


@pytest.mark.parametrize("size", [16])
def test_digits_judge_scores_training_images_like_held_out_ones(size):
    # The generator learns the digits as the trainer resized them; the judge must see real
    # digits the same way, or even a perfect generator would be far from the real half.
    clf, xa, xb, acc = fit_judge(0, size)
    assert acc > 0.93
    real = load_digits(size).x
    s = judge(real, clf, xa, xb)
    assert s["classes_covered"] == 10 and s["kl_to_uniform"] < 0.01
    assert s["confident_fraction"] > 0.9
    assert s["fd"] < s["fd_real_vs_real"]  # the whole training set contains B itself
    # B is exactly the judge view of half the training images
    rows = {tuple(r) for r in to_judge(real).round(6).tolist()}
    assert all(tuple(r) in rows for r in xb.round(6).tolist()[:50])


def test_to_judge_is_area_downsampling():
    x = torch.rand(3, 1, 16, 16)
    expect = x.view(3, 1, 8, 2, 8, 2).mean(dim=(3, 5)).reshape(3, 64).numpy()
    assert to_judge(x) == pytest.approx(expect, abs=1e-6)


@pytest.mark.parametrize("preset", ["pacgan-ring", "pacgan-grid"])
def test_mixture_preset_samples_do_not_depend_on_their_batch(preset):
    # A 0.03-wide quality radius tolerates no batch-statistics jitter: G(z) must be one function of z.
    cfg = resolve_config(preset=preset)
    torch.manual_seed(0)
    G = build_generator(cfg.model, (2,))
    z = torch.randn(100, 2)
    with torch.no_grad():
        G.train()
        whole, alone = G(z), torch.cat([G(z[i : i + 1]) for i in range(4)])
        G.eval()
        evaluated = G(z)
    assert torch.equal(whole[:4], alone) or torch.allclose(whole[:4], alone, atol=1e-6)
    assert torch.allclose(whole, evaluated, atol=1e-6)


@pytest.mark.slow
def test_ring_preset_covers_every_mode_with_high_quality(tmp_path):
    from brushwork.gan.sample import load_generator, sample
    from brushwork.gan.train import train
    from brushwork.training.runs import create_run

    cfg = resolve_config(preset="pacgan-ring", overrides=[{"train": {"seed": 0, "steps": 3000, "sample_every": 3000, "diag_every": 3000, "ckpt_every": 3000}}])
    run = create_run(tmp_path, name="ring", tag=cfg.name, kind="gan", options={"config": cfg.to_dict()})
    train(cfg, run)
    s = mixture_scores(sample(load_generator(run), 2500, seed=10_000), mixture_centers("ring"), mixture_std("ring"))
    assert s.modes == 8 and s.high_quality > 0.9 and s.reverse_kl < 0.02
