"""How sparse a day is (not part of the test run): the share of agents whose score moves
a day, whose 1-point score bin or tier changes, who have anything in the day's columns,
and whose friends' sum, or own ledger plus association, moved otherwise than by the
day's decay (what a day that decays ledgers when read would still have to touch). These
bound what a day that touches only the agents that change would do (docs/performance.md,
"The floors under the targets not met").

    python -m benchmarks.sparsity                      # 200,000 agents, 365 days
    python -m benchmarks.sparsity --agents 1000000 --days 730

Runs as-reported and prints, for some days, the shares among scored agents, then their
means over the run."""

from __future__ import annotations

import argparse

import numpy as np

from credsim.scenario import decay_factor
from credsim.sim import Sim


def _off_decay(now: np.ndarray, before: np.ndarray, dec: float) -> np.ndarray:
    """Whether a value differs from yesterday's decayed by more than float32 rounding."""
    want = before.astype(np.float64) * dec
    return np.abs(now - want) > 1e-5 * np.maximum(np.abs(want), 1.0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=200_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--preset", default="as-reported")
    a = ap.parse_args()
    sim = Sim(a.preset, agents=a.agents, days=a.days, seed=1)
    sim.build()
    st, d = sim.state, sim.day
    lo = float(sim.scenario.score.min)
    sc = st.scored
    m = max(int(sc.sum()), 1)
    score, tier = st.score.copy(), st.tier.copy()
    fsum = st.fsum.copy()
    sway = (st.own + st.assoc).astype(np.float64)
    rows = []
    print(
        "day | score moved | bin changed | tier changed | ledger not 0 | any day column"
        " | friend sum moved beyond decay | own + association moved beyond decay"
    )
    while sim.day_done < sim.days:
        dec = decay_factor(sim.params.at("score.half_life", sim.day_done))
        sim.step()
        moved = (st.score != score) & sc
        binned = (np.floor(st.score - lo) != np.floor(score - lo)) & sc
        tiered = (st.tier != tier) & sc
        ledger = ((st.own != 0) | (st.assoc != 0)) & sc
        busy = (d.true_ev != 0) | (d.obs != 0) | (d.court != 0) | (d.lst != 0) | (d.svc_req != 0)
        pushed = _off_decay(st.fsum, fsum, dec) & sc
        now = (st.own + st.assoc).astype(np.float64)
        swayed = _off_decay(now, sway, dec) & sc
        r = [v.sum() / m for v in (moved, binned, tiered, ledger)] + [busy.mean()]
        r += [pushed.sum() / m, swayed.sum() / m]
        rows.append(r)
        score[:], tier[:] = st.score, st.tier
        fsum[:], sway[:] = st.fsum, now
        if sim.day_done in (1, 30, 90, 180, 365, 730) or sim.day_done == sim.days:
            print(f"{sim.day_done} | " + " | ".join(f"{x:.2%}" for x in r))
    mean = np.mean(rows, axis=0)
    print("mean | " + " | ".join(f"{x:.2%}" for x in mean))


if __name__ == "__main__":
    main()
