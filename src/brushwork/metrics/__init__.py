"""Metrics for generative models and style transfer; one small module per metric.

Every result is a dataclass with a ``features`` field naming the feature space
it was computed in (``inception``, ``vgg16-hed``, ``classifier:NAME``): numbers
from different spaces are never comparable.
"""

from __future__ import annotations

from .features import FeatureExtractor, load_features
from .fid import FIDResult, GaussianStats, fid_from_features, fid_from_stats, frechet_distance, gaussian_stats
from .inception_score import ISResult, inception_score
from .kid import KIDResult, kid, mmd2_unbiased
from .prdc import PRDCResult, prdc
from .training import GeneratorMetrics, RealStats, evaluate_generator

__all__ = [
    "FeatureExtractor", "load_features",
    "FIDResult", "GaussianStats", "fid_from_features", "fid_from_stats", "frechet_distance", "gaussian_stats",
    "ISResult", "inception_score", "KIDResult", "kid", "mmd2_unbiased", "PRDCResult", "prdc",
    "GeneratorMetrics", "RealStats", "evaluate_generator",
]
