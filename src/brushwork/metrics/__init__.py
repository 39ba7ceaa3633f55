"""Metrics for generative models and style transfer; one small module per metric.

Every result is a dataclass with a ``features`` field naming the feature space
it was computed in (``inception``, ``vgg16-hed``, ``classifier:NAME``): numbers
from different spaces are never comparable.

The metric functions live in their modules (``from brushwork.metrics.kid import kid``,
``.prdc import prdc``, ``.inception_score import inception_score``, ``.style import
style_metrics``); they are not re-exported here, so that the module names stay
importable. The training hook and FID helpers are::

    from brushwork.metrics import RealStats, evaluate_generator, load_features, fid_from_features
"""

from __future__ import annotations

from .features import FeatureExtractor, load_features
from .fid import FIDResult, GaussianStats, fid_from_features, fid_from_stats, frechet_distance, gaussian_stats
from .inception_score import ISResult
from .kid import KIDResult, mmd2_unbiased
from .prdc import PRDCResult
from .training import GeneratorMetrics, RealStats, evaluate_generator

__all__ = [
    "FeatureExtractor", "load_features",
    "FIDResult", "GaussianStats", "fid_from_features", "fid_from_stats", "frechet_distance", "gaussian_stats",
    "ISResult", "KIDResult", "mmd2_unbiased", "PRDCResult",
    "GeneratorMetrics", "RealStats", "evaluate_generator",
]
