"""FID against closed forms: exact statistics, exact-moment samples and large random samples."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg
from threadpoolctl import threadpool_limits

from brushwork.errors import BrushworkError
from brushwork.metrics.fid import GaussianStats, fid_from_features, fid_from_stats, frechet_distance, gaussian_stats


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """On a shared, oversubscribed 2-core machine OpenBLAS's spinning threads make these 10-100x slower; results do not depend on it."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _rotation(d: int, rng: np.random.Generator) -> np.ndarray:
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return q


def _shared_basis_case(d: int = 16, seed: int = 0):
    """Two Gaussians whose covariances share an eigenbasis: FID = |dmu|^2 + sum (sqrt(l1) - sqrt(l2))^2."""
    rng = np.random.default_rng(seed)
    q = _rotation(d, rng)
    l1, l2 = rng.uniform(0.2, 4.0, d), rng.uniform(0.2, 4.0, d)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    s1, s2 = (q * l1) @ q.T, (q * l2) @ q.T
    exact = float(np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(l1) - np.sqrt(l2)) ** 2))
    return mu1, s1, mu2, s2, exact


def _exact_moment_samples(mu: np.ndarray, sigma: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n samples whose sample mean is exactly mu and whose (ddof=1) sample covariance is exactly sigma."""
    z = rng.standard_normal((n, len(mu)))
    z -= z.mean(axis=0)
    white = np.linalg.cholesky(np.cov(z, rowvar=False))
    z = np.linalg.solve(white, z.T).T  # identity sample covariance
    return z @ np.linalg.cholesky(sigma).T + mu


def test_frechet_distance_matches_closed_form():
    mu1, s1, mu2, s2, exact = _shared_basis_case()
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(exact, rel=1e-9)


def test_frechet_distance_matches_scipy_sqrtm_on_non_commuting_covariances():
    rng = np.random.default_rng(1)
    d = 24
    a, b = rng.standard_normal((d, 2 * d)), rng.standard_normal((d, 2 * d))
    s1, s2 = a @ a.T / d, b @ b.T / d
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    root = scipy.linalg.sqrtm(s1 @ s2).real
    reference = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * root)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference, rel=1e-9)


def test_rank_deficient_covariances_take_the_eigen_path_and_stay_exact():
    rng = np.random.default_rng(2)
    q = _rotation(4, rng)
    l1, l2 = np.array([0.0, 0.0, 1.0, 4.0]), np.array([1.0, 0.0, 4.0, 9.0])
    s1, s2 = (q * l1) @ q.T, (q * l2) @ q.T
    mu = np.zeros(4)
    exact = np.sum((np.sqrt(l1) - np.sqrt(l2)) ** 2)  # 1 + 0 + 1 + 1
    assert frechet_distance(mu, s1, mu, s2) == pytest.approx(exact, rel=1e-9)
    assert frechet_distance(mu, s1, mu, s1) == pytest.approx(0.0, abs=1e-7)


def test_singular_fid_from_few_samples_matches_an_exact_small_computation():
    """n < D: tr((S_a S_b)^(1/2)) equals the same trace of the n x n matrix X_a S_b X_a^T / (n - 1)."""
    rng = np.random.default_rng(10)
    d = 300
    a = rng.standard_normal((6, d))
    b = rng.standard_normal((9, d)) * 1.5 + 0.2
    xa = a - a.mean(axis=0)
    sb = np.cov(b, rowvar=False)
    small = xa @ sb @ xa.T / (len(a) - 1)
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh(small), 0, None)).sum()
    mu_term = np.sum((a.mean(axis=0) - b.mean(axis=0)) ** 2)
    exact = mu_term + np.trace(np.cov(a, rowvar=False)) + np.trace(sb) - 2 * tr_sqrt
    with pytest.warns(UserWarning, match="singular"):
        result = fid_from_features(a, b, "x")
    assert result.singular and result.fid == pytest.approx(exact, rel=1e-9)


def test_fid_from_exact_moment_samples_matches_closed_form():
    mu1, s1, mu2, s2, exact = _shared_basis_case(d=8, seed=3)
    rng = np.random.default_rng(3)
    a = _exact_moment_samples(mu1, s1, 500, rng)
    b = _exact_moment_samples(mu2, s2, 700, rng)
    result = fid_from_features(a, b, "gauss")
    assert result.fid == pytest.approx(exact, rel=1e-9)
    assert (result.features, result.n_a, result.n_b, result.singular) == ("gauss", 500, 700, False)


def test_fid_in_256_dims_from_exact_moment_samples_matches_closed_form():
    """High dimension (2048-d is timed by `brushwork bench features`): far better than 1e-3 relative."""
    mu1, s1, mu2, s2, exact = _shared_basis_case(d=256, seed=9)
    rng = np.random.default_rng(9)
    a = _exact_moment_samples(mu1, s1, 300, rng)
    b = _exact_moment_samples(mu2, s2, 300, rng)
    assert fid_from_features(a, b, "gauss").fid == pytest.approx(exact, rel=1e-6)


def test_fid_from_large_random_samples_approaches_closed_form():
    """Plain random samples: the error is statistical (~1/sqrt(n), about 1e-3 at n = 1e6), not numerical."""
    mu1, s1, mu2, s2, exact = _shared_basis_case(d=4, seed=4)
    rng = np.random.default_rng(4)
    n = 200_000
    a = rng.multivariate_normal(mu1, s1, n)
    b = rng.multivariate_normal(mu2, s2, n)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # plenty of samples: no warning
        value = fid_from_features(a, b, "gauss").fid
    assert value == pytest.approx(exact, rel=1e-2)


def test_gaussian_stats_match_numpy_cov():
    x = np.random.default_rng(5).standard_normal((50, 6)).astype(np.float32)
    s = gaussian_stats(x, "x")
    np.testing.assert_allclose(s.mu, x.astype(np.float64).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(s.sigma, np.cov(x.astype(np.float64), rowvar=False), rtol=1e-10, atol=1e-12)
    assert s.n == 50 and s.features == "x"


def test_singular_covariance_warns_and_gives_a_finite_value():
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal((10, 32)), rng.standard_normal((12, 32)) + 1
    with pytest.warns(UserWarning, match="singular"):
        result = fid_from_features(a, b, "x")
    assert result.singular and np.isfinite(result.fid) and result.fid > 0
    with pytest.raises(BrushworkError, match="singular"):
        fid_from_features(a, b, "x", allow_singular=False)


def test_mismatched_dimensions_and_spaces_are_refused():
    rng = np.random.default_rng(7)
    a = gaussian_stats(rng.standard_normal((40, 3)), "inception")
    with pytest.raises(BrushworkError, match="different dimensions"):
        fid_from_stats(a, gaussian_stats(rng.standard_normal((40, 4)), "inception"))
    with pytest.raises(BrushworkError, match="different feature spaces"):
        fid_from_stats(a, gaussian_stats(rng.standard_normal((40, 3)), "vgg16-hed"))
    with pytest.raises(BrushworkError, match="at least 2"):
        gaussian_stats(rng.standard_normal((1, 3)), "x")


def test_npz_round_trip_and_pytorch_fid_layout(tmp_path):
    rng = np.random.default_rng(8)
    s = gaussian_stats(rng.standard_normal((30, 5)), "vgg16-hed")
    path = s.save(tmp_path / "stats.npz")
    with np.load(path) as f:
        assert {"mu", "sigma"} <= set(f.files)
        np.testing.assert_array_equal(f["mu"], s.mu)
        np.testing.assert_array_equal(f["sigma"], s.sigma)
    back = GaussianStats.load(path)
    np.testing.assert_array_equal(back.mu, s.mu)
    np.testing.assert_array_equal(back.sigma, s.sigma)
    assert (back.n, back.features) == (30, "vgg16-hed")

    # a file as pytorch-fid writes it: only mu and sigma
    np.savez_compressed(tmp_path / "pytorch_fid.npz", mu=s.mu, sigma=s.sigma)
    theirs = GaussianStats.load(tmp_path / "pytorch_fid.npz")
    assert theirs.n is None and theirs.features == "unknown"
    assert fid_from_stats(theirs, back).fid == pytest.approx(0.0, abs=1e-9)


def test_bad_stats_files_are_user_errors(tmp_path):
    np.savez(tmp_path / "bad.npz", mu=np.zeros(3), sigma=np.zeros((4, 4)))
    with pytest.raises(BrushworkError, match="do not fit"):
        GaussianStats.load(tmp_path / "bad.npz")
    np.savez(tmp_path / "nokeys.npz", x=np.zeros(3))
    with pytest.raises(BrushworkError, match="mu"):
        GaussianStats.load(tmp_path / "nokeys.npz")
