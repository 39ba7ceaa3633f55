"""`brushwork bench mixture`: mode collapse on the 2-D Gaussian mixtures of VEEGAN / PacGAN."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, Callable

from ..fsutil import atomic_write_text

PROTOCOL = """Protocol (VEEGAN, Srivastava et al. 2017, as used by PacGAN, Lin et al. 2018):
ring = 8 equal-weight Gaussians at (cos 2πk/8, sin 2πk/8), std 0.01; grid = 25
equal-weight Gaussians at {-4,-2,0,2,4}^2, std 0.05; 100,000 training points. Score
2,500 generated samples: a sample is high quality when within 3 std of its nearest
mode; a mode is captured when at least one high-quality sample is assigned to it;
reverse KL = KL(high-quality mode histogram || uniform). Mean and standard error
over seeds. PacGAN trains 400 epochs (400k steps of batch 100, Adam lr 1e-4, beta1
0.8; G 4x400 ReLU+BN on 2-D noise, D 3x200 maxout-5) over 10 seeds; --steps (12,000
for both methods by default) and --seeds scale that down to what a machine can
afford, and the output says so. The
baseline is PacGAN's plain GAN (gan-<dataset>); Brushwork's presets keep those widths
and change the training (pacgan-<dataset>: PacGAN2, no BN in G, lr 1e-3 decayed to 0,
EMA; on the grid also random Fourier features of D's input and of G's noise, a lazy
R1 penalty and batches of 250).
--rejection adds rows for discriminator rejection sampling (Azadi et al. 2019): 2,500
samples kept by DRS after fine-tuning D; these are not plain samples of G."""

PAPER = {  # PacGAN Table 1, 10 runs, mean (standard error)
    "ring": {"GAN": {"modes": 6.3, "high_quality": 0.982, "reverse_kl": 0.45}, "PacGAN4": {"modes": 7.8, "high_quality": 0.959, "reverse_kl": 0.07}},
    "grid": {"GAN": {"modes": 17.3, "high_quality": 0.948, "reverse_kl": 0.70}, "PacGAN4": {"modes": 24.8, "high_quality": 0.936, "reverse_kl": 0.04}},
}
TARGETS = {"ring": {"modes": 8.0, "high_quality": 0.97, "reverse_kl": 0.01}, "grid": {"modes": 24.8, "high_quality": 0.95, "reverse_kl": 0.03}}


def train_and_score(cfg, out: Path, name: str, samples: int, device: str, rejection: float | None = None, calibrate_steps: int = 500) -> dict[str, Any]:
    """Train ``cfg`` in ``out/name`` and score ``samples`` samples of its (EMA) generator; with
    ``rejection`` (a DRS quantile) also ``samples`` samples kept by discriminator rejection
    sampling (:mod:`brushwork.gan.rejection`, its discriminator first fine-tuned
    ``calibrate_steps`` steps), scored separately under ``"rejection"``."""
    from ..data.datasets import mixture_centers, mixture_std
    from ..gan.mixture import mixture_scores
    from ..gan.sample import load_generator, sample
    from ..gan.train import train
    from ..training.runs import create_run

    run = create_run(out, name=name, tag=cfg.name, kind="gan", options={"config": cfg.to_dict(), "device": device})
    result = train(cfg, run, device=device)
    gen = load_generator(run, device=device)

    def score(x) -> dict[str, Any]:
        s = mixture_scores(x, mixture_centers(cfg.data.dataset), mixture_std(cfg.data.dataset))
        return {"modes": s.modes, "high_quality": s.high_quality, "reverse_kl": s.reverse_kl}

    row = {"seed": cfg.train.seed, **score(sample(gen, samples, seed=10_000 + cfg.train.seed)), "steps_per_second": result.steps_per_second, "run": str(run)}
    if rejection is not None:
        from ..gan.rejection import rejection_sample

        drs = rejection_sample(gen, samples, seed=20_000 + cfg.train.seed, quantile=rejection, calibrate_steps=calibrate_steps)
        row["rejection"] = {**score(drs.samples), "acceptance": drs.acceptance, "quantile": rejection, "calibrate_steps": calibrate_steps}
    atomic_write_text(run / "mixture_scores.json", json.dumps(row, indent=1))
    return row


def aggregate(rows: list[dict[str, Any]], keys: tuple[str, ...] = ("modes", "high_quality", "reverse_kl", "steps_per_second")) -> dict[str, Any]:
    """Means and standard errors over seeds of each score in ``keys``."""
    from ..gan.mixture import summarize

    out: dict[str, Any] = {}
    for key in keys:
        s = summarize([r[key] for r in rows])
        out[key], out[f"{key}_stderr"] = s["mean"], s["stderr"]
    out["reverse_kl_undefined_runs"] = sum(r["reverse_kl"] is None for r in rows)
    return out


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


def _train_all(tasks: list[tuple], jobs: int) -> list[dict[str, Any]]:
    """:func:`train_and_score` of every task, ``jobs`` at once in one-thread worker processes."""
    if jobs <= 1:
        return [train_and_score(*task) for task in tasks]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(jobs, initializer=_one_thread) as pool:
        return list(pool.map(train_and_score, *zip(*tasks)))


def _rejection_summary(config: str, quantile: float, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The seeds' rejection-sampling scores aggregated, for one method."""
    keys = ("modes", "high_quality", "reverse_kl", "acceptance")
    return {"config": config, "quantile": quantile, **aggregate([r["rejection"] for r in runs], keys)}


def run_mixture(dataset: str = "grid", seeds: int = 3, steps: int = 12_000, config: str | None = None, samples: int = 2500,
                ref_steps: int = 200, out: Path | None = None, device: str = "cpu", progress: Callable[[str], None] | None = None,
                preset: str | None = None, jobs: int = 1, baseline_seeds: int | None = None, rejection: float | None = None,
                calibrate_steps: int = 500) -> dict[str, Any]:
    """Train Brushwork's ``preset`` (default ``pacgan-<dataset>``) or ``config`` file on ``seeds``
    seeds and the plain GAN baseline (``gan-<dataset>``) on the first ``baseline_seeds`` of them
    (default: all), ``steps`` steps each; score both. Each run leaves ``mixture_scores.json``.

    ``jobs`` > 1 trains that many runs at once in worker processes of one torch thread each
    (results do not depend on it: every run is seeded by its own config). ``rejection``: also
    score discriminator rejection sampling with this quantile (after ``calibrate_steps`` of
    discriminator fine-tuning), reported apart from plain
    sampling under ``brushwork_rejection`` / ``baseline_rejection``. ``out``: where the runs are kept
    (default: a temporary folder); ``progress(message)``: a line per finished run."""
    if out is None:
        with tempfile.TemporaryDirectory() as tmp:
            return run_mixture(dataset, seeds, steps, config, samples, ref_steps, Path(tmp), device, progress, preset,
                               jobs, baseline_seeds, rejection, calibrate_steps)
    preset = preset or f"pacgan-{dataset}"
    progress = progress or (lambda message: None)
    from ..gan.config import resolve_config
    from .reference import compare_throughput

    quiet_intervals = {"diag_every": steps, "sample_every": steps, "ckpt_every": steps, "log_every": max(1, steps // 20)}
    n_base = seeds if baseline_seeds is None else min(seeds, baseline_seeds)

    def config_for(name: str | None, seed: int):
        over = {"train": {"steps": steps, "seed": seed, **quiet_intervals}, "data": {"dataset": dataset}}
        return resolve_config(preset=name, file=None if name else config, overrides=[over])

    tasks = [(config_for(None if config else preset, seed), out, f"brushwork-seed{seed}", samples, device, rejection, calibrate_steps) for seed in range(seeds)]
    tasks += [(config_for(f"gan-{dataset}", seed), out, f"baseline-seed{seed}", samples, device, rejection, calibrate_steps) for seed in range(n_base)]
    done = _train_all(tasks, jobs)
    rows: dict[str, list[dict[str, Any]]] = {"brushwork": done[:seeds], "baseline": done[seeds:]}
    for name, runs in rows.items():
        for r in runs:
            progress(f"seed {r['seed']} {name}: {_fmt(r)}")
    ours = tasks[0][0]
    ours_sps, ref_sps = compare_throughput(ours, ref_steps, device)  # the same model for every seed: timed once
    base_batch = config_for(f"gan-{dataset}", 0).train.batch_size
    result = {
        "dataset": dataset,
        "seeds": seeds,
        "steps": steps,
        "samples": samples,
        "brushwork": {"config": config or preset, **aggregate(rows["brushwork"])},
        "baseline": {"config": f"gan-{dataset}", **aggregate(rows["baseline"])},
        "step_steps_per_second": ours_sps,
        "reference_steps_per_second": ref_sps,
        "baseline_seeds": n_base,
        "per_seed": [{"seed": s, "brushwork": rows["brushwork"][s], "baseline": rows["baseline"][s] if s < n_base else None} for s in range(seeds)],
        "paper": PAPER[dataset],
        "targets": TARGETS[dataset],
        "protocol_note": f"{seeds} seed(s) ({n_base} for the baseline) x {steps} steps of batch {ours.train.batch_size} ({base_batch} for the baseline; PacGAN: 10 seeds x 400,000 steps of batch 100)",
    }
    if rejection is not None:
        for name, runs in rows.items():
            result[f"{name}_rejection"] = _rejection_summary(result[name]["config"], rejection, runs)
    result["speedup"] = result["step_steps_per_second"] / result["reference_steps_per_second"]
    return result


def _scores(r: dict[str, Any]) -> str:
    rkl = "n/a" if r["reverse_kl"] is None else f"{r['reverse_kl']:.3f}"
    return f"modes {r['modes']}, HQ {100 * r['high_quality']:.1f}%, rKL {rkl}"


def _fmt(r: dict[str, Any]) -> str:
    text = f"{_scores(r)}, {r['steps_per_second']:.1f} steps/s"
    if "rejection" in r:
        text += f"; with rejection sampling: {_scores(r['rejection'])}, {100 * r['rejection']['acceptance']:.1f}% accepted"
    return text
