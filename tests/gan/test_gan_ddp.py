"""Data-parallel training (torchrun, 2 CPU processes, gloo) equals one process with the same global batch.

Models here have no batch norm in G or D: batch norm normalises with each process's
local batch, so with it the two set-ups legitimately differ (SyncBatchNorm is CUDA-only).
Every other source of difference is removed by design: noise, labels, augmentation and
penalty mixing are drawn for the global batch and sliced, real batches are slices of one
seeded global order, and gradients are averaged with one all-reduce. The remaining
difference is float summation order (local means averaged vs one global mean), so weights
are compared with a tight tolerance, not bitwise. For WGAN-GP the test raises Adam's eps:
some critic parameters (the output bias) get an exactly-zero true gradient, and Adam turns
rounding noise of 1e-9 in such a gradient into a full learning-rate step either way.
"""

import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from brushwork.cli import main
from brushwork.training.checkpoint import latest_checkpoint


CASES = {
    "mlp-digits-augment-ema-conditional": ["--preset", "mlp-digits", "--set", "model.g_hidden=[16,16]", "--set", "model.d_hidden=[16]", "--set", "model.conditional=true", "--set", "data.img_size=8", "--set", "train.augment=translation,cutout,color", "--set", "train.ema_decay=0.8", "--set", "train.n_critic=2", "--batch-size", "16", "--steps", "5"],
    "wgan-gp-grid": ["--preset", "wgan-gp-grid", "--set", "model.g_hidden=[16,16]", "--set", "model.d_hidden=[16,16]", "--set", "data.n_points=200", "--set", "train.n_critic=2", "--set", "train.lr_g=1e-3", "--set", "train.lr_d=1e-3", "--set", "train.adam_eps=1e-3", "--batch-size", "20", "--steps", "4"],
}


def _weights(run):
    return load_file(str(latest_checkpoint(run)).replace(".json", ".safetensors"))


@pytest.mark.parametrize("case", sorted(CASES))
def test_two_processes_equal_one(tmp_path, case):
    args = ["gan", "train", *CASES[case], "--out", str(tmp_path), "--quiet", "--threads", "1"]
    assert main([*args, "--name", "single"]) == 0
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join(sys.path))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "brushwork", *args, "--name", "ddp"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    single, ddp = _weights(tmp_path / "single"), _weights(tmp_path / "ddp")
    models = [k for k in single if k.split(".")[0] in ("G", "D", "G_ema")]
    assert models and set(single) == set(ddp)
    for k in models:
        assert torch.allclose(single[k], ddp[k], rtol=1e-4, atol=1e-5), (k, (single[k] - ddp[k]).abs().max())
    # the processes really trained (weights moved away from initialisation)
    assert any(not torch.equal(single[k], _weights_at_init(tmp_path, args)[k]) for k in models if k.startswith("G."))


def _weights_at_init(tmp_path, args):
    steps = args.index("--steps")
    init = [*args[:steps], "--steps", "0", *args[steps + 2 :], "--name", "init"]
    if not (tmp_path / "init").exists():
        assert main(init) == 0
    return _weights(tmp_path / "init")
