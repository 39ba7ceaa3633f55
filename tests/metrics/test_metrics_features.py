"""The feature-space registry: names, dimensions, and the vgg16-hed features' scale on real photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from brushwork.errors import BrushworkError
from brushwork.metrics.extract import extract_source
from brushwork.metrics.features import VGG_LAYERS, load_features

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "content"
from conftest import needs_hed


def test_unknown_feature_space_lists_the_known_ones():
    with pytest.raises(BrushworkError, match="inception, vgg16-hed, classifier:PATH"):
        load_features("resnet50")


@needs_hed
@pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared photos not found at {SHARED}")
def test_vgg16_hed_features_are_order_one_on_real_photos():
    extractor = load_features("vgg16-hed")
    fs = extract_source(SHARED, extractor, batch_size=3, max_images=3)
    assert (fs.space, fs.n, extractor.dim, extractor.input_size) == ("vgg16-hed", 3, 1280, 224)
    start = 0
    for layer in VGG_LAYERS:
        width = {"relu3_3": 256, "relu4_3": 512, "relu5_3": 512}[layer]
        block = fs.features[:, start:start + width]
        start += width
        rms = float(np.sqrt((block.astype(np.float64) ** 2).mean()))
        assert 0.2 < rms < 5.0, (layer, rms)  # unscaled, relu3_3 and relu5_3 are ~7-9
    assert (fs.features >= 0).all()  # means of ReLU outputs
