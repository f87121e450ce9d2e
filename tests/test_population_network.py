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


def test_network_degree_helpers(built):
    _, g = built
    assert g.indptr.dtype == np.uint32 and g.nbr.dtype == np.int32
    deg = g.degree()
    assert deg.dtype == np.int64
    assert np.array_equal(deg, np.diff(g.indptr.astype(np.int64)))
    assert np.array_equal(g.active_degree(), deg)
    assert g.active_edges() * 2 == g.nnz == int(g.indptr[-1])
    assert g.active.shape[0] == (g.nnz + 7) // 8
    assert g.nbytes() == g.indptr.nbytes + g.nbr.nbytes + g.active.nbytes


def _graph_hash(g) -> str:
    import hashlib

    h = hashlib.sha256()
    for a in (g.indptr.astype(np.int64), g.nbr, g.active):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _check_simple(pop, g):
    """Symmetric, sorted rows, no self-loops or duplicates, every child linked to its
    parent (vectorised: fine for tests up to a few million edges)."""
    n = pop.n
    src = np.repeat(np.arange(n, dtype=np.int64), g.degree())
    dst = g.nbr.astype(np.int64)
    assert g.nnz == int(g.indptr[-1]) and g.indptr[0] == 0
    assert np.all((dst >= 0) & (dst < n)) and not np.any(src == dst)
    fwd = src * n + dst
    assert np.all(np.diff(fwd) > 0), "rows sorted, no duplicates"
    assert np.array_equal(fwd, np.sort(dst * n + src)), "symmetric"
    kids = np.flatnonzero(pop.parent >= 0)
    assert np.all(np.isin(kids * n + pop.parent[kids], fwd)), "children linked to parents"


def _reference(pop, p, seed):
    """The same graph from an explicit edge list: every agent's targets as the builder
    draws them, both directions, sorted and deduplicated."""
    import numba as nb

    from credsim import network as net
    from credsim.constants import S_NETWORK
    from credsim.rng import day_key

    n = pop.n
    parent = pop.parent.astype(np.int32)
    links = int((parent >= 0).sum())
    r = max(0, int(round(n * p.mean_degree / 2)) - links) if n > 1 else 0  # no one to befriend
    base, frac = divmod(r, n)
    q = 1.0 - p.p_same_region
    key = day_key(seed, S_NETWORK, 0)
    nin, nany = np.empty(n, np.uint8), np.empty(n, np.uint8)
    bounds = np.array([0, n])
    cnt = np.zeros((1, 1), np.int64)
    cdf = np.ones((2, base + 2))
    cdf[0, : base + 1] = net._binomial_cdf(base, q)
    cdf[1] = net._binomial_cdf(base + 1, q)
    net._sources(
        0,
        1,
        False,
        key,
        pop.region,
        pop.region_start,
        parent,
        frac / n,
        np.int64(base),
        cdf,
        bounds,
        np.int64(62),
        nin,
        nany,
        cnt,
        cnt.copy(),
        cnt,
        cnt,
        np.zeros(1, np.int32),
        np.zeros(1, np.uint16),
    )

    @nb.njit
    def edges(key, region, region_start, nin, nany, parent, src, dst):
        buf = np.empty(600, np.int64)
        e = 0
        for i in range(region.shape[0]):
            for k in range(net._targets(key, region, region_start, nin, nany, parent, i, buf)):
                src[e] = i
                dst[e] = buf[k]
                e += 1

    m = int(nin.sum(dtype=np.int64) + nany.sum(dtype=np.int64)) + links
    src, dst = np.empty(m, np.int64), np.empty(m, np.int64)
    edges(key, pop.region, pop.region_start, nin, nany, parent, src, dst)
    pairs = np.unique(np.concatenate([src * n + dst, dst * n + src]))
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(pairs // n, minlength=n), out=indptr[1:])
    return indptr, (pairs % n).astype(np.int32), float(nany.sum()) / max(m - links, 1)


@pytest.mark.parametrize(
    "agents,mean_degree,p_same,child_share",
    [
        (3000, 20.0, 0.9, 0.21),
        (2000, 60.0, 0.5, 0.21),
        (4000, 2.0, 0.9, 0.8),
        (500, 20.0, 0.0, 0.21),
        (500, 20.0, 1.0, 0.21),
        (1, 20.0, 0.9, 0.21),
        (0, 20.0, 0.9, 0.21),
    ],
)
def test_network_matches_reference_for_any_chunks_and_blocks(
    agents, mean_degree, p_same, child_share
):
    """Blocks, chunks (threads) and the staging are invisible: the graph equals an explicit
    edge list's, for any chunk count and block size; also at extreme parameters (a share
    of children so large that blocks of adults need extra staging room)."""
    from credsim.network import _build

    scn = load_scenario("as-reported")
    pop = build_population(
        scn.population.model_copy(update={"child_share": child_share}), agents, seed=5
    )
    p = scn.network.model_copy(update={"mean_degree": mean_degree, "p_same_region": p_same})
    ref_indptr = None
    if agents:
        ref_indptr, ref_nbr, share_any = _reference(pop, p, 5)
        if agents >= 2000:
            assert abs(share_any - (1 - p_same)) < 0.02
    hashes = set()
    for chunks, bits in ((1, 13), (2, 13), (3, 4), (7, 6), (2, 1)):
        g = _build(pop, p, 5, chunks, bits)
        _check_simple(pop, g)
        if ref_indptr is not None:
            assert np.array_equal(g.indptr.astype(np.int64), ref_indptr)
            assert np.array_equal(g.nbr, ref_nbr)
        assert g.active_mask().all() and g.active_edges() * 2 == g.nnz
        hashes.add(_graph_hash(g))
    assert len(hashes) == 1


def test_network_identical_for_any_thread_count():
    import subprocess
    import sys

    code = (
        "import numpy as np, hashlib; from credsim.scenario import load_scenario; "
        "from credsim.population import build_population; "
        "from credsim.network import build_network; s = load_scenario('as-reported'); "
        "p = build_population(s.population, 60000, 8); g = build_network(p, s.network, 8); "
        "h = hashlib.sha256(); [h.update(np.ascontiguousarray(a).tobytes()) for a in "
        "(g.indptr.astype(np.int64), g.nbr, g.active)]; print(h.hexdigest())"
    )
    import os

    out = set()
    for threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads)
        res = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        out.add(res.stdout.strip())
    assert len(out) == 1


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


def test_attribute_helpers_match_the_columns(built):
    """age_of, urban_of and parent_of (emitted into kernels) agree with the columns and
    with the parent's definition: adult_start[r] + min(floor(u * c), c - 1), u the
    population key's slot 2 of the child."""
    import numba as nb

    from credsim.population import age_of, parent_of, urban_of
    from credsim.rng import uniform

    pop, _ = built

    @nb.njit
    def decode(key, attrs, region, adult_start, adult_count, age, urban, par, u):
        for i in range(attrs.shape[0]):
            age[i] = age_of(attrs[i])
            urban[i] = urban_of(attrs[i])
            par[i] = parent_of(key, i, region, adult_start, adult_count)
            u[i] = uniform(key, i, 2)

    n = pop.n
    age, urban, par = np.empty(n, np.int64), np.empty(n, np.bool_), np.empty(n, np.int64)
    u = np.empty(n)
    decode(pop.key, pop.attrs, pop.region, pop.adult_start, pop.adult_count, age, urban, par, u)
    assert np.array_equal(age, pop.age) and np.array_equal(urban, pop.urban)
    c = pop.adult_count[pop.region]
    want = pop.adult_start[pop.region] + np.minimum((u * c).astype(np.int64), c - 1)
    assert np.array_equal(par, np.where(c > 0, want, -1))
    kids = pop.age == CHILD
    assert np.array_equal(pop.parent[kids], par[kids])


def test_friend_counts_and_cell_degrees(built):
    """friend_counts: what the friend sums count (active scored friends), from the degrees
    when all are scored and active, else from the edges; cell_degrees: the friends of each
    region x group cell's agents."""
    from credsim.kernels import friend_sums_kernel
    from credsim.network import FriendGraph, cell_degrees

    pop, g = built
    n = pop.n
    rng = np.random.default_rng(1)

    def counts(graph, scored):
        fsum, fcnt = np.zeros(n, np.float32), np.zeros(n, np.uint16)
        friend_sums_kernel(
            0, n, graph.indptr, graph.nbr, graph.active, scored, np.zeros(n, np.float32), fsum,
            fcnt,
        )  # fmt: skip
        return fcnt

    cut = FriendGraph(
        g.indptr, g.nbr, g.active & rng.integers(0, 256, g.active.size, dtype=np.uint8)
    )
    for graph in (g, cut):
        for scored in (np.ones(n, np.bool_), pop.age != CHILD):
            got = graph.friend_counts(scored)
            assert got.dtype == np.uint16 and np.array_equal(got, counts(graph, scored))
    assert np.array_equal(g.friend_counts(np.ones(n, np.bool_)), g.degree())
    cell = pop.region.astype(np.int64) * 12 + pop.column("group")
    want = np.bincount(cell, weights=g.degree(), minlength=31 * 12).astype(np.int64)
    assert np.array_equal(cell_degrees(g, pop.region, pop.attrs, 12, 31 * 12), want)
