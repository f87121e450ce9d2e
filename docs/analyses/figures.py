"""The figures of docs/analyses/association.md, from the sweep directories its commands
write (run from the directory that holds them):

    python docs/analyses/figures.py [SWEEPS_DIR] [--out docs/analyses/figures]"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from credsim import charts as C
from credsim import sensitivity
from credsim.sensitivity import importance_chart
from credsim.sweep import load_sweep

PER = 100_000  # every sweep here has 100,000 agents for 365 days


def switch_on(d: Path) -> list[C.Chart]:
    meta, df = load_sweep(d)
    assert meta["agents"] == PER and meta["days"] == 365
    out = []
    for m, name in (
        ("score_entries", "score listings"),
        ("association_entries", "listings by association"),
    ):
        g = df.groupby(["score.association_weight", "listing.score_threshold"])[m].mean()
        series = []
        for k, w in enumerate(sorted(df["score.association_weight"].unique())):
            s = g.loc[w]
            y = s.to_numpy(np.float64)
            series.append(
                C.Series(
                    f"association weight {w:g}",
                    s.index.to_numpy(),
                    np.maximum(y, 0.5),
                    "line",
                    color=C.PALETTE[k],
                )
            )
        out.append(
            C.Chart(
                f"switch-on-{m}",
                f"When {name} switch on: entries against the listing threshold",
                "as-reported, 100,000 agents for 365 days, means of 2 replicates (common "
                "random numbers); 0 drawn as 0.5 on the log axis.",
                "listing threshold (score points; the base score is 1,000)",
                "entries per 100,000 agents per year",
                series,
                logy=True,
                legend=True,
            )
        )
    return out


def due_process(d: Path) -> C.Chart:
    meta, df = load_sweep(d)
    g = df.groupby(["listing.score_threshold", "listing.due_process", "observe.misid"])[
        "wrongful_listed_days"
    ].mean()
    series = []
    for k, (th, dp) in enumerate([(600, 0), (600, 1), (950, 0), (950, 1)]):
        s = g.loc[(th, dp)]
        series.append(
            C.Series(
                f"threshold {th}, due process {'on' if dp else 'off'}",
                s.index.to_numpy(),
                s.to_numpy(np.float64),
                "line",
                color=C.PALETTE[k // 2],
                dash=not dp,
            )
        )
    return C.Chart(
        "due-process",
        "Agent-days listed wrongfully, with and without due process",
        "as-reported, 100,000 agents for 365 days, means of 2 replicates (common random "
        "numbers); dashed: no due process.",
        "misidentification probability of a camera match",
        "wrongful agent-days per 100,000 agents",
        series,
        logx=True,
        logy=True,
        legend=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweeps", nargs="?", default=".", type=Path)
    ap.add_argument("--out", default=Path("docs/analyses/figures"), type=Path)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    charts = switch_on(a.sweeps / "association-grid")
    charts.append(due_process(a.sweeps / "due-process"))
    morris = sensitivity(a.sweeps / "association-morris")
    for m in ("association_entries", "score_entries"):
        c = importance_chart(morris, m)
        c.key = f"morris-{m}"
        charts.append(c)
    chill = sensitivity(a.sweeps / "chilling-morris")
    c = importance_chart(chill, "posts_change")
    c.key = "morris-posts_change"
    charts.append(c)
    for c in charts:
        print(C.save_png(c, a.out / f"{c.key}.png"))


if __name__ == "__main__":
    main()
