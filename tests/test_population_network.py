"""Population synthesis and the friend network."""

from __future__ import annotations

import math

import numpy as np
import pytest

from credsim.constants import ADULT, CHILD, ELDER, MALE
from credsim.network import build_network
from credsim.population import build_population, largest_remainder, provinces
from credsim.scenario import load_scenario

N = 300_000


@pytest.fixture(scope="module")
def built():
    scn = load_scenario("as-reported")
    pop = build_population(scn.population, N, seed=4)
    g = build_network(pop, scn.network, seed=4)
    return pop, g


def close(x: float, p: float, n: int) -> bool:
    return abs(x - p) <= 4.5 * math.sqrt(p * (1 - p) / n) + 1e-12


def test_largest_remainder_sums_and_rounds():
    c = largest_remainder(10, np.array([1.0, 1.0, 1.0]))
    assert c.sum() == 10 and sorted(c.tolist()) == [3, 3, 4]


def test_regions_sorted_and_proportional(built):
    pop, _ = built
    assert np.all(np.diff(pop.region.astype(int)) >= 0)
    names, weights, urban = provinces()
    counts = np.bincount(pop.region, minlength=len(names))
    assert np.array_equal(counts, largest_remainder(N, weights))
    assert np.array_equal(pop.region_start[1:], np.cumsum(counts))
    for r in (0, 8, 18, 25):
        sel = pop.region == r
        assert close(pop.urban[sel].mean(), urban[r], int(sel.sum()))


def test_ages_sexes_and_attributes(built):
    pop, _ = built
    shares = np.bincount(pop.age, minlength=3) / N
    assert np.allclose(shares, [0.21, 0.655, 0.135], atol=2e-4)
    assert close((pop.sex == MALE).mean(), 0.512, N)
    adult = pop.age == ADULT
    assert close(pop.speaker[adult].mean(), 0.001, int(adult.sum()))
    assert not pop.speaker[~adult].any()
    assert close(pop.smoker[adult].mean(), 0.266, int(adult.sum()))
    men = adult & (pop.sex == MALE)
    assert close(pop.smoker[men].mean(), 0.5, int(men.sum()))
    grown = pop.age != CHILD
    for u, p in ((True, 0.45), (False, 0.25)):
        sel = grown & (pop.urban == u)
        assert close(pop.platform[sel].mean(), p, int(sel.sum()))
    assert not pop.platform[pop.age == CHILD].any()
    # Beta means and variances: (8,2) 0.8, (6,2) 0.75, (2,6) 0.25
    for col, a, b in ((pop.honesty, 8, 2), (pop.civility, 6, 2), (pop.civic, 2, 6)):
        m = a / (a + b)
        v = a * b / ((a + b) ** 2 * (a + b + 1))
        assert abs(col.mean() - m) < 4.5 * math.sqrt(v / N)
        assert abs(col.var() - v) < 0.05 * v
        assert col.min() >= 0 and col.max() <= 1


def test_children_have_a_parent_adult_of_their_region(built):
    pop, _ = built
    kids = np.flatnonzero(pop.age == CHILD)
    par = pop.parent[kids]
    assert np.all(par >= 0)
    assert np.all(pop.age[par] == ADULT)
    assert np.array_equal(pop.region[par], pop.region[kids])
    assert np.all(pop.parent[pop.age != CHILD] == -1)
    assert ELDER == 2


def test_network_is_simple_symmetric_and_sorted(built):
    pop, g = built
    src = np.repeat(np.arange(N), np.diff(g.indptr))
    dst = g.nbr.astype(np.int64)
    assert not np.any(src == dst)
    fwd = src * N + dst
    assert np.all(np.diff(fwd) > 0), "rows sorted, no duplicates"
    rev = np.sort(dst * N + src)
    assert np.array_equal(fwd, rev), "symmetric"
    assert g.active_mask().all()


def test_network_degree_region_and_parent_links(built):
    pop, g = built
    mean_deg = g.nnz / N
    assert 19.5 < mean_deg <= 20.05
    src = np.repeat(np.arange(N), np.diff(g.indptr))
    same = (pop.region[src] == pop.region[g.nbr]).mean()
    assert 0.89 < same < 0.93  # 90 % by construction, plus chance matches and parent links
    kids = np.flatnonzero(pop.age == CHILD)[:2000]
    from credsim.network import find_slot
    for k in kids:
        assert find_slot(g.indptr, g.nbr, k, pop.parent[k]) >= 0


def test_build_is_deterministic():
    scn = load_scenario("as-reported")
    a = build_population(scn.population, 5000, seed=9)
    b = build_population(scn.population, 5000, seed=9)
    for c in a.COLUMNS:
        assert np.array_equal(getattr(a, c), getattr(b, c))
    ga, gb = build_network(a, scn.network, 9), build_network(b, scn.network, 9)
    assert np.array_equal(ga.nbr, gb.nbr) and np.array_equal(ga.indptr, gb.indptr)
    c = build_population(scn.population, 5000, seed=10)
    assert not np.array_equal(a.honesty, c.honesty)
