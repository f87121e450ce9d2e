"""Counter-based random numbers: every draw is a pure function of
(seed, stream, day, agent, slot), never of the order agents are processed in.

A draw is the SplitMix64 output at position ``agent * 2**16 + slot`` of a sequence whose
start is hashed from (seed, stream, day). Any thread, partition or scenario computes the
same number for the same key, which gives thread-count independence and common random
numbers between scenarios.

The hash functions (``mix64``, ``bits``, ``uniform``, ``uniform2``) are Numba
intrinsics: their few integer instructions are emitted straight into the calling kernel,
so a kernel that draws at ten places costs no function to type, inline or compile per
argument types (docs/performance.md, "First run").
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeAlias, cast

import numba as nb
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.core.base import BaseContext
from numba.core.typing import Context, Signature
from numba.extending import intrinsic

# An integer as the kernels take it, a Python or a NumPy one (for annotations: numba
# types a kernel from the arguments it is called with)
Int: TypeAlias = int | np.integer[Any]

# An intrinsic's code generator: (target context, IR builder, signature, argument values)
# to the result's value (llvmlite has no type information: its objects are Any here)
Codegen: TypeAlias = Callable[[BaseContext, Any, Signature, Sequence[Any]], Any]
# An intrinsic's typing function returns its signature and code generator for the
# argument types, or None where it does not apply to them
Typed: TypeAlias = tuple[Signature, Codegen] | None

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


def _mix_ir(builder: ir.IRBuilder, z: ir.Value) -> ir.Value:
    """SplitMix64's finaliser on an LLVM i64."""
    for shift, mult in ((30, _M1), (27, _M2)):
        z = builder.xor(z, builder.lshr(z, z.type(shift)))
        z = builder.mul(z, z.type(int(mult)))
    return builder.xor(z, builder.lshr(z, z.type(31)))


def _u64(context: BaseContext, builder: ir.IRBuilder, ty: types.Type, val: ir.Value) -> ir.Value:
    return context.cast(builder, val, ty, types.uint64)


def _ints(*tys: types.Type) -> bool:
    return all(isinstance(t, types.Integer) for t in tys)


@intrinsic
def _mix64(typingctx: Context, z: types.Type) -> Typed:
    """SplitMix64 finaliser: a bijection of uint64 with full avalanche."""
    if not _ints(z):
        return None

    def codegen(
        context: BaseContext, builder: ir.IRBuilder, sig: Signature, args: Sequence[ir.Value]
    ) -> ir.Value:
        return _mix_ir(builder, _u64(context, builder, sig.args[0], args[0]))

    return types.uint64(z), codegen


# The intrinsics as kernels call them (for mypy: an intrinsic's Python signature is its
# typing function's, which kernels do not call)
mix64 = cast("Callable[[Int], np.uint64]", _mix64)


def bits_ir(builder: ir.IRBuilder, key: ir.Value, agent: ir.Value, slot: ir.Value) -> ir.Value:
    """LLVM IR of ``bits`` from three i64 values (for intrinsics that draw)."""
    ctr = builder.or_(builder.shl(agent, agent.type(16)), slot)
    return _mix_ir(builder, builder.add(key, builder.mul(ctr, ctr.type(int(_GAMMA)))))


def uniform_ir(builder: ir.IRBuilder, key: ir.Value, agent: ir.Value, slot: ir.Value) -> ir.Value:
    """LLVM IR of ``uniform`` from three i64 values."""
    h = bits_ir(builder, key, agent, slot)
    f = builder.uitofp(builder.lshr(h, h.type(11)), ir.DoubleType())
    return builder.fmul(f, ir.Constant(ir.DoubleType(), _INV53))


def _bits_ir(
    context: BaseContext, builder: ir.IRBuilder, sig: Signature, args: Sequence[ir.Value]
) -> ir.Value:
    return bits_ir(builder, *(_u64(context, builder, t, v) for t, v in zip(sig.args, args)))


_U64 = (1 << 64) - 1


def _mix_int(z: int) -> int:
    """mix64 on a Python int (modulo 2**64)."""
    z = ((z ^ (z >> 30)) * int(_M1)) & _U64
    z = ((z ^ (z >> 27)) * int(_M2)) & _U64
    return z ^ (z >> 31)


def day_key(seed: int, stream: int, day: int) -> np.uint64:
    """The key of one (seed, stream, day): hashed so that keys are unrelated.
    k = mix(seed + GAMMA), k = mix(k ^ stream * M1), k = mix(k ^ (day + 1) * M2), all
    modulo 2**64 (in Python: a few calls a day, nothing to compile)."""
    k = _mix_int((int(seed) + int(_GAMMA)) & _U64)
    k = _mix_int(k ^ ((int(stream) * int(_M1)) & _U64))
    k = _mix_int(k ^ (((int(day) + 1) * int(_M2)) & _U64))
    return np.uint64(k)


def shift_key(key: np.uint64, base: int) -> np.uint64:
    """The key whose draws for agent i are ``key``'s for agent base + i (a draw hashes
    key + (agent * 2**16 + slot) * GAMMA, linear in the agent): what a process holding
    the agents from ``base`` on draws with."""
    return np.uint64((int(key) + int(base) * 65536 * int(_GAMMA)) & _U64)


@intrinsic
def _bits(typingctx: Context, key: types.Type, agent: types.Type, slot: types.Type) -> Typed:
    """64 random bits for (key, agent, slot): mix64(key + (agent * 2**16 + slot) * GAMMA).
    Emitted straight into the caller (no function to type or compile per signature)."""
    if not _ints(key, agent, slot):
        return None
    return types.uint64(key, agent, slot), _bits_ir


bits = cast("Callable[[Int, Int, Int], np.uint64]", _bits)


@intrinsic
def _uniform(typingctx: Context, key: types.Type, agent: types.Type, slot: types.Type) -> Typed:
    """A uniform double in [0, 1) for (key, agent, slot): the top 53 bits times 2**-53."""
    if not _ints(key, agent, slot):
        return None

    def codegen(
        context: BaseContext, builder: ir.IRBuilder, sig: Signature, args: Sequence[ir.Value]
    ) -> ir.Value:
        return uniform_ir(builder, *(_u64(context, builder, t, v) for t, v in zip(sig.args, args)))

    return types.float64(key, agent, slot), codegen


uniform = cast("Callable[[Int, Int, Int], float]", _uniform)


_INV32 = 1.0 / 4294967296.0  # 2**-32


@intrinsic
def _uniform2(typingctx: Context, key: types.Type, agent: types.Type, slot: types.Type) -> Typed:
    """Two uniforms in [0, 1) with 32-bit resolution from one hash of (key, agent, slot):
    the high and the low half of its bits times 2**-32."""
    if not _ints(key, agent, slot):
        return None
    ret = types.UniTuple(types.float64, 2)

    def codegen(
        context: BaseContext, builder: ir.IRBuilder, sig: Signature, args: Sequence[ir.Value]
    ) -> ir.Value:
        h = _bits_ir(context, builder, sig, args)
        d = ir.DoubleType()
        hi = builder.uitofp(builder.lshr(h, h.type(32)), d)
        lo = builder.uitofp(builder.and_(h, h.type(0xFFFFFFFF)), d)
        c = ir.Constant(d, _INV32)
        return context.make_tuple(builder, ret, [builder.fmul(hi, c), builder.fmul(lo, c)])

    return ret(key, agent, slot), codegen


uniform2 = cast("Callable[[Int, Int, Int], tuple[float, float]]", _uniform2)


@nb.njit(inline="always")
def span(lo: Int, hi: Int) -> range:
    """range(lo, hi) as unsigned indices, for a kernel's loop over agents (0 <= lo; empty
    when hi <= lo, as range). Numba reads ``a[i]`` with a signed i as NumPy does, adding
    len(a) when i is negative; an unsigned i skips that test at every read, and LLVM can
    then vectorise a simple loop: a clipped sum of two columns over 10M agents took 21.6
    ms with ``range(lo, hi)`` and 5.2 ms with this (``python -m benchmarks.kernels``).
    (Unsigned and signed integer variables mixed in arithmetic give a float in Numba:
    cast i with np.int64 where it meets one; literals are fine.)"""
    return range(np.uint64(lo), np.uint64(hi))


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
    if lam <= 0.0:
        return 0
    return poisson_inv(u, lam, math.exp(-lam))[0]


@nb.njit(inline="always")
def poisson_inv(u: float, lam: float, e: float) -> tuple[int, float]:
    """Poisson(lam) by inversion of u (the least k with u <= F(k)), given e = exp(-lam);
    also F(k)."""
    p = e
    f = p
    k = 0
    while u > f and k < 10000:
        k += 1
        p *= lam / k
        f += p
        if p < 1e-300:
            break
    return k, f


# ---------------------------------------------------------------------------------------
# Kernels over agents in threads. Because every draw is keyed by the agent, cutting the
# agents into pieces changes nothing: a kernel compiled serially (nogil=True) runs on one
# contiguous piece per thread. A serial kernel compiles in a fraction of the time of a
# parallel=True one (no parfor passes, no gufunc), which is most of a first run's wait.
# No kernel of a run is a Numba parallel loop (those over many agents come here, the
# rest run on the calling thread), so no OpenMP worker spins on a core that a thread of
# this pool is waiting for. What it
# costs is the hand-over: about 0.1 ms a call on the reference machine (a thread woken
# by the OS, where OpenMP's spinning workers take a few microseconds).

_POOL: dict[str, Any] = {}
_POOL_LOCK = threading.Lock()


def _pool(workers: int) -> ThreadPoolExecutor:
    """The process's worker threads (again after a fork: threads do not survive one)."""
    with _POOL_LOCK:
        pool = _POOL.get("pool")
        if pool is None or _POOL["pid"] != os.getpid() or _POOL["workers"] < workers:
            pool = ThreadPoolExecutor(workers, thread_name_prefix="credsim")
            _POOL.update(pool=pool, pid=os.getpid(), workers=workers)
        return pool


# a day's pass is cut among threads only where each thread gets at least this many agents
# (below it the hand-over costs more than the thread saves); CREDSIM_AGENT_GRAIN sets it
# (the tests cut small populations to check that any cut gives the same tables)
def _grain_from_env() -> int:
    raw = os.environ.get("CREDSIM_AGENT_GRAIN", str(1 << 15))
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(
            f"environment CREDSIM_AGENT_GRAIN={raw!r}: expected a whole number of agents, 1 or more"
        )
    return int(raw)


AGENT_GRAIN = _grain_from_env()


def threads() -> int:
    """Numba's thread count for this thread (``numba.get_num_threads()``). Numba's
    function first takes a lock that multiprocessing shares with forked children; a
    child killed while it held the lock (the tests fork simulations and SIGKILL them at
    random) left it taken for every later child, which then hung. Once Numba's thread
    layer has started, the count is read without the lock (Numba's own reader, which its
    compiled get_num_threads calls too)."""
    from numba.np.ufunc import parallel as npar

    get = getattr(npar, "_get_num_threads", None)
    if get is None or not getattr(npar, "_is_initialized", False):
        return nb.get_num_threads()  # (starts the thread layer)
    return int(get())


def pieces(n: int, grain: int = 1024, work: int | None = None) -> int:
    """How many pieces :func:`parallel_for` cuts n items into: one per thread, at most n,
    each holding at least ``grain`` of the ``work`` (by default n: one an item)."""
    total = n if work is None else work
    return max(1, min(threads(), n, total // max(grain, 1)))


def parallel_for(
    kernel: Callable[..., None],
    n: int,
    *args: Any,
    grain: int = 1024,
    work: int | None = None,
) -> None:
    """``kernel(lo, hi, *args)`` over [0, n) cut into contiguous pieces, one per thread
    (Numba's thread count, ``NUMBA_NUM_THREADS`` or ``numba.set_num_threads``), each of
    at least ``grain`` of the ``work`` the n items hold (by default n: one an item);
    this thread runs the first. ``kernel`` is compiled with ``nogil=True`` and writes
    only what its piece owns, so the result is the same for any thread count."""
    m = pieces(n, grain, work)
    if m == 1:
        kernel(0, n, *args)
        return
    cuts = [n * k // m for k in range(m + 1)]
    pool = _pool(m - 1)
    futures = [pool.submit(kernel, cuts[k], cuts[k + 1], *args) for k in range(1, m)]
    try:
        kernel(cuts[0], cuts[1], *args)
    finally:
        for f in futures:
            f.result()


@nb.njit(nogil=True, cache=True)
def _zero(lo: Int, hi: Int, b: np.ndarray) -> None:
    for i in span(lo, hi):
        b[i] = 0


def zeros(shape: int | tuple[int, ...], dtype: Any) -> np.ndarray:
    """``np.zeros(shape, dtype)``, its memory first written on every thread
    (:func:`parallel_for`, pieces of at least 4 MB), not on one. Memory new to the
    process costs most at its first write (the kernel, and on a virtual machine the
    host, back each page then), and the threads' pages are backed side by side: 1 GB
    took a median of 0.9 s on two threads against 2.1 s on one (reference machine)."""
    a = np.empty(shape, dtype)
    b = a.reshape(-1).view(np.uint8)
    parallel_for(_zero, b.shape[0], b, grain=1 << 22)
    return a
