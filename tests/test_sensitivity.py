"""Sensitivity of a sweep: sweeps built in memory from a known function (in the format of
``credsim sweep``), sampled with SALib as the sweep samples, and the indices, curves,
notes and files that their analysis gives."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from credsim.errors import CredsimError
from credsim.report import HEADLINE
from credsim.sensitivity import CONSTANT, sensitivity

KEYS = ["behave.x0", "score.x1", "observe.x2"]
LINEAR = "listing_entries"  # 10 x0 + 0 x1 + 4 x2 (+ noise)
FLAT = "score_mean_end"  # 500 everywhere
NOISY = "trains_denied"  # 0.01 x0 + noise


def model(x: np.ndarray, logs: list[bool]) -> np.ndarray:
    """y = 10 x0 + 0 x1 + 4 x2 with each factor at its position in [0, 1] (log10 for
    log factors: on [1, 100], 2 log10 x2 / 2)."""
    u = np.array(x, np.float64)
    for j, lg in enumerate(logs):
        if lg:
            u[:, j] = np.log10(u[:, j]) / 2.0
    return 10 * u[:, 0] + 0 * u[:, 1] + 4 * u[:, 2]


def make_sweep(
    design: str,
    samples: int = 16,
    replicates: int = 3,
    noise: float = 0.05,
    log_x2: bool = False,
    integer_x1: bool = False,
    grid_values: int = 5,
    seed: int = 1,
) -> tuple[dict, pd.DataFrame]:
    """A complete sweep (sweep.json as a dict, sweep.parquet as a frame) of
    :func:`model`, with replicate noise: a shift shared by every point of a replicate
    (common random numbers) and a part of its own for each run."""
    los = [0.0, 0.0, 1.0 if log_x2 else 0.0]
    his = [1.0, 10.0 if integer_x1 else 1.0, 100.0 if log_x2 else 1.0]
    logs = [False, False, log_x2]
    ints = [False, integer_x1, False]
    factors: list[dict] = []
    if design == "grid":
        vals = [list(np.linspace(lo, hi, grid_values)) for lo, hi in zip(los, his)]
        if log_x2:
            vals[2] = list(np.logspace(0, 2, grid_values))
        points = np.array(list(itertools.product(*vals)), np.float64)
        for j, key in enumerate(KEYS):
            factors.append(
                {
                    "key": key,
                    "spec": f"{los[j]}:{his[j]}:{grid_values}",
                    "lo": min(vals[j]),
                    "hi": max(vals[j]),
                    "log": logs[j],
                    "integer": ints[j],
                    "values": vals[j],
                }
            )
    else:
        from SALib.sample import latin, sobol
        from SALib.sample import morris as morris_sample

        bounds = [
            [math.log10(lo), math.log10(hi)] if lg else [lo, hi]
            for lo, hi, lg in zip(los, his, logs)
        ]
        problem = {"num_vars": 3, "names": KEYS, "bounds": bounds}
        if design == "morris":
            x = morris_sample.sample(problem, N=samples, num_levels=4, seed=seed)
        elif design == "sobol":
            x = sobol.sample(problem, samples, calc_second_order=False, seed=seed)
        else:
            x = latin.sample(problem, samples, seed=seed)
        points = np.array(x, np.float64)
        for j in range(3):
            if logs[j]:
                points[:, j] = 10 ** points[:, j]
            if ints[j]:
                points[:, j] = np.round(points[:, j])
        for j, key in enumerate(KEYS):
            factors.append(
                {
                    "key": key,
                    "spec": f"{los[j]}:{his[j]}",
                    "lo": los[j],
                    "hi": his[j],
                    "log": logs[j],
                    "integer": ints[j],
                }
            )
    rng = np.random.default_rng(seed)
    P, R = len(points), replicates
    base = model(points, logs)
    shift = rng.normal(0, noise, R)
    rows = []
    for r in range(R):
        own = rng.normal(0, noise, P)
        big = rng.normal(0, 1.0, P)
        for i in range(P):
            rows.append(
                {
                    "point": i,
                    "replicate": r,
                    "seed": seed + r,
                    **{k: points[i, j] for j, k in enumerate(KEYS)},
                    LINEAR: base[i] + shift[r] + own[i],
                    FLAT: 500.0,
                    NOISY: 0.01 * points[i, 0] + big[i],
                    "wall_s": 1.0,
                    "status": "ok",
                    "error": "",
                    "attempts": 1,
                }
            )
    runs = pd.DataFrame(rows)
    for c in ("point", "replicate", "seed", "attempts"):
        runs[c] = runs[c].astype("int64")
    meta = {
        "kind": "credsim sweep",
        "version": "0.1.0",
        "command": f"credsim sweep as-reported --design {design}",
        "scenario": "as-reported",
        "overrides": [],
        "agents": 1000,
        "days": 30,
        "seed": seed,
        "replicates": R,
        "seeds": [seed + r for r in range(R)],
        "design": design,
        "samples": None if design == "grid" else samples,
        "levels": 4 if design == "morris" else None,
        "factors": factors,
        "points": points.tolist(),
        "measures": [LINEAR, FLAT, NOISY],
        "status": "complete",
        "runs": P * R,
        "done": P * R,
        "failed": 0,
        "wall_s": 1.0 * P * R,
    }
    return meta, runs


def write_sweep(path, meta: dict, runs: pd.DataFrame):
    path.mkdir(parents=True, exist_ok=True)
    (path / "sweep.json").write_text(json.dumps(meta))
    runs.to_parquet(path / "sweep.parquet", index=False)
    return path


def rows_of(s, measure: str) -> pd.DataFrame:
    return s.indices[s.indices["measure"] == measure].set_index("factor")


# ------------------------------------------------------------------------------------


def test_morris_mu_star_ranks_the_factors_with_a_log_and_a_whole_number_factor():
    s = sensitivity(make_sweep("morris", samples=12, log_x2=True, integer_x1=True))
    t = rows_of(s, LINEAR)
    assert (t["method"] == "morris").all()
    mu = t["mu_star"]
    # elementary effects over whole ranges: 10 for x0, 4 for x2 (log10 range), 0 for x1
    assert abs(mu[KEYS[0]] - 10) < 0.5 and abs(mu[KEYS[2]] - 4) < 0.5, mu
    assert mu[KEYS[1]] < 0.3, mu
    assert list(t.sort_values("rank").index) == [KEYS[0], KEYS[2], KEYS[1]]
    assert t["rank"].tolist() == [1, 3, 2]
    assert (t["importance"] == t["mu_star"]).all()
    assert t["mu_star_conf"].notna().all() and (t["mu_star_conf"] >= 0).all()
    assert t[["S1", "S1_conf", "ST", "ST_conf"]].isna().all().all()
    # the noise is small next to the spread of the points
    assert 0 < t["noise_share"].iloc[0] < 0.05
    assert (t["noise_share"] == t["noise_share"].iloc[0]).all()
    # binned response: Morris levels, in natural units, for the log factor too
    c = s.curves[(s.curves["measure"] == LINEAR) & (s.curves["factor"] == KEYS[2])]
    assert np.allclose(c["value"], [1, 10 ** (2 / 3), 10 ** (4 / 3), 100])
    # the other factors are not balanced over a few trajectories: only roughly rising
    assert c["mean"].iloc[-1] - c["mean"].iloc[0] > 2
    assert any("nominal step" in n for n in s.notes), s.notes
    text = repr(s)
    assert "morris" in text and LINEAR in text and "x2" in text


def test_sobol_total_indices_rank_the_factors():
    s = sensitivity(make_sweep("sobol", samples=128))
    t = rows_of(s, LINEAR)
    st, s1 = t["ST"], t["S1"]
    assert st[KEYS[0]] > st[KEYS[2]] > st[KEYS[1]], st
    assert abs(st[KEYS[1]]) < 0.02 and abs(s1[KEYS[1]]) < 0.05, (st, s1)
    # variance shares of 10 x0 + 4 x2 with uniform inputs: 100/116 and 16/116
    assert abs(st[KEYS[0]] - 100 / 116) < 0.1 and abs(st[KEYS[2]] - 16 / 116) < 0.05, st
    assert (t["method"] == "sobol").all() and t["ST_conf"].notna().all()
    assert t[["mu", "mu_star"]].isna().all().all()


def test_rbd_fast_on_a_latin_hypercube_finds_the_dominant_factor():
    s = sensitivity(make_sweep("lhs", samples=200, integer_x1=True))
    t = rows_of(s, LINEAR)
    assert (t["method"] == "rbd_fast").all()
    s1 = t["S1"]
    assert s1.idxmax() == KEYS[0] and abs(s1[KEYS[0]] - 100 / 116) < 0.1, s1
    assert s1[KEYS[2]] > s1[KEYS[1]] and abs(s1[KEYS[1]]) < 0.1, s1
    assert t["ST"].isna().all() and t["S1_conf"].notna().all()
    assert s.notes == []  # 200 points: SALib's 10 harmonics
    few = sensitivity(make_sweep("lhs", samples=20))
    assert any("M = 2 harmonics" in n and "unreliable" in n for n in few.notes), few.notes
    # binned response: 5 quantile bins, rising for x0 and flat for x1
    c = s.curves[s.curves["measure"] == LINEAR]
    c0, c1 = c[c["factor"] == KEYS[0]], c[c["factor"] == KEYS[1]]
    assert len(c0) == 5 and c0["mean"].is_monotonic_increasing
    assert c0["n_points"].sum() == 200 and (c0["replicates"] == 3).all()
    assert c1["mean"].max() - c1["mean"].min() < 2.0


def test_grid_partial_dependence_is_linear_with_its_slope_and_intervals_follow_the_noise():
    quiet = sensitivity(make_sweep("grid", noise=0.05))
    loud = sensitivity(make_sweep("grid", noise=1.0))
    one = sensitivity(make_sweep("grid", noise=0.05, replicates=1))
    for s in (quiet, loud):
        c = s.curves[(s.curves["measure"] == LINEAR) & (s.curves["factor"] == KEYS[0])]
        assert list(c["value"]) == [0, 0.25, 0.5, 0.75, 1.0]
        assert (c["n_points"] == 25).all() and (c["replicates"] == 3).all()
        slope, icpt = np.polyfit(c["value"], c["mean"], 1)
        resid = c["mean"] - (slope * c["value"] + icpt)
        assert abs(slope - 10) < 0.1 * (1 + 10 * (s is loud)), slope
        assert np.abs(resid).max() < 0.05 * (1 + 20 * (s is loud))
        assert ((c["lo"] <= c["mean"]) & (c["mean"] <= c["hi"])).all()
        # the inert factor's curve is flat
        f = s.curves[(s.curves["measure"] == LINEAR) & (s.curves["factor"] == KEYS[1])]
        assert abs(np.polyfit(f["value"], f["mean"], 1)[0]) < 0.2 * (1 + 10 * (s is loud))
    # by hand: the mean at x0 = 0.5 replicate by replicate, then a t interval over the three
    meta, runs = make_sweep("grid", noise=1.0)
    at = runs[runs[KEYS[0]] == 0.5].groupby("replicate")[LINEAR].mean().to_numpy()
    half = scipy.stats.t.ppf(0.975, 2) * at.std(ddof=1) / math.sqrt(3)
    c = loud.curves[(loud.curves["measure"] == LINEAR) & (loud.curves["factor"] == KEYS[0])]
    row = c[c["value"] == 0.5].iloc[0]
    assert math.isclose(row["mean"], at.mean()) and math.isclose(row["hi"] - row["mean"], half)
    width = {}
    for name, s in (("quiet", quiet), ("loud", loud)):
        c = s.curves[s.curves["measure"] == LINEAR]
        width[name] = float((c["hi"] - c["lo"]).mean())
    assert 0 < width["quiet"] * 5 < width["loud"], width
    c1 = one.curves[one.curves["measure"] == LINEAR]
    assert c1["lo"].isna().all() and c1["hi"].isna().all() and (c1["replicates"] == 1).all()
    assert one.indices["noise_share"].isna().all()
    # main-effect shares: 100/116, 0, 16/116 on a full grid of a sum of main effects
    t = rows_of(quiet, LINEAR)
    assert (t["method"] == "grid main effect").all()
    assert np.allclose(t["S1"], [100 / 116, 0, 16 / 116], atol=0.01), t["S1"]
    assert t["rank"].tolist() == [1, 3, 2]


def test_noise_share_is_the_share_between_replicates():
    s = sensitivity(make_sweep("grid", noise=0.05))
    ns = s.indices.groupby("measure")["noise_share"].first()
    assert ns[LINEAR] < 0.01 and ns[NOISY] > 0.9 and ns[FLAT] == 0, ns


@pytest.mark.parametrize("design", ["morris", "sobol", "lhs", "grid"])
def test_a_constant_measure_gives_zero_indices_and_says_so(design):
    s = sensitivity(make_sweep(design, samples=16 if design != "lhs" else 40), measures=[FLAT])
    t = rows_of(s, FLAT)
    own = {
        "morris": ["mu", "mu_star", "mu_star_conf", "sigma"],
        "sobol": ["S1", "S1_conf", "ST", "ST_conf"],
        "lhs": ["S1", "S1_conf"],
        "grid": ["S1"],
    }[design]
    assert (t[own] == 0).all().all(), t
    assert (t["importance"] == 0).all()
    assert (t["note"] == CONSTANT).all()
    assert t["rank"].isna().all()
    assert (s.curves["mean"] == 500).all()
    assert list(s.indices["measure"].unique()) == [FLAT]


def test_an_incomplete_sampled_sweep_is_refused_in_one_line(tmp_path):
    meta, runs = make_sweep("morris", samples=8)
    runs = runs.drop(index=[5]).copy()
    runs.loc[runs.index[0], "status"] = "failed"
    runs.loc[runs.index[0], "error"] = "boom"
    runs.loc[runs.index[0], LINEAR] = np.nan
    d = write_sweep(tmp_path / "sw", meta, runs)
    with pytest.raises(CredsimError) as e:
        sensitivity(d)
    msg = str(e.value)
    assert len(msg.splitlines()) == 1, msg
    total = len(meta["points"]) * 3
    assert str(d) in msg and f"1 of {total} runs missing and 1 failed" in msg, msg
    assert "needs every point" in msg and "Morris" in msg and "Sobol" in msg, msg
    # the same sweep complete is read from its directory
    meta, runs = make_sweep("morris", samples=8)
    s = sensitivity(write_sweep(tmp_path / "ok", meta, runs), measures=LINEAR)
    assert s.path == tmp_path / "ok" and list(s.indices["measure"].unique()) == [LINEAR]


def test_an_incomplete_grid_uses_the_runs_there_are():
    meta, runs = make_sweep("grid", noise=0.05)
    runs = runs[~((runs["point"] < 10) & (runs["replicate"] == 2))].copy()
    s = sensitivity((meta, runs))
    t = rows_of(s, LINEAR)
    assert (
        t["note"]
        .str.contains("incomplete grid (10 runs missing, 0 failed of 375)", regex=False)
        .all()
    )
    assert any("incomplete grid" in n for n in s.notes)
    assert abs(t["S1"][KEYS[0]] - 100 / 116) < 0.02
    c = s.curves[(s.curves["measure"] == LINEAR) & (s.curves["factor"] == KEYS[0])]
    assert (c["n_points"] == 25).all()  # every point keeps two replicates
    slope = np.polyfit(c["value"], c["mean"], 1)[0]
    assert abs(slope - 10) < 0.1


def test_unknown_measure_and_bad_design_are_one_line():
    meta, runs = make_sweep("grid", grid_values=2)
    with pytest.raises(CredsimError, match="no measure nope in the sweep"):
        sensitivity((meta, runs), measures=["nope"])
    with pytest.raises(CredsimError, match="design 'fancy'"):
        sensitivity(({**meta, "design": "fancy"}, runs))


def test_save_writes_the_page_tables_and_figures_and_refuses_a_second_time(tmp_path):
    meta, runs = make_sweep("morris", samples=8)
    d = write_sweep(tmp_path / "sw", meta, runs)
    (d / "figures").mkdir()
    (d / "figures" / "other.png").write_bytes(b"not ours")
    s = sensitivity(d)
    path = s.save()
    assert path == d / "sensitivity.html"
    for f in ("sensitivity.html", "indices.csv", "curves.csv", "sweep.json", "sweep.parquet"):
        assert (d / f).is_file(), f
    pngs = sorted(p.name for p in (d / "figures").glob("sensitivity-*.png"))
    # two measures vary (the constant one has no figure): importance and response each
    assert len(pngs) == 4, pngs
    assert all((d / "figures" / p).stat().st_size > 5000 for p in pngs)
    ind = pd.read_csv(d / "indices.csv")
    assert list(ind.columns) == list(s.indices.columns) and len(ind) == 9
    cur = pd.read_csv(d / "curves.csv")
    assert list(cur.columns) == [
        "measure",
        "factor",
        "value",
        "mean",
        "lo",
        "hi",
        "n_points",
        "replicates",
    ]
    html = path.read_text()
    assert "<title>Sensitivity of as-reported</title>" in html
    for m in meta["measures"]:
        assert HEADLINE[m][0] in html, m
    assert "constant over the design" in html and "mostly noise" in html
    assert "<script src=" not in html  # plotly.js inline: opens offline
    for p in pngs:
        assert f'href="figures/{p}"' in html
    with pytest.raises(CredsimError) as e:
        s.save()
    assert len(str(e.value).splitlines()) == 1 and "already holds" in str(e.value)
    s.save(force=True)
    assert (d / "figures" / "other.png").read_bytes() == b"not ours"
    # an analysis of a sweep given in memory needs a directory
    with pytest.raises(CredsimError, match="give out="):
        sensitivity((meta, runs)).save()
