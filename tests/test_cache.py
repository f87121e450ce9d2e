"""Numba's cache of credsim's kernels is keyed by a hash of the sources, so that a change
to a module a kernel reads constants from (the schema's metric offsets) cannot load a
stale kernel; a first run fills it from two processes that share the compiling."""

from __future__ import annotations

import subprocess
import sys

import numba
import numpy as np

from credsim import _cache


def test_the_key_follows_every_source_and_nothing_else(tmp_path):
    (tmp_path / "a.py").write_text("X = 1\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.py").write_text("Y = 2\n")
    (tmp_path / "notes.txt").write_text("not a source")
    h = _cache.sources_hash(tmp_path)
    (tmp_path / "notes.txt").write_text("changed")
    assert _cache.sources_hash(tmp_path) == h
    (tmp_path / "sub" / "b.py").write_text("Y = 3\n")
    assert _cache.sources_hash(tmp_path) != h


def test_the_directory_is_under_numba_cache_dir_and_in_use(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    d = _cache.cache_dir()
    assert d.parent == tmp_path and d.name.startswith("kernels-")
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _cache.cache_dir().parent == tmp_path / "xdg" / "credsim"
    assert numba.config.CACHE_DIR.split("/")[-1] == d.name  # the package set it on import


class _Helper:
    """Stands for the helper process: it claims nothing; records that it was waited for."""

    def __init__(self) -> None:
        self.waited = False

    def wait(self, timeout: float | None = None) -> int:
        self.waited = True
        return 0

    def poll(self) -> int | None:
        return 0 if self.waited else None

    def kill(self) -> None:  # pragma: no cover - only if wait raised
        pass


def test_a_helper_compiles_beside_the_first_warm_up_only(tmp_path, monkeypatch):
    from credsim import sim

    helpers: list[_Helper] = []
    monkeypatch.setattr(sim, "_start_helper", lambda c: helpers.append(_Helper()) or helpers[-1])
    monkeypatch.setattr(sim, "cores", lambda: 2)
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path / "kernels-x"))
    sim.warm_kernels()
    assert len(helpers) == 1 and helpers[0].waited
    assert (tmp_path / "kernels-x" / sim.WARMED).exists()
    sim.warm_kernels()  # the cache is complete: no helper
    assert len(helpers) == 1
    (tmp_path / "kernels-x" / sim.WARMED).unlink()
    monkeypatch.setattr(sim, "cores", lambda: 1)  # one core: no room for a helper
    sim.warm_kernels()
    sim.warm_kernels(helper=False)
    assert len(helpers) == 1


def test_a_warm_up_removes_other_versions_caches_unused_for_30_days(tmp_path, monkeypatch):
    """Every version of the sources has its cache directory; a warm-up marks its own as
    used and removes the others that no warm-up used for 30 days (the marker's time, or
    the directory's where it has none), leaving anything else beside them."""
    import os
    import time

    import numba

    from credsim import sim

    now = time.time()
    for name, age_days, marked in (
        ("kernels-old", 31, True),
        ("kernels-recent", 29, True),
        ("kernels-unmarked", 40, False),
        ("other", 400, False),
    ):
        d = tmp_path / name
        d.mkdir()
        (d / "k.nbi").touch()
        t = now - age_days * 86400
        if marked:
            (d / sim.WARMED).touch()
            os.utime(d / sim.WARMED, (t, t))
        os.utime(d, (t, t))
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path / "kernels-x"))
    sim.warm_kernels(helper=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kernels-recent", "kernels-x", "other"]
    assert (tmp_path / "kernels-x" / sim.WARMED).stat().st_mtime >= now


def test_each_unit_of_the_warm_up_runs_in_one_process_only(tmp_path):
    from credsim import sim

    (tmp_path / "services").touch()  # claimed by the other process
    ran = sim.warm_units(str(tmp_path))
    assert ran == [u for u in sim.WARM_UNITS if u != "services"]
    assert sim.warm_units(str(tmp_path)) == []
    assert {p.name for p in tmp_path.iterdir()} == set(sim.WARM_UNITS)


def test_the_stand_in_has_the_types_of_a_build():
    """The warm-up's population and network without the build's kernels: the same
    dtypes, dimensions and layouts as a build's (else the kernels compiled on them would
    be of no use to a run)."""
    from credsim import sim

    built = sim._tiny()
    built.build()
    pop, graph = sim._standin(built)

    def types(x):
        return {
            k: (v.dtype, v.ndim, v.flags.c_contiguous) if isinstance(v, np.ndarray) else type(v)
            for k, v in vars(x).items()
        }

    assert types(pop) == types(built.pop)
    assert types(graph) == types(built.graph)
    assert pop.n == built.n and graph.n == built.n
    assert np.array_equal(graph.degree(), np.full(built.n, 2))


def test_the_helper_process_starts_and_finishes(tmp_path):
    from credsim import sim

    p = sim._start_helper(str(tmp_path))
    assert p is not None and p.wait(timeout=600) == 0
    assert {p.name for p in tmp_path.iterdir()} == {*sim.WARM_UNITS, sim.HELPER_REPORT}
    assert float((tmp_path / sim.HELPER_REPORT).read_text()) >= 0.0


WARM_UP_MISSES = {
    "credsim.rng.poisson": "a draw the tests check (behave calls poisson_inv)",
    # a partitioned run's (it compiles them; a single process has no ranks to warm them with)
    **{
        k: "partitioned runs only"
        for k in (
            "credsim.network._part_sources",
            "credsim.network._part_place",
            "credsim.network._part_assemble",
            "credsim.partition._remote_friends",
            "credsim.partition._lower_edges",
            "credsim.partition._add_pushes",
            "credsim.phases.respond.decide_remote",
        )
    },
}


def test_the_warm_up_reaches_every_kernel_a_run_uses(tmp_path):
    """In a fresh process, the warm-up's units and tiny simulation call (and so load or
    compile) every kernel that Python calls (a kernel that only kernels call is compiled
    into them), but those named in WARM_UP_MISSES: a kernel a run reaches only on some
    days would otherwise compile in the middle of a first run."""
    code = """
import importlib, inspect, pkgutil, re, sys
import credsim
from numba.core.registry import CPUDispatcher
from credsim import sim
mods = [importlib.import_module(m.name) for m in pkgutil.walk_packages(credsim.__path__, "credsim.")
        if not m.name.startswith("credsim.dashboard")]
sim.warm_units(sys.argv[1])
sim._tiny().run()
kernels = {m.__name__ + "." + k: v for m in mods for k, v in vars(m).items()
           if isinstance(v, CPUDispatcher) and v.py_func.__module__ == m.__name__}
called = set()  # names that kernels call
for v in kernels.values():
    called |= set(re.findall(r"(\\w+)\\(", inspect.getsource(v.py_func).split(":", 1)[1]))
for name, v in kernels.items():
    if not v.signatures and not {v.py_func.__name__, name.rsplit(".", 1)[1]} & called:
        print(name)
"""
    p = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=900
    )
    assert p.returncode == 0, p.stderr[-2000:]
    assert set(p.stdout.split()) == set(WARM_UP_MISSES)
