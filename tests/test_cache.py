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
