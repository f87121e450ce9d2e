"""The synthetic population: one column per attribute, agents sorted by region (and,
within a region, by age group), drawn from the regional marginals in provinces.csv."""

from __future__ import annotations

import csv
from dataclasses import dataclass, fields
from importlib import resources

import numba as nb
import numpy as np

from .constants import ADULT, CHILD, ELDER, S_POPULATION
from .rng import beta, day_key, uniform
from .scenario import Population as PopParams


@dataclass
class Population:
    """Static attributes of every agent (an agent is an index into these columns)."""

    region_names: list[str]
    region_start: np.ndarray  # int64 [R + 1]: agents of region r are [start[r], start[r+1])
    adult_start: np.ndarray  # int64 [R]: first adult of the region
    adult_count: np.ndarray  # int64 [R]
    region: np.ndarray  # uint8
    urban: np.ndarray  # bool
    age: np.ndarray  # uint8: 0 child, 1 adult, 2 elder
    sex: np.ndarray  # uint8: 0 female, 1 male
    parent: np.ndarray  # int32: an adult of the same region for children, -1 otherwise
    platform: np.ndarray  # bool
    speaker: np.ndarray  # bool
    smoker: np.ndarray  # bool
    honesty: np.ndarray  # float32
    civility: np.ndarray  # float32
    civic: np.ndarray  # float32

    COLUMNS = ("region", "urban", "age", "sex", "parent", "platform", "speaker", "smoker",
               "honesty", "civility", "civic")

    @property
    def n(self) -> int:
        return int(self.region.shape[0])

    def nbytes(self) -> int:
        return sum(getattr(self, c).nbytes for c in self.COLUMNS)

    def arrays(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in fields(self)
                if isinstance(getattr(self, f.name), np.ndarray)}


def provinces() -> tuple[list[str], np.ndarray, np.ndarray]:
    """Names, population (thousands) and urban share of the 31 provinces."""
    text = (resources.files("credsim") / "data" / "provinces.csv").read_text()
    rows = list(csv.DictReader(text.splitlines()))
    return ([r["province"] for r in rows],
            np.array([float(r["population_thousands"]) for r in rows]),
            np.array([float(r["urban_share"]) for r in rows]))


def largest_remainder(total: int, shares: np.ndarray) -> np.ndarray:
    """Integer counts summing to ``total`` in proportion to ``shares`` (Hamilton's method)."""
    shares = np.asarray(shares, np.float64)
    q = total * shares / shares.sum()
    base = np.floor(q).astype(np.int64)
    rest = total - int(base.sum())
    if rest > 0:
        order = np.argsort(-(q - base), kind="stable")
        base[order[:rest]] += 1
    return base


@nb.njit(parallel=True, cache=True)
def _draw_agents(key, age, region, region_urban, adult_start, adult_count,
                 p_female, plat_u, plat_r, p_speaker, p_smoke_m, p_smoke_f,
                 hon_a, hon_b, civ_a, civ_b, cvc_a, cvc_b,
                 urban, sex, parent, platform, speaker, smoker, honesty, civility, civic):
    n = age.shape[0]
    for i in nb.prange(n):
        r = region[i]
        urban[i] = uniform(key, i, 0) < region_urban[r]
        male = uniform(key, i, 1) >= p_female
        sex[i] = 1 if male else 0
        a = age[i]
        if a == CHILD:
            parent[i] = adult_start[r] + min(np.int64(uniform(key, i, 2) * adult_count[r]),
                                             adult_count[r] - 1) if adult_count[r] > 0 else -1
        else:
            parent[i] = -1
            platform[i] = uniform(key, i, 3) < (plat_u if urban[i] else plat_r)
        if a == ADULT:
            speaker[i] = uniform(key, i, 4) < p_speaker
            smoker[i] = uniform(key, i, 5) < (p_smoke_m if male else p_smoke_f)
        honesty[i] = beta(key, i, 1000, hon_a, hon_b)
        civility[i] = beta(key, i, 2000, civ_a, civ_b)
        civic[i] = beta(key, i, 3000, cvc_a, cvc_b)


def build_population(p: PopParams, n: int, seed: int) -> Population:
    """Synthesise ``n`` agents; O(n) time and memory."""
    if p.single_region:
        names = [p.single_region]
        weights = np.array([1.0])
        urban_share = np.array([p.single_region_urban])
    else:
        names, weights, urban_share = provinces()
    counts = largest_remainder(n, weights)
    start = np.zeros(len(names) + 1, np.int64)
    start[1:] = np.cumsum(counts)
    age_shares = np.array([p.child_share, 1 - p.child_share - p.elder_share, p.elder_share])
    age = np.empty(n, np.uint8)
    region = np.repeat(np.arange(len(names), dtype=np.uint8), counts)
    adult_start = np.zeros(len(names), np.int64)
    adult_count = np.zeros(len(names), np.int64)
    for r in range(len(names)):  # per region (31), not per agent
        c = largest_remainder(int(counts[r]), age_shares) if counts[r] else np.zeros(3, np.int64)
        s = start[r]
        age[s:s + c[0]] = CHILD
        age[s + c[0]:s + c[0] + c[1]] = ADULT
        age[s + c[0] + c[1]:start[r + 1]] = ELDER
        adult_start[r] = s + c[0]
        adult_count[r] = c[1]
    male = 1 - p.female_share
    p_smoke_m = p.smoker_male
    p_smoke_f = (p.smoker_share - p.smoker_male * male) / p.female_share if p.female_share else 0.0
    pop = Population(
        region_names=list(names), region_start=start, adult_start=adult_start,
        adult_count=adult_count, region=region, urban=np.zeros(n, np.bool_), age=age,
        sex=np.zeros(n, np.uint8), parent=np.empty(n, np.int32),
        platform=np.zeros(n, np.bool_), speaker=np.zeros(n, np.bool_),
        smoker=np.zeros(n, np.bool_), honesty=np.empty(n, np.float32),
        civility=np.empty(n, np.float32), civic=np.empty(n, np.float32))
    _draw_agents(day_key(seed, S_POPULATION, 0), age, region, urban_share.astype(np.float64),
                 adult_start, adult_count, p.female_share, p.platform_urban, p.platform_rural,
                 p.speaker_share, p_smoke_m, max(0.0, p_smoke_f),
                 p.honesty[0], p.honesty[1], p.civility[0], p.civility[1],
                 p.civic[0], p.civic[1],
                 pop.urban, pop.sex, pop.parent, pop.platform, pop.speaker, pop.smoker,
                 pop.honesty, pop.civility, pop.civic)
    return pop

