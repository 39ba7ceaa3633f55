"""Reconstruction decoders: shapes, folders, training (loss goes down, exact resume, CLI), the packaged ones."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from brushwork.cli import main
from brushwork.errors import BrushworkError
from brushwork.style import decoder_train as T
from brushwork.style.decoders import LEVELS, LevelConfig, LevelDecoder, load_decoders, packaged_dir, save_level
from brushwork.training.checkpoint import list_checkpoints
from conftest import needs_hed, write_rgb


@pytest.mark.parametrize("layer,convs,scale,cin", [("relu1_1", 1, 1, 64), ("relu2_1", 3, 2, 128), ("relu3_1", 5, 4, 256), ("relu4_1", 8, 8, 512), ("relu5_1", 11, 16, 512)])
def test_decoder_mirrors_the_encoder_up_to_its_level(layer, convs, scale, cin):
    dec = LevelDecoder(LevelConfig(layer=layer, width=0.25)).eval()
    assert sum(isinstance(m, torch.nn.Conv2d) for m in dec.modules()) == convs
    assert not any(isinstance(m, (torch.nn.GroupNorm, torch.nn.InstanceNorm2d, torch.nn.BatchNorm2d)) for m in dec.modules())
    x = torch.rand(2, cin, 3, 5)
    y = dec(x)
    assert y.shape == (2, 3, 3 * scale, 5 * scale) and dec.scale == scale
    torch.testing.assert_close(y, dec.reference(x), atol=1e-5, rtol=1e-4)  # the phase-convolution up-sampling


def test_vgg19_mirror_and_bad_configs():
    assert sum(isinstance(m, torch.nn.Conv2d) for m in LevelDecoder(LevelConfig(arch="vgg19", layer="relu4_1", width=0.25)).modules()) == 9
    for cfg, match in ((LevelConfig(layer="relu4_2"), "no reconstruction decoder"), (LevelConfig(width=3), "width"), (LevelConfig(arch="vgg11"), "arch")):
        with pytest.raises(BrushworkError, match=match):
            LevelDecoder(cfg)


@needs_hed
def test_feature_scale_is_one_over_the_rms():
    from brushwork.backbones.vgg import load_vgg

    vgg, x = load_vgg("vgg16-hed"), torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    rms = float(vgg(x, ["relu2_1"])["relu2_1"].pow(2).mean().sqrt())
    assert T.feature_scale(vgg, x, "relu2_1") == pytest.approx(1 / rms, rel=1e-2)
    dec = LevelDecoder(LevelConfig(layer="relu2_1", width=0.25, input_scale=0.5)).eval()
    f = torch.rand(1, 128, 3, 3)
    torch.testing.assert_close(dec(f), LevelDecoder.forward(dec, f))
    torch.testing.assert_close(dec.reference(f), dec.net(f * 0.5))


def test_levels_merge_into_one_folder(tmp_path):
    torch.manual_seed(0)
    a, b = LevelDecoder(LevelConfig(layer="relu2_1", width=0.25)), LevelDecoder(LevelConfig(layer="relu1_1"))
    save_level(a, tmp_path / "d", backbone="vgg16-hed", training={"steps": 3}, half=False)
    save_level(b, tmp_path / "d", backbone="vgg16-hed", training={"steps": 5}, half=False)
    record = json.loads((tmp_path / "d" / "config.json").read_text())
    assert record["kind"] == "universal" and list(record["config"]["levels"]) == ["relu1_1", "relu2_1"]
    assert record["provenance"]["training"] == {"relu2_1": {"steps": 3}, "relu1_1": {"steps": 5}}
    back = load_decoders(tmp_path / "d")
    x = torch.rand(1, 128, 4, 4)
    assert torch.equal(back["relu2_1"](x), a.eval()(x))
    with pytest.raises(BrushworkError, match="no relu3_1 decoder"):
        back["relu3_1"]
    from brushwork import models

    assert models.load(tmp_path / "d").kind == "universal"  # the hub knows the kind
    from brushwork.style.decoders import Decoders

    picked = Decoders({"relu1_1": LevelConfig(layer="relu1_1"), "relu2_1": LevelConfig(layer="relu2_1", width=0.25)}, default_levels=["relu1_1"])
    models.save_pretrained(picked, tmp_path / "e")
    assert load_decoders(tmp_path / "e").default_levels == ["relu1_1"]
    with pytest.raises(BrushworkError, match="default_levels"):
        Decoders({"relu1_1": LevelConfig(layer="relu1_1")}, default_levels=["relu4_1"])


def _images(folder, names, seed, size=(40, 48)):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i, name in enumerate(names):
        y, x = np.mgrid[0 : size[0], 0 : size[1]]
        base = np.stack([x * (3 + i), y * (4 + i), (x + y) * 2], axis=2) + rng.integers(0, 60, (*size, 3))
        write_rgb(folder / name, (base % 256).astype(np.uint8))
    return folder


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("decdata")
    return {"content": _images(root / "content", ["a.png", "b.png", "lenna.png"], 0), "styles": _images(root / "styles", ["s.png"], 1)}


@pytest.fixture(scope="module")
def vgg():
    from brushwork.backbones.vgg import load_vgg

    return load_vgg("vgg16-hed")


def _cfg(data, **kw):
    base = dict(layer="relu2_1", sources=[str(data["content"]), str(data["styles"])], holdout=["lenna.png"], bundled_photos=False,
                width=0.25, size=32, batch_size=2, steps=4, lr=2e-3, ckpt_every=100, sample_every=2, log_every=1)
    base.update(kw)
    return T.DecoderTrainConfig(**base)


def test_held_out_photos_are_never_trained_on(data):
    train, held = T.split_sources([str(data["content"]), str(data["styles"])], ["LENNA.png"])
    assert sorted(p.rsplit("/", 1)[-1] for p in train) == ["a.png", "b.png", "s.png"] and [p.name for p in held] == ["lenna.png"]
    with pytest.raises(BrushworkError, match="no training images"):
        T.split_sources([str(data["content"] / "lenna.png")], ["lenna.png"])


@needs_hed
def test_training_steps_reduce_the_loss_on_a_fixed_batch(data, vgg):
    p = T.build_parts(_cfg(data, lr=3e-3), torch.device("cpu"), vgg)
    assert len(p.pool.images) == 3 and len(p.held) == 1
    x = p.pool.sample(2, p.gen)
    p.pool.sample = lambda n, gen: x
    losses = [T.train_step(p, i) for i in range(10)]
    assert set(losses[0]) == {"loss", "pixel", "feature"}
    assert losses[-1]["loss"] < 0.7 * losses[0]["loss"], [q["loss"] for q in losses]
    with torch.no_grad():  # an independent reading of the same loss
        fx = vgg(x, ["relu2_1"])["relu2_1"]
        y = p.net(fx)
        fy = vgg(y, ["relu2_1"])["relu2_1"]
    independent = float((y - x).pow(2).mean() / x.pow(2).mean() + (fy - fx).pow(2).mean() / fx.pow(2).mean())
    assert independent < 0.7 * losses[0]["loss"]


@needs_hed
def test_resume_is_bitwise_exact(tmp_path, data, vgg):
    cfg = _cfg(data)
    T.start(cfg, tmp_path / "whole")
    T.train(cfg, tmp_path / "whole", vgg=vgg)
    T.start(cfg, tmp_path / "halves")
    assert T.train(cfg, tmp_path / "halves", vgg=vgg, max_steps_this_call=2).step == 2
    assert T.train(cfg, tmp_path / "halves", vgg=vgg, resume=True).step == 4
    a, b = (load_file(str(tmp_path / d / "model.safetensors")) for d in ("whole", "halves"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ca, cb = (load_file(str(list_checkpoints(tmp_path / d / "run-relu2_1")[-1][1].with_suffix(".safetensors"))) for d in ("whole", "halves"))
    assert ca.keys() == cb.keys() and all(torch.equal(ca[k], cb[k]) for k in ca)
    run = tmp_path / "halves" / "run-relu2_1"
    assert (run / "samples" / "step-00000004.png").is_file()
    logged = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logged] == [1, 2, 3, 4] and "heldout_psnr" in logged[-1]
    note = json.loads((tmp_path / "halves" / "config.json").read_text())["provenance"]["training"]["relu2_1"]
    assert note["steps"] == 4 and note["holdout"] == ["lenna.png"] and note["heldout_psnr_db"] is not None


@needs_hed
def test_cli_trains_resumes_and_refuses(tmp_path, data, capsys):
    out = tmp_path / "dec"
    args = ["style", "train-decoder", "--layer", "relu1_1", "--content", str(data["content"]), "--styles", str(data["styles"]),
            "--no-bundled-photos", "--holdout", "lenna.png", "--out", str(out), "--size", "32", "--batch", "2", "--steps", "2", "--threads", "1", "--quiet", "--json"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["step"] == 2
    assert main(["style", "train-decoder", "--layer", "relu1_1", "--out", str(out), "--resume", "--steps", "3", "--quiet"]) == 0
    dec = load_decoders(out)
    assert dec.layers == ["relu1_1"]
    assert 0 < dec["relu1_1"].config.input_scale < 0.2  # automatic: 1 / RMS of the (Caffe-scale) features
    capsys.readouterr()
    for bad, match in ((["--size", "40"], "multiple of 16"), (["--content", str(tmp_path / "nope")], "no such file")):
        assert main([*args[:4], "--out", str(tmp_path / "bad"), "--content", str(data["content"]), *bad, "--quiet"]) == 2
        err = capsys.readouterr().err
        assert match in err and len(err.strip().splitlines()) == 1
    assert main(args) == 2 and "already exists" in capsys.readouterr().err


@needs_hed
def test_the_packaged_decoders_load_and_run():
    from brushwork.style.feedforward import FFOptions
    from brushwork.style.universal import UniversalStyle

    decs = load_decoders(packaged_dir(), backbone="vgg16-hed", layers=["relu1_1", "relu2_1", "relu3_1", "relu4_1"])
    record = json.loads((packaged_dir() / "config.json").read_text())
    assert record["dtype"] == "float16" and set(record["provenance"]["training"]) >= {"relu1_1", "relu2_1", "relu3_1", "relu4_1"}
    assert all(set(decs.levels) <= set(LEVELS) for _ in [0])
    g = torch.Generator().manual_seed(0)
    content = torch.rand(3, 48, 40, generator=g)
    out = UniversalStyle()(content, [torch.rand(3, 32, 32, generator=g)], FFOptions())
    assert out.shape == (3, 48, 40) and torch.isfinite(out).all()


@needs_hed
def test_init_starts_from_a_folders_decoder_and_trains_it(tmp_path, data, vgg):
    cfg = _cfg(data)
    T.start(cfg, tmp_path / "first")
    T.train(cfg, tmp_path / "first", vgg=vgg)
    trained = load_decoders(tmp_path / "first")["relu2_1"]
    p = T.build_parts(_cfg(data, init=str(tmp_path / "first"), width=1.0, input_scale=5.0), torch.device("cpu"), vgg)
    assert p.net.config == trained.config  # width and input scale come from the folder
    assert all(torch.equal(a, b) for a, b in zip(p.net.state_dict().values(), trained.state_dict().values()))
    assert all(q.requires_grad for q in p.net.parameters())
    before = [q.detach().clone() for q in p.net.parameters()]
    T.train_step(p, 0)
    assert any(not torch.equal(a, b) for a, b in zip(before, p.net.parameters()))
    with pytest.raises(BrushworkError, match="no decoder for level.s. relu3_1"):
        T.build_parts(_cfg(data, layer="relu3_1", init=str(tmp_path / "first")), torch.device("cpu"), vgg)
