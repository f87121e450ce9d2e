"""The synthetic population: one column per attribute, agents sorted by region (and,
within a region, by age group), drawn from the regional marginals in provinces.csv."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from importlib import resources
from typing import cast

import numba as nb
import numpy as np
import numpy.typing as npt
from llvmlite import ir
from numba.core import cgutils, types
from numba.core.base import BaseContext
from numba.core.typing import Context, Signature
from numba.extending import intrinsic
from scipy.special import betainc, betaincc, betaincinv

from .constants import ADULT, CHILD, ELDER, S_POPULATION
from .rng import Int, Typed, bits, day_key, parallel_for, shift_key, uniform, uniform_ir
from .scenario import Population as PopParams

_S56, _S48, _S40, _B8 = np.uint64(56), np.uint64(48), np.uint64(40), np.uint64(0xFF)


# The packed attributes of an agent (one byte, ``attrs``): bits 0-3 its group
# (urban x age group x sex = urban * 6 + age * 2 + sex, the recorder's 12 groups), bit 4
# platform user, bit 5 speaker, bit 6 smoker, bit 7 frequent traveller.
A_PLATFORM = 16
A_SPEAKER = 32
A_SMOKER = 64
A_TRAVELLER = 128
A_GROUP = 15
N_GROUPS = 12  # the values of attrs & A_GROUP
FLAGS = {
    "platform": A_PLATFORM,
    "speaker": A_SPEAKER,
    "smoker": A_SMOKER,
    "traveller": A_TRAVELLER,
}


def _group_ir(
    context: BaseContext, builder: ir.IRBuilder, sig: Signature, args: Sequence[ir.Value]
) -> ir.Value:
    a = context.cast(builder, args[0], sig.args[0], types.int64)
    return builder.and_(a, a.type(A_GROUP))


@intrinsic
def _age_of(typingctx: Context, a: types.Type) -> Typed:
    """Age group (CHILD, ADULT, ELDER) from packed attributes: (group % 6) >> 1. (The
    helpers here are intrinsics: emitted into the calling kernel, nothing to compile.)"""
    if not isinstance(a, types.Integer):
        return None

    def codegen(
        context: BaseContext, builder: ir.IRBuilder, sig: Signature, args: Sequence[ir.Value]
    ) -> ir.Value:
        g = _group_ir(context, builder, sig, args)
        return builder.lshr(builder.urem(g, g.type(6)), g.type(1))

    return types.int64(a), codegen


# The intrinsics as kernels call them (see rng.py)
age_of = cast("Callable[[Int], Int]", _age_of)


@intrinsic
def _urban_of(typingctx: Context, a: types.Type) -> Typed:
    """Whether packed attributes say urban (group >= 6)."""
    if not isinstance(a, types.Integer):
        return None

    def codegen(
        context: BaseContext, builder: ir.IRBuilder, sig: Signature, args: Sequence[ir.Value]
    ) -> ir.Value:
        g = _group_ir(context, builder, sig, args)
        return builder.icmp_signed(">=", g, g.type(6))

    return types.boolean(a), codegen


urban_of = cast("Callable[[Int], bool | np.bool_]", _urban_of)


def _load(
    context: BaseContext, builder: ir.IRBuilder, aryty: types.Array, ary: ir.Value, idx: ir.Value
) -> ir.Value:
    """ary[idx] (idx an i64 within bounds) as an i64."""
    arr = context.make_array(aryty)(context, builder, ary)
    ptr = cgutils.get_item_pointer(context, builder, aryty, arr, [idx])
    return context.cast(builder, builder.load(ptr), aryty.dtype, types.int64)


@intrinsic
def _parent_of(
    typingctx: Context,
    key: types.Type,
    i: types.Type,
    region: types.Type,
    adult_start: types.Type,
    adult_count: types.Type,
) -> Typed:
    """The parent of child i: an adult of its region drawn from the population key (a
    pure function, so it is computed where needed instead of stored):
    adult_start[r] + min(floor(uniform(key, i, 2) * c), c - 1) with c = adult_count[r],
    or -1 when the region has no adult."""
    arrays = (region, adult_start, adult_count)
    if not (
        isinstance(key, types.Integer)
        and isinstance(i, types.Integer)
        and all(
            isinstance(a, types.Array) and a.ndim == 1 and isinstance(a.dtype, types.Integer)
            for a in arrays
        )
    ):
        return None

    def codegen(
        context: BaseContext, builder: ir.IRBuilder, sig: Signature, args: Sequence[ir.Value]
    ) -> ir.Value:
        k, ii = (context.cast(builder, v, t, types.int64) for v, t in zip(args[:2], sig.args))
        r = _load(context, builder, sig.args[2], args[2], ii)
        start = _load(context, builder, sig.args[3], args[3], r)
        c = _load(context, builder, sig.args[4], args[4], r)
        u = uniform_ir(builder, k, ii, ii.type(2))
        x = builder.fptosi(builder.fmul(u, builder.sitofp(c, u.type)), c.type)
        last = builder.sub(c, c.type(1))
        x = builder.select(builder.icmp_signed("<", x, last), x, last)
        none = builder.icmp_signed("<=", c, c.type(0))
        return builder.select(none, c.type(-1), builder.add(start, x))

    return types.int64(key, i, region, adult_start, adult_count), codegen


parent_of = cast("Callable[[np.uint64, Int, np.ndarray, np.ndarray, np.ndarray], Int]", _parent_of)


@dataclass
class Population:
    """Static attributes of every agent (an agent is an index into these columns)."""

    region_names: list[str]
    region_start: np.ndarray  # int64 [R + 1]: agents of region r are [start[r], start[r+1])
    adult_start: np.ndarray  # int64 [R]: first adult of the region
    adult_count: np.ndarray  # int64 [R]
    key: np.uint64  # the population's random key (parents are drawn from it)
    region: np.ndarray  # uint8
    attrs: np.ndarray  # uint8: group, platform, speaker, smoker (see A_*)
    prop: np.ndarray  # uint8 [3, N]: class of honesty, civility, civic (PROPENSITIES)
    prop_values: np.ndarray  # float32 [3, N_CLASSES]: the value of each class

    COLUMNS = ("region", "attrs", "prop")

    def column(self, name: str, sl: slice | np.ndarray = slice(None)) -> np.ndarray:
        """One attribute of the agents ``sl`` (a slice or an index array), decoded from
        ``attrs`` or ``prop`` (a new array): group, urban, age, sex, platform, speaker,
        smoker, or a propensity."""
        if name in PROPENSITIES:
            k = PROPENSITIES.index(name)
            return self.prop_values[k][self.prop[k, sl]]
        a = self.attrs[sl]
        if name in FLAGS:
            return (a & FLAGS[name]) != 0
        g = a & A_GROUP
        if name == "group":
            return g
        if name == "urban":
            return g >= 6
        if name == "age":
            return ((g % 6) >> 1).astype(np.uint8)
        if name == "sex":
            return g % 2
        raise ValueError(f"unknown attribute {name!r}")

    group = property(lambda self: self.column("group"))
    urban = property(lambda self: self.column("urban"))
    age = property(lambda self: self.column("age"))
    sex = property(lambda self: self.column("sex"))
    platform = property(lambda self: self.column("platform"))
    speaker = property(lambda self: self.column("speaker"))
    smoker = property(lambda self: self.column("smoker"))
    honesty = property(lambda self: self.column("honesty"))
    civility = property(lambda self: self.column("civility"))
    civic = property(lambda self: self.column("civic"))

    @property
    def parent(self) -> np.ndarray:
        """int32: each child's parent (an adult of its region), -1 for the others."""
        out = np.empty(self.n, np.int32)
        parallel_for(
            _parents,
            self.n,
            self.key,
            self.attrs,
            self.region,
            self.adult_start,
            self.adult_count,
            out,
        )
        return out

    def parent_args(self) -> tuple[np.uint64, np.ndarray, np.ndarray, np.ndarray]:
        """What ``parent_of`` needs after the agent: key, region, adult_start, adult_count."""
        return self.key, self.region, self.adult_start, self.adult_count

    def set_attr(self, name: str, values: npt.ArrayLike) -> None:
        """Set one attribute of every agent (for hand-made populations): urban, age, sex,
        platform, speaker, smoker, or a propensity."""
        if name in PROPENSITIES:
            self.set_propensity(name, values)
            return
        v = np.broadcast_to(np.asarray(values), self.attrs.shape).astype(np.int64)
        if name in FLAGS:
            self.attrs[:] = np.where(
                v != 0, self.attrs | FLAGS[name], self.attrs & (0xFF ^ FLAGS[name])
            )
            return
        urban, age, sex = (self.column(c).astype(np.int64) for c in ("urban", "age", "sex"))
        if name == "urban":
            urban = v
        elif name == "age":
            age = v
        elif name == "sex":
            sex = v
        else:
            raise ValueError(f"unknown attribute {name!r}")
        self.attrs[:] = (self.attrs & (0xFF ^ A_GROUP)) | (urban * 6 + age * 2 + sex)

    def set_propensity(self, name: str, values: npt.ArrayLike) -> None:
        """Give every agent its own value of one propensity (for hand-made populations:
        at most N_CLASSES distinct values, which become that propensity's classes)."""
        k = PROPENSITIES.index(name)
        vals, codes = np.unique(np.asarray(values, np.float32), return_inverse=True)
        if vals.size > N_CLASSES:
            raise ValueError(f"{name}: at most {N_CLASSES} distinct values")
        self.prop_values[k] = vals[-1]
        self.prop_values[k, : vals.size] = vals
        self.prop[k] = codes.astype(np.uint8)

    @property
    def n(self) -> int:
        return int(self.region.shape[0])

    def nbytes(self) -> int:
        return sum(getattr(self, c).nbytes for c in self.COLUMNS)

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if isinstance(getattr(self, f.name), np.ndarray)
        }


def provinces() -> tuple[list[str], np.ndarray, np.ndarray]:
    """Names, population (thousands) and urban share of the 31 provinces."""
    text = (resources.files("credsim") / "data" / "provinces.csv").read_text()
    rows = list(csv.DictReader(text.splitlines()))
    return (
        [r["province"] for r in rows],
        np.array([float(r["population_thousands"]) for r in rows]),
        np.array([float(r["urban_share"]) for r in rows]),
    )


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


PROPENSITIES = ("honesty", "civility", "civic")
N_CLASSES = 256


def _mass(a: float, b: float, x0: np.ndarray, x1: np.ndarray) -> np.ndarray:
    """I_x1(a, b) - I_x0(a, b), the Beta(a, b) probability of [x0, x1], from whichever
    of the regularised incomplete beta function and its complement is the smaller at x0
    (a difference of two numbers near 1 would lose the digits that matter)."""
    lo = betainc(a, b, x0)
    return np.where(lo > 0.5, betaincc(a, b, x0) - betaincc(a, b, x1), betainc(a, b, x1) - lo)


def _class_means(a: float, b: float, q0: np.ndarray, q1: np.ndarray) -> np.ndarray:
    """E[X | q0 < X < q1] for X ~ Beta(a, b): a/(a+b) (I(a+1, b) mass) / (I(a, b) mass)."""
    with np.errstate(all="ignore"):
        v = a / (a + b) * _mass(a + 1.0, b, q0, q1) / _mass(a, b, q0, q1)
    # an interval too narrow to carry mass in double precision: its middle
    v = np.where(np.isfinite(v), v, 0.5 * (q0 + q1))
    return np.clip(v, q0, q1)


def _quantiles(a: float, b: float, k: int) -> np.ndarray:
    q = np.maximum.accumulate(betaincinv(a, b, np.arange(k + 1) / k))
    q[0], q[-1] = 0.0, 1.0
    return q


def beta_class_means(a: float, b: float, k: int = N_CLASSES) -> np.ndarray:
    """float64: Beta(a, b) cut into ``k`` classes of equal probability at its quantiles,
    each valued at its conditional mean (so the mean, and every expectation linear in the
    propensity, is that of the Beta itself), in closed form through the incomplete beta
    function. A class whose lower bound is at least 1/2 is computed on the mirror image,
    1 - X ~ Beta(b, a), whose quantiles near 0 double precision resolves where those of X
    near 1 would round to 1 (a shape below 1 puts classes within 1e-40 of an end)."""
    q = _quantiles(a, b, k)
    out = np.empty(k)
    low = np.flatnonzero(q[:-1] < 0.5)
    out[low] = _class_means(a, b, q[low], q[low + 1])
    high = np.flatnonzero(q[:-1] >= 0.5)
    if high.size:
        r = _quantiles(b, a, k)
        m = k - 1 - high  # class j of X is class k - 1 - j of 1 - X
        out[high] = 1.0 - _class_means(b, a, r[m], r[m + 1])
    return np.maximum.accumulate(np.clip(out, 0.0, 1.0))


def beta_classes(a: float, b: float, k: int = N_CLASSES) -> np.ndarray:
    """The class values of :func:`beta_class_means`, stored as float32."""
    return beta_class_means(a, b, k).astype(np.float32)


@nb.njit(nogil=True, cache=True)
def _parents(
    lo: Int,
    hi: Int,
    key: np.uint64,
    attrs: np.ndarray,
    region: np.ndarray,
    adult_start: np.ndarray,
    adult_count: np.ndarray,
    out: np.ndarray,
) -> None:
    for i in range(lo, hi):
        out[i] = (
            parent_of(key, i, region, adult_start, adult_count) if age_of(attrs[i]) == CHILD else -1
        )


@nb.njit(nogil=True, cache=True)
def _draw_agents(
    lo: Int,
    hi: Int,
    key: np.uint64,
    age: np.ndarray,
    region: np.ndarray,
    region_urban: np.ndarray,
    p_female: float,
    plat_u: float,
    plat_r: float,
    p_speaker: float,
    p_smoke_m: float,
    p_smoke_f: float,
    p_travel: float,
    attrs: np.ndarray,
    prop: np.ndarray,
) -> None:
    for i in range(lo, hi):
        r = region[i]
        urban = uniform(key, i, 0) < region_urban[r]
        male = uniform(key, i, 1) >= p_female
        a = age[i]
        x = (6 if urban else 0) + 2 * a + (1 if male else 0)
        if a != CHILD and uniform(key, i, 3) < (plat_u if urban else plat_r):
            x |= A_PLATFORM
        if a == ADULT:
            if uniform(key, i, 4) < p_speaker:
                x |= A_SPEAKER
            if uniform(key, i, 5) < (p_smoke_m if male else p_smoke_f):
                x |= A_SMOKER
        if a != CHILD and p_travel > 0.0 and uniform(key, i, 7) < p_travel:
            x |= A_TRAVELLER
        attrs[i] = x
        h = bits(key, i, 6)  # one hash, three classes of equal probability
        prop[0, i] = np.uint8(h >> _S56)
        prop[1, i] = np.uint8((h >> _S48) & _B8)
        prop[2, i] = np.uint8((h >> _S40) & _B8)


def region_layout(p: PopParams, n: int) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """The regions of ``n`` agents: names, where each begins (int64 [R + 1]), and its
    adults' first index and count (int64 [R]); agents are sorted by region and, within
    it, children, adults, elders."""
    if p.single_region:
        names = [p.single_region]
        weights = np.array([1.0])
    else:
        names, weights, _ = provinces()
    counts = largest_remainder(n, weights)
    start = np.zeros(len(names) + 1, np.int64)
    start[1:] = np.cumsum(counts)
    age_shares = np.array([p.child_share, 1 - p.child_share - p.elder_share, p.elder_share])
    adult_start = np.zeros(len(names), np.int64)
    adult_count = np.zeros(len(names), np.int64)
    for r in range(len(names)):  # per region (31), not per agent
        c = largest_remainder(int(counts[r]), age_shares) if counts[r] else np.zeros(3, np.int64)
        adult_start[r] = start[r] + c[0]
        adult_count[r] = c[1]
    return list(names), start, adult_start, adult_count


def build_population(
    p: PopParams, n: int, seed: int, lo: int = 0, hi: int | None = None
) -> Population:
    """Synthesise ``n`` agents, or of those only [lo, hi) (a process's part of a
    partitioned run: indexed from 0 there, its region starts and key shifted by lo);
    O(hi - lo) time and memory."""
    hi = n if hi is None else hi
    names, start, adult_start, adult_count = region_layout(p, n)
    urban_share = np.array([p.single_region_urban]) if p.single_region else provinces()[2]
    m = hi - lo
    rs = np.clip(start - lo, 0, m)  # the regions' starts within [lo, hi)
    region = np.repeat(np.arange(len(names), dtype=np.uint8), np.diff(rs))
    age = np.full(m, ELDER, np.uint8)
    for r in range(len(names)):
        a0, a1 = adult_start[r] - lo, adult_start[r] + adult_count[r] - lo
        age[rs[r] : int(np.clip(a0, rs[r], rs[r + 1]))] = CHILD
        age[int(np.clip(a0, rs[r], rs[r + 1])) : int(np.clip(a1, rs[r], rs[r + 1]))] = ADULT
    male = 1 - p.female_share
    p_smoke_m = p.smoker_male
    p_smoke_f = (p.smoker_share - p.smoker_male * male) / p.female_share if p.female_share else 0.0
    key = shift_key(day_key(seed, S_POPULATION, 0), lo)
    pop = Population(
        region_names=list(names),
        region_start=start - lo,
        adult_start=adult_start - lo,
        adult_count=adult_count,
        key=key,
        region=region,
        attrs=np.empty(m, np.uint8),
        prop=np.empty((3, m), np.uint8),
        prop_values=np.stack([beta_classes(*getattr(p, c)) for c in PROPENSITIES]),
    )
    parallel_for(
        _draw_agents,
        m,
        key,
        age,
        region,
        urban_share.astype(np.float64),
        float(p.female_share),
        float(p.platform_urban),
        float(p.platform_rural),
        float(p.speaker_share),
        float(p_smoke_m),
        float(max(0.0, p_smoke_f)),
        float(p.frequent_travellers),
        pop.attrs,
        pop.prop,
    )
    return pop
