"""`brushwork bench quality` end to end on two tiny pairs and two methods."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from brushwork.bench.quality import default_pairs
from brushwork.cli import main
from conftest import needs_hed


def _image(path, seed, size=(48, 40)):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, (4, 4, 3), dtype=np.uint8)
    Image.fromarray(base).resize(size, Image.BICUBIC).save(path)


def test_default_pairs_spread_over_photos_and_paintings(tmp_path):
    for folder, n in (("c", 3), ("s", 5)):
        (tmp_path / folder).mkdir()
        for i in range(n):
            _image(tmp_path / folder / f"{folder}{i}.png", i)
    pairs = default_pairs(tmp_path / "c", tmp_path / "s", 5)
    assert len(pairs) == len(set(pairs)) == 5
    assert {c.stem for c, _ in pairs} == {"c0", "c1", "c2"} and {s.stem for _, s in pairs} == {f"s{i}" for i in range(5)}
    assert len(default_pairs(tmp_path / "c", tmp_path / "s", 0)) == 15


@needs_hed
def test_bench_quality_writes_sheet_page_and_finite_scores(tmp_path, capsys):
    for sub in ("content", "style"):
        (tmp_path / "pairs" / sub).mkdir(parents=True)
    for i, stem in enumerate(("a", "b")):
        _image(tmp_path / "pairs" / "content" / f"{stem}.png", i)
        _image(tmp_path / "pairs" / "style" / f"{stem}.png", 10 + i, size=(40, 40))
    out = tmp_path / "out"
    code = main(["bench", "quality", "--pairs", str(tmp_path / "pairs"), "--methods", "optimize,adain",
                 "--size", "64", "-o", str(out), "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["pairs"] == 2 and set(result["methods"]) == {"optimize", "adain"}
    for name, scores in result["methods"].items():
        assert scores["n"] == 2
        for key in ("color", "content", "hed_gram", "seconds"):
            assert math.isfinite(scores[key]) and scores[key] >= 0
    assert len(result["rows"]) == 2 and all(set(r["outputs"]) == {"optimize", "adain"} for r in result["rows"])
    for r in result["rows"]:
        for o in r["outputs"].values():
            assert Image.open(o["path"]).size[0] == 64
    sheet = Image.open(out / "contact.png")
    assert sheet.size[0] > 4 * 192 and sheet.size[1] > 2 * 192  # 2 rows of photo, painting and 2 methods
    strip = np.asarray(sheet.convert("L"))[: 192 // 6]
    for col in range(4):  # a name is written over every column
        assert strip[:, 4 + col * 196: (col + 1) * 196].min() < 100
    assert "adain" in (out / "index.html").read_text()


def test_contact_sheet_has_no_column_for_a_method_that_never_ran(tmp_path):
    from brushwork.bench.quality import write_contact_sheet

    for stem in ("c", "s", "o"):
        _image(tmp_path / f"{stem}.png", len(stem))
    rows = [{"content": str(tmp_path / "c.png"), "style": str(tmp_path / "s.png"),
             "outputs": {"a": {"path": str(tmp_path / "o.png")}}}]
    write_contact_sheet(rows, ["a", "never"], tmp_path / "sheet.png", tile=64)
    assert Image.open(tmp_path / "sheet.png").size[0] == 4 + 3 * (64 + 4)  # photo, painting, a
