"""Sim: builds the population and network, runs the day loop phase by phase, keeps the
wall time of each phase, and hands the result to results.py."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from . import _cache, resources, rundir
from .constants import CHILD, LF_EVER
from .errors import CredsimError, RunDirError
from .network import FriendGraph, build_network
from .partition import wait_all
from .phases import ORDER, day_columns, state_columns
from .phases.base import Phase
from .population import Population, build_population
from .recorder import Aggregates, Recorder
from .rng import day_key, parallel_for, shift_key
from .scenario import DayParams, Scenario, resolve
from .schema import N_METRICS
from .state import Day, State

if TYPE_CHECKING:
    from .partition import Partition

DEFAULT_CHECKPOINT_EVERY = 30  # days, when a run writes a run directory


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover (not Linux)
        return os.cpu_count() or 1


def use_threads(n: int) -> None:
    """Run this process's kernels on ``n`` Numba threads (at least 1, at most Numba's
    pool): what a process running beside others takes, so that threads x processes
    equal the cores."""
    import numba

    numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]


class Interrupted(CredsimError):
    """The run stopped at the end of a day on request; a checkpoint was written."""

    exit_code = 130


def prepare_out(out: Path, force: bool) -> rundir.RunLock:
    """Take ``out`` for a new run (see :func:`credsim.rundir.claim`): the returned lock is
    held until the run directory is complete."""
    return rundir.claim(Path(out), force)


class CompileClock:
    """Seconds Numba spends compiling kernels (not loading them from its cache), counted
    from Numba's compile events; ``on_start`` is called when a compilation begins."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.depth = 0
        self.t0 = 0.0
        self.on_start: Callable[[], None] | None = None

    def notify(self, event: Any) -> None:
        from numba.core import event as ev

        if event.status == ev.EventStatus.START:
            if self.depth == 0:
                self.t0 = time.perf_counter()
                if self.on_start is not None:
                    self.on_start()
            self.depth += 1
        elif event.status == ev.EventStatus.END:
            self.depth -= 1
            if self.depth == 0:
                self.seconds += time.perf_counter() - self.t0


COMPILE = CompileClock()


def _install_compile_clock() -> None:
    from numba.core import event as ev

    class _Listener(ev.Listener):
        def on_start(self, event: Any) -> None:
            COMPILE.notify(event)

        def on_end(self, event: Any) -> None:
            COMPILE.notify(event)

    ev.register("numba:compile", _Listener())


_install_compile_clock()


def _tiny() -> Sim:
    """The simulation that makes every kernel of a run load (or compile)."""
    return Sim("as-reported", agents=64, days=2, seed=1, overrides=["record.tracked=8"])


WARMED = "warmed"  # a file in Numba's cache directory: every kernel of a run is in it
# what a warm-up compiles: the build, and each phase on the tiny simulation's first day (a
# phase's kernels compile whatever its columns hold), the most expensive mostly first; of
# the orders measured (docs/performance.md), this one kept two processes busiest
WARM_UNITS = ("record", "services", "score", "build", "list", "observe", "behave", "respond")


def warm_kernels(helper: bool = True) -> float:
    """Load (or, on the first run after an install, compile) the kernels a run uses, with
    a tiny simulation; return the seconds spent compiling: 0 when all were cached, else
    this process's compile time, or with a helper that compiled, the wall time of the
    whole warm-up (what the first run waits).

    While the cache is not yet complete (no ``warmed`` file in it), the units of
    WARM_UNITS are run first, each on a population and network made without the build's
    kernels (see :func:`_standin`), its phase's inputs set so that it calls all its
    kernels (``Phase.warm_up``). Where this process may run on two cores or more, a
    helper process (one Numba thread) shares them: each process takes the next unit the
    other has not claimed, and Numba puts what it compiles in the shared cache (it
    writes an entry by renaming a finished file, and compiles afresh what it cannot
    read). This process then waits for the helper and runs the tiny simulation, which
    loads them."""
    import tempfile

    import numba

    c, t = COMPILE.seconds, time.perf_counter()
    done = Path(numba.config.CACHE_DIR) / WARMED  # type: ignore[attr-defined]
    helped = 0.0  # seconds the helper spent compiling
    if not done.exists():
        with tempfile.TemporaryDirectory(prefix="credsim-warm-") as claims:
            proc = _start_helper(claims) if helper and cores() > 1 else None
            try:
                warm_units(claims)
                if proc is not None:
                    proc.wait(timeout=600)  # its last unit, then this process loads it
            except subprocess.TimeoutExpired:
                pass  # stopped below; the tiny simulation compiles what is missing
            finally:
                if proc is not None and proc.poll() is None:
                    proc.kill()
                    proc.wait()
            report = Path(claims) / HELPER_REPORT
            helped = float(report.read_text()) if report.exists() else 0.0
    _tiny().run()
    try:
        done.parent.mkdir(parents=True, exist_ok=True)
        done.touch()  # (its time: when this version's cache was last used)
        _cache.prune(done.parent, WARMED)
    except OSError:  # a cache Numba cannot write to either: it compiles every run
        pass
    if helped > 0:
        return time.perf_counter() - t
    return COMPILE.seconds - c


def _start_helper(claims: str) -> subprocess.Popen[bytes] | None:
    """The helper of :func:`warm_kernels`, or None where it cannot start."""
    env = dict(os.environ, NUMBA_NUM_THREADS="1")  # threads x processes = cores
    root = str(Path(__file__).resolve().parent.parent)  # where credsim is imported from
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    code = "import sys; from credsim.sim import helper_main; helper_main(sys.argv[1])"
    try:
        return subprocess.Popen(
            [sys.executable, "-c", code, claims],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None


HELPER_REPORT = "helper-compile-s"  # in the claims directory: the helper's compile seconds


def helper_main(claims: str) -> None:
    """The helper process of :func:`warm_kernels`: its units, then its compile time."""
    warm_units(claims)
    rundir.atomic_write(
        Path(claims) / HELPER_REPORT, lambda f: f.write(f"{COMPILE.seconds:.3f}".encode())
    )


def warm_units(claims: str) -> list[str]:
    """Run each unit of WARM_UNITS that no other process has claimed in the directory
    ``claims`` (a claim is a file created there, which only one process can create);
    return those run here."""
    sim = _tiny()
    sim.build_on(*_standin(sim))
    ran = []
    for unit in WARM_UNITS:
        try:
            os.close(os.open(os.path.join(claims, unit), os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            continue
        if unit == "build":
            b = _tiny()
            b.build()
            b.sync_friend_sums()
            b.graph.friend_counts(np.zeros(b.n, np.bool_))  # where some are not scored
            # a network of two chunks of more than one block each, whose gap is closed
            big = build_population(b.scenario.population, 20_000, b.seed)
            build_network(big, b.scenario.network, b.seed, chunks=2)
        else:
            ph = next(ph for ph in sim.phases if ph.name == unit)
            ph.warm_up()
            ph.run(0)
        ran.append(unit)
    return ran


def _standin(sim: Sim) -> tuple[Population, FriendGraph]:
    """A population and network for ``sim`` made with NumPy alone, of the types that its
    build makes: one urban region, agents of every age and sex (every third one with each
    flag), each agent a friend of the next and the one before."""
    from .population import N_CLASSES, beta_classes

    n = sim.n
    i = np.arange(n)
    attrs = (6 + i % 6) | np.where(i % 3 == 0, 0xF0, 0)
    pop = Population(
        region_names=["stand-in"],
        region_start=np.array([0, n], np.int64),
        adult_start=np.zeros(1, np.int64),
        adult_count=np.array([n], np.int64),
        key=np.uint64(sim.seed),
        region=np.zeros(n, np.uint8),
        attrs=attrs.astype(np.uint8),
        prop=(i % N_CLASSES).astype(np.uint8)[None, :].repeat(3, axis=0),
        prop_values=np.stack([beta_classes(2.0, 2.0)] * 3),
    )
    nbr = np.sort(np.stack([(i - 1) % n, (i + 1) % n], axis=1), axis=1).reshape(-1)
    active = np.full((2 * n + 7) // 8, 0xFF, np.uint8)
    graph = FriendGraph(np.arange(0, 2 * n + 1, 2, dtype=np.uint32), nbr.astype(np.int32), active)
    return pop, graph


META_KEYS = ("scenario", "day_done", "spools", "record_ledger", "timings", "agents", "days", "seed")


def resumable(out: Path) -> rundir.RunLock:
    """The lock of run directory ``out``, taken for resuming it: refused in one line if it
    is no directory, holds a complete run (what a kill right after run.json left behind
    goes then) or has no checkpoint."""
    from .results import load_run

    path = out / rundir.CHECKPOINT
    if not out.is_dir():
        raise RunDirError(f"{out}: not a run directory (no such directory)")
    lock = rundir.RunLock(out)
    try:
        if (out / rundir.RUN_JSON).exists():
            try:
                load_run(out)
            except RunDirError:
                pass  # a damaged or partial run.json: the checkpoint decides
            else:
                for f in (path, out / rundir.SPOOL, out / rundir.AGG_SPOOL):
                    f.unlink(missing_ok=True)
                raise RunDirError(f"{out}: the run is complete; nothing to resume")
        if not path.exists():
            raise RunDirError(f"{out}: no checkpoint to resume from ({rundir.CHECKPOINT} missing)")
        return lock
    except BaseException:
        lock.release()
        raise


def _write_checkpoint(path: Path, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    both = dict(arrays, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8))
    rundir.atomic_write(path, lambda fh: np.savez(fh, **cast("dict[str, Any]", both)))


def _read_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The metadata and arrays of a checkpoint; a damaged one is refused in one line."""
    try:
        with np.load(path) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            arrays = {k: z[k] for k in z.files if k != "meta"}
    except Exception as e:  # a damaged file: say so in one line
        msg = str(e).splitlines()[0] if str(e) else ""
        raise RunDirError(f"{path}: corrupted checkpoint ({type(e).__name__}: {msg})") from None
    missing = [k for k in META_KEYS if not isinstance(meta, dict) or k not in meta]
    if missing:
        raise RunDirError(
            f"{path}: corrupted checkpoint (no {', '.join(missing)}; written "
            f"by another version of credsim?)"
        )
    return meta, arrays


class Sim:
    """One simulation: ``Sim("as-reported", agents=100_000, days=365, seed=1).run()``.

    ``scenario`` is a preset name, a TOML file, a dict or a Scenario; ``overrides`` are
    ``key=value`` strings. ``agents``, ``days`` and ``seed`` default to the scenario's."""

    def __init__(
        self,
        scenario: str | Path | dict[str, Any] | Scenario = "as-reported",
        agents: int | None = None,
        days: int | None = None,
        seed: int | None = None,
        overrides: list[str] | None = None,
        record_ledger: bool = True,
        part: Partition | None = None,
    ):
        scn = resolve(scenario, overrides, agents, days, seed)
        self.scenario = scn
        # a partitioned run (credsim.partition): this process holds the agents
        # [base, base + n) of n_total, indexed from 0 (its kernels' draws use keys shifted
        # by base, so every agent draws what it draws in one process)
        self.part = part
        self.n_total = scn.population.agents
        self.base = part.lo if part is not None else 0
        self.n = part.hi - part.lo if part is not None else self.n_total
        self.days = scn.run.days
        self.seed = scn.run.seed
        scn.check_horizon(self.days)
        self.record_ledger = record_ledger
        self.phases: list[Phase] = [cls(self) for cls in ORDER]
        self.timings: dict[str, float] = {
            "compile": 0.0,
            "build_population": 0.0,
            "build_network": 0.0,
        }
        self.timings.update({p.name: 0.0 for p in self.phases})
        self.day_done = 0
        self.built = False
        self.stop_requested = False
        self.out: Path | None = None
        self.lock: rundir.RunLock | None = None
        self._final_checkpoint: Path | None = None  # written after the last day
        self.checkpoint_day: int | None = None  # days done at the last checkpoint
        self._slot = "b"  # a partitioned run's rank: the slot of its last checkpoint file
        self.checkpoint_every = DEFAULT_CHECKPOINT_EVERY  # days (0: none), with out

    def file(self, name: str) -> Path:
        """The path of one of the run directory's working files (checkpoint, spools): in a
        partitioned run, this rank's own, under ``ranks/``."""
        assert self.out is not None
        if self.part is None:
            return self.out / name
        return self.out / rundir.RANKS / f"r{self.part.rank:04d}.{name}"

    def key(self, stream: int, day: int) -> np.uint64:
        """The key of a day's draws of ``stream`` for this process's agents (agent i here
        is agent base + i of the run)."""
        return shift_key(day_key(self.seed, stream, day), self.base)

    def estimate(self, agents: int | None = None, out: Path | None = None) -> resources.Estimate:
        """Memory and disk this run needs (before anything is allocated), written to its
        run directory (or ``out``); with ``agents``, those of the same run with that many
        agents."""
        scn = self.scenario
        n_regions = 1 if scn.population.single_region else 31
        return resources.estimate(
            self.n if agents is None else agents,
            scn.network.mean_degree,
            self.days,
            n_cells=12 * n_regions,
            n_metrics=N_METRICS,
            score_bins=int(scn.score.max - scn.score.min) + 1,
            ledger=self.record_ledger,
            tracked=scn.record.tracked,
            checkpoint_every=self.checkpoint_every if self.out or out else 0,
            build_agent_b=resources.BUILD_AGENT_B
            if self.part is None
            else resources.PART_BUILD_AGENT_B,
        )

    def check_resources(self, out: Path | None = None) -> None:
        """Refuse, in one line, a run this machine (or this process's limits) cannot hold
        (in a partitioned run: this rank's agents, in its share of the machine)."""
        out = out or self.out
        resources.check(
            lambda n: self.estimate(n, out),
            self.n,
            self.scenario.network.mean_degree,
            out,
            self.part.local if self.part is not None else 1,
            self.part.size if self.part is not None else 1,
        )

    # --------------------------------------------------------------------------------
    def build(self) -> None:
        """Population, network, state and recorder; O(agents + edges)."""
        if self.built:
            return
        scn = self.scenario
        self.check_resources()
        if self.part is None:
            pop = self._clock(
                "build_population", build_population, scn.population, self.n, self.seed
            )
            graph = self._clock("build_network", build_network, pop, scn.network, self.seed)
        else:
            from .network import build_network_part

            part = self.part
            pop = self._clock(
                "build_population", build_population, scn.population, self.n_total, self.seed,
                part.lo, part.hi,
            )  # fmt: skip
            graph = self._clock(
                "build_network", build_network_part, pop, scn.network, self.seed, part
            )
        self.build_on(pop, graph)

    def build_on(self, pop: Population, graph: FriendGraph) -> None:
        """The state, recorder and friend counts of this population and network (the
        build's last step)."""
        scn = self.scenario
        self.pop: Population = pop
        self.graph: FriendGraph = graph
        c1 = COMPILE.seconds
        self.params = DayParams(scn, self.days)
        who = scn.score.scored
        if who == "everyone":
            scored = np.ones(self.n, np.bool_)
        elif who == "adults_elders":
            scored = self.pop.age != CHILD
        else:
            scored = self.pop.platform
        self.state = State(state_columns(), self.n, {"score.base": scn.score.base})
        self.state.scored[:] = scored
        self.day = Day(day_columns(), self.n)
        self.tracked = np.zeros(self.n, np.bool_)
        k = min(scn.record.tracked, self.n_total)
        if k:
            t = np.unique(np.linspace(0, self.n_total - 1, k).astype(np.int64)) - self.base
            self.tracked[t[(t >= 0) & (t < self.n)]] = True
        self.recorder = Recorder(self)
        # association is kept up to date only where a weight is ever positive
        self.association_on = bool((self.params["score.association_weight"] > 0).any())
        # friend sums: every ledger starts at 0 and fsum is allocated as zeros, so only
        # the counts of active scored friends are to compute (sync_friend_sums recomputes
        # both after the state was edited by hand)
        if self.part is None:
            self.graph.friend_counts(self.state.scored, out=self.state.fcnt)
        else:
            self.part.friend_counts(self.graph, self.state.scored, self.state.fcnt)
        # the first day's tiers from the starting scores (used before any score phase)
        from .kernels import score_kernel

        parallel_for(
            score_kernel,
            self.n,
            self.state.scored,
            self.state.own,
            self.state.assoc,
            scn.score.base,
            scn.score.min,
            scn.score.max,
            self.params.tier_bounds[0],
            self.state.score,
            self.state.tier,
        )
        self.timings["compile"] += COMPILE.seconds - c1  # the rest of build's kernels
        self.built = True

    def _clock(self, name: str, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)``, its wall time added to ``timings[name]`` less the time Numba
        spent compiling kernels on the way (added to ``timings["compile"]``)."""
        c, t = COMPILE.seconds, time.perf_counter()
        r = fn(*args)
        dc = COMPILE.seconds - c
        self.timings[name] += time.perf_counter() - t - dc
        self.timings["compile"] += dc
        return r

    def sync_friend_sums(self) -> None:
        """Recompute each agent's sum and count of active scored friends' ledgers from
        scratch (call it after editing ledgers, scored flags or edges by hand; the build
        needs only the counts, as every ledger starts at 0)."""
        from .kernels import friend_sums_kernel

        g, st = self.graph, self.state
        parallel_for(
            friend_sums_kernel, self.n, g.indptr, g.nbr, g.active, st.scored, st.own, st.fsum,
            st.fcnt,
        )  # fmt: skip

    def step(self) -> None:
        """Run one day, every phase in order."""
        day = self.day_done
        for ph in self.phases:
            self._clock(ph.name, ph.run, day)
        self.day_done += 1

    def run(
        self,
        out: str | Path | None = None,
        progress: Callable[[int, int], None] | None = None,
        force: bool = False,
        checkpoint_every: int | None = None,
    ) -> Any:
        """Run the remaining days; return a Result, written to ``out`` if given.

        With ``out``, a checkpoint is written atomically every ``checkpoint_every`` days
        (default 30; 0 for none), after the last day (so that an interruption while the
        tables are written loses nothing) and when a stop is requested
        (``stop_requested``, set by the CLI on Ctrl-C): the run then raises Interrupted
        and resumes with :meth:`resume`. An existing run directory is replaced only with
        ``force``, and only if credsim wrote everything in it. One process at a time
        writes a run directory (a lock held until it is complete)."""
        if checkpoint_every is not None:
            self.checkpoint_every = checkpoint_every
        if out is not None:
            out = Path(out)
            if self.out != out or self.lock is None:  # a fresh run takes its directory
                self.check_resources(out)
                if self.part is None:
                    self.lock = prepare_out(out, force)
                elif self.out != out:  # rank 0 takes it for all
                    self.lock = self.part.on_root(lambda: prepare_out(out, force))
            self.out = out
            if self.part is not None:  # which process is which rank (for the launcher)
                pid = self.file("pid")
                pid.parent.mkdir(parents=True, exist_ok=True)
                rundir.atomic_write(pid, lambda f: f.write(str(os.getpid()).encode()))
        try:
            return self._run(progress)
        except BaseException:
            self.release()  # whatever stopped the run, the directory is free again
            raise

    def _run(self, progress: Callable[[int, int], None] | None) -> Any:
        from .results import Result

        self.build()
        every = self.checkpoint_every
        while self.day_done < self.days:
            self.step()
            if progress is not None:
                progress(self.day_done, self.days)
            stop = self.stop_requested
            if self.part is not None:  # every rank stops at the end of the same day
                wait_all(self.part.comm)
                stop = bool(self.part.comm.allreduce(int(stop)))
            if stop and self.day_done < self.days:
                if self.out is None:
                    raise Interrupted(f"interrupted at the end of day {self.day_done - 1}")
                self.checkpoint(self.out)
                how = "credsim run --resume"
                if self.part is not None:
                    how = f"mpiexec -n {self.part.size} {how}"
                e = Interrupted(
                    f"interrupted at the end of day {self.day_done - 1} of {self.days}; "
                    f"checkpoint written: resume with '{how} {self.out}'"
                )
                e.all_ranks = True
                raise e
            if (
                self.out is not None
                and every
                and self.day_done % every == 0
                and self.day_done < self.days
            ):
                self.checkpoint(self.out)
        if self.out is None:
            res = Result.from_sim(self)
            self.recorder.close()
            return res
        ck = self.out / rundir.CHECKPOINT
        if every and not self._checkpoint_is_final(ck):
            self.checkpoint(self.out)
        res = Result.from_sim(self)
        if self.part is None:
            res.save(self.out, force=True)  # run.json last: complete from here on
        elif self.part.rank == 0:
            self.part.on_root(lambda: res.save(self.out, force=True))  # gathers the agents
        else:
            from .results import AgentsTable

            AgentsTable(self).send()
            self.part.on_root(lambda: None)
        # the checkpoint and spool are no longer needed
        if self.part is not None:
            for name in ("checkpoint-a.npz", "checkpoint-b.npz", "pid"):
                self.file(name).unlink(missing_ok=True)
            wait_all(self.part.comm)
        ck.unlink(missing_ok=True)
        self.recorder.close(remove=True)
        if self.part is not None:
            wait_all(self.part.comm)
            ranks = self.out / rundir.RANKS
            if self.part.rank == 0 and ranks.is_dir() and not any(ranks.iterdir()):
                ranks.rmdir()
        rundir.fsync_dir(self.out)
        self.release()
        return res

    def release(self) -> None:
        """Let other processes write the run directory again."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def _checkpoint_is_final(self, ck: Path) -> bool:
        return self.day_done == self.days and self._final_checkpoint == ck

    # --------------------------------------------------------------------------------
    # Checkpoints

    def checkpoint(self, out: str | Path) -> Path:
        """Write the whole dynamic state atomically to ``out/checkpoint.npz``. The
        population and network structure are rebuilt from the seed on resume; the ledger
        rows and the per-day aggregates stay on their append-only spools, of which the
        checkpoint records the length and SHA-256."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        d = self.day_done
        rec = self.recorder
        arrays: dict[str, np.ndarray] = {f"state.{k}": v for k, v in self.state.arrays().items()}
        arrays["graph.active"] = self.graph.active
        self.timings["checkpoint"] = self.timings.get("checkpoint", 0.0)
        meta = {
            "scenario": self.scenario.model_dump(mode="json"),
            "day_done": d,
            "spools": rec.sync(d),
            "record_ledger": self.record_ledger,
            "checkpoint_every": self.checkpoint_every,
            "timings": self.timings,
            "agents": self.n,
            "days": self.days,
            "seed": self.seed,
        }
        path = out / rundir.CHECKPOINT
        if self.part is None:
            _write_checkpoint(path, meta, arrays)
        else:
            # each rank writes its own file, in the slot the last complete checkpoint
            # does not use; once all have, rank 0 writes the manifest that names the slot
            # (so that a kill at any moment leaves one complete checkpoint)
            part = self.part
            self._slot = "b" if self._slot == "a" else "a"
            _write_checkpoint(
                self.file(f"checkpoint-{self._slot}.npz"),
                {**meta, "rank": part.rank, "processes": part.size},
                arrays,
            )
            wait_all(part.comm)
            manifest = {
                **meta,
                "spools": {},
                "agents": self.n_total,
                "processes": part.size,
                "bounds": part.bounds.tolist(),
                "slot": self._slot,
            }
            part.on_root(lambda: _write_checkpoint(path, manifest, {}))
        self._final_checkpoint = path if d == self.days else None
        self.checkpoint_day = d
        self.timings["checkpoint"] += time.perf_counter() - t
        return path

    @classmethod
    def resume(cls, out: str | Path) -> Sim:
        """The simulation saved in ``out/checkpoint.npz``, ready to run on. The run
        directory is locked for this process; a complete run, a missing or damaged
        checkpoint and a spool that does not match it are refused in one line."""

        out = Path(out)
        path = out / rundir.CHECKPOINT
        lock = resumable(out)
        try:
            meta, arrays = _read_checkpoint(path)
            procs = int(meta.get("processes", 1))
            if procs > 1:
                raise RunDirError(
                    f"{out}: a run partitioned among {procs} processes: resume it with "
                    f"'mpiexec -n {procs} credsim run --resume {out}'"
                )
            try:
                sim = cls(meta["scenario"], record_ledger=meta["record_ledger"])
            except CredsimError as e:
                raise RunDirError(f"{path}: corrupted checkpoint ({e})") from None
            sim.out = out
            sim.lock = lock
            sim.build()
            sim._restore(path, meta, arrays)
            return sim
        except BaseException:
            lock.release()
            raise

    def _restore(self, path: Path, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """This built simulation's state, spools and clock from a checkpoint's metadata and
        arrays (read from ``path``); what does not match is refused in one line."""
        d = int(meta["day_done"])
        if not 0 <= d <= self.days or int(meta["agents"]) != self.n:
            raise RunDirError(
                f"{path}: corrupted checkpoint (day {d} of {self.days}, "
                f"{meta['agents']} agents for a run of {self.n})"
            )
        rec = self.recorder
        targets = {f"state.{k}": v for k, v in self.state.arrays().items()}
        targets["graph.active"] = self.graph.active
        for k, v in targets.items():
            a = arrays.get(k)
            if a is None:
                raise RunDirError(f"{path}: corrupted checkpoint (no array '{k}')")
            if a.shape != v.shape or a.dtype != v.dtype:
                raise RunDirError(
                    f"{path}: corrupted checkpoint ('{k}' is {a.dtype}"
                    f"{list(a.shape)}, this run needs {v.dtype}"
                    f"{list(v.shape)})"
                )
            v[...] = a
        spools = meta["spools"]
        if not isinstance(spools, dict) or spools.get("aggregates_days") != d:
            raise RunDirError(f"{path}: corrupted checkpoint (its spools do not match day {d})")
        try:
            rec.restore(spools)
        except (KeyError, ValueError, TypeError, zlib.error) as e:
            raise RunDirError(
                f"{path}: corrupted checkpoint (spools: {type(e).__name__}: {e})"
            ) from None
        rec.active_edges = int(rec.edges_active[d - 1]) if d else rec.active_edges
        self.day_done = self.checkpoint_day = d
        for k, v in meta["timings"].items():
            self.timings[k] = float(v)
        if d == self.days:
            self._final_checkpoint = path
        self.checkpoint_every = int(meta.get("checkpoint_every", DEFAULT_CHECKPOINT_EVERY))

    # --------------------------------------------------------------------------------
    # What results.py reads of a run (besides pop, state, graph and tracked)

    def aggregates(self) -> Aggregates:
        """The day-by-day aggregates recorded so far (see :class:`Aggregates`); in a
        partitioned run, summed over the ranks (every rank calls it)."""
        agg = self.recorder.aggregates()
        if self.part is None:
            return agg
        summed: dict[str, Any] = {k: self.part.sum(getattr(agg, k)) for k in Aggregates.SUMMED}
        return dataclasses.replace(agg, **summed)

    def ledger(self, keep: np.ndarray) -> np.ndarray:
        """The ledger rows (``LEDGER_DTYPE``) of the agents where ``keep`` is true, in day
        order; in a partitioned run, those of every rank, on rank 0 (every rank calls it;
        the others get theirs)."""
        rows = self.recorder.ledger_for(keep)
        if self.part is None:
            return rows
        from .partition import gather_ledger

        return gather_ledger(self.part, rows)

    @property
    def total_edges(self) -> int:
        """The friendships of the run (of every rank: every rank calls it)."""
        nnz = self.graph.nnz
        return (self.part.total(nnz) if self.part is not None else nnz) // 2

    def ledger_keep(self) -> np.ndarray:
        """Whose ledger rows the tables keep: the tracked sample and, if the scenario says
        so, every agent ever listed."""
        keep = self.tracked.copy()
        if self.scenario.record.ledger_listed:
            keep |= (self.state.lflags & LF_EVER) != 0
        return keep

    @property
    def phase_names(self) -> list[str]:
        return [p.name for p in self.phases]

    def memory_bytes(self) -> dict[str, int]:
        """Bytes held by the simulation state (columns and network); in a partitioned
        run, of every rank (every rank calls it)."""
        b = {
            "population": self.pop.nbytes(),
            "network": self.graph.nbytes(),
            "state": self.state.nbytes(),
            "day": self.day.nbytes(),
        }
        if self.part is not None:
            b = {k: self.part.total(v) for k, v in b.items()}
        return b
