"""Work functions for the sweep's tests, importable by its spawned worker processes."""

from __future__ import annotations

import os
from typing import Any

from credsim.sweep import run_one


def logged(task: dict[str, Any]) -> dict[str, Any]:
    """run_one, noting (point, replicate) in the file $SWEEP_TEST_LOG first."""
    with open(os.environ["SWEEP_TEST_LOG"], "a") as fh:
        fh.write(f"{task['row']['point']} {task['row']['replicate']}\n")
    return run_one(task)


def die_once(task: dict[str, Any]) -> dict[str, Any]:
    """The worker running point 1 dies on its first attempt."""
    if task["row"]["point"] == 1 and task["attempt"] == 1:
        os._exit(3)
    return run_one(task)


def die_always(task: dict[str, Any]) -> dict[str, Any]:
    """The worker running point 1 dies on every attempt."""
    if task["row"]["point"] == 1:
        os._exit(3)
    return run_one(task)
