"""Every GAN family (sagan, biggan, stylegan2, progressive) trains and resumes bitwise: N steps + resume + N steps == 2N steps.

Also the home of :func:`resume_pair`, which the progressive and ADA tests reuse.
"""

import json

import pytest
import torch
from safetensors.torch import load_file

from brushwork.gan.config import resolve_config
from brushwork.gan.train import train
from brushwork.training.checkpoint import latest_checkpoint, list_checkpoints
from brushwork.training.runs import create_run

EVERY = {"log_every": 1, "sample_every": 3, "diag_every": 3, "ckpt_every": 4}


def _final(run_dir):
    path = latest_checkpoint(run_dir)
    return load_file(str(path).replace(".json", ".safetensors")), json.loads(path.read_text())


def resume_pair(tmp_path, preset, extra, n):
    """Train ``2n`` steps in one call and ``n`` + resume in another; assert every tensor and the
    optimiser / RNG / ADA / path-length state match. Returns the second run's folder."""
    cfg = resolve_config(preset=preset, overrides=[extra, {"train": {"steps": 2 * n, **EVERY}}])
    runs = []
    for name in ("whole", "halves"):
        runs.append(create_run(tmp_path, name=name, tag=cfg.name, kind="gan", options={"config": cfg.to_dict()}))
    train(cfg, runs[0])
    assert train(cfg, runs[1], max_steps_this_call=n).step == n
    assert list_checkpoints(runs[1])[-1][0] == n
    assert train(cfg, runs[1], resume=True).step == 2 * n
    (ta, sa), (tb, sb) = _final(runs[0]), _final(runs[1])
    assert ta.keys() == tb.keys()
    for k in ta:
        assert torch.equal(ta[k], tb[k]), k
    for key in ("step", "batches", "optim", "rng", "ada", "pl_mean"):
        assert sa[key] == sb[key], key
    return runs[1]


FAMILIES = [
    ("sagan-digits", {"model": {"g_width": 8, "d_width": 8, "z_dim": 8, "conditional": True}, "data": {"img_size": 16}, "train": {"batch_size": 8, "ema_decay": 0.9}}),
    ("biggan-digits", {"model": {"g_width": 8, "d_width": 8, "z_dim": 9}, "data": {"img_size": 16}, "train": {"batch_size": 8, "n_critic": 2}}),
    ("stylegan2-digits", {"model": {"g_width": 4, "d_width": 8, "z_dim": 8, "g_arch": "resnet"}, "data": {"img_size": 8}, "train": {"batch_size": 8, "r1_every": 3, "pl_weight": 2.0, "pl_every": 2}}),
]


@pytest.mark.parametrize("preset,extra", FAMILIES, ids=[f[0] for f in FAMILIES])
def test_family_resumes_exactly(tmp_path, preset, extra):
    run = resume_pair(tmp_path, preset, extra, 5)
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == list(range(1, 11))
    if preset == "biggan-digits":
        assert all(x["ortho"] > 0 for x in lines)
    if preset == "stylegan2-digits":
        assert sum("pl" in x for x in lines) == 5 and sum("r1" in x for x in lines) > 0
        assert json.loads(latest_checkpoint(run).read_text())["pl_mean"] > 0
