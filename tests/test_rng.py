"""Counter-based random numbers."""

from __future__ import annotations

import numba as nb
import numpy as np

from credsim.rng import day_key, poisson, uniform


@nb.njit
def _fill(key, n, slot):
    out = np.empty(n)
    for i in range(n):
        out[i] = uniform(key, i, slot)
    return out


def test_uniform_is_a_pure_function_of_its_key():
    k = day_key(1, 3, 10)
    assert k == day_key(1, 3, 10)
    a, b = _fill(k, 1000, 0), _fill(k, 1000, 0)
    assert np.array_equal(a, b)
    for other in (day_key(2, 3, 10), day_key(1, 4, 10), day_key(1, 3, 11)):
        assert not np.array_equal(a, _fill(other, 1000, 0))
    assert not np.array_equal(a, _fill(k, 1000, 1))


def test_uniform_moments_and_independence():
    u = _fill(day_key(5, 1, 0), 400_000, 7)
    assert 0 <= u.min() and u.max() < 1
    assert abs(u.mean() - 0.5) < 4.5 * np.sqrt(1 / 12 / u.size)
    assert abs(u.var() - 1 / 12) < 0.002
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.01
    h, _ = np.histogram(u, bins=20, range=(0, 1))
    expected = u.size / 20
    chi2 = ((h - expected) ** 2 / expected).sum()
    assert chi2 < 50  # 19 degrees of freedom


@nb.njit
def _pois(key, n, lam):
    out = np.empty(n)
    for i in range(n):
        out[i] = poisson(uniform(key, i, 0), lam)
    return out


def test_poisson_mean_and_variance():
    for lam in (0.2, 5.0):
        x = _pois(day_key(1, 2, 3), 200_000, lam)
        assert abs(x.mean() - lam) < 4.5 * np.sqrt(lam / x.size)
        assert abs(x.var() - lam) < 0.05 * lam
