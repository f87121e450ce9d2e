"""What a day whose ledgers decay when read would still cost (not part of the test run):
a floor under the 10M-day target, on a real simulation's state.

    python -m benchmarks.lazy                       # 2,000,000 agents
    python -m benchmarks.lazy --agents 10000000

Every ledger decays by one factor a day, so a score whose ledger and friends' sum only
decayed need not be computed every day: the day it leaves its 1-point bin can be known in
advance. Such a day would still have to (1) push the changed ledgers to friends' sums,
marking the friends it reaches; (2) recompute the score of every marked agent and every
agent with an observed event, moving the histogram's and the tiers' counters where its
bin or tier changed, and computing, where its score still moves, the day it leaves its
bin (a logarithm); (3) do the same for the agents whose bin changed by decay alone (the
day's scheduled crossings). Builds as-reported, runs 30 days, then times these on day
30's changes, on one thread (median of 9 calls, milliseconds), beside what they replace
today: score's pass (``score_day_kernel``), the push (``kernels.push_kernel``) and
record's counting (``record_kernel``). A floor, not the design: keeping the sums in the
units of a reference day, the lists of agents due each day, the other counts of record
and the rounding are left out. ``push_marking`` is ``push_kernel`` with one line more
(the mark), as a fused push would be."""

from __future__ import annotations

import argparse
import math

import numba as nb
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

from benchmarks.kernels import _ms
from credsim.kernels import N_CHUNKS, bounds_tuple, changed_of, prefetch, push_kernel
from credsim.network import is_active
from credsim.phases.score import ScoreParams, score_day_kernel
from credsim.population import A_GROUP
from credsim.recorder import record_kernel
from credsim.scenario import decay_factor
from credsim.schema import N_GROUPS
from credsim.sim import Sim, warm_kernels


@nb.njit(nogil=True)
def push_marking(changed, delta, indptr, nbr, active, scored, fsum, mark):
    """kernels.push_kernel's additions (one range of friends, its prefetches), each
    friend reached also marked in a bit set."""
    m = changed.shape[0]
    d = 4
    for k in range(m):
        if k + 3 * d < m:
            prefetch(indptr, changed[k + 3 * d])
        if k + 2 * d < m:
            r = np.int64(indptr[changed[k + 2 * d]])
            prefetch(nbr, r)
            prefetch(nbr, r + 16)
            prefetch(active, r >> 3)
        if k + d < m:
            r = changed[k + d]
            for e in range(indptr[r], indptr[r + 1]):
                prefetch(fsum, nbr[e])
        j = changed[k]
        if not scored[j]:
            continue
        dv = delta[j]
        for e in range(np.int64(indptr[j]), np.int64(indptr[j + 1])):
            if is_active(active, e):
                f = nbr[e]
                fsum[f] += dv
                mark[f >> 6] |= np.uint64(1) << np.uint64(f & 63)


@nb.njit(nogil=True)
def marked_agents(mark):
    """The agents whose bit is set, ascending."""
    c = 0
    for wd in range(mark.shape[0]):
        bits = mark[wd]
        while bits:
            bits &= bits - np.uint64(1)
            c += 1
    out = np.empty(c, np.int64)
    k = 0
    for wd in range(mark.shape[0]):
        bits = mark[wd]
        while bits:
            out[k] = (wd << 6) + trailing_zeros(bits)  # type: ignore[call-arg]
            bits &= bits - np.uint64(1)
            k += 1
    return out


@nb.njit(nogil=True)
def again(todo, forced, obs, day, p, scored, own, fsum, fcnt, assoc, attrs, lo, nb_, ln_dec,
          binv, tier, hst, tcnt, due):  # fmt: skip
    """Each agent of ``todo``: its score from its ledger and friends' sum (unless it is not
    ``forced``, has no observed event today, and its association term is 0 today and was
    yesterday: then its score only decayed); its bin's and tier's counters moved where
    they changed; the day its score leaves its bin. (Written in the loop: a helper taking
    the arrays would add reference counts at every call.)"""
    w, sym, base, slo, shi, bounds = p
    for k in range(todo.shape[0]):
        j = todo[k]
        if not scored[j]:
            continue
        c = fcnt[j]
        m = fsum[j] / max(c, 1)
        a = w * m if (c > 0) & (sym | (m < 0.0)) else 0.0
        if not forced and obs[j] == 0 and a == 0.0 and assoc[j] == 0.0:
            continue
        y = own[j] + a
        x = min(max(base + y, slo), shi)
        g = attrs[j] & A_GROUP
        b = min(max(np.int64(x - lo), 0), nb_ - 1)
        if b != binv[j]:
            hst[g, binv[j]] -= 1
            hst[g, b] += 1
            binv[j] = b
        t = np.uint8(0)
        for v in bounds:
            t += np.uint8(x >= v)
        if t != tier[j]:
            tcnt[g, tier[j]] -= 1
            tcnt[g, t] += 1
            tier[j] = t
        due[j] = -1
        if y != 0.0 and slo < x < shi:
            # the decaying part y leaves the bin at the edge on base's side; where base is
            # inside the bin, it never does
            edge = lo + b if y > 0.0 else lo + b + 1
            if (edge - base) * y > 0:
                e = math.ceil(math.log((edge - base) / y) / ln_dec)
                due[j] = day + min(max(e, 1), 32000)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=2_000_000)
    ap.add_argument("--days", type=int, default=30)
    a = ap.parse_args()
    warm_kernels(helper=False)
    nb.set_num_threads(1)
    sim = Sim("as-reported", agents=a.agents, days=a.days + 1, seed=1)
    sim.build()
    for _ in range(a.days - 1):
        sim.step()
    pop, st, d, g, r = sim.pop, sim.state, sim.day, sim.graph, sim.recorder
    n, lo, nbins = sim.n, r.lo, r.nbins
    before = np.clip(np.floor(st.score - lo), 0, nbins - 1).astype(np.int64)
    tier0, assoc0 = st.tier.copy(), st.assoc.copy()
    sim.step()
    day = sim.day_done - 1
    after = np.clip(np.floor(st.score - lo), 0, nbins - 1).astype(np.int64)
    sp = ScoreParams.on(sim.scenario, sim.params, day)
    p = (sp.association_weight, sp.association_symmetric, sp.base, sp.lo, sp.hi,
         bounds_tuple(sp.bounds))  # fmt: skip
    ln_dec = math.log(decay_factor(sim.params.at("score.half_life", day)))

    ch = changed_of(d.delta, st.scored, N_CHUNKS)
    push_args = (ch, d.delta, g.indptr, g.nbr, g.active, st.scored)
    mark = np.zeros((n + 63) // 64, np.uint64)
    fs = st.fsum.copy()
    push_marking(*push_args, fs, mark)
    marked = np.unpackbits(mark.view(np.uint8), bitorder="little")[:n].astype(bool)
    events = d.obs != 0
    sc = st.scored
    moved = (after != before) & sc
    cross = np.flatnonzero(moved & ~marked & ~events)
    m = max(int(sc.sum()), 1)
    print(f"{n:,} agents, day {day}, one thread: ms (median of 9)")
    print(
        f"  shares of scored agents: changed ledgers {ch.size / m:.2%}, marked by the push "
        f"{(marked & sc).sum() / m:.2%}, with an observed event {(events & sc).sum() / m:.2%}, "
        f"bin changed {moved.sum() / m:.2%}, of which by decay alone {cross.size / m:.2%}"
    )

    f2 = st.fsum.copy()
    today_push = _ms(lambda: push_kernel(0, 1, *push_args, f2, 1))

    def marking() -> None:
        mark.fill(0)
        push_marking(*push_args, fs, mark)

    lazy_push = _ms(marking)
    push_marking(*push_args, fs, mark)

    binv = before.astype(np.int16)
    tier = tier0.copy()
    hst = np.zeros((N_GROUPS, nbins), np.int64)
    g_of = (pop.attrs & A_GROUP).astype(np.int64)
    np.add.at(hst, (g_of[sc], before[sc]), 1)
    tcnt = np.zeros((N_GROUPS, 8), np.int64)
    np.add.at(tcnt, (g_of[sc], tier0[sc].astype(np.int64)), 1)
    due = np.zeros(n, np.int16)
    state = (sc, st.own, st.fsum, st.fcnt, assoc0, pop.attrs, lo, nbins, ln_dec, binv, tier,
             hst, tcnt, due)  # fmt: skip

    def reset() -> None:
        binv[:] = before
        tier[:] = tier0

    t_reset = _ms(reset)
    # the agents with an observed event are marked too (the observe phase would mark them)
    ev = np.flatnonzero(events)
    np.bitwise_or.at(mark, ev >> 6, np.left_shift(np.uint64(1), (ev & 63).astype(np.uint64)))

    def rescan() -> None:
        reset()
        again(marked_agents(mark), False, d.obs, day, p, *state)

    def crossings() -> None:
        reset()
        again(cross, True, d.obs, day, p, *state)

    t_rescan = _ms(rescan) - t_reset
    t_cross = _ms(crossings) - t_reset

    cols = [x.copy() for x in (st.own, st.own_false, st.fsum)]
    rest = [x.copy() for x in (st.assoc, st.score, st.tier, d.marks, d.delta)]
    sc_args = (d.obs, st.scored, sp, *cols, st.fcnt, *rest)
    t_score = _ms(lambda: score_day_kernel(0, n, *sc_args))
    r._groups(1)
    rec_args = (pop.region, pop.attrs, pop.key, pop.adult_start, pop.adult_count, d.true_ev,
                d.obs, d.court, d.lst, d.posts, d.svc_req, d.svc_out, st.lflags, st.scored,
                st.score, st.tier, r.lo, r.nbins, sim.base, sim.n_total, r._counts, r._ssum,
                r._hist, r._svct, r._active, r._nactive, r._rows[1:])  # fmt: skip
    t_rec = _ms(lambda: record_kernel(0, 1, *rec_args))
    now = t_score + today_push + t_rec
    lazy = lazy_push + t_rescan + t_cross
    print(
        f"  today: score's pass {t_score:.1f} + push {today_push:.1f} + record's counting "
        f"{t_rec:.1f} = {now:.1f}"
    )
    print(
        f"  decayed when read: push marking {lazy_push:.1f} + the marked and event agents "
        f"again {t_rescan:.1f} + crossings by decay {t_cross:.1f} = {lazy:.1f} "
        f"({lazy / now:.2f} of today's)"
    )


if __name__ == "__main__":
    main()
