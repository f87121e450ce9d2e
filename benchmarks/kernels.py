"""Each kernel of a day timed alone, on one thread, on the state of a real simulation (not
part of the test run): the quick measure of a change to one kernel.

    python -m benchmarks.kernels                    # 2,000,000 agents
    python -m benchmarks.kernels --agents 10000000

Builds as-reported, runs ten days, then times each kernel of day 10 on copies of the
columns it writes (median of 9 calls, milliseconds). Two comparisons come first:
a loop over agents written with ``range(lo, hi)`` against the same loop with
``rng.span`` (unsigned indices), and the push of changed ledgers without its prefetches
(the variant below) against ``kernels.push_kernel``, checked to give the same sums."""

from __future__ import annotations

import argparse
import statistics
import time
import types
from collections.abc import Callable

import numba as nb
import numpy as np

from credsim.constants import S_BEHAVE, S_COURT, S_LIST, S_OBSERVE, S_SERVICES
from credsim.kernels import N_CHUNKS, changed_of, push_kernel
from credsim.phases.behave import BehaveParams, behave_kernel
from credsim.phases.listing import ListParams, list_kernel
from credsim.phases.observe import ObserveParams, observe_kernel
from credsim.phases.score import ScoreParams, score_day_kernel
from credsim.phases.services import ServiceRules, none_probability, services_kernel
from credsim.recorder import record_kernel
from credsim.rng import span
from credsim.sim import Sim, warm_kernels


@nb.njit(nogil=True)
def _clip_range(lo, hi, own, assoc, base, score):
    for i in range(lo, hi):
        score[i] = min(max(base + own[i] + assoc[i], 0.0), 1000.0)


@nb.njit(nogil=True)
def _clip_span(lo, hi, own, assoc, base, score):
    for i in span(lo, hi):
        score[i] = min(max(base + own[i] + assoc[i], 0.0), 1000.0)


@nb.njit(inline="always")
def _no_prefetch(a, i):
    pass


# push_kernel with its prefetches made no-ops (the loads that only fed them are dead
# code, which LLVM removes): the push as it was before its prefetches (2026-12-04)
push_unfetched = nb.njit(nogil=True)(
    types.FunctionType(
        push_kernel.py_func.__code__,
        {**push_kernel.py_func.__globals__, "prefetch": _no_prefetch},
        "push_unfetched",
    )
)


def _ms(f: Callable[[], object], reps: int = 9) -> float:
    f()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=2_000_000)
    a = ap.parse_args()
    warm_kernels(helper=False)
    nb.set_num_threads(1)
    sim = Sim("as-reported", agents=a.agents, days=12, seed=1)
    sim.build()
    for _ in range(10):
        sim.step()
    day, n = 10, sim.n
    pop, st, d, g = sim.pop, sim.state, sim.day, sim.graph
    print(f"{n:,} agents, day {day}, one thread: ms (median of 9)")

    own, assoc, out = st.own.copy(), st.assoc.copy(), st.score.copy()
    base = float(sim.scenario.score.base)
    clip = _ms(lambda: _clip_range(0, n, own, assoc, base, out))
    print(f"  a clipped sum over agents, range(lo, hi): {clip:.2f}")
    print(
        f"  the same with span(lo, hi): {_ms(lambda: _clip_span(0, n, own, assoc, base, out)):.2f}"
    )

    ch = changed_of(d.delta, st.scored, N_CHUNKS)
    push_args = (ch, d.delta, g.indptr, g.nbr, g.active, st.scored)
    f1, f2 = st.fsum.copy(), st.fsum.copy()
    push_unfetched(0, 1, *push_args, f1, 1)
    push_kernel(0, 1, *push_args, f2, 1)
    if not np.array_equal(f1, f2):
        raise AssertionError("the push with prefetches gives other sums")
    print(f"  push of {ch.size:,} changed ledgers, without prefetches: "
          f"{_ms(lambda: push_unfetched(0, 1, *push_args, f1, 1)):.2f}")  # fmt: skip
    print(f"  push (kernels.push_kernel): {_ms(lambda: push_kernel(0, 1, *push_args, f2, 1)):.2f}")

    bp = BehaveParams.on(sim.params, day, pop.prop_values)
    true_ev, posts = d.true_ev.copy(), d.posts.copy()
    beh = (sim.key(S_BEHAVE, day), pop.attrs, pop.prop, pop.prop_values, st.lflags, st.deter,
           st.chill, bp, true_ev, posts)  # fmt: skip
    print(f"  behave: {_ms(lambda: behave_kernel(0, n, *beh)):.2f}")

    pend, case, obs, marks, court = (
        x.copy() for x in (st.pend_day, st.case, d.obs, d.marks, d.court)
    )
    op = ObserveParams.on(sim.scenario, sim.params, day)
    obs_args = (sim.key(S_OBSERVE, day), sim.key(S_COURT, day), day, pop.attrs, d.true_ev,
                pend, case, op, obs, marks, court)  # fmt: skip
    print(f"  observe: {_ms(lambda: observe_kernel(0, n, *obs_args)):.2f}")

    sp = ScoreParams.on(sim.scenario, sim.params, day)
    cols = [x.copy() for x in (st.own, st.own_false, st.fsum)]
    rest = [x.copy() for x in (st.assoc, st.score, st.tier, d.marks, d.delta)]
    sc_args = (d.obs, st.scored, sp, *cols, st.fcnt, *rest)
    print(f"  score's pass: {_ms(lambda: score_day_kernel(0, n, *sc_args)):.2f}")

    lp = ListParams.on(sim.scenario, sim.params, day)
    lw = [x.copy() for x in (st.own, st.own_false, st.assoc, st.score, st.tier, st.court_until,
                             st.case, st.lflags, d.lst, d.delta)]  # fmt: skip
    li_args = (sim.key(S_LIST, day), day, pop.attrs, d.court, d.obs, st.scored, *lw, lp)
    print(f"  list: {_ms(lambda: list_kernel(0, n, *li_args)):.2f}")

    rules = ServiceRules.on(sim.params, day)
    rf, ri = rules.packed()
    more = np.zeros((32, 0, 0), np.int32)
    sv = [x.copy() for x in (st.lflags, st.case, d.svc_req, d.svc_out)]
    sv_args = (sim.key(S_SERVICES, day), day % 365, pop.attrs, *pop.parent_args(), st.scored,
               st.score, sv[0], sv[1], rf, ri, rules.acts, none_probability(day % 365, rf, ri),
               sv[2], sv[3], more)  # fmt: skip
    print(f"  services: {_ms(lambda: services_kernel(0, 32, *sv_args)):.2f}")

    r = sim.recorder
    r._groups(1)
    rec_args = (pop.region, pop.attrs, pop.key, pop.adult_start, pop.adult_count, d.true_ev,
                d.obs, d.court, d.lst, d.posts, d.svc_req, d.svc_out, st.lflags, st.scored,
                st.score, st.tier, r.lo, r.nbins, sim.base, sim.n_total, r._counts, r._ssum,
                r._hist, r._svct, r._active, r._nactive, r._rows[1:])  # fmt: skip
    print(f"  record's counting: {_ms(lambda: record_kernel(0, 1, *rec_args)):.2f}")


if __name__ == "__main__":
    main()
