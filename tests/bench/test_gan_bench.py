"""The benchmarks' JSON layouts at tiny budgets (numbers are not judged here), and their judges."""

import json

import numpy as np
import pytest
import torch

from brushwork.cli import main



def test_bench_mixture_layout(capsys):
    code = main(["bench", "mixture", "--dataset", "ring", "--seeds", "2", "--steps", "3", "--ref-steps", "2", "--samples", "100", "--quiet", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    for side in ("brushwork", "baseline"):
        assert {"modes", "high_quality", "reverse_kl", "steps_per_second", "modes_stderr"} <= set(out[side])
    assert len(out["per_seed"]) == 2 and out["per_seed"][1]["brushwork"]["seed"] == 1
    assert out["reference_steps_per_second"] > 0 and out["step_steps_per_second"] > 0 and out["speedup"] > 0
    assert out["paper"]["GAN"]["modes"] == 6.3


def test_bench_digits_layout(capsys, tmp_path):
    code = main(["bench", "digits", "--preset", "mlp-digits", "--steps", "3", "--ref-steps", "2", "--grid", str(tmp_path / "g.png"), "--quiet", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert {"classes_covered", "confident_fraction", "fd", "fd_real_vs_real", "steps_per_second", "reference_steps_per_second"} <= set(out)
    assert 0 <= out["classes_covered"] <= 10 and 0 < out["fd_real_vs_real"] < out["fd"]
    assert (tmp_path / "g.png").exists()


def test_digits_judge_on_real_digits():
    from brushwork.bench.digits import fit_judge, judge

    clf, xa, xb, acc = fit_judge(0)
    assert acc > 0.9
    real = torch.tensor(xb, dtype=torch.float32).view(-1, 1, 8, 8)
    scores = judge(real, clf, xa, xb)
    assert scores["classes_covered"] == 10 and scores["fd"] == pytest.approx(0.0, abs=1e-6)
    ones = judge(real[:1].repeat(50, 1, 1, 1), clf, xa, xb)  # collapse onto one digit
    assert ones["classes_covered"] == 1 and ones["kl_to_uniform"] == pytest.approx(np.log(10))
    assert scores["real_confident_fraction"] == pytest.approx(scores["confident_fraction"]) and "class_agreement" not in scores
    _, yb = fit_judge_labels()
    truth = judge(real, clf, xa, xb, labels=yb)
    assert truth["class_agreement"] == pytest.approx(acc)  # agreement with the true labels is the judge's accuracy
    wrong = judge(real, clf, xa, xb, labels=(yb + 1) % 10)
    assert wrong["class_agreement"] < 0.1


def fit_judge_labels(seed: int = 0):
    """The held-out half's images and labels, split exactly as fit_judge splits them."""
    from sklearn.model_selection import train_test_split

    from brushwork.bench.digits import to_judge
    from brushwork.data.datasets import load_digits

    d = load_digits(8)
    _, xb, _, yb = train_test_split(to_judge(d.x), d.y.numpy(), test_size=0.5, stratify=d.y.numpy(), random_state=seed)
    return xb, yb


def test_bench_mixture_baseline_seeds_and_score_files(tmp_path):
    from brushwork.bench.mixture import run_mixture

    out = run_mixture("grid", 2, 2, None, 50, 2, tmp_path, baseline_seeds=1)
    assert out["baseline_seeds"] == 1 and out["per_seed"][1]["baseline"] is None
    assert out["per_seed"][1]["brushwork"]["seed"] == 1 and out["baseline"]["modes_stderr"] == 0.0
    assert "steps of batch 250 (100 for the baseline;" in out["protocol_note"]
    saved = json.loads((tmp_path / "brushwork-seed1" / "mixture_scores.json").read_text())
    assert saved["modes"] == out["per_seed"][1]["brushwork"]["modes"] and not (tmp_path / "baseline-seed1").exists()


def test_reference_loop_does_the_configs_regularisation_work(monkeypatch):
    """The yardstick computes R1 on every r1_every-th D step and updates the EMA once per G step,
    as Brushwork's step does, so the throughput ratio compares implementations, not work."""
    from brushwork.bench import reference
    from brushwork.gan.config import resolve_config
    from brushwork.training.ema import EMA

    calls = {"r1": 0, "ema": 0}
    r1 = reference.losses.r1_penalty
    update = EMA.update

    def counting_r1(*a, **k):
        calls["r1"] += 1
        return r1(*a, **k)

    def counting_update(self, *a, **k):
        calls["ema"] += 1
        return update(self, *a, **k)

    monkeypatch.setattr(reference.losses, "r1_penalty", counting_r1)
    monkeypatch.setattr(EMA, "update", counting_update)
    cfg = resolve_config(preset="cdcgan-digits", overrides=[{"model": {"g_width": 8, "d_width": 8}, "train": {"batch_size": 8, "r1_every": 4}}])
    reference.reference_steps_per_second(cfg, steps=7, warmup=1)
    assert calls == {"r1": 2, "ema": 8}  # D steps 0..7: R1 at 0 and 4; one EMA update per G step
