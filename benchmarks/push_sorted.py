"""The push of changed ledgers to friends' sums as credsim makes it, against a variant
that sorts the additions by the friend's block of agents first (not part of the test
run; the variant was measured and not kept, see docs/performance.md).

    python -m benchmarks.push_sorted                  # 10,000,000 agents
    python -m benchmarks.push_sorted --agents 1000000

Builds as-reported, runs two days, takes the second day's changed agents and times each
way on the same sums (medians of 5), checking that both give the same sums bit for bit."""

from __future__ import annotations

import argparse
import statistics
import time

import numba as nb
import numpy as np

from credsim.kernels import N_CHUNKS, changed_of, push_kernel
from credsim.network import is_active
from credsim.rng import parallel_for
from credsim.sim import Sim, warm_kernels


@nb.njit(parallel=True)
def push_sorted(changed, delta, indptr, nbr, active, scored, fsum, nparts, shift):
    """The additions counted, then written, by block of the friend (a stable counting
    sort over ``nparts`` parts of ``changed``), then each block one task."""
    n = fsum.shape[0]
    nblk = ((n - 1) >> shift) + 1
    m = changed.shape[0]
    cnt = np.zeros((nparts, nblk + 1), np.int64)
    for q in nb.prange(nparts):
        for k in range(m * q // nparts, m * (q + 1) // nparts):
            j = changed[k]
            if scored[j]:
                for e in range(indptr[j], indptr[j + 1]):
                    if is_active(active, e):
                        cnt[q, nbr[e] >> shift] += 1
    first = np.zeros(nblk + 1, np.int64)
    w = 0
    for b in range(nblk):
        first[b] = w
        for q in range(nparts):
            c = cnt[q, b]
            cnt[q, b] = w
            w += c
    first[nblk] = w
    dst = np.empty(w, np.int32)
    val = np.empty(w, np.float32)
    for q in nb.prange(nparts):
        at = cnt[q]
        for k in range(m * q // nparts, m * (q + 1) // nparts):
            j = changed[k]
            if scored[j]:
                dv = delta[j]
                for e in range(indptr[j], indptr[j + 1]):
                    if is_active(active, e):
                        f = nbr[e]
                        b = f >> shift
                        dst[at[b]] = f
                        val[at[b]] = dv
                        at[b] += 1
    for b in nb.prange(nblk):
        for x in range(first[b], first[b + 1]):
            fsum[dst[x]] += val[x]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=10_000_000)
    a = ap.parse_args()
    warm_kernels()
    sim = Sim("as-reported", agents=a.agents, days=5, seed=1)
    sim.build()
    sim.step()
    sim.step()
    st, g, d = sim.state, sim.graph, sim.day
    changed = changed_of(d.delta, st.scored, N_CHUNKS)
    args = (changed, d.delta, g.indptr, g.nbr, g.active, st.scored)
    start = st.fsum.copy()
    ref = start.copy()
    nt = nb.get_num_threads()

    def push_as_is(*a) -> None:  # as credsim.kernels.push_changes calls it
        parallel_for(push_kernel, nt, *a, nt, grain=1)

    push_as_is(*args, ref)

    def ms(f, *extra) -> float:
        times = []
        for _ in range(5):
            x = start.copy()
            t = time.perf_counter()
            f(*args, x, *extra)
            times.append(time.perf_counter() - t)
        assert np.array_equal(x, ref)
        return 1e3 * statistics.median(times)

    push_sorted(*args, start.copy(), 2, 15)  # compile
    print(f"{a.agents:,} agents, {changed.size:,} changed, {nb.get_num_threads()} threads")
    print(f"push_kernel (as it is): {ms(push_as_is):.1f} ms")
    for shift in (15, 17, 19, 21):
        for parts in (2, 8):
            t = ms(push_sorted, parts, shift)
            print(f"sorted, blocks of 2^{shift}, {parts} parts: {t:.1f} ms")
    print(f"push_kernel (as it is): {ms(push_as_is):.1f} ms")


if __name__ == "__main__":
    main()
