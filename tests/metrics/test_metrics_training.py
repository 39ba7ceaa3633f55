"""The training hook: cached real statistics and FID/KID of a sampler, with a small classifier as feature space."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from brushwork.errors import BrushworkError
from brushwork.metrics.classifier import ClassifierConfig, SmallClassifier, load_classifier, save_classifier
from brushwork.metrics.extract import extract_generator, extract_source
from brushwork.metrics.features import ClassifierExtractor, load_features
from brushwork.metrics.fid import fid_from_features
from brushwork.metrics.kid import kid
from brushwork.metrics.training import RealStats, evaluate_generator


@pytest.fixture()
def classifier_path(tmp_path):
    torch.manual_seed(0)
    model = SmallClassifier(ClassifierConfig(num_classes=5, channels=[8, 16], image_size=16))
    return save_classifier(model, tmp_path / "clf")


@pytest.fixture()
def real_dir(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "real"
    folder.mkdir()
    for i in range(24):
        Image.fromarray((rng.random((20, 20, 3)) * 255).astype(np.uint8)).save(folder / f"{i:02d}.png")
    return folder


def test_classifier_round_trips_and_is_a_feature_space(classifier_path):
    extractor = load_features(f"classifier:{classifier_path}")
    assert extractor.name == "classifier:clf.safetensors" and extractor.dim == 16 and extractor.has_logits
    x = torch.rand(3, 3, 16, 16)
    out = extractor(x)
    assert out.features.shape == (3, 16) and out.logits.shape == (3, 5)
    model = load_classifier(classifier_path)
    torch.testing.assert_close(out.logits, model(x))


def test_missing_classifier_config_is_a_user_error(classifier_path):
    classifier_path.with_suffix(".json").unlink()
    with pytest.raises(BrushworkError, match="config"):
        load_features(f"classifier:{classifier_path}")


def test_real_stats_are_cached_and_evaluate_generator_matches_direct_metrics(classifier_path, real_dir, tmp_path):
    extractor = load_features(f"classifier:{classifier_path}")
    real = RealStats.cached(real_dir, extractor, cache_dir=tmp_path / "cache", kid_samples=20, batch_size=8)
    files = list((tmp_path / "cache").glob("real-*.npz"))
    assert len(files) == 1 and real.features == extractor.name and real.stats.n == 24
    assert real.kid_features.shape == (20, 16)
    again = RealStats.cached(real_dir, extractor, cache_dir=tmp_path / "cache", kid_samples=20)
    np.testing.assert_array_equal(again.stats.sigma, real.stats.sigma)
    np.testing.assert_array_equal(again.kid_features, real.kid_features)

    def sampler(seed):
        gen = torch.Generator().manual_seed(seed)
        return lambda b: torch.rand(b, 3, 12, 12, generator=gen) * 2 - 1  # tanh-range images

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few samples: FID-bias warnings
        m = evaluate_generator(sampler(1), real, extractor, n=30, batch_size=8, kid_subsets=3, kid_subset_size=10)
        fake = extract_generator(sampler(1), extractor, 30, batch_size=8).features
        real_feats = extract_source(real_dir, extractor).features
        direct_fid = fid_from_features(real_feats, fake, extractor.name).fid
    assert m.n == 30 and m.features == extractor.name and not m.singular
    assert m.fid == pytest.approx(direct_fid, rel=1e-9)
    k = kid(real.kid_features, fake, extractor.name, subsets=3, subset_size=10, seed=0)
    assert (m.kid_mean, m.kid_std) == pytest.approx((k.kid_mean, k.kid_std), rel=1e-9)
    assert set(m.as_dict()) == {"fid", "kid", "kid_std", "metric_features", "metric_n"}


def test_evaluate_generator_refuses_another_feature_space(classifier_path, real_dir):
    extractor = load_features(f"classifier:{classifier_path}")
    real = RealStats.compute(real_dir, extractor, kid_samples=5)
    other = ClassifierExtractor(load_classifier(classifier_path), name="classifier:other")
    with pytest.raises(BrushworkError, match="feature space"):
        evaluate_generator(lambda b: torch.zeros(b, 3, 8, 8), real, other, n=4)
