"""Training CycleGAN / pix2pix: equivalence with a plain loop, exact resume, samples and logs."""

import json

import pytest
import torch

from brushwork.bench.translate import plain_step
from brushwork.translate.base import adam
from brushwork.translate.config import TranslateConfig
from brushwork.translate.data import TranslationData, sample_batch
from brushwork.translate.synthetic import make_task
from brushwork.translate.train import build_model, train
from brushwork.training.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint
from brushwork.training.runs import create_run

TINY = {"size": 32, "load_size": 36, "ngf": 4, "ndf": 4, "n_blocks": 2, "pool_size": 2, "amp": "off", "sample_every": 3, "log_every": 2, "ckpt_every": 4}


def _data(paired=True, n=8):
    a, b = make_task("sepia", n, 36, "train")
    return TranslationData(a, b if paired else b.flip(0), paired=paired)


def _cfg(model, **kw):
    return TranslateConfig(model=model, **{**TINY, **kw})


@pytest.mark.parametrize("model", ["cyclegan", "pix2pix"])
def test_step_equals_plain_loop(model):
    """Batched generator calls, joint critic passes, frozen critics and fused Adam change the
    speed, not the update: two steps match a plain loop written with torch.nn.functional losses."""
    cfg = _cfg(model, dropout=0.0, steps=10)
    data = _data(paired=model == "pix2pix")
    ours, ref = build_model(cfg), build_model(cfg, fused=False)
    gs = [p for g in ref.generator_modules() for p in g.parameters()]
    ds = [p for d in ref.critic_modules() for p in d.parameters()]
    step = plain_step(ref, adam(gs, cfg, False), adam(ds, cfg, False))
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    for _ in range(3):
        x, y = sample_batch(data, 32, 2, True, g1)
        out = ours.train_step(x, y, g1)
        sample_batch(data, 32, 2, True, g2)
        out_ref = step(x, y, g2)
        assert out["loss_g"] == pytest.approx(out_ref["loss_g"], rel=1e-4)
        for k in set(out) & set(out_ref) - {"loss_g"}:
            assert out[k] == pytest.approx(out_ref[k], rel=1e-4, abs=1e-6), k
    # compare what the networks compute: a conv bias right before instance norm has a zero
    # gradient in exact arithmetic, so Adam turns rounding noise into different (irrelevant) biases
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(9)) * 2 - 1
    with torch.no_grad():
        for mine, theirs in zip(ours.generator_modules() + ours.critic_modules(), ref.generator_modules() + ref.critic_modules()):
            inp = torch.cat([x, x], 1) if mine is getattr(ours, "D", None) else x
            torch.testing.assert_close(mine(inp), theirs(inp), atol=1e-4, rtol=1e-4)


def _final(run):
    path = latest_checkpoint(run)
    return load_checkpoint(path)


@pytest.mark.parametrize("model,amp", [("cyclegan", "off"), ("pix2pix", "off"), ("cyclegan", "bf16")])
def test_resume_is_bitwise_exact(tmp_path, model, amp):
    n = 5
    cfg = _cfg(model, steps=2 * n, amp=amp)
    data = _data(paired=model == "pix2pix")
    whole = create_run(tmp_path, name="whole", tag=model, kind="translate", options={})
    train(cfg, data, whole)
    halves = create_run(tmp_path, name="halves", tag=model, kind="translate", options={})
    assert train(cfg, data, halves, max_steps_this_call=n).step == n
    assert train(cfg, data, halves, resume=True).step == 2 * n
    (ta, sa), (tb, sb) = _final(whole), _final(halves)
    assert ta.keys() == tb.keys() and any(k.startswith("pool_A.") for k in ta) == (model == "cyclegan")
    for k in ta:
        assert torch.equal(ta[k], tb[k]), k
    assert sa["optim"] == sb["optim"] and sa["rng"] == sb["rng"]
    lines = [json.loads(x)["step"] for x in (halves / "metrics.jsonl").read_text().splitlines()]
    assert lines == [2, 4, 6, 8, 10]


def test_run_folder_samples_and_logs(tmp_path):
    cfg = _cfg("cyclegan", steps=6)
    run = create_run(tmp_path, name="r", tag="c", kind="translate", options={})
    result = train(cfg, _data(paired=False), run)
    assert result.step == 6 and [s for s, _ in list_checkpoints(run)] == [4, 6]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step-00000003.png", "step-00000006.png"]
    from PIL import Image

    grid = Image.open(run / "samples" / "step-00000006.png")
    assert grid.size == (6 * 34 + 2, 4 * 34 + 2)  # 6 columns (real A, fake B, rec A, real B, fake A, rec B), 4 rows
    assert any((run / "tb").iterdir())
    last = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
    assert {"loss_g", "g_a", "cycle_a", "idt_a", "d_a", "d_b", "lr"} <= set(last)
    _, state = load_checkpoint(latest_checkpoint(run))
    assert state["config"]["model"] == "cyclegan" and state["config"]["n_blocks"] == 2


def test_pix2pix_learns_a_colour_mapping_quickly(tmp_path):
    """A few dozen steps of pix2pix already beat the identity on held-out sepia crops."""
    from brushwork.bench.translate import psnr_l1
    from brushwork.translate.apply import load_translator

    cfg = _cfg("pix2pix", steps=60, ngf=8, ndf=8, lr=1e-3, ckpt_every=60, sample_every=0, log_every=0)
    a, b = make_task("sepia", 32, 32, "train")
    run = create_run(tmp_path, name="p", tag="p", kind="translate", options={})
    train(cfg, TranslationData(a, b, paired=True), run)
    ta, tb = make_task("sepia", 16, 32, "test")
    assert psnr_l1(load_translator(run)(ta), tb)["psnr"] > psnr_l1(ta, tb)["psnr"] + 3


def test_cyclegan_input_skip_learns_a_colour_mapping_the_paper_generator_cannot(tmp_path):
    """80 unpaired steps: with the input skip CycleGAN's a2b clearly beats the identity on
    held-out sepia crops; the paper's generator, blind to mean colour and contrast, barely moves."""
    from brushwork.bench.translate import psnr_l1
    from brushwork.translate.apply import load_translator

    a, b = make_task("sepia", 32, 36, "train")
    ta, tb = make_task("sepia", 16, 32, "test")
    gain = {}
    for skip in (True, False):
        cfg = _cfg("cyclegan", steps=80, ngf=8, ndf=8, lr=1e-3, input_skip=skip, ckpt_every=80, sample_every=0, log_every=0)
        run = create_run(tmp_path, name=f"skip-{skip}", tag="c", kind="translate", options={})
        train(cfg, TranslationData(a, b.flip(0), paired=False), run)
        gain[skip] = psnr_l1(load_translator(run)(ta), tb)["psnr"] - psnr_l1(ta, tb)["psnr"]
    assert gain[True] > 2 and gain[True] > gain[False] + 1.5, gain
