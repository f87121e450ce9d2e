"""Behave's draws: the one-hash gate and the coarse uniforms are only a shortcut (the
events equal those of every uniform made in full), every event keeps its own uniform
when other probabilities change (common random numbers, event by event), and any cut of
the agents into pieces gives the same events."""

from __future__ import annotations

import math

import numba as nb
import numpy as np
import pytest

from credsim import Sim
from credsim.constants import CHILD, LF_RODE_TRAIN, S_BEHAVE
from credsim.phases.behave import KEYS, N_GATED, BehaveParams, behave_kernel
from credsim.population import A_PLATFORM, A_SMOKER, A_SPEAKER, age_of
from credsim.rng import bits, day_key, uniform, uniform2
from credsim.state import mult_of, mult_times

M21 = (1 << 21) - 1


@nb.njit
def _probabilities(attrs, prop, prop_values, lflags, deter, chill, p, pre, out, rate):
    """out[k, i]: agent i's probability of event type k (k = 0..7, 8 true rumour, 9 false
    flag), as the model defines them; rate[i]: its posting rate, and e^-rate."""
    for i in range(attrs.shape[0]):
        at = attrs[i]
        dpub = mult_of(deter[0, i])
        dishonest = (1.0 - prop_values[0, prop[0, i]]) * mult_of(deter[1, i])
        incivil = 1.0 - prop_values[1, prop[1, i]]
        smoker = (at & A_SMOKER) != 0
        speaker = (at & A_SPEAKER) != 0
        r, crit = (
            (p.post_rate_speaker, p.critical_speaker) if speaker else (p.post_rate, p.critical)
        )
        mcode = mult_times(deter[2, i], chill[i])
        if mcode == 0:
            sp = 1 if speaker else 0
            e0, pt, pf = pre[sp, 0], pre[sp, 1], pre[sp, 2]
        else:
            r *= mult_of(mcode)
            e0 = math.exp(-r)
            pt = 1.0 - math.exp(-r * p.misinfo * p.flag_false)
            pf = 1.0 - math.exp(
                -r * (crit * p.flag_critical + (1.0 - crit - p.misinfo) * p.flag_other)
            )
        out[0, i] = p.p_community_service * prop_values[2, prop[2, i]]
        out[1, i] = p.p_domestic_purchase if at & A_PLATFORM else 0.0
        out[2, i] = p.p_smoking_in_public * incivil * dpub if smoker else 0.0
        out[3, i] = p.p_traffic_violation * incivil * dpub
        out[4, i] = p.p_smoking_on_train * dpub if smoker and (lflags[i] & LF_RODE_TRAIN) else 0.0
        out[5, i] = p.p_debt_default * dishonest
        out[6, i] = p.p_fraud * dishonest
        out[7, i] = p.p_tax_evasion * dishonest
        out[8, i] = pt
        out[9, i] = pf
        rate[0, i] = r
        rate[1, i] = e0


@nb.njit
def _uniforms(key, i):
    """Agent i's eleven uniforms of the day, made in full: the ten events' (by type) and
    the posts'."""
    u = np.empty(11)
    h = bits(key, i, 0)
    fine, uj = uniform2(key, i, 6)
    m = -math.expm1(math.log1p(-(float(h >> np.uint64(42)) + fine) * 2.0**-22) / N_GATED)
    j = min(np.int64(uj * N_GATED), N_GATED - 1)
    for g in range(N_GATED):
        k = g + (g > 0)
        if g == j:
            u[k] = m
        else:
            a, b = uniform2(key, i, 1 + g // 2)
            u[k] = m + (1.0 - m) * (b if g % 2 else a)
    u[1] = (float((h >> np.uint64(21)) & np.uint64(M21)) + uniform(key, i, 7)) * 2.0**-21
    u[10] = (float(h & np.uint64(M21)) + uniform(key, i, 8)) * 2.0**-21
    return u


@nb.njit
def _reference(key, attrs, probs, rate, ev, posts):
    """Every agent's events and posts from its uniforms made in full (no gate)."""
    for i in range(attrs.shape[0]):
        ev[i] = 0
        posts[i] = 0
        if age_of(attrs[i]) == CHILD:
            continue
        u = _uniforms(key, i)
        e = 0
        for k in range(10):
            if u[k] < probs[k, i]:
                e |= 1 << k
        ev[i] = e
        lam, f = rate[0, i], rate[1, i]
        pk = f
        k = 0
        if lam > 0.0:
            while u[10] > f and k < 10000:
                k += 1
                pk *= lam / k
                f += pk
                if pk < 1e-300:
                    break
        posts[i] = min(k, 65535)


def _world(n=60_000, seed=3):
    """A built simulation with deterrence, chilling, train rides and speakers mixed in."""
    sim = Sim(
        "as-reported",
        agents=n,
        days=2,
        seed=seed,
        overrides=["record.tracked=0", "population.speaker_share=0.2"],
    )
    sim.build()
    rng = np.random.default_rng(seed)
    st = sim.state
    for c in range(3):
        st.deter[c] = np.where(rng.random(n) < 0.3, rng.integers(0, 70000, n), 0).clip(0, 65535)
    st.chill[:] = np.where(rng.random(n) < 0.2, rng.integers(1, 20000, n), 0)
    st.lflags[:] = np.where(rng.random(n) < 0.3, LF_RODE_TRAIN, 0)
    return sim


def _params(sim, **changes):
    values = {k: sim.params.at(f"behave.{k}", 0) for k in KEYS}
    values.update(changes)
    return BehaveParams.of(values, sim.pop.prop_values)


def _kernel(sim, key, p, pieces=(0,)):
    pop, st = sim.pop, sim.state
    n = pop.n
    ev, posts = np.zeros(n, np.uint16), np.zeros(n, np.uint16)
    cuts = list(pieces) + [n]
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        behave_kernel(
            lo,
            hi,
            key,
            pop.attrs,
            pop.prop,
            pop.prop_values,
            st.lflags,
            st.deter,
            st.chill,
            p,
            ev,
            posts,
        )
    return ev, posts


def _expected(sim, key, p):
    pop, st = sim.pop, sim.state
    n = pop.n
    probs, rate = np.empty((10, n)), np.empty((2, n))
    _probabilities(
        pop.attrs,
        pop.prop,
        pop.prop_values,
        st.lflags,
        st.deter,
        st.chill,
        p,
        p.pre,
        probs,
        rate,
    )
    ev, posts = np.zeros(n, np.uint16), np.zeros(n, np.uint16)
    _reference(key, pop.attrs, probs, rate, ev, posts)
    return ev, posts


@pytest.fixture(scope="module")
def world():
    return _world()


def test_the_gate_is_only_a_shortcut(world):
    """The kernel's events and posts equal those of every uniform made in full, at the
    model's rates and at raised ones (every event frequent)."""
    key = day_key(3, S_BEHAVE, 5)
    raised = dict(
        p_community_service=0.3,
        p_domestic_purchase=0.4,
        p_smoking_in_public=0.3,
        p_traffic_violation=0.2,
        p_smoking_on_train=0.5,
        p_debt_default=0.05,
        p_fraud=0.02,
        p_tax_evasion=0.01,
        misinfo=0.05,
        flag_other=0.01,
    )
    for p in (_params(world), _params(world, **raised)):
        ev, posts = _kernel(world, key, p)
        want_ev, want_posts = _expected(world, key, p)
        assert np.array_equal(ev, want_ev)
        assert np.array_equal(posts, want_posts)
        assert posts.max() > 5
    assert all(((ev >> k) & 1).any() for k in range(10))  # raised: every event happens


def test_coarse_cells_that_cannot_decide_are_refined(world):
    """A probability or a Poisson cut that falls inside an agent's coarse cell: that
    agent's event is decided from the refined uniform, as the full one decides it."""
    key = day_key(3, S_BEHAVE, 9)
    pop = world.pop
    grown = np.flatnonzero((pop.age != CHILD) & pop.platform & ~pop.speaker)
    checked = 0
    for i in grown[:40]:
        h = int(_h0(key, int(i)))
        for frac in (0.01, 0.5, 0.99):
            buy = (((h >> 21) & M21) + frac) * 2.0**-21  # inside agent i's purchase cell
            cut = ((h & M21) + frac) * 2.0**-21  # exp(-rate) inside its posts cell
            p = _params(world, p_domestic_purchase=buy, post_rate=-math.log(max(cut, 1e-300)))
            ev, posts = _kernel(world, key, p, pieces=(0, int(i), int(i) + 1))
            want_ev, want_posts = _expected(world, key, p)
            assert ev[i] == want_ev[i] and posts[i] == want_posts[i]
            checked += 1
    assert checked == 120


@nb.njit
def _h0(key, i):
    return bits(key, i, 0)


def test_common_random_numbers_event_by_event(world):
    """Changing one event's probability changes that event only (and only one way); the
    purchase and the posts do not move when the gated events' probabilities do."""
    key = day_key(3, S_BEHAVE, 2)
    base = _params(world)
    ev0, posts0 = _kernel(world, key, base)
    for name, k in (
        ("p_traffic_violation", 3),
        ("p_community_service", 0),
        ("p_domestic_purchase", 1),
        ("p_debt_default", 5),
    ):
        ev1, posts1 = _kernel(world, key, _params(world, **{name: getattr(base, name) * 4}))
        others = np.uint16(0xFFFF ^ (1 << k))
        assert np.array_equal(ev0 & others, ev1 & others), name
        assert np.array_equal(posts0, posts1), name
        more, less = (ev1 >> k) & 1, (ev0 >> k) & 1
        assert np.all(more >= less) and more.sum() > less.sum(), name
    # a higher posting rate: more posts, agent by agent; the other types unchanged
    ev1, posts1 = _kernel(world, key, _params(world, post_rate=0.4))
    assert np.all(posts1 >= posts0) and posts1.sum() > posts0.sum()
    assert np.array_equal(ev0 & np.uint16(0xFF), ev1 & np.uint16(0xFF))


def test_any_cut_into_pieces_gives_the_same_events(world):
    key = day_key(3, S_BEHAVE, 7)
    p = _params(world, p_traffic_violation=0.2)
    n = world.pop.n
    a = _kernel(world, key, p)
    b = _kernel(world, key, p, pieces=(0, 1, 17, n // 3, n - 5))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
