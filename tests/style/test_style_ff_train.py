"""The feed-forward trainer (fast and AdaIN): loss goes down, exact resume, bad input, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from brushwork.cli import main
from brushwork.errors import BrushworkError
from brushwork.style import ff_train
from brushwork.style.ff_train import FFTrainConfig, build_parts, start, train
from brushwork.training.checkpoint import list_checkpoints
from conftest import needs_hed, write_rgb


def _images(folder, n, seed, size=(40, 48)):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        y, x = np.mgrid[0 : size[0], 0 : size[1]]
        base = np.stack([x * (3 + i), y * (4 + i), (x + y) * 2], axis=2) + rng.integers(0, 60, (*size, 3))
        write_rgb(folder / f"{i}.png", (base % 256).astype(np.uint8))
    return folder


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("ffdata")
    return {"content": _images(root / "content", 3, 0), "styles": _images(root / "styles", 2, 1, (36, 36))}


@pytest.fixture(scope="module")
def vgg():
    from brushwork.backbones.vgg import load_vgg

    return load_vgg("vgg16-hed")


def _cfg(data, kind, **kw):
    style = str(data["styles"] / "0.png") if kind == "fast" else str(data["styles"])
    base = dict(kind=kind, content=str(data["content"]), style=str(data["styles"]) if kind == "adain" else style, size=32, style_size=32,
                batch_size=2, steps=4, lr=2e-3, width=0.125, ckpt_every=100, sample_every=2, log_every=1)
    base.update(kw)
    return FFTrainConfig(**base)


def test_crops_are_reproducible_and_sized(data):
    pool = ff_train.CropPool.from_sources([str(data["content"])], 24)
    a = pool.sample(3, torch.Generator().manual_seed(5))
    b = pool.sample(3, torch.Generator().manual_seed(5))
    assert a.shape == (3, 3, 24, 24) and torch.equal(a, b)
    assert not torch.equal(a, pool.sample(3, torch.Generator().manual_seed(6)))


@needs_hed
@pytest.mark.parametrize("kind", ["fast", "adain"])
def test_training_steps_reduce_the_loss_on_a_fixed_batch(data, vgg, kind):
    cfg = _cfg(data, kind, preset="light", lr=3e-3)
    p = build_parts(cfg, torch.device("cpu"), vgg)
    x = p.contents.sample(2, p.gen)
    s = p.styles.sample(2, p.gen) if p.styles is not None else None
    p.contents.sample = lambda n, gen: x  # the same batch every step
    if p.styles is not None:
        p.styles.sample = lambda n, gen: s
    losses = [ff_train.train_step(p, i)["loss"] for i in range(12)]
    assert losses[-1] < 0.8 * losses[0], losses


def test_reconstruction_warm_up_trains_an_autoencoder_first(data, vgg):
    cfg = _cfg(data, "adain", lr=1e-3, width=0.25, recon_steps=12)
    p = build_parts(cfg, torch.device("cpu"), vgg)
    x = p.contents.sample(2, p.gen)
    p.contents.sample = lambda n, gen: x
    p.styles.sample = lambda n, gen: pytest.fail("the warm-up must not draw styles")
    parts = [ff_train.train_step(p, i) for i in range(12)]
    assert set(parts[0]) == {"loss", "identity", "tv"}
    assert parts[-1]["identity"] < 0.5 * parts[0]["identity"], [q["identity"] for q in parts]
    with torch.no_grad():  # an independent reading: squared errors over the targets' mean squares
        fx = vgg(x, ["relu4_1"])["relu4_1"]
        y = p.net(fx)
        fy = vgg(y, ["relu4_1"])["relu4_1"]
    independent = float((y - x).pow(2).mean() / x.pow(2).mean() + (fy - fx).pow(2).mean() / fx.pow(2).mean())
    assert independent < 0.5 * parts[0]["identity"]
    for kind, match in (("adain", "must not be negative"), ("fast", "AdaIN decoders only")):
        with pytest.raises(BrushworkError, match=match):
            _cfg(data, kind, recon_steps=-1 if kind == "adain" else 5).validate()
    with pytest.raises(BrushworkError, match="must not be negative"):
        _cfg(data, "adain", identity_weight=-1.0).validate()


def test_identity_loss_rides_along_with_the_adain_losses(data, vgg):
    cfg = _cfg(data, "adain", identity_weight=2.0)
    p = build_parts(cfg, torch.device("cpu"), vgg)
    x, s = p.contents.sample(2, p.gen), p.styles.sample(2, p.gen)
    with torch.no_grad():
        plain = p.objective(p.net, x, s, p.autocast)
        both = p.objective(p.net, x, s, p.autocast, identity=True)
        alone = p.objective.reconstruction(p.net, x, p.autocast)
    assert set(plain) == {"content", "style", "tv"} and set(both) == {*plain, "identity"}
    for k in plain:  # one decoder pass over [AdaIN targets, content features] changes nothing
        torch.testing.assert_close(both[k], plain[k], rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(both["identity"], alone["identity"], rtol=1e-4, atol=1e-6)
    p.contents.sample, p.styles.sample = (lambda n, gen: x), (lambda n, gen: s)
    out = ff_train.train_step(p, 0)
    expected = out["content"] + cfg.style_weight * out["style"] + cfg.tv_weight * out["tv"] + 2.0 * out["identity"]
    assert out["loss"] == pytest.approx(expected, rel=1e-5)


@needs_hed
@pytest.mark.parametrize("kind", ["fast", "adain"])
def test_resume_is_bitwise_exact(tmp_path, data, vgg, kind):
    # AdaIN: the halves split exactly where the reconstruction warm-up hands over to AdaIN training.
    cfg = _cfg(data, kind, preset="light", recon_steps=2 if kind == "adain" else 0)
    start(cfg, tmp_path / "whole")
    train(cfg, tmp_path / "whole", vgg=vgg)
    start(cfg, tmp_path / "halves")
    first = train(cfg, tmp_path / "halves", vgg=vgg, max_steps_this_call=2)
    assert first.step == 2 and list_checkpoints(tmp_path / "halves" / "run")[-1][0] == 2
    assert train(cfg, tmp_path / "halves", vgg=vgg, resume=True).step == 4
    a = load_file(str(tmp_path / "whole" / "model.safetensors"))
    b = load_file(str(tmp_path / "halves" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    ca, cb = (load_file(str(list_checkpoints(d / "run")[-1][1].with_suffix(".safetensors"))) for d in (tmp_path / "whole", tmp_path / "halves"))
    assert all(torch.equal(ca[k], cb[k]) for k in ca)
    assert (tmp_path / "halves" / "run" / "samples" / "step-00000004.png").is_file()
    steps = [json.loads(x)["step"] for x in (tmp_path / "halves" / "run" / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4]


def test_bad_training_input(tmp_path, data, capsys):
    (tmp_path / "empty").mkdir()
    code = main(["style", "train-adain", "--content", str(data["content"]), "--styles", str(tmp_path / "empty"), "--out", str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert code == 2 and "contains no images" in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()
    code = main(["style", "train-fast", "--content", str(tmp_path / "nope"), "--style", str(data["styles"] / "0.png"), "--out", str(tmp_path / "m")])
    assert code == 2 and "no such file" in capsys.readouterr().err
    code = main(["style", "train-fast", "--content", str(data["content"]), "--style", str(data["styles"]), "--out", str(tmp_path / "m")])
    assert code == 2
    with pytest.raises(BrushworkError, match="size must be between"):
        FFTrainConfig(kind="fast", content="c", style="s", size=8).validate()


@needs_hed
def test_cli_train_resume_stylize_and_export(tmp_path, data, capsys):
    out = tmp_path / "model"
    args = ["style", "train-fast", "--style", str(data["styles"] / "0.png"), "--content", str(data["content"]), "--out", str(out),
            "--size", "32", "--batch", "1", "--steps", "2", "--preview-every", "2", "--json"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["step"] == 2
    assert main(["style", "train-fast", "--out", str(out), "--resume", "--steps", "3", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["step"] == 3
    assert main(args) == 2 and "already exists" in capsys.readouterr().err  # an existing run is never overwritten
    code = main(["stylize", str(data["content"]), "-o", str(tmp_path / "styled"), "--method", "fast", "--model", str(out), "--size", "40", "--json"])
    assert code == 0
    outputs = json.loads(capsys.readouterr().out)["outputs"]
    assert len(outputs) == 3 and all(o["size"] == [40, 33] for o in outputs)
    code = main(["stylize", str(data["content"] / "0.png"), str(data["styles"] / "0.png"), "-o", str(tmp_path / "x.png"), "--method", "adain", "--model", str(out)])
    assert code == 2 and "fast" in capsys.readouterr().err and not (tmp_path / "x.png").exists()
    code = main(["stylize", str(data["content"] / "0.png"), "-o", str(tmp_path / "x.png"), "--method", "fast", "--model", str(tmp_path)])
    assert code == 2 and "not a Brushwork model" in capsys.readouterr().err
    pytest.importorskip("onnxruntime")
    assert main(["style", "export", str(out), "-o", str(tmp_path / "m.onnx"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["max_abs_diff"] < 1e-3


def test_failed_start_leaves_the_out_folder_free(tmp_path, data, capsys):
    bad = tmp_path / "unreadable"
    bad.mkdir()
    (bad / "a.png").write_bytes(b"not an image")
    out = tmp_path / "m"
    code = main(["style", "train-fast", "--content", str(bad), "--style", str(data["styles"] / "0.png"), "--out", str(out), "--steps", "1"])
    assert code == 2 and "no readable images" in capsys.readouterr().err
    assert not out.exists()
