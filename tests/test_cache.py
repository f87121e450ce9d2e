"""Numba's cache of credsim's kernels is keyed by a hash of the sources, so that a change
to a module a kernel reads constants from (the schema's metric offsets) cannot load a
stale kernel."""

from __future__ import annotations

import numba

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
    """Stands for the helper process: records that it was started and stopped."""

    started = 0

    def __init__(self) -> None:
        _Helper.started += 1
        self.stopped = False

    def kill(self) -> None:
        self.stopped = True

    def wait(self) -> int:
        assert self.stopped
        return -9


def test_a_helper_compiles_beside_the_first_warm_up_only(tmp_path, monkeypatch):
    from credsim import sim

    helpers: list[_Helper] = []
    monkeypatch.setattr(sim, "_start_helper", lambda: helpers.append(_Helper()) or helpers[-1])
    monkeypatch.setattr(sim, "cores", lambda: 2)
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path / "kernels-x"))
    sim.warm_kernels()
    assert len(helpers) == 1 and helpers[0].stopped  # stopped when this process is done
    assert (tmp_path / "kernels-x" / sim.WARMED).exists()
    sim.warm_kernels()  # the cache is complete: no helper
    assert len(helpers) == 1
    (tmp_path / "kernels-x" / sim.WARMED).unlink()
    monkeypatch.setattr(sim, "cores", lambda: 1)  # one core: no room for a helper
    sim.warm_kernels()
    sim.warm_kernels(helper=False)
    assert len(helpers) == 1


def test_the_helper_runs_the_day_backwards_without_error():
    """What the helper process runs (in this process: its kernels are compiled by now)."""
    from credsim import sim

    sim.warm_backwards()


def test_the_helper_process_starts_and_finishes():
    from credsim import sim

    p = sim._start_helper()
    assert p is not None and p.wait(timeout=600) == 0
