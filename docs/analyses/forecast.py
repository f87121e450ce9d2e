"""The 2019 forecast of the calibrated court-list in docs/validation.md: cumulative list
entries, flights blocked and trains blocked on three dates of 2019, the mean and range
across the runs given (one design, several seeds).

    python docs/analyses/forecast.py runs/cl-1 runs/cl-2 runs/cl-3 runs/cl-4
"""

from __future__ import annotations

import datetime as dt
import sys

import credsim

DATES = ("2019-03-13", "2019-07-09", "2019-12-31")
FIGURES = {
    "list_entries_cumulative": "list entries",
    "flight_purchases_blocked_cumulative": "flights blocked",
    "train_purchases_blocked_cumulative": "trains blocked",
}


def main(runs: list[str]) -> None:
    v = credsim.validate(runs)
    print("| date | " + " | ".join(FIGURES.values()) + " |")
    print("|---|" + "---|" * len(FIGURES))
    for d in DATES:
        cells = []
        for fig in FIGURES:
            t = v.trajectories[fig].set_index("date")
            r = t.loc[dt.date.fromisoformat(d)]
            cells.append(f"{r['mean'] / 1e6:.2f} M ({r['min'] / 1e6:.2f}–{r['max'] / 1e6:.2f})")
        print(f"| {d} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
