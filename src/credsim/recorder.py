"""The record phase's engine: its counting and ledger kernels, the aggregates of every
day in preallocated arrays and the ledger rows on a spool; results.py turns them into
tables."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numba as nb
import numpy as np

from .constants import (
    DC_DEF_DROPPED,
    DC_DEF_JUDGED,
    DC_DEF_OPENED,
    DC_FIN_DROPPED,
    DC_FIN_OPENED,
    DC_INSINCERE,
    DC_JUDGED_FALSE,
    DENIED,
    DL_APPEALED,
    DL_COURT_ENTRY,
    DL_ENTRY_WRONGFUL,
    DL_EXIT_APPEAL_COURT,
    DL_EXIT_APPEAL_SCORE,
    DL_EXIT_EXPIRY,
    DL_SCORE_ENTRY,
    LF_COURT_WRONGFUL,
    LF_SCORE_ASSOC,
    LF_SCORE_WRONGFUL,
    N_SERVICES,
    N_TYPES,
    RUMOUR,
    SMOKING_IN_PUBLIC,
    STATUSES,
    SVC_SCHOOL,
    TIERS,
    TRUTH_FALSE_FLAG,
    TRUTH_MISID,
    TRUTH_TRUE,
)
from .kernels import status_of
from .network import cell_degrees
from .population import A_GROUP, A_SPEAKER, parent_of
from .rng import AGENT_GRAIN, parallel_for, span, threads
from .rundir import AGG_SPOOL, SPOOL, Spool
from .schema import (
    K_APPEAL,
    K_CASE,
    K_DENIAL,
    K_DROP,
    K_EVENT,
    K_EXIT,
    K_JUDG,
    K_LIST,
    LEDGER_DTYPE,
    M_AGENTS,
    M_ENTRY,
    M_MISID,
    M_NET,
    M_OBS,
    M_POSTS,
    M_SCORED,
    M_SPEAKERS,
    M_SVC,
    M_SVX,
    M_TIER,
    N_GROUPS,
    N_METRICS,
    count_table,
)

if TYPE_CHECKING:
    from .sim import Sim


# ------------------------------------------------------------------------------------
# The counting and ledger kernels of the record phase

# the record kernel lists the agents with ledger rows (about 2 % of them on a day of
# as-reported) in room for 1/8 of each chunk, grown up to 1/4 when a chunk overflows
ACTIVE_SHARE, ACTIVE_MOST = 8, 4
N_CHUNKS = 32  # fixed partition of the agents: float sums are identical for any thread count


# the count tables (schema.COUNTS) as constant tuples of (mask, metric): compiled into the
# kernel, so counting through them costs what bit tests written out would
def _const(column: str) -> tuple[int, tuple[tuple[int, int], ...]]:
    t = count_table(column)
    return int(t[-1, 0]), tuple((int(m), int(k)) for m, k in t[:-1])


U_TRUE, T_TRUE = _const("true_ev")
U_OBS, T_OBS = _const("obs")
U_COURT, T_COURT = _const("court")
U_LST, T_LST = _const("lst")
U_LFLAGS, T_LFLAGS = _const("lflags")


@nb.njit(inline="always")
def _count_bits(cnt, c, v, union, table):
    """Count ``v`` towards every metric of ``table`` ((mask, metric) pairs) it has a bit
    of, in row ``c`` of ``cnt``; ``union`` (of the masks) skips them all at once."""
    if v & union:
        for r in table:
            if v & r[0]:
                cnt[c, r[1]] += 1


@nb.njit(inline="always")
def _bits_set(v):
    c = 0
    while v:
        v &= v - 1
        c += 1
    return c


EVENT_BITS = (1 << (N_TYPES + 1)) - 1  # observed events: a row each (bit N_TYPES: false flag)
COURT_ROWS = DC_FIN_OPENED | DC_FIN_DROPPED | DC_DEF_OPENED | DC_DEF_DROPPED | DC_DEF_JUDGED
_COURT_ROWS = (
    (DC_FIN_OPENED, K_CASE, 0),
    (DC_FIN_DROPPED, K_DROP, 0),
    (DC_DEF_OPENED, K_CASE, 1),
    (DC_DEF_DROPPED, K_DROP, 1),
    (DC_DEF_JUDGED, K_JUDG, 1),
)
LIST_ROWS = DL_COURT_ENTRY | DL_SCORE_ENTRY | (31 * DL_EXIT_EXPIRY) | DL_APPEALED


@nb.njit(inline="always")
def _nrows(o, cr, dl, rq, so):
    """How many ledger rows ledger_fill writes for these day columns (record checks that
    the rows written end where these counts say)."""
    r = _bits_set(o & EVENT_BITS) + _bits_set(cr & COURT_ROWS) + _bits_set(dl & LIST_ROWS)
    for s in range(N_SERVICES):
        if (rq >> s) & 1 and ((so >> (2 * s)) & 3) == DENIED:
            r += 1
    return r


@nb.njit(nogil=True, cache=True)
def _record_chunks(
    ch0,
    ch1,
    region,
    attrs,
    pkey,
    adult_start,
    adult_count,
    true_ev,
    obs,
    court,
    lst,
    posts,
    svc_req,
    svc_out,
    lflags,
    scored,
    score,
    tier,
    lo,
    nbins,
    base,
    ntot,
    cnt,
    ssum,
    hst,
    svc,
    active,
    nactive,
    rows,
):
    """record_kernel's work on the chunks ch0 to ch1 (one group), into the group's own
    ``cnt``, ``hst``, ``svc`` (a function of its own, not the body of the parallel loop:
    Numba's parallel passes then see a loop of one call, and compile it far sooner)."""
    n = attrs.shape[0]
    nch = ssum.shape[0]
    step = (ntot + nch - 1) // nch
    cap = active.shape[0] // nch
    for ch in range(ch0, ch1):
        ss = ssum[ch]
        na = 0
        nrow = 0
        for i in span(max(ch * step - base, 0), min(n, (ch + 1) * step - base)):
            g = attrs[i] & A_GROUP
            c = region[i] * N_GROUPS + g
            cnt[c, M_AGENTS] += 1
            t = tier[i]
            cnt[c, M_TIER + t] += 1
            if scored[i]:
                cnt[c, M_SCORED] += 1
                ss[c] += score[i]
                b = min(max(np.int64(score[i] - lo), 0), nbins - 1)
                hst[g, b] += 1
            lf = lflags[i]
            _count_bits(cnt, c, lf, U_LFLAGS, T_LFLAGS)
            cnt[c, M_POSTS] += posts[i]
            o = obs[i]
            if attrs[i] & A_SPEAKER:
                cnt[c, M_SPEAKERS] += 1
                cnt[c, M_SPEAKERS + 1] += ((o >> RUMOUR) & 1) + ((o >> N_TYPES) & 1)
            _count_bits(cnt, c, true_ev[i], U_TRUE, T_TRUE)
            cr = court[i]
            dl = lst[i]
            rq = svc_req[i]
            if o == 0 and cr == 0 and dl == 0 and rq == 0:
                continue
            nr = _nrows(o, cr, dl, rq, svc_out[i])
            if nr:  # (most agents with a request granted have no row)
                if na < cap:
                    active[ch * cap + na] = i
                na += 1
                nrow += nr
            _count_bits(cnt, c, o, U_OBS, T_OBS)
            _count_bits(cnt, c, cr, U_COURT, T_COURT)
            if dl:
                _count_bits(cnt, c, dl, U_LST, T_LST)
                if dl & DL_COURT_ENTRY:
                    # the reason of a court entry: debt, fraud, tax (obs bits 5-7) or speech
                    if o & 32:
                        cnt[c, M_ENTRY] += 1
                    elif o & 64:
                        cnt[c, M_ENTRY + 1] += 1
                    elif o & 128:
                        cnt[c, M_ENTRY + 2] += 1
                    else:
                        cnt[c, M_ENTRY + 3] += 1
            if rq:
                st = status_of(lf)
                so = svc_out[i]
                for s in range(N_SERVICES):
                    if (rq >> s) & 1:
                        oc = (so >> (2 * s)) & 3
                        cnt[c, M_SVC + 5 * s] += 1
                        cnt[c, M_SVC + 5 * s + 1 + oc] += 1
                        if s == SVC_SCHOOL:
                            par = parent_of(pkey, i, region, adult_start, adult_count)
                            sts = status_of(lflags[par]) if par >= 0 else 0
                        else:
                            sts = st
                        svc[s, t, sts, oc] += 1
        nactive[ch] = na
        rows[ch] = nrow


@nb.njit(nogil=True, cache=True)
def record_kernel(
    k0,
    k1,
    region,
    attrs,
    pkey,
    adult_start,
    adult_count,
    true_ev,
    obs,
    court,
    lst,
    posts,
    svc_req,
    svc_out,
    lflags,
    scored,
    score,
    tier,
    lo,
    nbins,
    base,
    ntot,
    counts,
    ssum,
    hist,
    svct,
    active,
    nactive,
    rows,
):
    """Counts by cell: the bits of the day's columns and the listing flags through the
    count tables (schema.COUNTS), tiers, scores, posts, speakers, court entries by reason;
    services also by tier and listing status (for private school the parent's status,
    since the parent's listing decides the request). The agents are cut into a fixed
    partition of chunks of all ``ntot`` agents (this process holds those from ``base``
    on): ``ssum[chunk]`` holds each chunk's score sums (so that they add up in the same
    order for any thread count and any partition of the agents among processes). The chunks
    are dealt in contiguous groups, one a thread (groups k0 to k1 here, through
    ``rng.parallel_for``); integer counts go to the group's slice
    of ``counts``, ``hist``, ``svct`` (exact in any order). The agents with ledger rows
    are listed in the chunk's share of ``active`` while it has room (``nactive[chunk]``
    says how many there are), so that writing the rows need not read every agent again;
    ``rows[chunk]`` is the number of the chunk's rows (where the next chunk's begin)."""
    nch = ssum.shape[0]
    ng = counts.shape[0]
    for k in range(k0, k1):
        _record_chunks(
            k * nch // ng, (k + 1) * nch // ng, region, attrs, pkey, adult_start,
            adult_count, true_ev, obs, court, lst, posts, svc_req, svc_out, lflags, scored,
            score, tier, lo, nbins, base, ntot, counts[k], ssum, hist[k], svct[k], active,
            nactive, rows,
        )  # fmt: skip


# ------------------------------------------------------------------------------------
# Ledger rows of a day


@nb.njit(inline="always")
def _row(out, w, day, i, kind, code, truth, flags, delta, score, other):
    r = out[w]  # (fields set as attributes: far quicker to compile than r["day"])
    r.day = day
    r.agent = i
    r.kind = kind
    r.code = code
    r.truth = truth
    r.flags = flags
    r.delta = delta
    r.score = score
    r.other = other
    return w + 1


@nb.njit(cache=True)
def _other_rows(
    i,
    w,
    day,
    cr,
    dl,
    rq,
    sc,
    svc_out,
    lflags,
    case,
    pkey,
    region,
    adult_start,
    adult_count,
    out,
):
    """Agent i's rows of court cases, listings and denials (``cr``, ``dl``, ``rq``: its
    day columns; ``sc``: its score) written from position w of ``out``; returns the
    position after them. Called, not inlined: few agents have such rows, and inlined it
    took 3 s more to compile."""
    # (each kind of row is written at one call site, in a loop: Numba types and inlines
    # _row once a site, so fewer sites compile faster)
    if cr:
        for mask, kind, code in _COURT_ROWS:  # codes: 0 financial, 1 defamation
            if cr & mask:
                judged = mask == DC_DEF_JUDGED  # truth 2: on a false flag; flag 1: insincere
                truth = 2 if judged and cr & DC_JUDGED_FALSE else 0
                flag = 1 if judged and cr & DC_INSINCERE else 0
                w = _row(out, w, day, i, kind, code, truth, flag, 0.0, sc, -1)
    if dl:
        lf = lflags[i]
        for k in range(8):  # a court entry, a score entry, five kinds of exit, an appeal
            if k == 0:
                if not dl & DL_COURT_ENTRY:
                    continue
                kind, code, truth, flag = K_LIST, (case[i] >> 4) & 7, 0, 0
                if lf & LF_COURT_WRONGFUL:
                    truth = 2
            elif k == 1:
                if not dl & DL_SCORE_ENTRY:
                    continue
                flag = (1 if dl & DL_ENTRY_WRONGFUL and lf & LF_SCORE_WRONGFUL else 0) | (
                    2 if lf & LF_SCORE_ASSOC else 0
                )
                kind, code, truth = K_LIST, 5, flag & 1
            elif k < 7:
                if not dl & (DL_EXIT_EXPIRY << (k - 2)):
                    continue
                kind, code, truth, flag = K_EXIT, k - 2, 0, 0
            else:
                if not dl & DL_APPEALED:
                    continue
                up = 1 if dl & (DL_EXIT_APPEAL_COURT | DL_EXIT_APPEAL_SCORE) else 0
                kind, code, truth, flag = K_APPEAL, up, 0, 0
            w = _row(out, w, day, i, kind, code, truth, flag, 0.0, sc, -1)
    if rq:
        for s in range(N_SERVICES):
            if (rq >> s) & 1 and ((svc_out[i] >> (2 * s)) & 3) == DENIED:
                par = (
                    parent_of(pkey, i, region, adult_start, adult_count) if s == SVC_SCHOOL else -1
                )
                w = _row(out, w, day, i, K_DENIAL, s, 0, 0, 0.0, sc, par)
    return w


@nb.njit(nogil=True, cache=True)
def _fill_chunk(
    ch,
    w,
    active,
    nactive,
    day,
    obs,
    court,
    lst,
    svc_req,
    svc_out,
    scored,
    score,
    lflags,
    case,
    pkey,
    region,
    adult_start,
    adult_count,
    deltas,
    base,
    ntot,
    out,
):
    """The rows of chunk ``ch`` from position w of ``out``; returns where they end. The
    agents come from the chunk's list in ``active`` or, where it overflowed, from every
    agent of the chunk. (A function of its own, called once a chunk: the rows' writer is
    then called at one site, and the arrays are passed once a chunk, not once an agent.)"""
    n = obs.shape[0]
    nch = nactive.shape[0]
    step = (ntot + nch - 1) // nch
    cap = active.shape[0] // nch
    listed = nactive[ch] <= cap
    first = ch * cap if listed else max(ch * step - base, 0)
    end = first + nactive[ch] if listed else min(n, (ch + 1) * step - base)
    for k in range(first, end):
        i = active[k] if listed else k
        o, cr, dl, rq = obs[i], court[i], lst[i], svc_req[i]
        if o == 0 and cr == 0 and dl == 0 and rq == 0:
            continue
        sc = score[i]
        for b in range(N_TYPES + 1):  # the observed events (most rows)
            if (o >> b) & 1:
                t = RUMOUR if b == N_TYPES else b
                truth = TRUTH_FALSE_FLAG if b == N_TYPES else TRUTH_TRUE
                dv = deltas[t] if scored[i] else 0.0
                w = _row(out, w, day, i, K_EVENT, t, truth, 0, dv, sc, -1)
        if cr or dl or rq:
            w = _other_rows(
                i, w, day, cr, dl, rq, sc, svc_out, lflags, case, pkey, region,
                adult_start, adult_count, out,
            )  # fmt: skip
    return w


@nb.njit(nogil=True, cache=True)
def ledger_fill(
    ch0,
    ch1,
    offsets,
    active,
    nactive,
    day,
    obs,
    court,
    lst,
    svc_req,
    svc_out,
    scored,
    score,
    lflags,
    case,
    pkey,
    region,
    adult_start,
    adult_count,
    deltas,
    base,
    ntot,
    out,
    ends,
):
    """The rows of each chunk of agents (the record kernel's partition), in agent order,
    written from offsets[chunk]; ends[chunk] is where they end. Chunks ch0 to ch1, through
    ``rng.parallel_for``."""
    for ch in range(ch0, ch1):
        ends[ch] = _fill_chunk(
            ch, offsets[ch], active, nactive, day, obs, court, lst, svc_req, svc_out,
            scored, score, lflags, case, pkey, region, adult_start, adult_count, deltas, base,
            ntot, out,
        )  # fmt: skip


@nb.njit(cache=True)
def _ledger_false(w, day, scored, score, deltas, ft, ftype, fsrc, out):
    for k in range(ft.shape[0]):
        j = ft[k]
        dv = deltas[ftype[k]] if scored[j] else 0.0
        w = _row(out, w, day, j, K_EVENT, ftype[k], TRUTH_MISID, 0, dv, score[j], fsrc[k])


@dataclass(frozen=True)
class Aggregates:
    """The day-by-day aggregates of a run, as results.py turns them into tables:
    ``cells[day, cell, metric]`` (int32 counts; cell = region x group, group = urban x age
    group x sex, ``N_GROUPS`` of them), ``score_sum[day, cell]``, ``hist[day, group, bin]``
    (1-point score bins from ``lo``), ``svc[day, service, tier, status, outcome]``, the
    active friendships at the end of each day and the friendship ends of each cell at the
    start."""

    cells: np.ndarray
    score_sum: np.ndarray
    hist: np.ndarray
    svc: np.ndarray
    edges_active: np.ndarray
    friend_ends0: np.ndarray
    lo: float
    nbins: int

    # what a partitioned run sums over its ranks
    SUMMED = ("cells", "score_sum", "hist", "svc", "edges_active", "friend_ends0")


class Recorder:
    """Day-by-day aggregates: ``cells[day, cell, metric]`` (cell = region x urban x age x
    sex), ``score_sum[day, cell]``, ``hist[day, group, bin]`` (1-point bins),
    ``svc[day, service, tier, status, outcome]`` and the ledger rows."""

    def __init__(self, sim: Sim):
        self.sim = sim
        pop = sim.pop
        n_regions = len(pop.region_names)
        self.n_cells = n_regions * N_GROUPS
        sc = sim.scenario.score
        self.lo = float(sc.min)
        self.nbins = int(np.floor(sc.max - sc.min)) + 1
        days = sim.days
        self.cells = np.zeros((days, self.n_cells, N_METRICS), np.int32)
        self.score_sum = np.zeros((days, self.n_cells), np.float64)
        self.hist = np.zeros((days, N_GROUPS, self.nbins), np.int32)
        self.svc = np.zeros((days, N_SERVICES, len(TIERS), len(STATUSES), 4), np.int32)
        self.edges_active = np.zeros(days, np.int64)
        self._ssum = np.zeros((N_CHUNKS, self.n_cells), np.float64)
        # the agents with ledger rows today, up to 1/ACTIVE_SHARE of each chunk
        self._active = np.zeros(N_CHUNKS * max(1, sim.n // ACTIVE_SHARE // N_CHUNKS), np.int32)
        self._nactive = np.zeros(N_CHUNKS, np.int64)
        self._rows = np.zeros(N_CHUNKS + 1, np.int64)
        self._groups(threads())
        # ledger rows go to an append-only spool file (in the run directory when there is
        # one, so that a checkpoint records only its length), not to memory; the per-day
        # aggregates are appended, compressed, to another at each checkpoint
        if sim.out is not None:
            sim.file(SPOOL).parent.mkdir(parents=True, exist_ok=True)
        self.spool = Spool(sim.file(SPOOL) if sim.out is not None else None, "ledger spool")
        self.agg = Spool(sim.file(AGG_SPOOL) if sim.out is not None else None, "aggregates spool")
        self.agg_days = 0  # days whose aggregates are on the aggregates spool
        self.ledger_rows = 0
        # active friendships (in a partitioned run, those whose lower end is on this rank)
        self.active_edges = (
            sim.graph.active_edges() if sim.part is None else sim.part.lower_edges(sim.graph)
        )
        # edge ends of each cell at the start (every friendship of its agents; cut ones
        # stay in the graph, inactive)
        self.friend_ends0 = cell_degrees(sim.graph, pop.region, pop.attrs, N_GROUPS, self.n_cells)

    def _groups(self, ng: int) -> None:
        """Integer counts of ``ng`` groups of chunks (one a thread, so fewer to clear and
        add up than one a chunk)."""
        ng = max(1, min(ng, N_CHUNKS))
        self._counts = np.zeros((ng, self.n_cells, N_METRICS), np.int32)
        self._hist = np.zeros((ng, N_GROUPS, self.nbins), np.int32)
        self._svct = np.zeros((ng, N_SERVICES, len(TIERS), len(STATUSES), 4), np.int32)

    def cell_of(self, agents: np.ndarray | slice = slice(None)) -> np.ndarray:
        """The cell (region x group) of ``agents`` (all agents by default)."""
        pop = self.sim.pop
        return pop.region[agents].astype(np.int64) * N_GROUPS + pop.column("group", agents)

    def record(self, day: int) -> None:
        s = self.sim
        st, d, pop = s.state, s.day, s.pop
        if self._counts.shape[0] != min(threads(), N_CHUNKS):
            self._groups(threads())
        for a in (self._counts, self._ssum, self._hist, self._svct):
            a.fill(0)
        deltas = s.params.deltas[day]
        parallel_for(
            record_kernel, self._counts.shape[0], pop.region, pop.attrs, pop.key,
            pop.adult_start, pop.adult_count, d.true_ev, d.obs, d.court, d.lst, d.posts,
            d.svc_req, d.svc_out, st.lflags, st.scored, st.score, st.tier, self.lo,
            self.nbins, s.base, s.n_total, self._counts, self._ssum, self._hist, self._svct,
            self._active, self._nactive, self._rows[1:], grain=AGENT_GRAIN, work=s.n,
        )  # fmt: skip
        counts = self._counts.sum(axis=0, dtype=np.int32)
        # misidentified events count where they land
        if d.false_target.size:
            tc = self.cell_of(d.false_target)
            k = d.false_type.astype(np.int64) - SMOKING_IN_PUBLIC
            np.add.at(counts, (tc, M_OBS + SMOKING_IN_PUBLIC + k), 1)
            np.add.at(counts, (tc, M_MISID + k), 1)
        if d.svc_more.size:  # retries, switches and forgone requests, by cell
            counts[:, M_SVX : M_SVX + d.svc_more.shape[1]] += d.svc_more.astype(np.int32)
        if d.cut_cutter.size or d.cut_other.size:
            cutter = self.cell_of(d.cut_cutter)
            other = self.cell_of(d.cut_other)
            np.add.at(counts[:, M_NET], cutter, 1)
            np.add.at(counts[:, M_NET + 1], cutter, 1)
            np.add.at(counts[:, M_NET + 1], other, 1)
            self.active_edges -= int(d.cut_lower.size)
        self.cells[day] = counts
        self.score_sum[day] = self._ssum.sum(axis=0)
        self._hist.sum(axis=0, dtype=np.int32, out=self.hist[day])
        self._svct.sum(axis=0, dtype=np.int32, out=self.svc[day])
        self.edges_active[day] = self.active_edges
        if s.record_ledger:
            # the day's rows in agent order (each chunk from where the ones before it end),
            # then the misidentified events
            args = (
                self._active, self._nactive, day, d.obs, d.court, d.lst, d.svc_req,
                d.svc_out, st.scored, st.score, st.lflags, st.case, *pop.parent_args(),
                deltas, s.base, s.n_total,
            )  # fmt: skip
            offsets = np.cumsum(self._rows)
            ends = np.zeros(N_CHUNKS, np.int64)
            out = np.zeros(int(offsets[-1]) + d.false_target.shape[0], LEDGER_DTYPE)
            # (a row costs about what a dozen agents of a day's pass do)
            parallel_for(
                ledger_fill, N_CHUNKS, offsets, *args, out, ends,
                grain=max(1, AGENT_GRAIN // 12), work=int(self._nactive.sum()),
            )  # fmt: skip
            if not np.array_equal(ends, offsets[1:]):
                raise AssertionError("record: the ledger rows written differ from those counted")
            _ledger_false(
                int(offsets[-1]), day, st.scored, st.score, deltas, d.false_target,
                d.false_type, d.false_source, out,
            )  # fmt: skip
            cap, most = self._active.shape[0] // N_CHUNKS, int(self._nactive.max())
            if most > cap and cap < s.n // ACTIVE_MOST // N_CHUNKS:  # room for tomorrow
                room = min(most + most // 4, s.n // ACTIVE_MOST // N_CHUNKS)
                self._active = np.zeros(N_CHUNKS * room, np.int32)
            self.spool.append(out.data.cast("B"))  # (no copy into bytes)
            self.ledger_rows += out.shape[0]

    ARRAYS = ("cells", "score_sum", "hist", "svc", "edges_active")

    def sync(self, days: int) -> dict[str, int | str]:
        """Append the aggregates of the days not yet spooled (up to ``days``), compressed,
        flush both spools to disk, and say what a checkpoint must record of them."""
        if days > self.agg_days:
            a = self.agg_days
            body = zlib.compress(
                b"".join(getattr(self, k)[a:days].tobytes() for k in self.ARRAYS), 1
            )
            self.agg.append(np.array([a, days, len(body)], np.int64).tobytes() + body)
            self.agg_days = days
        rows = self.spool.sync()
        agg = self.agg.sync()
        return {
            "ledger_bytes": rows[0],
            "ledger_sha256": rows[1],
            "aggregates_bytes": agg[0],
            "aggregates_sha256": agg[1],
            "aggregates_days": days,
        }

    def restore(self, ck: dict) -> None:
        """Continue from what a checkpoint recorded of the spools (see :meth:`sync`); a
        spool that is missing, shorter or different is refused."""
        self.spool.restore(int(ck["ledger_bytes"]), str(ck["ledger_sha256"]))
        self.ledger_rows = self.spool.size // LEDGER_DTYPE.itemsize
        self.agg.restore(int(ck["aggregates_bytes"]), str(ck["aggregates_sha256"]))
        b = self.agg.read(0, self.agg.size)
        pos = 0
        while pos < len(b):
            a, d, n = np.frombuffer(b, np.int64, 3, pos)
            body = zlib.decompress(b[pos + 24 : pos + 24 + int(n)])
            off = 0
            for k in self.ARRAYS:
                dest = getattr(self, k)[a:d]
                dest[...] = np.frombuffer(body, dest.dtype, dest.size, off).reshape(dest.shape)
                off += dest.nbytes
            pos += 24 + int(n)
        self.agg_days = int(ck["aggregates_days"])

    def aggregates(self) -> Aggregates:
        return Aggregates(
            self.cells,
            self.score_sum,
            self.hist,
            self.svc,
            self.edges_active,
            self.friend_ends0,
            self.lo,
            self.nbins,
        )

    def ledger_for(self, keep: np.ndarray, chunk: int = 1 << 22) -> np.ndarray:
        """Ledger rows of the agents where ``keep`` is true, in day order."""
        parts = [np.zeros(0, LEDGER_DTYPE)]
        size = LEDGER_DTYPE.itemsize
        for start in range(0, self.ledger_rows, chunk):
            n = min(chunk, self.ledger_rows - start)
            r = np.frombuffer(self.spool.read(start * size, n * size), LEDGER_DTYPE)
            parts.append(r[keep[r["agent"]]])
        return np.concatenate(parts)

    def close(self, remove: bool = True) -> None:
        """Close the spools (and remove them: once the run directory is complete)."""
        self.spool.close(remove)
        self.agg.close(remove)
