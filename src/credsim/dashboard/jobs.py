"""Simulations the page asks for, each in its own process: at most one a browser session
and a fixed number in all (the rest wait in a queue, in order); a run that crashes or is
cancelled ends only its process. Threads a run times runs at once = the cores."""

from __future__ import annotations

import multiprocessing as mp
import pickle
import shutil
import tempfile
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KINDS = ("run", "compare")


@dataclass
class Job:
    id: str
    session: str
    kind: str
    spec: dict[str, Any]
    dir: Path
    state: str = "queued"  # queued, running, done, failed, cancelled
    error: str = ""
    started: float = 0.0
    ended: float = 0.0
    process: Any = None
    progress: Any = None  # a shared double in [0, 1]
    submitted: float = field(default_factory=time.time)


class Busy(Exception):
    """The session already has a simulation queued or running."""


def _work(kind: str, spec: dict[str, Any], out: str, progress: Any, threads: int) -> None:
    """A job's process: run it, write what the page reads (or the error) into ``out``."""
    from ..sim import use_threads

    use_threads(threads)
    dest = Path(out)
    try:
        if kind == "run":
            from ..sim import Sim

            def tick(done: int, total: int) -> None:
                progress.value = done / max(total, 1)

            sim = Sim(
                spec["preset"],
                agents=spec["agents"],
                days=spec["days"],
                seed=spec["seed"],
                overrides=spec["overrides"],
            )
            sim.run(out=dest / "run", progress=tick, checkpoint_every=0)
        else:
            from ..compare import compare

            def step(k: int, total: int, label: str) -> None:
                progress.value = k / max(total, 1)

            cmp = compare(
                spec["preset_a"],
                spec["preset_b"],
                replicates=spec["replicates"],
                agents=spec["agents"],
                days=spec["days"],
                seed=spec["seed"],
                overrides_a=spec["overrides_a"],
                overrides_b=spec["overrides_b"],
                progress=step,
            )
            (dest / "comparison.pkl").write_bytes(pickle.dumps(cmp))
        progress.value = 1.0
    except BaseException as e:  # the page shows it; the app stays up
        from ..errors import CredsimError

        msg = str(e) if isinstance(e, CredsimError) else traceback.format_exc(limit=3)
        (dest / "error.txt").write_text(msg or type(e).__name__)
        raise SystemExit(1) from None


class Jobs:
    """The queue and the running jobs of one dashboard."""

    def __init__(self, max_running: int | None = None, keep_per_session: int = 3):
        from ..sim import cores as n_cores

        cores = n_cores()
        self.max_running = max(1, max_running or cores)
        self.threads = max(1, cores // self.max_running)
        self.keep = keep_per_session
        self.root = Path(tempfile.mkdtemp(prefix="credsim-dashboard-"))
        self.jobs: dict[str, Job] = {}
        self.lock = threading.RLock()
        self.ctx = mp.get_context("spawn")
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, daemon=True)
        self._ticker.start()

    # -- what the page calls ------------------------------------------------------------

    def submit(self, session: str, kind: str, spec: dict[str, Any]) -> Job:
        assert kind in KINDS
        with self.lock:
            for j in self.jobs.values():
                if j.session == session and j.state in ("queued", "running"):
                    raise Busy("this page already has a simulation running: wait or cancel it")
            job = Job(uuid.uuid4().hex, session, kind, spec, self.root / uuid.uuid4().hex)
            job.dir.mkdir()
            self.jobs[job.id] = job
            self._forget_old(session)
            self._schedule()
            return job

    def get(self, session: str, job_id: str | None) -> Job | None:
        """The job, if it belongs to this session (ids of other sessions give None)."""
        with self.lock:
            j = self.jobs.get(job_id or "")
            if j is None or j.session != session:
                return None
            self._update(j)
            return j

    def position(self, job: Job) -> int:
        """1 + the number of queued jobs ahead of this one (0 if it is not queued)."""
        with self.lock:
            if job.state != "queued":
                return 0
            ahead = [j for j in self.jobs.values() if j.state == "queued"]
            ahead.sort(key=lambda j: j.submitted)
            return 1 + ahead.index(job)

    def cancel(self, session: str, job_id: str | None) -> None:
        with self.lock:
            j = self.get(session, job_id)
            if j is None or j.state not in ("queued", "running"):
                return
            if j.process is not None and j.process.is_alive():
                j.process.terminate()
                j.process.join(5)
            j.state = "cancelled"
            j.ended = time.time()
            self._schedule()

    def progress(self, job: Job) -> float:
        return float(job.progress.value) if job.progress is not None else 0.0

    def close(self) -> None:
        self._stop.set()
        with self.lock:
            for j in self.jobs.values():
                if j.process is not None and j.process.is_alive():
                    j.process.terminate()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- scheduling ---------------------------------------------------------------------

    def _tick(self) -> None:
        while not self._stop.wait(0.3):
            with self.lock:
                for j in list(self.jobs.values()):
                    self._update(j)
                self._schedule()

    def _update(self, j: Job) -> None:
        p = j.process
        if j.state != "running" or p is None or p.is_alive():
            return
        p.join()
        j.ended = time.time()
        err = j.dir / "error.txt"
        if p.exitcode == 0 and not err.exists():
            j.state = "done"
        else:
            j.state = "failed"
            j.error = err.read_text() if err.exists() else f"the run ended with code {p.exitcode}"

    def _schedule(self) -> None:
        running = sum(j.state == "running" for j in self.jobs.values())
        queued = sorted(
            (j for j in self.jobs.values() if j.state == "queued"), key=lambda j: j.submitted
        )
        for j in queued[: max(0, self.max_running - running)]:
            j.progress = self.ctx.Value("d", 0.0)
            j.process = self.ctx.Process(
                target=_work,
                args=(j.kind, j.spec, str(j.dir), j.progress, self.threads),
                daemon=True,
            )
            j.process.start()
            j.state = "running"
            j.started = time.time()

    def _forget_old(self, session: str) -> None:
        """Keep the last few finished jobs of a session; remove the files of the others."""
        mine = sorted(
            (j for j in self.jobs.values() if j.session == session and j.state not in
             ("queued", "running")),
            key=lambda j: j.submitted,
        )  # fmt: skip
        for j in mine[: max(0, len(mine) - self.keep)]:
            shutil.rmtree(j.dir, ignore_errors=True)
            del self.jobs[j.id]
