"""A run partitioned among MPI processes gives the tables of the same run in one process."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from credsim import Sim
from credsim.errors import CredsimError
from credsim.partition import mpiexec, region_bounds
from credsim.population import region_layout
from credsim.scenario import resolve

TABLES = ("daily", "groups", "services", "score_hist", "agents", "ledger")


def _mpiexec() -> str | None:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None
    return mpiexec()


needs_mpi = pytest.mark.skipif(
    _mpiexec() is None,
    reason="mpi4py or mpiexec missing (MPICH from PyPI: pip install 'credsim[mpi]')",
)


def test_region_bounds_are_region_boundaries_near_equal_shares():
    scn = resolve("as-reported", None, 100_000, 10, 1)
    _, start, _, _ = region_layout(scn.population, 100_000)
    for p in (1, 2, 3, 4, 8, 31):
        b = region_bounds(start, p)
        assert b[0] == 0 and b[-1] == 100_000 and np.all(np.diff(b) > 0)
        assert set(b.tolist()) <= set(start.tolist())
        if p <= 4:  # the largest region is under a tenth: shares stay near equal
            assert np.abs(np.diff(b) - 100_000 / p).max() < 0.1 * 100_000
    with pytest.raises(CredsimError, match="32 processes: .* at most 31 processes"):
        region_bounds(start, 32)


def _run(tmp: Path, name: str, procs: int, args: list[str]) -> subprocess.CompletedProcess:
    cli = [sys.executable, "-m", "credsim.cli", "run", *args, "--out", str(tmp / name), "--quiet"]
    cmd = cli if procs == 0 else [_mpiexec(), "-n", str(procs), *cli]
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)


def _hashes(run: Path) -> dict[str, str]:
    """A hash of each table's contents (its rows, in order, and columns)."""
    out = {}
    for t in TABLES:
        df = pd.read_parquet(run / f"{t}.parquet")
        h = hashlib.sha256(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
        h.update(",".join(df.columns).encode())
        out[t] = h.hexdigest()
    return out


@needs_mpi
@pytest.mark.parametrize("preset", ["as-reported", "court-list"])
def test_partitioned_runs_give_the_single_process_tables(tmp_path, preset):
    args = [preset, "--agents", "6000", "--days", "80", "--seed", "4"]
    r = _run(tmp_path, "one", 0, args)
    assert r.returncode == 0, r.stderr
    want = _hashes(tmp_path / "one")
    for p in (1, 2, 3, 4):
        r = _run(tmp_path, f"p{p}", p, args)
        assert r.returncode == 0, r.stderr + r.stdout
        assert _hashes(tmp_path / f"p{p}") == want, f"{p} processes"
        assert not (tmp_path / f"p{p}" / "ranks").exists()  # the ranks' files are gone


@needs_mpi
def test_what_crosses_ranks_is_exchanged_exactly(tmp_path):
    """Speech listings chill friends on other ranks, appeals strike false events (a push
    from the list phase), association is symmetric, thousands of friendships are cut
    across ranks: 3 processes still give the single-process tables."""
    args = ["as-reported", "--agents", "6000", "--days", "60", "--seed", "7"]
    for kv in (
        "observe.misid=0.3",
        "observe.court_delay=5",
        "observe.p_defamation_speaker=0.5",
        "observe.p_defamation_other=0.05",
        "observe.p_insincere=0.9",
        "listing.due_process=true",
        "listing.p_appeal=0.05",
        "score.association_weight=1",
        "score.association_symmetric=true",
        "score.deltas.traffic_violation=-150",
        "score.deltas.smoking_in_public=-150",
    ):
        args += ["--set", kv]
    r = _run(tmp_path, "one", 0, args)
    assert r.returncode == 0, r.stderr
    daily = pd.read_parquet(tmp_path / "one" / "daily.parquet")
    agents = pd.read_parquet(tmp_path / "one" / "agents.parquet")
    # the mechanisms that cross ranks happened
    assert daily["entries_speech"].sum() > 0 and (agents["chill"] < 1).sum() > 0
    assert daily["exits_appeal"].sum() > 0 and daily["entries_score"].sum() > 0
    assert daily["edges_cut"].sum() > 1000
    r = _run(tmp_path, "p3", 3, args)
    assert r.returncode == 0, r.stderr + r.stdout
    assert _hashes(tmp_path / "p3") == _hashes(tmp_path / "one")


@needs_mpi
def test_more_processes_than_regions_is_one_line(tmp_path):
    r = _run(
        tmp_path, "x", 2, ["as-reported", "--agents", "500", "--days", "2", "--set",
                           "population.single_region=Shanghai"],
    )  # fmt: skip
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert lines == [
        "error: 2 processes: a partitioned run gives each process whole regions, and this "
        "population has 1 region with agents (allowed: at most 1 process)"
    ]


def _manifest(run: Path) -> dict:
    import json

    with np.load(run / "checkpoint.npz") as z:
        return json.loads(bytes(z["meta"]).decode())


def _manifest_day(run: Path) -> int:
    try:
        return int(_manifest(run)["day_done"])
    except (OSError, ValueError, KeyError):
        return -1


def _start_until_day(cmd: list[str], run: Path, **kw: Any) -> subprocess.Popen:
    """Start ``cmd`` (one thread a process) and return once the run in ``run`` has a
    checkpoint of day 10 or later (or the command ended)."""
    import time

    p = subprocess.Popen(cmd, env=dict(os.environ, NUMBA_NUM_THREADS="1"), **kw)
    t = time.monotonic()
    while _manifest_day(run) < 10 and p.poll() is None and time.monotonic() - t < 600:
        time.sleep(0.05)
    return p


@needs_mpi
def test_a_killed_partitioned_run_resumes_to_the_same_tables(tmp_path):
    import signal

    args = ["as-reported", "--agents", "6000", "--days", "80", "--seed", "4"]
    cli = [sys.executable, "-m", "credsim.cli", "run", *args, "--checkpoint-every", "5"]
    run = tmp_path / "k"
    p = _start_until_day(
        [_mpiexec(), "-n", "3", *cli, "--out", str(run), "--quiet"],
        run,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    os.killpg(p.pid, signal.SIGKILL)  # every rank and the launcher, mid-run
    p.wait()
    day = _manifest_day(run)
    assert 10 <= day < 80 and not (run / "run.json").exists()
    slot = _manifest(run)["slot"]  # every rank's file of the checkpoint it names is there
    assert all((run / "ranks" / f"r{r:04d}.checkpoint-{slot}.npz").exists() for r in range(3))
    # resumed with another number of processes, or without mpiexec: one line, nothing lost
    for procs in (2, 0):
        r = _run_resume(run, procs)
        assert r.returncode == 2
        assert r.stderr.strip().splitlines() == [
            f"error: {run}: "
            + (
                "the run was partitioned among 3 processes; resume it with the same number "
                if procs
                else "a run partitioned among 3 processes: resume it with "
            )
            + f"{'(' if procs else ''}'mpiexec -n 3 credsim run --resume {run}'{')' if procs else ''}"
        ]
    r = _run_resume(run, 3)
    assert r.returncode == 0, r.stderr + r.stdout
    r = _run(tmp_path, "one", 0, args)
    assert r.returncode == 0, r.stderr
    assert _hashes(run) == _hashes(tmp_path / "one")
    # nothing of the ranks' files is left: the directory holds what one process leaves
    assert sorted(f.name for f in run.iterdir()) == sorted(
        f.name for f in (tmp_path / "one").iterdir()
    )


def _run_resume(run: Path, procs: int) -> subprocess.CompletedProcess:
    cli = [sys.executable, "-m", "credsim.cli", "run", "--resume", str(run), "--quiet"]
    cmd = cli if procs == 0 else [_mpiexec(), "-n", str(procs), *cli]
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)


@needs_mpi
def test_an_error_one_rank_meets_alone_is_one_line_naming_it(tmp_path):
    """Rank 1 alone runs under an address-space limit too small for its agents: it says
    so in one line naming it, and the job ends (its other rank does not hang)."""
    cli = [sys.executable, "-m", "credsim.cli", "run", "as-reported", "--agents", "3000000",
           "--days", "2", "--out", str(tmp_path / "x"), "--quiet"]  # fmt: skip
    script = 'if [ "${PMI_RANK:-0}" = 1 ]; then ulimit -v 1400000; fi; exec "$@"'
    r = subprocess.run(
        [_mpiexec(), "-n", "2", "sh", "-c", script, "sh", *cli],
        env=dict(os.environ, NUMBA_NUM_THREADS="1"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "error: rank 1: this process's 1,528,877 agents at mean degree 20 needs about"
    )
    assert "use more processes, fewer --agents (about" in lines[0]


@needs_mpi
def test_ctrl_c_stops_every_rank_at_the_same_day_with_a_checkpoint(tmp_path):
    import signal
    import time

    args = ["as-reported", "--agents", "6000", "--days", "200", "--seed", "4"]
    cli = [sys.executable, "-m", "credsim.cli", "run", *args, "--out", str(tmp_path / "c")]
    p = subprocess.Popen(
        [_mpiexec(), "-n", "3", *cli, "--quiet"],
        env=dict(os.environ, NUMBA_NUM_THREADS="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    t = time.monotonic()
    while not (tmp_path / "c" / "ranks").exists() and time.monotonic() - t < 600:
        time.sleep(0.05)
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)  # mpiexec passes it to every rank
    _, err = p.communicate(timeout=600)
    assert p.returncode == 130
    mine = [ln for ln in err.splitlines() if not ln.startswith("[mpiexec")]
    assert mine[0] == "stopping at the end of the day (Ctrl-C again to abort)..."
    assert len(mine) == 2 and mine[1].startswith("error: interrupted at the end of day ")
    assert mine[1].endswith(f"resume with 'mpiexec -n 3 credsim run --resume {tmp_path / 'c'}'")
    assert 0 < _manifest_day(tmp_path / "c") < 200
    r = _run_resume(tmp_path / "c", 3)
    assert r.returncode == 0, r.stderr + r.stdout
    r = _run(tmp_path, "one", 0, args)
    assert _hashes(tmp_path / "c") == _hashes(tmp_path / "one")


@needs_mpi
def test_a_rank_killed_mid_run_is_one_line_naming_it_and_the_run_resumes(tmp_path):
    """``credsim run --processes P`` starts mpiexec and watches the ranks: one killed
    from outside ends the run with one line naming it, and the run resumes to the
    single-process tables. (It is started with --force over a finished run: the
    finished run's run.json does not make the launcher take the run for complete.)"""
    import re
    import signal

    args = ["as-reported", "--agents", "6000", "--days", "80", "--seed", "4"]
    run = tmp_path / "k"
    # a finished run in the directory, which --force replaces: its run.json is not this
    # run's end
    Sim("as-reported", agents=500, days=2).run(out=run)
    cli = [sys.executable, "-m", "credsim.cli", "run", *args, "--processes", "3"]
    p = _start_until_day(
        [*cli, "--checkpoint-every", "5", "--out", str(run), "--quiet", "--force"],
        run,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pid = int((run / "ranks" / "r0001.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    out, err = p.communicate(timeout=600)
    assert p.returncode == 128 + signal.SIGKILL
    assert "BAD TERMINATION" not in out  # mpiexec's report is said in the one line
    (line,) = err.strip().splitlines()
    m = re.fullmatch(
        rf"error: rank 1 \(pid {pid}\) was killed by signal 9 \(SIGKILL\), which ended the "
        rf"run; the last checkpoint \(after day (\d+)\) is kept: resume with 'credsim run "
        rf"--processes 3 --resume {re.escape(str(run))}'",
        line,
    )
    assert m and int(m.group(1)) == _manifest_day(run) - 1, line
    r = subprocess.run(
        [sys.executable, "-m", "credsim.cli", "run", "--processes", "3", "--resume", str(run),
         "--quiet"],
        env=dict(os.environ, NUMBA_NUM_THREADS="1"), capture_output=True, text=True,
        timeout=900,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr + r.stdout
    r = _run(tmp_path, "one", 0, args)
    assert _hashes(run) == _hashes(tmp_path / "one")
