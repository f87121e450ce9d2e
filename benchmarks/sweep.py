"""A sweep against the same runs made one ``credsim run`` after another (not part of the
test run): as-reported on a grid of the association weight and the listing threshold,
every point with the same seeds, at the given size.

    python -m benchmarks.sweep                           # 200 runs of 100,000 x 365
    python -m benchmarks.sweep --points 5 --replicates 2 --agents 20000 --days 90

Prints the wall time and runs per minute of each way and checks that both give the
same measures (the sweep's rows against each run's run.json)."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

CLI = [sys.executable, "-m", "credsim.cli"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--points", type=int, default=10, help="values of each of the 2 factors")
    ap.add_argument("--replicates", type=int, default=2)
    ap.add_argument("--sequential", type=int, default=None, help="time only the first N runs")
    args = ap.parse_args()
    from credsim.sweep import MEASURES, cores

    n = args.points
    vary = [f"score.association_weight=0:2:{n}", f"listing.score_threshold=600:960:{n}"]
    size = ["--agents", str(args.agents), "--days", str(args.days)]
    runs = n * n * args.replicates
    tmp = Path(tempfile.mkdtemp(prefix="credsim-bench-sweep-"))
    try:
        cmd = CLI + ["sweep", "as-reported", "--replicates", str(args.replicates), "--quiet"]
        cmd += [x for v in vary for x in ("--vary", v)] + size + ["--out", str(tmp / "sweep")]
        t = time.perf_counter()
        subprocess.run(cmd, check=True)
        sweep_s = time.perf_counter() - t
        df = pd.read_parquet(tmp / "sweep" / "sweep.parquet")
        meta = json.loads((tmp / "sweep" / "sweep.json").read_text())
        keys = [f["key"] for f in meta["factors"]]
        todo = df if args.sequential is None else df.head(args.sequential)
        t = time.perf_counter()
        worst = 0.0
        for r in todo.to_dict("records"):
            out = tmp / "run"
            sets = [x for k in keys for x in ("--set", f"{k}={r[k]!r}")]
            subprocess.run(
                CLI
                + ["run", "as-reported", "--seed", str(r["seed"]), "--quiet", "--force"]
                + sets
                + size
                + ["--out", str(out)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            s = json.loads((out / "run.json").read_text())["summary"]
            got = np.array([r[m] for m in MEASURES], np.float64)
            want = np.array([s[m] for m in MEASURES], np.float64)
            worst = max(worst, float(np.nanmax(np.abs(got - want)) if got.size else 0.0))
            shutil.rmtree(out)
        seq_s = time.perf_counter() - t
        seq_runs = len(todo)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"{runs} runs of as-reported, {args.agents:,} agents x {args.days} days, "
        f"{cores()} cores; sweep: {meta['workers']} workers x {meta['threads']} thread(s)"
    )
    print("| way | runs | wall time | runs per minute |")
    print("|---|---|---|---|")
    print(f"| credsim sweep | {runs} | {sweep_s:,.0f} s | {60 * runs / sweep_s:.1f} |")
    extra = "" if seq_runs == runs else f" (first {seq_runs}; {runs} would take "
    extra += "" if seq_runs == runs else f"{seq_s / seq_runs * runs:,.0f} s)"
    print(
        f"| credsim run, one after another | {seq_runs} | {seq_s:,.0f} s{extra} | "
        f"{60 * seq_runs / seq_s:.1f} |"
    )
    print(
        f"sweep / one after another, per run: {(seq_s / seq_runs) / (sweep_s / runs):.2f}x "
        f"faster; largest difference of a measure between the two: {worst}"
    )


if __name__ == "__main__":
    main()
