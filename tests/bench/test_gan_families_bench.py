"""`brushwork bench families`: the natural-crop data set and one tiny end-to-end run."""

import json
import math

from PIL import Image

from brushwork.bench.natural_crops import natural_crops
from brushwork.cli import main
from conftest import SHARED_DATA, needs_hed


def test_natural_crops_are_cached_and_seeded(tmp_path):
    a = natural_crops(16, 30, seed=1, shared=None, cache=tmp_path)
    files = sorted(a.glob("*.png"))
    assert len(files) == 30
    with Image.open(files[0]) as im:
        assert im.size == (16, 16) and im.mode == "RGB"
    stamp = files[0].stat().st_mtime_ns
    assert natural_crops(16, 30, seed=1, shared=None, cache=tmp_path) == a and files[0].stat().st_mtime_ns == stamp  # reused
    b = natural_crops(16, 30, seed=2, shared=None, cache=tmp_path / "other")
    assert (a / "00000.png").read_bytes() != (b / "00000.png").read_bytes()
    if SHARED_DATA.is_dir():
        assert natural_crops(16, 30, seed=1, shared=SHARED_DATA, cache=tmp_path) != a  # more sources, another folder


@needs_hed
def test_families_bench_end_to_end(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BRUSHWORK_CACHE", str(tmp_path / "cache"))
    argv = ["bench", "families", "--family", "dcgan", "--steps", "3", "--batch-size", "8", "--crops", "100",
            "--samples", "10", "--shared-data", str(tmp_path / "none"), "--out", str(tmp_path / "out"), "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    rows = {r["family"]: r for r in result["families"]}
    assert set(rows) == {"dcgan"} and rows["dcgan"]["fd_vs_dcgan"] == 1.0
    for r in rows.values():
        assert math.isfinite(r["fd"]) and r["fd"] > 0 and 0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1 and r["steps_per_second"] > 0
        with Image.open(r["grid"]) as im:
            assert im.size == (8 * 34 + 2, 2 * 34 + 2)  # 10 samples of 32 px, 8 per row
    assert result["real_vs_real"]["fd"] > 0 and result["features"][0] == "vgg16-hed"
