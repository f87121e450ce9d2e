"""Counter-based random numbers."""

from __future__ import annotations

import numba as nb
import numpy as np
import pytest

from credsim.kernels import prefetch
from credsim.rng import (
    bits,
    day_key,
    parallel_for,
    poisson,
    shift_key,
    span,
    uniform,
    uniform2,
    zeros,
)


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


def test_a_shifted_key_draws_for_agent_i_what_the_key_draws_for_base_plus_i():
    k = day_key(5, 2, 7)
    for base in (0, 1, 1000, 2**31 - 5):
        mine = _fill(shift_key(k, base), 1000, 3)
        ref = np.array([_one(k, base + i, 3) for i in range(1000)])
        assert np.array_equal(mine, ref)
    # local indices below 0 (another process's agents) shift the same way
    assert _one(shift_key(k, 100), -7, 3) == _one(k, 93, 3)
    assert not np.array_equal(_fill(shift_key(k, 1), 100, 3), _fill(k, 100, 3))


@nb.njit
def _one(key, i, slot):
    return uniform(key, i, slot)


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


_G, _M1, _M2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_U64 = (1 << 64) - 1


def _mix_py(z: int) -> int:
    z = ((z ^ (z >> 30)) * _M1) & _U64
    z = ((z ^ (z >> 27)) * _M2) & _U64
    return z ^ (z >> 31)


@nb.njit
def _draws(key, agent, slot):
    h = bits(key, agent, slot)
    a, b = uniform2(key, np.int32(agent), slot)
    return h, uniform(key, agent, np.uint16(slot)), a, b


def test_draws_are_the_documented_formula():
    """bits = mix(key + (agent * 2**16 + slot) * gamma); uniform its top 53 bits; uniform2
    its two halves (docs/model.md, Random numbers), whatever integer types are passed."""
    key = day_key(7, 3, 40)
    assert int(key) == _mix_py(
        _mix_py(_mix_py((7 + _G) & _U64) ^ (3 * _M1 & _U64)) ^ (41 * _M2 & _U64)
    )
    for agent, slot in ((0, 0), (1, 5), (123_456_789, 600), (2**31 - 1, 65535)):
        h, u, a, b = _draws(key, agent, slot)
        want = _mix_py((int(key) + ((agent << 16 | slot) * _G)) & _U64)
        assert int(h) == want
        assert u == (want >> 11) * 2.0**-53
        assert (a, b) == ((want >> 32) * 2.0**-32, (want & 0xFFFFFFFF) * 2.0**-32)


@nb.njit(nogil=True)
def _mark(lo, hi, out, step):
    for i in range(lo, hi):
        out[i] += step


def test_parallel_for_covers_every_index_once():
    for threads in range(1, nb.config.NUMBA_NUM_THREADS + 1):
        nb.set_num_threads(threads)
        for n in (0, 1, 1023, 5000, 100_001):
            out = np.zeros(n, np.int64)
            parallel_for(_mark, n, out, 3, grain=7)
            assert (out == 3).all()
    nb.set_num_threads(nb.config.NUMBA_NUM_THREADS)


@nb.njit(nogil=True)
def _first(lo, hi, out):
    for i in range(lo, hi):
        out[i] = lo


@pytest.mark.skipif(nb.config.NUMBA_NUM_THREADS < 2, reason="needs two Numba threads")
def test_parallel_for_cuts_only_where_each_thread_gets_a_grain_of_work():
    nb.set_num_threads(2)
    try:
        out = np.zeros(64, np.int64)
        parallel_for(_first, 64, out, grain=1024, work=2047)  # too little for two
        assert set(out.tolist()) == {0}
        parallel_for(_first, 64, out, grain=1024, work=2048)
        assert set(out.tolist()) == {0, 32}
        parallel_for(_first, 64, out, grain=1)  # never more pieces than items
        assert set(out.tolist()) == {0, 32}
    finally:
        nb.set_num_threads(nb.config.NUMBA_NUM_THREADS)


@nb.njit(nogil=True)
def _span_sum(lo, hi, a):
    s = 0
    c = 0
    for i in span(lo, hi):
        s += a[i] * (i + 1)  # i meets a literal: stays an integer
        c += 1
    return s, c


def test_span_runs_over_the_same_agents_as_range():
    a = np.arange(50, dtype=np.int64) * 3
    for lo, hi in ((0, 50), (7, 31), (10, 10), (49, 50), (20, 5), (0, -5)):
        want = sum(int(a[i]) * (i + 1) for i in range(lo, hi))
        assert _span_sum(lo, hi, a) == (want, max(hi - lo, 0))
    assert isinstance(_span_sum(0, 3, a)[0], int)


@nb.njit
def _prefetched_sum(a, idx):
    s = 0.0
    for k in range(idx.shape[0]):
        if k + 2 < idx.shape[0]:
            prefetch(a, idx[k + 2])
        s += a[idx[k]]
    return s


def test_prefetch_changes_no_value():
    a = np.random.default_rng(1).random(1 << 16)
    idx = np.random.default_rng(2).integers(0, a.size, 1000)
    idx[-1] = a.size - 1  # the last element: a prefetch never reads past it
    assert _prefetched_sum(a, idx) == sum(a[i] for i in idx.tolist())


@pytest.mark.parametrize(
    "shape, dtype",
    [(0, np.uint8), (7, np.float32), ((3, 5), np.int16), ((2, 9_000_000), np.uint16)],
)
def test_zeros_are_zeros_of_the_shape_and_type_asked_whatever_the_threads(shape, dtype):
    """rng.zeros writes its memory in pieces on every thread (the last case: 36 MB, so
    cut in pieces); the array is np.zeros' own. (Memory fresh from the system is zeros
    already, so the writing is checked on memory written before: every byte of every
    piece is cleared.)"""
    from credsim.rng import _zero

    dirty = np.full(int(np.prod(shape)) * np.dtype(dtype).itemsize, 0xA5, np.uint8)
    parallel_for(_zero, dirty.shape[0], dirty, grain=1 << 22)
    assert not dirty.any()
    for t in (1, nb.config.NUMBA_NUM_THREADS):
        nb.set_num_threads(t)
        try:
            a = zeros(shape, dtype)
        finally:
            nb.set_num_threads(nb.config.NUMBA_NUM_THREADS)
        want = np.zeros(shape, dtype)
        assert a.dtype == want.dtype and a.shape == want.shape and a.flags.c_contiguous
        assert not a.any()
