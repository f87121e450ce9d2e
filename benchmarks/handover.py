"""What handing a pass to a second thread costs (not part of the test run).

    python -m benchmarks.handover

``rng.parallel_for`` runs the first piece of a pass on the calling thread and hands the
others to worker threads. This times a pass that has almost nothing to do (clearing 64 KB)
on one thread and cut in two, median of 3,000 calls: the difference is the cost of the
hand-over (waking the worker, and handing Python's lock back and forth), paid by every
pass that is cut in pieces, whatever its size."""

from __future__ import annotations

import time

import numba
import numpy as np

from credsim.rng import _zero, parallel_for


def main() -> None:
    b = np.zeros(1 << 16, np.uint8)
    med = {}
    for m in (1, 2):
        numba.set_num_threads(m)
        ts = []
        for _ in range(3100):
            t = time.perf_counter()
            parallel_for(_zero, b.shape[0], b, grain=1)
            ts.append(time.perf_counter() - t)
        med[m] = float(np.median(ts[100:])) * 1e6
        print(f"{m} thread(s): a pass of 64 KB in {med[m]:.1f} us (median)")
    print(f"the hand-over: {med[2] - med[1]:.1f} us a pass")


if __name__ == "__main__":
    main()
