"""Training data sets: folders and zips (skipping unreadable files), digits, mixtures, batch order."""

import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from brushwork.data.datasets import (
    BatchOrder,
    batch_indices,
    center_crop_resize,
    load_digits,
    load_image_folder,
    load_mixture,
    mixture_centers,
    mixture_std,
    sample_mixture,
)
from brushwork.errors import BrushworkError


def _png(path, w, h, colour):
    Image.new("RGB", (w, h), colour).save(path)


def test_folder_recursive_crop_resize_and_skips(tmp_path):
    (tmp_path / "sub").mkdir()
    _png(tmp_path / "a.png", 40, 20, (255, 0, 0))
    _png(tmp_path / "sub" / "b.jpg", 13, 31, (0, 0, 255))
    (tmp_path / "broken.png").write_bytes(b"not an image")
    (tmp_path / "notes.txt").write_text("ignored")
    with pytest.warns(UserWarning, match="skipping unreadable"):
        data = load_image_folder(tmp_path, 16)
    assert data.x.shape == (2, 3, 16, 16)
    assert data.skipped == 1
    assert 0 <= data.x.min() and data.x.max() <= 1
    assert data.x[0, 0].mean() > 0.95 and data.x[0, 2].mean() < 0.05  # a.png sorts first: red


def test_folder_grey(tmp_path):
    _png(tmp_path / "a.png", 8, 8, (255, 255, 255))
    data = load_image_folder(tmp_path, 8, channels=1)
    assert data.x.shape == (1, 1, 8, 8) and data.x.min() > 0.99


def test_zip(tmp_path):
    _png(tmp_path / "a.png", 10, 10, (0, 255, 0))
    with zipfile.ZipFile(tmp_path / "imgs.zip", "w") as zf:
        zf.write(tmp_path / "a.png", "inner/a.png")
    assert load_image_folder(tmp_path / "imgs.zip", 8).x.shape == (1, 3, 8, 8)


def test_empty_and_all_broken_folders(tmp_path):
    with pytest.raises(BrushworkError, match="no images"):
        load_image_folder(tmp_path, 8)
    (tmp_path / "x.png").write_bytes(b"junk")
    with pytest.warns(UserWarning), pytest.raises(BrushworkError, match="could be read"):
        load_image_folder(tmp_path, 8)


def test_center_crop_keeps_the_middle():
    img = torch.zeros(1, 10, 30)
    img[:, :, 10:20] = 1
    out = center_crop_resize(img, 10)
    assert torch.allclose(out, torch.ones(1, 10, 10))


@pytest.mark.parametrize("size", [16, 32])
def test_digits(size):
    d = load_digits(size)
    assert d.x.shape == (1797, 1, size, size) and d.num_classes == 10
    assert d.y.shape == (1797,) and set(d.y.tolist()) == set(range(10))
    assert 0 <= d.x.min() and d.x.max() <= 1


def test_mixture_layout_matches_the_protocol():
    ring = mixture_centers("ring")
    assert ring.shape == (8, 2)
    assert torch.allclose(ring[2], torch.tensor([0.0, 1.0]), atol=1e-6)
    assert torch.allclose(ring.norm(dim=1), torch.ones(8))
    grid = mixture_centers("grid")
    assert grid.shape == (25, 2) and set(grid[:, 0].tolist()) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    assert mixture_std("ring") == 0.01 and mixture_std("grid") == 0.05
    x, modes = sample_mixture("grid", 20000, torch.Generator().manual_seed(0))
    resid = x - grid[modes]
    assert resid.std().item() == pytest.approx(0.05, rel=0.05)
    assert np.bincount(modes.numpy(), minlength=25).min() > 600
    assert load_mixture("ring", 1000, seed=3).x.shape == (1000, 2)
    assert torch.equal(load_mixture("ring", 100, seed=3).x, load_mixture("ring", 100, seed=3).x)


def test_batch_order_epochs_and_slices():
    n, b = 10, 4  # 2 full batches per epoch, remainder dropped
    first = torch.cat([batch_indices(k, n, b, seed=1) for k in range(2)])
    assert len(set(first.tolist())) == 8
    assert not torch.equal(batch_indices(0, n, b, seed=1), batch_indices(2, n, b, seed=1))  # new epoch, new order
    order = BatchOrder(n, b, seed=1)
    for k in range(6):
        assert torch.equal(order(k), batch_indices(k, n, b, seed=1))
    halves = [BatchOrder(n, b, seed=1, rank=r, world=2)(5) for r in range(2)]
    assert torch.equal(torch.cat(halves), order(5))
    with pytest.raises(BrushworkError):
        BatchOrder(3, 4, seed=0)
