"""Phase 1, behave: the true events of the day, drawn per agent and type."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numba as nb
import numpy as np

from ..constants import CHILD, LF_RODE_TRAIN, S_BEHAVE, TRUE_EVENT_NAMES
from ..kernels import travel_factors
from ..population import A_PLATFORM, A_SMOKER, A_SPEAKER, A_TRAVELLER, N_CLASSES, age_of
from ..rng import AGENT_GRAIN, bits, parallel_for, poisson_inv, span, uniform, uniform2
from ..state import Column, mult_of, mult_times
from .base import Phase

if TYPE_CHECKING:
    from ..scenario import DayParams

# The first hash of an agent-day (slot 0) is cut into three uniforms of coarse resolution,
# each made exact (another hash adds the bits below) only where its coarse value cannot
# decide: bits 63-42 the gate (the minimum of the gated events' uniforms), bits 41-21
# the domestic purchase, bits 20-0 the number of posts.
N_GATED = 9  # events decided by one minimum: all types but the purchase, true rumour, false flag
_S_GATE, _S_BUY = np.uint64(42), np.uint64(21)
_M21 = np.uint64((1 << 21) - 1)
_W_GATE = 2.0**-22  # width of a coarse gate cell
_W21 = 2.0**-21  # width of a coarse purchase or posts cell
# slots: 0 the first hash; 1-5 the gated events' uniforms above the minimum (gated event g
# takes slot 1 + g // 2, the first half for even g); 6 the gate's low bits (first half) and
# which gated event holds the minimum (second half); 7 the purchase's low bits; 8 the
# posts' low bits
_SLOT_GATE, _SLOT_BUY, _SLOT_POSTS = 6, 7, 8
# the gate's thresholds are kept for 8 buckets of civility classes x 8 of civic classes
# (classes k >> _BUCKET: consecutive classes, whose values ascend), beside the 8 sets of
# speaker, smoker and rode a train: a bucket's threshold is nearer its agents' own
_BUCKET = (N_CLASSES // 8).bit_length() - 1


@nb.njit(nogil=True, cache=True)
def behave_kernel(lo, hi, key, attrs, prop, prop_values, lflags, deter, chill, p, true_ev, posts):
    """Agents [lo, hi). ``p``: BehaveParams (the day's rates, and the tables ``pre`` and
    ``gbar`` made from them).

    Per grown-up agent, ten independent events (the eight types, a true rumour, a false
    flag), each with its own uniform, and a Poisson number of posts. One hash gives three
    coarse uniforms: the purchase's (the most likely event, 0.05 a day for platform
    users), the posts' (by inversion: most agents post nothing), and the minimum of the
    other nine events' uniforms, which decides "none of them" for most agents on most
    days (the largest of their probabilities is about 0.02). A coarse uniform is refined
    from a further hash only where it cannot decide; below the largest gated probability
    the nine uniforms are made (the minimum, at a uniform index, and the others i.i.d.
    above it). Most agents are decided by that hash, their attribute flags and their
    classes of civility and civic sense (no post below the base rate's exp(-rate), no
    gated event above gbar, the threshold of their bucket of those classes): their other
    propensities and their multipliers are not even read. Each event's uniform is a
    function of (agent, day) alone, whatever the probabilities: a scenario that changes
    one event's probability leaves the other events of every agent as they were (common
    random numbers, event by event)."""
    pk = np.empty(N_GATED)  # the gated events' probabilities (event types 0, 2-7, rumours)
    # (arrays read from p inside the loop would cost an atomic reference count each read)
    pre, gbar, pfin = p.pre, p.gbar, p.fin
    for i in span(lo, hi):
        ev = 0
        npost = 0
        at = attrs[i]
        if age_of(at) != CHILD:
            h = bits(key, i, 0)
            # domestic purchase
            p1 = p.p_domestic_purchase if at & A_PLATFORM else 0.0
            ulo = float((h >> _S_BUY) & _M21) * _W21
            if ulo < p1 and (ulo + _W21 <= p1 or ulo + uniform(key, i, _SLOT_BUY) * _W21 < p1):
                ev = 2
            sp = np.int64((at & A_SPEAKER) != 0)
            smoker = (at & A_SMOKER) != 0
            rode = (lflags[i] & LF_RODE_TRAIN) != 0
            uq = float(h & _M21) * _W21
            ug = float(h >> _S_GATE) * _W_GATE
            maybe_posts = uq + _W21 > pre[sp, 0]
            cell = (sp * 4 + smoker * 2 + rode) * 64 + (prop[1, i] >> _BUCKET) * 8
            maybe_gated = ug < gbar[cell + (prop[2, i] >> _BUCKET)]
            if maybe_posts or maybe_gated:
                # the agent's speech rate: the base rate times its multipliers
                rate, crit = (
                    (p.post_rate_speaker, p.critical_speaker) if sp else (p.post_rate, p.critical)
                )
                mcode = mult_times(deter[2, i], chill[i])
                if mcode == 0:
                    e0, p_true, p_false = pre[sp, 0], pre[sp, 1], pre[sp, 2]
                else:
                    rate *= mult_of(mcode)
                    e0 = math.exp(-rate)
                    p_true = 1.0 - math.exp(-rate * p.misinfo * p.flag_false)
                    p_false = 1.0 - math.exp(
                        -rate * (crit * p.flag_critical + (1.0 - crit - p.misinfo) * p.flag_other)
                    )
                # posts: the least k with u <= F(k); the coarse cell decides it when the
                # whole cell lies at or below F(k), else the refined uniform does
                if maybe_posts and uq + _W21 > e0 and rate > 0.0:
                    u = uq
                    for r in range(2):
                        npost, f = poisson_inv(u, rate, e0)
                        if r == 1 or uq + _W21 <= f:
                            break
                        u = uq + uniform(key, i, _SLOT_POSTS) * _W21
            if maybe_gated:
                # the agent's own probabilities: multipliers and propensities
                dpub = mult_of(deter[0, i])
                dishonest = (1.0 - prop_values[0, prop[0, i]]) * mult_of(deter[1, i])
                incivil = 1.0 - prop_values[1, prop[1, i]]
                # the gated events
                pk[0] = p.p_community_service * prop_values[2, prop[2, i]]
                pk[1] = p.p_smoking_in_public * incivil * dpub if smoker else 0.0
                pk[2] = p.p_traffic_violation * incivil * dpub
                pk[3] = p.p_smoking_on_train * dpub if smoker and rode else 0.0
                fin = dishonest * pfin[1 if at & A_TRAVELLER else 0]
                pk[4] = p.p_debt_default * fin
                pk[5] = p.p_fraud * fin
                pk[6] = p.p_tax_evasion * fin
                pk[7] = p_true
                pk[8] = p_false
                pmax = 0.0
                for g in range(N_GATED):
                    if pk[g] > pmax:
                        pmax = pk[g]
                # the minimum m = 1 - (1 - u)^(1/9) of the nine uniforms is below pmax
                # exactly when u < 1 - (1 - pmax)^9; a coarse cell at or above that (with
                # a margin for rounding) decides "none"
                if ug < _gate(pmax):
                    ufine, uj = uniform2(key, i, _SLOT_GATE)
                    m = -math.expm1(math.log1p(-(ug + ufine * _W_GATE)) / N_GATED)
                    j = np.int64(uj * N_GATED)  # uj < 1 - 2**-32: j < N_GATED
                    for g in range(N_GATED):
                        # gated event g is event type g + (g > 0) (the purchase, type 1,
                        # is not gated); its uniform is m when it holds the minimum, else
                        # uniform on [m, 1) from its own slot; nothing to draw if pk <= m
                        if pk[g] > m:
                            if g != j:
                                a, b = uniform2(key, i, 1 + (g >> 1))
                                if m + (1.0 - m) * (b if g & 1 else a) >= pk[g]:
                                    continue
                            ev |= 1 << (g + (g > 0))
        true_ev[i] = ev
        posts[i] = npost if npost < 65535 else 65535


@nb.njit(inline="always")
def _gate(pmax):
    """1 - (1 - pmax)^9, plus a margin for rounding: the coarse gate cells at or above it
    have no gated event."""
    q = 1.0 - pmax
    q2 = q * q
    q4 = q2 * q2
    return 1.0 - q4 * q4 * q + 1e-12


class BehaveParams(NamedTuple):
    """The behave section on one day, as the kernel reads it: daily rates and shares (the
    scenario's keys), and two tables made from them (day_tables): ``pre[speaker]`` =
    exp(-rate) and the two flag probabilities at the base posting rate (no deterrence
    or chilling, the common case); ``gbar[(speaker * 4 + smoker * 2 + rode a train) * 64
    + civility bucket * 8 + civic bucket]`` = a gate threshold at least every such
    agent's (a bucket: 1/8 of the classes, ``k >> _BUCKET``)."""

    p_community_service: float
    p_domestic_purchase: float
    p_smoking_in_public: float
    p_traffic_violation: float
    p_smoking_on_train: float
    p_debt_default: float
    p_fraud: float
    p_tax_evasion: float
    post_rate: float
    post_rate_speaker: float
    critical: float
    critical_speaker: float
    misinfo: float
    flag_false: float
    flag_critical: float
    flag_other: float
    frequent_financial: float
    pre: np.ndarray
    gbar: np.ndarray
    fin: np.ndarray  # the financial events' factor of [others, frequent travellers]

    @classmethod
    def of(
        cls, values: dict[str, float], prop_values: np.ndarray, travellers: float = 0.0
    ) -> BehaveParams:
        """From the day's value of each key (KEYS) and the share of frequent travellers,
        with the tables made from them."""
        p = cls._make(
            [*(float(values[k]) for k in KEYS), np.empty((2, 3)), np.empty(512), np.ones(2)]
        )
        fin = travel_factors(travellers, np.array([p.frequent_financial]))[:, 0]
        p = p._replace(fin=fin)
        pre, gbar = day_tables(p, prop_values)
        return p._replace(pre=pre, gbar=gbar)

    @classmethod
    def on(cls, pa: DayParams, day: int, prop_values: np.ndarray) -> BehaveParams:
        return cls.of(
            {k: pa.at(f"behave.{k}", day) for k in KEYS},
            prop_values,
            pa.at("population.frequent_travellers", day),
        )


# the scenario's behave keys, in the order of BehaveParams (the tables pre, gbar, fin last)
KEYS = BehaveParams._fields[:-3]


def day_tables(p: BehaveParams, prop_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's tables for one day's parameters ``p``: pre[speaker] = exp(-rate) and
    the two flag probabilities at the base posting rate; gbar[(speaker * 4 + smoker * 2 +
    rode a train) * 64 + civility bucket * 8 + civic bucket] = the gate threshold of the
    largest gated probability any such agent can have (multipliers are at most 1, the
    propensities at the extreme classes of the agent's buckets, honesty at its extreme
    class), plus a margin, so that a coarse gate cell at or above it has no gated
    event."""
    pre = np.empty((2, 3))
    for sp in range(2):
        rate, crit = (p.post_rate_speaker, p.critical_speaker) if sp else (p.post_rate, p.critical)
        pre[sp, 0] = math.exp(-rate)
        pre[sp, 1] = 1.0 - math.exp(-rate * p.misinfo * p.flag_false)
        pre[sp, 2] = 1.0 - math.exp(
            -rate * (crit * p.flag_critical + (1.0 - crit - p.misinfo) * p.flag_other)
        )
    pv = prop_values.astype(np.float64)
    dishonest = 1.0 - pv[0].min()
    incivil = 1.0 - pv[1].reshape(8, -1).min(axis=1)  # each bucket's least civility
    civic = pv[2].reshape(8, -1).max(axis=1)  # and greatest civic sense
    fin = max(p.p_debt_default, p.p_fraud, p.p_tax_evasion) * dishonest * p.fin.max()
    flag = np.array([0.0, 1.0])
    # [smoker, civility bucket, civic bucket]
    public = np.maximum(p.p_smoking_in_public * flag, p.p_traffic_violation)[:, None] * incivil
    people = np.maximum(public[:, :, None], p.p_community_service * civic)
    # [speaker, smoker, rode a train]
    rest = np.maximum(p.p_smoking_on_train * np.outer(flag, flag), fin)[None]
    rest = np.maximum(rest, np.maximum(pre[:, 1], pre[:, 2])[:, None, None])
    pmax = np.maximum(people[None, :, None], rest[..., None, None])
    gbar = 1.0 - (1.0 - pmax) ** N_GATED + 1e-11
    return pre, gbar.reshape(-1)


class Behave(Phase):
    """True events per agent and type; children commit none; deterrence and chilling
    scale the probabilities; smoking on a train needs yesterday's ride."""

    name = "behave"
    section = "behave"
    state_columns = ()
    day_columns = (
        Column("true_ev", "uint16", "bit t: a true event of type t (bit 9: a false-flagged post)"),
        Column("posts", "uint16", "posts today"),
    )

    metrics = (*(f"true_{t}" for t in TRUE_EVENT_NAMES), "posts")
    counts = tuple(("true_ev", 1 << k, f"true_{t}") for k, t in enumerate(TRUE_EVENT_NAMES))

    def run(self, day: int) -> None:
        s = self.sim
        pop, st, d = s.pop, s.state, s.day
        p = BehaveParams.on(s.params, day, pop.prop_values)
        parallel_for(
            behave_kernel,
            pop.n,
            s.key(S_BEHAVE, day),
            pop.attrs,
            pop.prop,
            pop.prop_values,
            st.lflags,
            st.deter,
            st.chill,
            p,
            d.true_ev,
            d.posts,
            grain=AGENT_GRAIN,
        )
