"""Counter-based random numbers: every draw is a pure function of
(seed, stream, day, agent, slot), never of the order agents are processed in.

A draw is the SplitMix64 output at position ``agent * 2**16 + slot`` of a sequence whose
start is hashed from (seed, stream, day). Any thread, partition or scenario computes the
same number for the same key, which gives thread-count independence and common random
numbers between scenarios.
"""

from __future__ import annotations

import math
from typing import Any, TypeAlias

import numba as nb
import numpy as np

# An integer as the kernels take it, a Python or a NumPy one (for annotations: numba
# types a kernel from the arguments it is called with)
Int: TypeAlias = int | np.integer[Any]

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_S16 = np.uint64(16)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


@nb.njit(inline="always", cache=True)
def mix64(z: np.uint64) -> np.uint64:
    """SplitMix64 finaliser: a bijection of uint64 with full avalanche."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@nb.njit(cache=True)
def _day_key(seed: np.uint64, stream: np.int64, day: np.int64) -> np.uint64:
    k = mix64(np.uint64(seed) + _GAMMA)
    k = mix64(k ^ (np.uint64(stream) * _M1))
    k = mix64(k ^ (np.uint64(day + 1) * _M2))
    return k


def day_key(seed: int, stream: int, day: int) -> np.uint64:
    """The key of one (seed, stream, day): hashed so that keys are unrelated."""
    return np.uint64(_day_key(np.uint64(seed), np.int64(stream), np.int64(day)))


@nb.njit(inline="always", cache=True)
def bits(key: np.uint64, agent: Int, slot: Int) -> np.uint64:
    """64 random bits for (key, agent, slot)."""
    ctr = (np.uint64(agent) << _S16) | np.uint64(slot)
    return mix64(key + ctr * _GAMMA)


@nb.njit(inline="always", cache=True)
def uniform(key: np.uint64, agent: Int, slot: Int) -> float:
    """A uniform double in [0, 1) for (key, agent, slot)."""
    return float(bits(key, agent, slot) >> _S11) * _INV53


_S32 = np.uint64(32)
_LO32 = np.uint64(0xFFFFFFFF)
_INV32 = 1.0 / 4294967296.0  # 2**-32


@nb.njit(inline="always", cache=True)
def uniform2(key: np.uint64, agent: Int, slot: Int) -> tuple[float, float]:
    """Two uniforms in [0, 1) with 32-bit resolution from one hash of (key, agent, slot)."""
    h = bits(key, agent, slot)
    return float(h >> _S32) * _INV32, float(h & _LO32) * _INV32


@nb.njit(inline="always", cache=True)
def other_in_range(u: float, i: Int, lo: Int, size: Int) -> Int:
    """From one uniform u, an agent of [lo, lo + size) other than i (which lies in it)."""
    j = lo + min(np.int64(u * (size - 1)), size - 2)
    if j >= i:
        j += 1
    return j


@nb.njit(inline="always", cache=True)
def poisson(u: float, lam: float) -> int:
    """Poisson(lam) by inversion of one uniform (lam is small: posting rates)."""
    return poisson_e(u, lam, math.exp(-lam))


@nb.njit(inline="always", cache=True)
def poisson_e(u: float, lam: float, e: float) -> int:
    """Poisson(lam) by inversion, given e = exp(-lam)."""
    if lam <= 0.0:
        return 0
    p = e
    f = p
    k = 0
    while u > f and k < 10000:
        k += 1
        p *= lam / k
        f += p
        if p < 1e-300:
            break
    return k
