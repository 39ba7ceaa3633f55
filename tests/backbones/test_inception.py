"""The TF-FID Inception-v3: exact pytorch-fid key names and shapes, loading, outputs, missing weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from brushwork.backbones.inception import FIDInceptionV3, _avg_pool_tf, expected_keys, load_inception, load_state_into
from brushwork.errors import BrushworkError
from brushwork.metrics.features import InceptionExtractor, load_features
from inception_states import random_inception_state as _random_state

# A few entries of pt_inception-2015-12-05-6726825d.pth, written out by hand.
KNOWN = {
    "Conv2d_1a_3x3.conv.weight": (32, 3, 3, 3),
    "Conv2d_1a_3x3.bn.weight": (32,),
    "Conv2d_1a_3x3.bn.bias": (32,),
    "Conv2d_1a_3x3.bn.running_mean": (32,),
    "Conv2d_1a_3x3.bn.running_var": (32,),
    "Conv2d_2b_3x3.conv.weight": (64, 32, 3, 3),
    "Conv2d_4a_3x3.conv.weight": (192, 80, 3, 3),
    "Mixed_5b.branch1x1.conv.weight": (64, 192, 1, 1),
    "Mixed_5b.branch5x5_2.conv.weight": (64, 48, 5, 5),
    "Mixed_5b.branch_pool.conv.weight": (32, 192, 1, 1),
    "Mixed_6a.branch3x3.conv.weight": (384, 288, 3, 3),
    "Mixed_6b.branch7x7_2.conv.weight": (128, 128, 1, 7),
    "Mixed_6e.branch7x7dbl_5.conv.weight": (192, 192, 1, 7),
    "Mixed_7a.branch3x3_2.conv.weight": (320, 192, 3, 3),
    "Mixed_7b.branch3x3_2b.conv.weight": (384, 384, 3, 1),
    "Mixed_7c.branch3x3dbl_1.conv.weight": (448, 2048, 1, 1),
    "Mixed_7c.branch_pool.conv.weight": (192, 2048, 1, 1),
    "fc.weight": (1008, 2048),
    "fc.bias": (1008,),
}



@pytest.fixture(scope="module")
def state() -> dict[str, torch.Tensor]:
    return _random_state()


@pytest.fixture(scope="module")
def weights_file(state, tmp_path_factory):
    path = tmp_path_factory.mktemp("inception") / "pt_inception-test.pth"
    torch.save(state, path)
    return path


def test_keys_and_shapes_are_pytorch_fid_s():
    keys = expected_keys()
    for key, shape in KNOWN.items():
        assert keys[key] == shape, key
    # 94 BasicConv2d blocks (conv weight + 4 batch-norm tensors each) + fc weight and bias
    assert sum(k.endswith(".conv.weight") for k in keys) == 94
    assert len(keys) == 94 * 5 + 2
    assert not any(k.startswith("AuxLogits") for k in keys)


def test_loads_a_full_state_dict_by_name_and_gives_2048_features_and_1008_logits(state, weights_file):
    path = weights_file
    model = load_inception(path)
    for key, value in model.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            assert torch.equal(value, state[key]), key
    images = torch.rand(2, 3, 40, 56, generator=torch.Generator().manual_seed(1))
    extractor = InceptionExtractor(model)  # load_features("inception", weights=...) is run by the CLI test
    out = extractor(torch.stack([extractor.prepare(im) for im in images]))
    pool3 = out.features
    assert extractor.name == "inception" and extractor.dim == 2048
    assert pool3.shape == (2, 2048) and out.logits.shape == (2, 1008)
    assert torch.isfinite(pool3).all() and pool3.std() > 0
    torch.testing.assert_close(out.logits, pool3 @ state["fc.weight"].T)  # IS reads the bias-free logits
    torch.testing.assert_close(model.logits(pool3), pool3 @ state["fc.weight"].T + state["fc.bias"])


def test_input_is_resized_to_299_bilinear_and_scaled_to_minus_one_one():
    x = torch.rand(1, 3, 20, 30)
    y = FIDInceptionV3.preprocess(x)
    assert y.shape == (1, 3, 299, 299)
    expected = torch.nn.functional.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False) * 2 - 1
    torch.testing.assert_close(y, expected)
    assert float(FIDInceptionV3.preprocess(torch.ones(1, 3, 299, 299)).min()) == 1.0
    # the extractor's per-image resize is the same as pytorch-fid's in-network batch resize
    extractor = InceptionExtractor(FIDInceptionV3())
    torch.testing.assert_close(FIDInceptionV3.preprocess(extractor.prepare(x[0])[None]), expected)


def test_tf_average_pool_ignores_padding_and_last_block_max_pools():
    ones = torch.ones(1, 1, 4, 4)
    torch.testing.assert_close(_avg_pool_tf(ones), ones)  # corners would be 4/9 with padding counted
    model = FIDInceptionV3()
    assert (model.Mixed_7b.pool, model.Mixed_7c.pool) == ("avg", "max")


def test_wrong_or_incomplete_state_dicts_are_refused(state):
    missing = dict(state)
    del missing["Mixed_7c.branch_pool.conv.weight"]
    with pytest.raises(BrushworkError, match="1 missing keys"):
        load_state_into(FIDInceptionV3(), missing)
    wrong = dict(state)
    wrong["fc.weight"] = torch.zeros(1000, 2048)
    with pytest.raises(BrushworkError, match="wrong shapes"):
        load_state_into(FIDInceptionV3(), wrong)
    extra = dict(state)
    extra["AuxLogits.fc.weight"] = torch.zeros(1000, 768)
    with pytest.raises(BrushworkError, match="unexpected"):
        load_state_into(FIDInceptionV3(), extra)


def test_accepts_num_batches_tracked_entries(state):
    with_counts = dict(state)
    with_counts["Conv2d_1a_3x3.bn.num_batches_tracked"] = torch.tensor(0)
    model = FIDInceptionV3()
    load_state_into(model, with_counts)
    assert torch.equal(model.fc.weight, state["fc.weight"])


def test_missing_weights_say_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("BRUSHWORK_CACHE", str(tmp_path))
    with pytest.raises(BrushworkError, match=r"brushwork weights fetch inception-fid.*--weights PATH"):
        load_features("inception")


def test_random_weights_are_named_as_such():
    extractor = load_features("inception", random_weights=True)
    assert isinstance(extractor, InceptionExtractor) and extractor.name == "inception-random"
