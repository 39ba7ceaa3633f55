"""DiffAugment: shapes, differentiability, seeded determinism, and global-batch slicing."""

import torch

from brushwork.gan.augment import cutout, diff_augment, parse_policy, translation



def test_policy_order_and_shapes():
    assert parse_policy("cutout, translation,color") == ["color", "translation", "cutout"]
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    y = diff_augment(x, "translation,cutout,color", torch.Generator().manual_seed(0))
    assert y.shape == x.shape
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_seeded_and_sliceable():
    x = torch.rand(8, 3, 8, 8)
    full = diff_augment(x, "translation,cutout,color", torch.Generator().manual_seed(3))
    again = diff_augment(x, "translation,cutout,color", torch.Generator().manual_seed(3))
    assert torch.equal(full, again)
    g = torch.Generator().manual_seed(3)
    second_half = diff_augment(x[4:], "translation,cutout,color", g, global_n=8, offset=4)
    assert torch.allclose(second_half, full[4:])


def test_translation_moves_content_and_fills_zeros():
    x = torch.ones(16, 1, 8, 8)
    y = translation(x, torch.Generator().manual_seed(0), 16, 0)
    assert y.sum() < x.sum()  # some images shifted: zero borders appear
    assert set(y.unique().tolist()) <= {0.0, 1.0}


def test_cutout_zeroes_a_square_of_half_size():
    x = torch.ones(6, 1, 8, 8)
    y = cutout(x, torch.Generator().manual_seed(1), 6, 0)
    zeros = (y == 0).sum(dim=(1, 2, 3))
    assert (zeros > 0).all() and (zeros <= 16).all()
