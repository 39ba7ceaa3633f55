"""Discriminator rejection sampling: the acceptance score against its formula, per-sample logits of
a packing discriminator, the accepted fraction on a toy with a known answer, and the CLI option."""

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from brushwork.cli import main
from brushwork.gan.rejection import acceptance_logit, rejection_sample, sample_logits
from brushwork.gan.sample import LoadedGenerator


class ToyG(nn.Module):
    """Identity on 2-D noise: samples are standard normal points."""

    z_dim, num_classes, output = 2, 0, "linear"

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))  # gives the module a device

    def forward(self, z, y=None):
        return z * 1.0

    def to_unit(self, x):
        return x

    def from_unit(self, x):
        return x


class DiscD(nn.Module):
    """Logit ``+5`` inside the unit disc, ``-5`` outside, summed over each pack of ``pack`` samples."""

    def __init__(self, pack=1):
        super().__init__()
        self.pack = pack
        self.w = nn.Parameter(torch.zeros(1))  # gives the module a device

    @staticmethod
    def score(x):
        return torch.where(x.norm(dim=1) < 1, 5.0, -5.0)

    def forward(self, x, y=None):
        return self.score(x).view(-1, self.pack).sum(1)


def toy_gen() -> LoadedGenerator:
    return LoadedGenerator(ToyG(), None, 0, False, Path("."), (2,))


def test_acceptance_logit_matches_formula():
    logits, d_max, eps = torch.tensor([-3.0, 0.5, 1.9]), 2.0, 1e-6
    want = [x - d_max - math.log(1 - math.exp(x - d_max - eps)) for x in logits.tolist()]
    assert acceptance_logit(logits, d_max, eps).tolist() == pytest.approx(want, rel=1e-9)


def test_sample_logits_unpacked_is_the_logit():
    x = torch.randn(50, 2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(sample_logits(DiscD(1), x, torch.Generator().manual_seed(1)), DiscD.score(x))


def test_sample_logits_of_a_packing_discriminator_track_each_sample():
    # Each pack of two scores s(a) + s(b); a sample's mean over many packs is s(x) + the batch's mean score.
    x = torch.randn(400, 2, generator=torch.Generator().manual_seed(0))
    got = sample_logits(DiscD(2), x, torch.Generator().manual_seed(1), partners=200)
    want = DiscD.score(x) + DiscD.score(x).mean()
    assert (got - want).abs().max() < 1.5  # 6 standard deviations of a mean of 400 partner scores; classes are 10 apart


def test_rejection_keeps_the_known_fraction_inside_the_disc():
    # F = 5 - D_max - log(1 - exp(-eps)) (about 13.8) inside the disc and about -10 outside; with
    # gamma at the median of F (-10, since 61% of normal points lie outside), inside points are
    # always kept and outside ones with probability sigmoid(0) = 1/2.
    inside = 1 - math.exp(-0.5)  # P(|z| < 1) for a 2-D standard normal
    want = inside / (inside + (1 - inside) * 0.5)
    out = rejection_sample(toy_gen(), 4000, seed=3, quantile=0.5, D=DiscD(1), burn_in=4000)
    frac = float((out.samples.norm(dim=1) < 1).float().mean())
    assert out.samples.shape == (4000, 2)
    assert frac == pytest.approx(want, abs=0.03)
    assert out.acceptance == pytest.approx(inside + (1 - inside) * 0.5, abs=0.03)
    again = rejection_sample(toy_gen(), 4000, seed=3, quantile=0.5, D=DiscD(1), burn_in=4000)
    assert torch.equal(out.samples, again.samples)


def test_rejection_bad_quantile_and_give_up():
    from brushwork.errors import BrushworkError

    with pytest.raises(BrushworkError, match="quantile"):
        rejection_sample(toy_gen(), 10, quantile=1.5, D=DiscD(1))
    with pytest.raises(BrushworkError, match="accepted"):
        # at most 20 draws cannot yield 100 samples
        rejection_sample(toy_gen(), 100, quantile=0.5, D=DiscD(1), batch=10, burn_in=10, max_draws=20)


def _tiny_ring_run(tmp_path) -> Path:
    argv = ["gan", "train", "--preset", "pacgan-ring", "--set", "model.g_hidden=[8]", "--set", "model.d_hidden=[8]", "--set", "data.n_points=400", "--steps", "2", "--threads", "1", "--quiet", "--out", str(tmp_path), "--name", "m"]
    assert main(argv) == 0
    return tmp_path / "m"


def test_cli_sample_with_rejection(tmp_path, capsys):
    run = _tiny_ring_run(tmp_path)
    capsys.readouterr()
    out = tmp_path / "drs.png"
    assert main(["gan", "sample", str(run), "-n", "50", "-o", str(out), "--rejection", "--rejection-quantile", "0.5", "--rejection-calibrate", "3", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert out.is_file() and info["rejection"]["quantile"] == 0.5 and 0 < info["rejection"]["acceptance"] <= 1
    assert info["rejection"]["drawn"] >= 50


@pytest.mark.parametrize("extra, message", [(["--rejection-quantile", "0.5"], "need --rejection"), (["--rejection-calibrate", "5"], "need --rejection"), (["--rejection", "--rejection-calibrate", "-1"], "calibration steps"), (["--rejection", "--truncation", "1"], "takes no"), (["--rejection", "--rejection-quantile", "1"], "quantile")])
def test_cli_rejection_bad_input(tmp_path, capsys, extra, message):
    run = _tiny_ring_run(tmp_path)
    capsys.readouterr()
    out = tmp_path / "drs.png"
    assert main(["gan", "sample", str(run), "-n", "10", "-o", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and not out.exists()


def test_bench_mixture_reports_rejection_apart_from_plain_sampling(tmp_path):
    from brushwork.bench.mixture import run_mixture
    from brushwork.commands.bench_gan import mixture_table as table

    with_drs = run_mixture("ring", 1, 2, None, 60, 2, tmp_path / "a", rejection=0.5, calibrate_steps=3, baseline_seeds=1)
    plain = run_mixture("ring", 1, 2, None, 60, 2, tmp_path / "b", baseline_seeds=1)
    for side in ("brushwork", "baseline"):
        drs = with_drs[f"{side}_rejection"]
        assert {"modes", "high_quality", "reverse_kl", "acceptance"} <= set(drs) and drs["quantile"] == 0.5
        assert 0 < drs["acceptance"] <= 1 and with_drs["per_seed"][0][side]["rejection"]["calibrate_steps"] == 3
        assert {k: with_drs[side][k] for k in ("modes", "high_quality")} == {k: plain[side][k] for k in ("modes", "high_quality")}
    assert "brushwork_rejection" not in plain
    saved = json.loads((tmp_path / "a" / "brushwork-seed0" / "mixture_scores.json").read_text())
    assert saved["rejection"]["acceptance"] == with_drs["brushwork_rejection"]["acceptance"]
    assert "rejection sampling" in table(with_drs) and "rejection sampling" not in table(plain)


def test_calibrate_fine_tunes_a_copy_towards_the_data():
    from brushwork.gan.models.mlp import MLPDiscriminator
    from brushwork.gan.rejection import calibrate

    torch.manual_seed(0)
    D = MLPDiscriminator((2,), [16], pack=2)
    before = {k: v.clone() for k, v in D.state_dict().items()}
    real = torch.randn(500, 2) * 0.1 + 3.0  # the generator draws standard normal points
    tuned = calibrate(D, toy_gen(), real, 200, seed=0, lr=1e-2)
    fake = torch.randn(500, 2, generator=torch.Generator().manual_seed(5))
    g = torch.Generator().manual_seed(6)
    assert float(sample_logits(tuned, real, g).min()) > float(sample_logits(tuned, fake[fake.norm(dim=1) < 2], g).max())
    assert all(torch.equal(before[k], v) for k, v in D.state_dict().items())
