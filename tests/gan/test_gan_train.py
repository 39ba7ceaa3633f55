"""The GAN trainer: exact resume, NaN guard, stop requests, logs and samples."""

import json
import os
import signal
import threading

import pytest
import torch
from safetensors.torch import load_file

from brushwork.gan import parts as parts_mod
from brushwork.gan.config import resolve_config
from brushwork.gan.parts import Position, build_parts, load_data
from brushwork.gan.step import train_step
from brushwork.gan.train import Interrupted, train
from brushwork.training import adversarial
from brushwork.training.checkpoint import latest_checkpoint, list_checkpoints
from brushwork.training.distributed import DistInfo
from brushwork.training.guard import NonFiniteLoss
from brushwork.training.runs import create_run


TINY_IMAGES = {
    "model": {"g_width": 4, "d_width": 4, "z_dim": 8, "conditional": True},
    "data": {"img_size": 8},
    "train": {"batch_size": 16, "n_critic": 2, "ema_decay": 0.9, "ema_start": 2, "augment": "translation,cutout,color", "lr_decay": "linear", "log_every": 2, "sample_every": 3, "diag_every": 3, "ckpt_every": 4},
}


def _cfg(preset, *overrides):
    return resolve_config(preset=preset, overrides=[*overrides])


def _run(tmp_path, name, cfg):
    return create_run(tmp_path, name=name, tag=cfg.name, kind="gan", options={"config": cfg.to_dict()})


def _final_tensors(run_dir):
    path = latest_checkpoint(run_dir)
    return load_file(str(path).replace(".json", ".safetensors")), json.loads(path.read_text())


def _assert_same(a, b):
    ta, sa = a
    tb, sb = b
    assert ta.keys() == tb.keys()
    for k in ta:
        assert torch.equal(ta[k], tb[k]), k
    for key in ("step", "batches", "optim", "rng"):
        assert sa[key] == sb[key], key


@pytest.mark.parametrize(
    "preset,extra",
    [
        ("dcgan-digits", TINY_IMAGES),  # batch norm, conditional, EMA, DiffAugment, n_critic 2, lr decay
        # conditional, minibatch-std, lazy R1, bfloat16 autocast where native (amp)
        ("cdcgan-digits", {"model": {"g_width": 4, "d_width": 4, "z_dim": 8}, "data": {"img_size": 8}, "train": {"batch_size": 8, "r1_every": 2, "ckpt_every": 3, "diag_every": 3, "sample_every": 5}}),
        ("wgan-gp-grid", {"model": {"g_hidden": [16, 16], "d_hidden": [16, 16]}, "data": {"n_points": 500}, "train": {"batch_size": 20, "n_critic": 2, "ckpt_every": 3, "diag_every": 3, "sample_every": 5}}),
    ],
)
def test_resume_is_bitwise_exact(tmp_path, preset, extra):
    n = 6
    cfg = _cfg(preset, extra, {"train": {"steps": 2 * n}})
    whole = _run(tmp_path, "whole", cfg)
    train(cfg, whole)
    halves = _run(tmp_path, "halves", cfg)
    first = train(cfg, halves, max_steps_this_call=n)
    assert first.step == n and list_checkpoints(halves)[-1][0] == n
    second = train(cfg, halves, resume=True)
    assert second.step == 2 * n
    _assert_same(_final_tensors(whole), _final_tensors(halves))
    lines = [json.loads(x) for x in (halves / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == sorted({x["step"] for x in lines})  # one record per step, no duplicates


def test_resume_with_more_steps_equals_one_run(tmp_path):
    """The CLI path: train N steps, then resume with --steps 2N (constant learning rate)."""
    small = {"model": {"g_width": 4, "d_width": 4, "z_dim": 8}, "data": {"img_size": 8}, "train": {"batch_size": 8, "ema_decay": 0.5, "ckpt_every": 100, "lr_decay": "none"}}
    whole = _run(tmp_path, "whole", _cfg("dcgan-digits", small, {"train": {"steps": 8}}))
    train(_cfg("dcgan-digits", small, {"train": {"steps": 8}}), whole)
    halves = _run(tmp_path, "halves", _cfg("dcgan-digits", small, {"train": {"steps": 4}}))
    train(_cfg("dcgan-digits", small, {"train": {"steps": 4}}), halves)
    train(_cfg("dcgan-digits", small, {"train": {"steps": 8}}), halves, resume=True)
    ta, _ = _final_tensors(whole)
    tb, _ = _final_tensors(halves)
    assert all(torch.equal(ta[k], tb[k]) for k in ta)


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    cfg = _cfg("mlp-digits", {"model": {"g_hidden": [8], "d_hidden": [8]}, "data": {"img_size": 8}, "train": {"steps": 20, "batch_size": 8, "ckpt_every": 5}})
    run = _run(tmp_path, "r", cfg)
    real_g_loss = adversarial.g_loss
    calls = {"n": 0}

    def poisoned(kind, fake):
        calls["n"] += 1
        loss = real_g_loss(kind, fake)
        return loss * float("nan") if calls["n"] == 7 else loss

    monkeypatch.setattr(adversarial, "g_loss", poisoned)
    with pytest.raises(NonFiniteLoss, match=r"step 7: loss_g is nan.*step-00000005\.json"):
        train(cfg, run)
    assert [s for s, _ in list_checkpoints(run)] == [5]
    monkeypatch.setattr(adversarial, "g_loss", real_g_loss)
    assert train(cfg, run, resume=True).step == 20  # the kept checkpoint is good


def test_sigterm_writes_a_checkpoint(tmp_path):
    cfg = _cfg("mlp-digits", {"model": {"g_hidden": [8], "d_hidden": [8]}, "data": {"img_size": 8}, "train": {"steps": 100000, "batch_size": 8, "ckpt_every": 100000}})
    run = _run(tmp_path, "r", cfg)
    events = []

    def on_event(event, data):
        events.append(event)

    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGTERM))
    timer.start()
    with pytest.raises(Interrupted, match="SIGTERM"):
        train(cfg, run, callback=on_event)
    step, _ = list_checkpoints(run)[-1]
    assert 0 < step < 100000
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handlers restored


def test_run_folder_contents(tmp_path):
    cfg = _cfg("pacgan-ring", {"model": {"g_hidden": [16], "d_hidden": [16]}, "data": {"n_points": 400}, "train": {"steps": 4, "log_every": 2, "diag_every": 2, "sample_every": 2, "ckpt_every": 2}})
    run = _run(tmp_path, "r", cfg)
    result = train(cfg, run)
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step-00000002.png", "step-00000004.png"]
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines] == [2, 4]
    assert {"loss_d", "loss_g", "modes", "high_quality", "reverse_kl"} <= set(lines[-1])
    assert any((run / "tb").iterdir())
    assert result.metrics["modes"] == lines[-1]["modes"]


def test_fresh_training_refuses_a_run_with_checkpoints(tmp_path):
    from brushwork.errors import BrushworkError

    cfg = _cfg("mlp-digits", {"model": {"g_hidden": [8], "d_hidden": [8]}, "data": {"img_size": 8}, "train": {"steps": 2, "batch_size": 8}})
    run = _run(tmp_path, "r", cfg)
    train(cfg, run)
    before = {p.name: p.read_bytes() for p in (run / "checkpoints").iterdir()}
    with pytest.raises(BrushworkError, match="resume it"):
        train(cfg, run)
    assert {p.name: p.read_bytes() for p in (run / "checkpoints").iterdir()} == before


def test_amp_autocasts_to_bfloat16_where_native(tmp_path, monkeypatch):
    """train.amp: D's convolutions run in bfloat16 on a device with native bf16, float32 elsewhere (with a warning)."""
    seen = []
    cfg = _cfg("cdcgan-digits", {"model": {"g_width": 4, "d_width": 4, "z_dim": 8}, "data": {"img_size": 8}, "train": {"batch_size": 8}}, {"train": {"steps": 1}})
    for native in (True, False):
        monkeypatch.setattr(parts_mod, "fast_bf16", lambda device, native=native: native)
        parts = build_parts(cfg, load_data(cfg), torch.device("cpu"), DistInfo())
        hook = parts.D.from_rgb.register_forward_hook(lambda mod, inp, out: seen.append(out.dtype))
        train_step(cfg, parts, Position())
        hook.remove()
        assert parts.amp is native
        assert set(seen) == ({torch.bfloat16} if native else {torch.float32})
        seen.clear()


@pytest.mark.parametrize("preset", ["stylegan2-digits", "biggan-digits", "sagan-digits", "dcgan-digits"])
def test_amp_trains_every_family(tmp_path, monkeypatch, preset):
    """bfloat16 autocast (forced on, as on a bf16-native device) runs a few steps of each family and keeps the weights finite."""
    monkeypatch.setattr(parts_mod, "fast_bf16", lambda device: True)
    small = {"model": {"g_width": 8, "d_width": 8, "z_dim": 8}, "data": {"img_size": 8}, "train": {"batch_size": 8, "amp": True, "ckpt_every": 3}}
    if preset == "stylegan2-digits":
        small["train"].update(r1_every=2, pl_weight=1.0, pl_every=2)
    if preset in ("biggan-digits", "sagan-digits"):
        small["data"]["img_size"] = 16  # their attention block sits at 8 px
    cfg = _cfg(preset, small, {"train": {"steps": 3}})
    run = _run(tmp_path, "r", cfg)
    train(cfg, run)
    tensors, state = _final_tensors(run)
    assert state["step"] == 3 and all(torch.isfinite(t.float()).all() for t in tensors.values())
