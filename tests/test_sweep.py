"""Sweeps: rows equal the same runs made one by one, resumption, dying workers, MPI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import sweep_helpers

from credsim import Sim
from credsim.errors import CredsimError
from credsim.partition import mpiexec
from credsim.sweep import MEASURES, plan, run_sweep, sweep

SMALL = {"agents": 3000, "days": 20}
GRID = ["score.association_weight=0,0.6", "behave.post_rate=0.1,0.4"]


def test_grid_rows_equal_runs_made_one_by_one(tmp_path):
    df = sweep("as-reported", GRID, replicates=2, seed=5, out=tmp_path / "s", workers=2, **SMALL)
    assert len(df) == 8 and (df["status"] == "ok").all()
    assert df["seed"].tolist() == [5, 6] * 4
    for r in df.to_dict("records"):
        w, p = r["score.association_weight"], r["behave.post_rate"]
        sets = [f"score.association_weight={w}", f"behave.post_rate={p}"]
        s = Sim("as-reported", seed=int(r["seed"]), overrides=sets, **SMALL).run().summary()
        for m in MEASURES:
            assert r[m] == s[m], (m, r[m], s[m])
    # the measures move with the varied values (posts follow the post rate)
    assert df.groupby("behave.post_rate")["posts_last_day"].mean().is_monotonic_increasing
    meta = json.loads((tmp_path / "s" / "sweep.json").read_text())
    assert meta["status"] == "complete" and meta["points"] == [
        [0.0, 0.1],
        [0.0, 0.4],
        [0.6, 0.1],
        [0.6, 0.4],
    ]


def test_schedule_value_and_ranges():
    p = plan(
        "as-reported", ["behave.post_rate=0.1:0.3:3", "observe.misid=0.001:0.1:3:log"], **SMALL
    )
    assert [pt[0] for pt in p.meta["points"][::3]] == pytest.approx([0.1, 0.2, 0.3])
    assert [pt[1] for pt in p.meta["points"][:3]] == pytest.approx([0.001, 0.01, 0.1])
    # an integer key takes whole numbers; a schedule's I-th value is a factor of its own
    sw = plan("as-reported", ["listing.due_process=false,true"], **SMALL)
    assert [t["scenario"]["listing"]["due_process"] for t in sw.tasks] == [False, True]
    assert [t["row"]["listing.due_process"] for t in sw.tasks] == [0.0, 1.0]
    q = plan("as-reported", ["run.days=10,20.4"], agents=1000)
    assert [t["scenario"]["run"]["days"] for t in q.tasks] == [10, 20]
    sched = {"score.association_weight": {"days": [0, 10], "values": [0.1, 0.2]}}
    r = plan(
        {"score": {"association_weight": sched["score.association_weight"]}},
        ["score.association_weight[1]=0.5,0.7"],
        **SMALL,
    )
    got = [t["scenario"]["score"]["association_weight"] for t in r.tasks]
    assert got == [{"days": [0, 10], "values": [0.1, 0.5]}, {"days": [0, 10], "values": [0.1, 0.7]}]


@pytest.mark.parametrize(
    "vary, design, msg",
    [
        (["score.nope=1,2"], "grid", "--vary score.nope: not a scenario parameter"),
        (["score.association_weight=0:1"], "grid", "a grid takes values"),
        (["score.association_weight=0:1:5"], "lhs", "--design lhs takes a range lo:hi"),
        (["observe.misid=0:0.1:log"], "morris", "a log range needs lo above 0"),
        (["score.association_weight=0,x"], "grid", "'x' is not a number"),
        (["observe.misid=0.5,2"], "grid", "sweep point 1 (observe.misid=2.0): "),
        (["score.association_weight[0]=1,2"], "grid", "is not a schedule"),
        (["score.scored=1,2"], "grid", "not a numeric parameter or a switch"),
        (["listing.due_process=yes"], "grid", "a switch takes true, false, 1 or 0"),
        (["listing.due_process=0:1"], "lhs", "a switch is varied on a grid only"),
        (["score.association_weight=0:1"], "sobol", "needs --samples"),
    ],
)
def test_bad_input_is_one_line(vary, design, msg):
    with pytest.raises(CredsimError) as e:
        plan("as-reported", vary, design=design, **SMALL)
    assert msg in str(e.value) and "\n" not in str(e.value)


def test_resumption_skips_exactly_the_finished_runs(tmp_path, monkeypatch):
    log = tmp_path / "log"
    monkeypatch.setenv("SWEEP_TEST_LOG", str(log))
    out = tmp_path / "s"
    p = plan("as-reported", GRID, replicates=2, **SMALL)

    def stop_after_3(done, total, rate):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(p, out, workers=1, progress=stop_after_3, work=sweep_helpers.logged)
    first = pd.read_parquet(out / "sweep.parquet")
    assert len(first) == 3 and json.loads((out / "sweep.json").read_text())["status"] == "running"
    started = log.read_text().split("\n")
    log.unlink()
    seen = []
    df = run_sweep(
        p, out, workers=2, work=sweep_helpers.logged, on_start=lambda d, t: seen.append((d, t))
    )
    assert seen == [(3, 8)]
    ran = sorted(tuple(map(int, x.split())) for x in log.read_text().split("\n") if x)
    done_before = set(zip(first["point"], first["replicate"]))
    assert len(ran) == 5 and not set(ran) & done_before
    assert len(started) >= 3
    assert len(df) == 8 and (df["status"] == "ok").all()
    # the finished rows are kept as they were (their wall times too)
    pd.testing.assert_frame_equal(df.iloc[:0], first.iloc[:0], check_dtype=True)
    kept = df.set_index(["point", "replicate"]).loc[sorted(done_before)]
    assert (
        kept["wall_s"].to_numpy()
        == first.set_index(["point", "replicate"]).loc[sorted(done_before)]["wall_s"].to_numpy()
    ).all()
    # a finished sweep is refused, another design in the same directory too
    with pytest.raises(CredsimError, match="holds this sweep, finished: use --force"):
        run_sweep(p, out)
    q = plan("as-reported", GRID, replicates=3, **SMALL)
    with pytest.raises(CredsimError, match=r"holds another sweep \(its seeds differ\)"):
        run_sweep(q, out)
    again = run_sweep(p, out, force=True, workers=2)
    assert np.array_equal(again[MEASURES].to_numpy(), df[MEASURES].to_numpy())


def test_a_dying_worker_fails_only_its_run(tmp_path):
    p = plan("as-reported", ["behave.post_rate=0.1,0.2,0.3"], **SMALL)
    df = run_sweep(p, tmp_path / "a", workers=2, work=sweep_helpers.die_once)
    assert (df["status"] == "ok").all()
    assert df["attempts"].tolist() == [1, 2, 1]
    df = run_sweep(p, tmp_path / "b", workers=2, work=sweep_helpers.die_always)
    assert df["status"].tolist() == ["ok", "failed", "ok"]
    assert "worker process died" in df["error"][1] and df["attempts"][1] == 2
    assert np.isnan(df.loc[1, MEASURES].to_numpy(np.float64)).all()
    meta = json.loads((tmp_path / "b" / "sweep.json").read_text())
    assert meta["status"] == "failed runs" and meta["failed"] == 1


def _mpiexec() -> str | None:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None
    return mpiexec()


@pytest.mark.skipif(
    _mpiexec() is None, reason="mpi4py or mpiexec missing (pip install 'credsim[mpi]')"
)
def test_mpi_executor_gives_the_same_table(tmp_path):
    args = [
        "sweep",
        "as-reported",
        "--vary",
        "behave.post_rate=0.1,0.3",
        "--vary",
        "observe.misid=0.01,0.2",
        "--replicates",
        "2",
        "--agents",
        "3000",
        "--days",
        "20",
        "--quiet",
    ]
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    cli = [sys.executable, "-m", "credsim.cli"]
    a = subprocess.run(
        cli + args + ["--out", str(tmp_path / "p")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert a.returncode == 0, a.stderr
    b = subprocess.run(
        [_mpiexec(), "-n", "3"] + cli + args + ["--executor", "mpi", "--out", str(tmp_path / "m")],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert b.returncode == 0, b.stderr + b.stdout
    pa = pd.read_parquet(tmp_path / "p" / "sweep.parquet").drop(columns="wall_s")
    pm = pd.read_parquet(tmp_path / "m" / "sweep.parquet").drop(columns="wall_s")
    pd.testing.assert_frame_equal(pa, pm)
    assert json.loads((tmp_path / "m" / "sweep.json").read_text())["executor"] == "mpi"
    # without mpiexec, --executor mpi is one clear line
    c = subprocess.run(
        cli + args + ["--executor", "mpi", "--out", str(tmp_path / "x")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert c.returncode == 2 and "needs at least 2 MPI processes" in c.stderr


@pytest.mark.parametrize("design, samples, index", [("morris", 4, "mu_star"), ("sobol", 8, "ST")])
def test_indices_recover_an_inert_and_a_dominant_parameter(tmp_path, design, samples, index):
    """Posts follow the post rate; without due process, p_overturn_rightful does
    nothing (with common random numbers its runs are identical: index 0)."""
    from credsim import sensitivity

    vary = [
        "behave.post_rate=0.05:0.5",
        "behave.critical=0.01:0.2",
        "listing.p_overturn_rightful=0:1",
    ]
    sweep(
        "as-reported",
        vary,
        design=design,
        samples=samples,
        agents=2000,
        days=10,
        out=tmp_path / "s",
        workers=2,
    )
    sens = sensitivity(tmp_path / "s")
    ix = sens.indices[sens.indices["measure"] == "posts_last_day"].set_index("factor")[index]
    assert ix.idxmax() == "behave.post_rate"
    tol = 1e-9 if design == "morris" else 0.02
    assert abs(ix["listing.p_overturn_rightful"]) < tol
    assert ix["behave.post_rate"] > 10 * abs(ix["listing.p_overturn_rightful"]) + 1e-12
    out = sens.save(tmp_path / "s")
    assert out.name == "sensitivity.html" and (tmp_path / "s" / "indices.csv").is_file()


def test_kept_runs_are_run_directories(tmp_path):
    from credsim import load_run

    df = sweep(
        "as-reported",
        ["behave.post_rate=0.1,0.3"],
        out=tmp_path / "s",
        keep_runs=True,
        workers=2,
        **SMALL,
    )
    assert df["run_dir"].tolist() == ["runs/p0000-r0", "runs/p0001-r0"]
    for r in df.to_dict("records"):
        res = load_run(tmp_path / "s" / r["run_dir"])
        assert res.summary()["posts_last_day"] == r["posts_last_day"]
        assert res.meta["scenario"]["behave"]["post_rate"] == r["behave.post_rate"]


def test_the_commands_sweep_and_sensitivity(tmp_path):
    from typer.testing import CliRunner

    from credsim.cli import app

    out = tmp_path / "s"
    args = [
        "sweep",
        "as-reported",
        "--vary",
        "behave.post_rate=0.1,0.3",
        "--replicates",
        "2",
        "--agents",
        "2000",
        "--days",
        "10",
        "--out",
        str(out),
        "--quiet",
    ]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "4 runs" in r.output and (out / "sweep.parquet").is_file()
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2 and "holds this sweep, finished: use --force" in r.output
    r = CliRunner().invoke(app, ["sensitivity", str(out)])
    assert r.exit_code == 0, r.output
    assert "posts on the last day" in r.output and (out / "sensitivity.html").is_file()
    r = CliRunner().invoke(app, ["sensitivity", str(out)])
    assert r.exit_code == 2 and "already holds an analysis" in r.output
    r = CliRunner().invoke(
        app, ["sweep", "as-reported", "--vary", "nope.key=1,2", "--out", str(tmp_path / "x")]
    )
    assert r.exit_code == 2 and "--vary nope.key: not a scenario parameter" in r.output
