"""The optional FID/KID-every-N-steps hook (feature space: a small classifier built in the test)."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from brushwork.errors import BrushworkError
from brushwork.gan.config import resolve_config
from brushwork.gan.train import train
from brushwork.training.runs import create_run



def test_fid_logged_and_real_stats_cached(tmp_path):
    from brushwork.metrics.classifier import ClassifierConfig, SmallClassifier, save_classifier

    torch.manual_seed(0)
    clf = save_classifier(SmallClassifier(ClassifierConfig(num_classes=2, channels=[4, 8], image_size=8)), tmp_path / "clf.safetensors")
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(16):
        Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    over = {"model": {"arch": "dcgan", "g_width": 4, "d_width": 4, "z_dim": 8, "spectral_norm": False}, "data": {"path": str(folder), "img_size": 8}, "train": {"steps": 4, "batch_size": 4, "fid_every": 2, "fid_samples": 16, "fid_features": f"classifier:{clf}", "augment": ""}}
    cfg = resolve_config(preset="sngan-folder", overrides=[over])
    run = create_run(tmp_path, name="r", tag="x", kind="gan", options={})
    train(cfg, run)
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    fids = [x for x in lines if "fid" in x]
    assert [x["step"] for x in fids] == [2, 4] and all(x["fid"] >= 0 for x in fids) and fids[0]["metric_n"] == 16
    assert len(list((run / "cache").glob("real-*.npz"))) == 1


def test_fid_needs_a_folder():
    with pytest.raises(BrushworkError, match="fid_every needs"):
        resolve_config(preset="dcgan-digits", overrides=[{"train": {"fid_every": 10}}])
