"""The style trainers' crop pool: what it reads, what it leaves out, and reproducible crops."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from brushwork.errors import BrushworkError
from brushwork.style.crops import BUNDLED, CropPool, shrink


def _save(path, value, size=(40, 30)):
    Image.fromarray(np.full((size[1], size[0], 3), value, dtype=np.uint8)).save(path)


def test_from_sources_leaves_out_held_out_files_and_bundled_photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, name in enumerate(("a.png", "b.png", "c.png")):
        _save(folder / name, 40 * (i + 1))
    _save(tmp_path / "single.png", 250)
    pool = CropPool.from_sources([str(folder), str(tmp_path / "single.png")], 16, bundled=True, exclude=("b.png", BUNDLED[0]))
    means = sorted(round(float(img.mean()) * 255) for img in pool.images[:3])
    assert means == [40, 120, 250]
    assert len(pool.images) == 3 + len(BUNDLED) - 1
    with pytest.raises(BrushworkError, match="no readable images"):
        CropPool.from_sources([str(tmp_path / "single.png")], 16, exclude=("single.png",))


def test_crops_are_shrunk_sized_and_repeat_with_the_generator(tmp_path):
    _save(tmp_path / "wide.png", 90, size=(200, 100))
    pool = CropPool.from_sources([str(tmp_path / "wide.png")], 16)
    assert tuple(pool.images[0].shape[-2:]) == (32, 64)  # short side at most 2 * size
    a = pool.sample(3, torch.Generator().manual_seed(1))
    b = pool.sample(3, torch.Generator().manual_seed(1))
    assert a.shape == (3, 3, 16, 16) and torch.equal(a, b)
    small = torch.rand(3, 10, 12)
    assert shrink(small, 20) is small
