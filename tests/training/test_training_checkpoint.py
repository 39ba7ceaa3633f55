"""Shared training utilities: checkpoints (never pickled), optimiser/RNG round trips, EMA, runs, logs."""

import json
import random

import numpy as np
import pytest
import torch

from brushwork.errors import BrushworkError
from brushwork.training import checkpoint as ckpt
from brushwork.training.ema import EMA
from brushwork.training.guard import NonFiniteLoss, check_finite
from brushwork.training.metrics_log import MetricsLog
from brushwork.training.runs import create_run, is_run, next_run_dir, read_run


def _adam_after_steps():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 1))
    opt = torch.optim.Adam(net.parameters(), lr=0.01, betas=(0.5, 0.9))
    for _ in range(3):
        opt.zero_grad()
        net(torch.randn(5, 3)).pow(2).mean().backward()
        opt.step()
    return net, opt


def test_optimizer_round_trip_continues_identically():
    net, opt = _adam_after_steps()
    tensors, meta = ckpt.optimizer_to_flat(opt, "opt")
    meta = json.loads(json.dumps(meta))  # must survive JSON
    net2 = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 1))
    net2.load_state_dict(net.state_dict())
    opt2 = torch.optim.Adam(net2.parameters(), lr=0.5)
    ckpt.optimizer_from_flat(opt2, tensors, meta, "opt")
    assert opt2.param_groups[0]["lr"] == 0.01 and opt2.param_groups[0]["betas"] == (0.5, 0.9)
    x = torch.randn(5, 3)
    for n, o in ((net, opt), (net2, opt2)):
        o.zero_grad()
        n(x).pow(2).mean().backward()
        o.step()
    assert all(torch.equal(a, b) for a, b in zip(net.parameters(), net2.parameters()))


def test_rng_round_trip():
    g = torch.Generator().manual_seed(5)
    tensors, meta = ckpt.rng_to_flat({"g": g})
    meta = json.loads(json.dumps(meta))
    want = (random.random(), np.random.rand(), torch.rand(1).item(), torch.rand(1, generator=g).item())
    ckpt.rng_from_flat(tensors, meta, {"g": g})
    assert (random.random(), np.random.rand(), torch.rand(1).item(), torch.rand(1, generator=g).item()) == want


def test_save_load_prune_and_corruption(tmp_path):
    for step in (1, 2, 3):
        ckpt.save_checkpoint(tmp_path, step, {"w": torch.full((2,), float(step))}, {"note": step}, keep=2)
    assert [s for s, _ in ckpt.list_checkpoints(tmp_path)] == [2, 3]
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["step-00000002.json", "step-00000002.safetensors", "step-00000003.json", "step-00000003.safetensors"]
    tensors, state = ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path))
    assert state["note"] == 3 and torch.equal(tensors["w"], torch.full((2,), 3.0))
    st = tmp_path / "checkpoints" / "step-00000003.safetensors"
    st.write_bytes(st.read_bytes()[:-3])
    with pytest.raises(BrushworkError, match="corrupted"):
        ckpt.load_checkpoint(ckpt.latest_checkpoint(tmp_path))
    (tmp_path / "checkpoints" / "step-00000002.json").write_text("{not json")
    with pytest.raises(BrushworkError, match="corrupted checkpoint state"):
        ckpt.load_checkpoint(tmp_path / "checkpoints" / "step-00000002.json")
    with pytest.raises(BrushworkError, match="no checkpoint"):
        ckpt.latest_checkpoint(tmp_path / "elsewhere")


def test_failed_save_leaves_previous_checkpoint(tmp_path):
    ckpt.save_checkpoint(tmp_path, 1, {"w": torch.ones(2)}, {})
    with pytest.raises(Exception):
        ckpt.save_checkpoint(tmp_path, 2, {"w": torch.ones(2)}, {"bad": object()})  # state not JSON-able
    assert [s for s, _ in ckpt.list_checkpoints(tmp_path)] == [1]
    assert not [p for p in (tmp_path / "checkpoints").iterdir() if p.name.startswith(".")]  # no temp files left


def test_ema():
    net = torch.nn.Linear(2, 1)
    ema = EMA(net, decay=0.5, start=1)
    with torch.no_grad():
        net.weight.fill_(1.0)
    ema.update(net, step=0)  # warm-up: copy
    assert torch.equal(ema.shadow.weight, net.weight)
    with torch.no_grad():
        net.weight.fill_(3.0)
    ema.update(net, step=1)
    assert torch.allclose(ema.shadow.weight, torch.full_like(net.weight, 2.0))
    assert not any(p.requires_grad for p in ema.shadow.parameters())


def test_runs(tmp_path):
    assert next_run_dir(tmp_path, "a b").name == "00000-a-b"
    r = create_run(tmp_path, name=None, tag="x", kind="gan", options={"k": 1})
    assert r.name == "00000-x" and is_run(r) and read_run(r, kind="gan")["options"] == {"k": 1}
    assert next_run_dir(tmp_path, "x").name == "00001-x"
    with pytest.raises(BrushworkError, match="already exists"):
        create_run(tmp_path, name="00000-x", tag="x", kind="gan", options={})
    with pytest.raises(BrushworkError, match="not a 'style' run"):
        read_run(r, kind="style")
    assert not is_run(tmp_path)


def test_guard():
    check_finite(3, {"a": 1.0})
    with pytest.raises(NonFiniteLoss, match="step 3: b is inf"):
        check_finite(3, {"a": 1.0, "b": float("inf")})


def test_metrics_log_truncates_on_resume(tmp_path):
    log = MetricsLog(tmp_path, tensorboard=False)
    for s in (1, 2, 3):
        log.log(s, {"x": float(s)})
    log.close()
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write('{"step": 4, "x"')  # torn line from a crash
    log = MetricsLog(tmp_path, resume_step=2, tensorboard=False)
    log.log(3, {"x": 30.0, "bad": float("nan")})
    log.close()
    lines = [json.loads(x) for x in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert lines == [{"step": 1, "x": 1.0}, {"step": 2, "x": 2.0}, {"step": 3, "x": 30.0, "bad": None}]
