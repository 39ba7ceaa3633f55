"""`--method adain` without `--model` uses the packaged default decoder; fast networks still need one."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from brushwork.cli import main
from brushwork.errors import BrushworkError
from brushwork.style import adain as A
from brushwork import models as P
from brushwork.models import folder as F
from conftest import needs_hed, write_rgb


@pytest.fixture
def packaged(tmp_path, monkeypatch):
    """A package folder holding a default AdaIN decoder (the real one may not be shipped)."""
    root = tmp_path / "models"
    torch.manual_seed(0)
    P.save_pretrained(A.Decoder(A.AdaINConfig(width=0.125)), root / F.DEFAULT_MODELS["adain"], backbone="vgg16-hed", half=True)
    monkeypatch.setattr(F, "PACKAGED", root)
    return root / F.DEFAULT_MODELS["adain"]


def test_default_adain_model_is_the_packaged_decoder(packaged):
    assert P.default_model("adain") == packaged
    assert P.read_config(F.DEFAULT_MODELS["adain"])["kind"] == "adain"


def test_no_default_for_fast_networks_or_when_none_is_packaged(tmp_path, monkeypatch):
    with pytest.raises(BrushworkError, match="--method fast needs --model"):
        P.default_model("fast")
    monkeypatch.setattr(F, "PACKAGED", tmp_path / "empty")
    with pytest.raises(BrushworkError, match="no default adain model is packaged"):
        P.default_model("adain")


def _images(tmp_path):
    rng = np.random.default_rng(1)
    content = write_rgb(tmp_path / "c.png", rng.integers(0, 256, (48, 56, 3), dtype=np.uint8))
    style = write_rgb(tmp_path / "s.png", rng.integers(0, 256, (40, 40, 3), dtype=np.uint8))
    return content, style


@needs_hed
def test_stylize_adain_without_model_uses_the_default(packaged, tmp_path, capsys):
    from brushwork.imageio import load_image
    from brushwork.style.feedforward import FeedForward, FFOptions

    content, style = _images(tmp_path)
    out = tmp_path / "o.png"
    code = main(["stylize", str(content), str(style), "--method", "adain", "-o", str(out), "--size", "56", "--precision", "float32", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == str(packaged) and report["size"] == [56, 48]
    want = FeedForward(packaged, precision="float32")(load_image(content).rgb, [load_image(style).rgb], FFOptions(size=56))
    assert float((load_image(out).rgb - want).abs().max()) <= 1 / 255 + 1e-6  # 8-bit rounding only


def test_stylize_without_a_model_to_use_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    content, style = _images(tmp_path)
    code = main(["stylize", str(content), "--method", "fast", "-o", str(tmp_path / "f.png")])
    err = capsys.readouterr().err
    assert code == 2 and "--method fast needs --model" in err and "Traceback" not in err and not (tmp_path / "f.png").exists()
    monkeypatch.setattr(F, "PACKAGED", tmp_path / "empty")
    code = main(["stylize", str(content), str(style), "--method", "adain", "-o", str(tmp_path / "a.png")])
    err = capsys.readouterr().err
    assert code == 2 and "no default adain model" in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "a.png").exists()
