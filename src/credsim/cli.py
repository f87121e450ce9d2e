"""The command line: ``credsim run``, ``presets``, ``report``, ``compare``, ``sweep``,
``explain``, ``query``, ``dashboard``; ``credsim --version``."""

from __future__ import annotations

import inspect
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import typer.core
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from .errors import CredsimError

if TYPE_CHECKING:
    from types import FrameType

    from rich.progress import Task

    from .sim import Sim


def _no_type(ctx: Any) -> None:
    return None


def _plain_params(params: list[Any]) -> list[Any]:
    """Help shows no Python type (<bool>, <str>, <list[str]>): flags (--help, --force...)
    take no value, an argument is named by its metavar (RUN), an option's value too."""
    for p in params:
        if getattr(p, "is_flag", False) and getattr(p, "metavar", None) is None:
            p.metavar = ""
        elif isinstance(p, typer.core.TyperArgument) and p.metavar is not None:
            # this parameter's help only; typer looks the method up on the instance
            p.display_type_rich = _no_type  # type: ignore[method-assign]
    return params


def _paragraphs(text: str | None) -> str | None:
    """A docstring's paragraphs each on one line, for the help to wrap them."""
    if not text:
        return text
    return "\n\n".join(" ".join(p.split()) for p in inspect.cleandoc(text).split("\n\n"))


class _Group(typer.core.TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_params(super().get_params(ctx))


class _Command(typer.core.TyperCommand):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.help = _paragraphs(self.help)

    def get_params(self, ctx: Any) -> list[Any]:
        return _plain_params(super().get_params(ctx))


app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    cls=_Group,
    help="credsim: simulate social credit systems on synthetic populations. "
    "It never scores real people.",
)
console = Console()
err_console = Console(stderr=True)
THE_SCENARIOS = "the scenario's"

# options several commands take
AgentsOption = Annotated[
    int | None,
    typer.Option(metavar="N", show_default=THE_SCENARIOS, help="number of synthetic agents"),
]
DaysOption = Annotated[
    int | None, typer.Option(metavar="N", show_default=THE_SCENARIOS, help="days to simulate")
]
FirstSeedOption = Annotated[
    int | None, typer.Option(metavar="N", show_default=THE_SCENARIOS, help="first seed")
]
ScenarioArgument = Annotated[
    str, typer.Argument(metavar="SCENARIO", help="a preset name or a scenario TOML file")
]
QuietOption = Annotated[bool, typer.Option(help="no progress bar")]


def _name_of(scenario: str) -> str:
    """A preset's name, or a scenario file's (or run directory's) stem: for output names."""
    return Path(scenario.rstrip("/")).stem or scenario


def _bar(label: str, *middle: ProgressColumn, quiet: bool) -> Progress:
    """The progress bar of a command that runs several simulations: LABEL, the bar, done
    of total, ``middle`` (a rate, the best error), elapsed time and time left."""
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        *middle,
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=console,
        disable=quiet,
    )


def _version(value: bool) -> None:
    if value:
        from . import __version__

        console.print(f"credsim {__version__}", highlight=False)
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="print credsim's version and exit"
        ),
    ] = False,
) -> None:
    pass


class DaysPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f} days/s" if speed else "- days/s", style="cyan")


def _fail(e: Exception) -> None:
    err_console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
    raise typer.Exit(getattr(e, "exit_code", 2))


@app.command(cls=_Command)
def run(
    scenario: ScenarioArgument = "as-reported",
    agents: AgentsOption = None,
    days: DaysOption = None,
    seed: Annotated[
        int | None, typer.Option(metavar="N", show_default=THE_SCENARIOS, help="random seed")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(metavar="DIR", show_default="runs/SCENARIO", help="run directory to write"),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="KEY=VALUE",
            help="override a parameter (repeatable), e.g. --set observe.misid=0.001",
        ),
    ] = None,
    profile: Annotated[bool, typer.Option(help="print the time spent in each phase")] = False,
    force: Annotated[bool, typer.Option(help="overwrite an existing run directory")] = False,
    resume: Annotated[
        Path | None,
        typer.Option(metavar="RUN", help="continue the interrupted run in this run directory"),
    ] = None,
    checkpoint_every: Annotated[
        int | None,
        typer.Option(
            metavar="K",
            show_default="30, or the resumed run's",
            help="write a checkpoint every K days (0: only on Ctrl-C)",
        ),
    ] = None,
    processes: Annotated[
        int | None,
        typer.Option(
            metavar="P",
            help="partition the run among P processes on this machine (starts mpiexec; "
            "pip install 'credsim[mpi]')",
        ),
    ] = None,
    quiet: QuietOption = False,
) -> None:
    """Run a scenario and write its run directory (run.json and Parquet tables).

    A checkpoint is written every --checkpoint-every days; Ctrl-C stops at the end of
    the current day and writes one; --resume RUN continues from it."""
    from .partition import mpi_size
    from .sim import COMPILE, Sim, prepare_out, warm_kernels

    if processes is not None and mpi_size() <= 1 and processes != 1:
        _launch(processes, scenario, agents, days, seed, out, set_, profile, force, resume,
                checkpoint_every, quiet)  # fmt: skip
        return
    if mpi_size() > 1:  # started by mpiexec: this process is one rank of the run
        _run_partitioned(scenario, agents, days, seed, out, set_, profile, force, resume,
                         checkpoint_every, quiet)  # fmt: skip
        return
    sim = None
    try:
        if checkpoint_every is not None and checkpoint_every < 0:
            raise CredsimError(f"--checkpoint-every {checkpoint_every}: must be >= 0")
        t0 = time.perf_counter()

        def warm() -> float:  # once the input is known to be good
            with console.status("loading credsim's kernels...") as status:
                COMPILE.on_start = lambda: status.update(COMPILING)
                compiled = warm_kernels()
            COMPILE.on_start = None
            if compiled > 0:
                console.print(
                    f"compiled credsim's kernels in {compiled:.1f} s (once: later "
                    f"runs load them from the cache)"
                )
            return compiled

        if resume is not None:
            _check_resume_alone(scenario, agents, days, seed, set_, out, force)
            compiled = warm()
            with console.status(f"rebuilding the run in {resume}..."):
                sim = Sim.resume(resume)
            sim.timings["compile"] += compiled
            out = resume
            console.print(f"resuming {sim.scenario.name} at day {sim.day_done} of {sim.days}")
        else:
            sim = Sim(scenario, agents=agents, days=days, seed=seed, overrides=set_ or [])
            out = out or Path("runs") / sim.scenario.name
            if checkpoint_every is not None:
                sim.checkpoint_every = checkpoint_every
            sim.timings["compile"] += warm()  # before the check: it counts what is loaded
            sim.check_resources(out)
            sim.lock = prepare_out(out, force)
            sim.out = out
            with console.status(f"building {sim.n:,} agents and their friend network..."):
                sim.build()
            tm = sim.timings
            console.print(
                f"built {sim.n:,} agents and {sim.graph.nnz // 2:,} friendships "
                f"in {tm['build_population'] + tm['build_network']:.1f} s"
            )
        previous = signal.getsignal(signal.SIGINT)

        def stop(signum: int, frame: FrameType | None) -> None:
            if sim.stop_requested:  # a second Ctrl-C: stop now
                signal.signal(signal.SIGINT, previous)
                raise KeyboardInterrupt
            sim.stop_requested = True
            err_console.print("stopping at the end of the day (Ctrl-C again to abort)...")

        signal.signal(signal.SIGINT, stop)
        try:
            with Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("days"),
                DaysPerSecond(),
                TimeElapsedColumn(),
                TextColumn("elapsed,"),
                TimeRemainingColumn(),
                TextColumn("left"),
                console=console,
                disable=quiet,
            ) as bar:
                task = bar.add_task(sim.scenario.name, total=sim.days, completed=sim.day_done)
                res = sim.run(
                    out=out,
                    checkpoint_every=checkpoint_every,
                    progress=lambda d, n: bar.update(task, completed=d),
                )
        finally:
            signal.signal(signal.SIGINT, previous)
    except CredsimError as e:
        _fail(e)
        return
    except KeyboardInterrupt:
        _fail_run(sim, "aborted", 130)
        return
    except MemoryError:
        _fail_run(sim, "out of memory", 2)
        return
    except OSError as e:
        _fail_run(sim, f"{e.filename or ''}{': ' if e.filename else ''}{e.strerror or e}", 2)
        return
    wall = time.perf_counter() - t0
    _summary_table(res.meta, wall)
    if profile:
        _profile_table(res.meta["timings_s"], sim.days)
    console.print(f"run directory: [bold]{out}[/]")


def _check_resume_alone(
    scenario: str,
    agents: int | None,
    days: int | None,
    seed: int | None,
    set_: list[str] | None,
    out: Path | None,
    force: bool,
) -> None:
    """--resume takes no option that would change the run."""
    given = [
        o
        for o, v in (
            ("a scenario", scenario != "as-reported"),
            ("--agents", agents is not None),
            ("--days", days is not None),
            ("--seed", seed is not None),
            ("--set", bool(set_)),
            ("--out", out is not None),
            ("--force", force),
        )
        if v
    ]
    if given:
        raise CredsimError(
            f"--resume continues a run as it was started: give no scenario, --agents, "
            f"--days, --seed, --set, --out or --force (got {', '.join(given)})"
        )


def _run_partitioned(
    scenario: str, agents: int | None, days: int | None, seed: int | None, out: Path | None,
    set_: list[str] | None, profile: bool, force: bool, resume: Path | None,
    checkpoint_every: int | None, quiet: bool,
) -> None:  # fmt: skip
    """``credsim run`` as one rank of ``mpiexec -n P credsim run ...``: rank 0 speaks and
    writes the run directory. An error every rank meets is said once by rank 0; one that
    a rank meets alone is said by that rank, which then ends the whole job."""
    from .partition import comm_world, make_sim, mpi_rank, resume_sim, wait_all
    from .sim import warm_kernels

    rank = mpi_rank()
    sim = None
    try:
        if checkpoint_every is not None and checkpoint_every < 0:
            e = CredsimError(f"--checkpoint-every {checkpoint_every}: must be >= 0")
            e.all_ranks = True
            raise e
        t0 = time.perf_counter()
        if resume is not None:
            try:
                _check_resume_alone(scenario, agents, days, seed, set_, out, force)
            except CredsimError as e:
                e.all_ranks = True
                raise
            comm = comm_world()
        else:
            sim = make_sim(scenario, agents, days, seed, set_ or [])
            comm = sim.part.comm if sim.part is not None else comm_world()
        # rank 0 compiles what is missing (the others wait asleep), then the others load it
        compiled = warm_kernels(helper=False) if rank == 0 else 0.0
        wait_all(comm)
        if rank != 0:
            warm_kernels(helper=False)
        if resume is not None:
            sim = resume_sim(resume)
            out = resume
        assert sim is not None and sim.part is not None
        part = sim.part
        sim.timings["compile"] += compiled
        out = out or Path("runs") / sim.scenario.name
        if checkpoint_every is not None:
            sim.checkpoint_every = checkpoint_every
        if rank == 0 and not quiet and resume is not None:
            console.print(
                f"resuming {sim.scenario.name} at day {sim.day_done} of {sim.days} on "
                f"{part.size} processes"
            )
        elif rank == 0 and not quiet:
            console.print(
                f"{sim.scenario.name}: {sim.n_total:,} agents on {part.size} processes "
                f"(agents {', '.join(f'{int(a):,}' for a in part.bounds[1:-1])} begin "
                f"the ranks after the first)"
            )
        previous = signal.getsignal(signal.SIGINT)

        def stop(signum: int, frame: FrameType | None) -> None:
            # mpiexec passes Ctrl-C to every rank; they agree on the day to stop at
            if sim is not None and sim.stop_requested:  # a second Ctrl-C: stop now
                signal.signal(signal.SIGINT, previous)
                raise KeyboardInterrupt
            if sim is not None:
                sim.stop_requested = True
            if rank == 0:
                err_console.print("stopping at the end of the day (Ctrl-C again to abort)...")

        signal.signal(signal.SIGINT, stop)
        try:
            res = sim.run(out=out, force=force)
        finally:
            signal.signal(signal.SIGINT, previous)
    except CredsimError as e:
        if e.all_ranks:
            if rank == 0:
                _fail(e)
            raise typer.Exit(e.exit_code) from None
        _abort(sim, rank, str(e), e.exit_code)
        return
    except MemoryError:
        _abort(sim, rank, "out of memory", 2)
        return
    except OSError as e:
        _abort(sim, rank, f"{e.filename or ''}{': ' if e.filename else ''}{e.strerror or e}", 2)
        return
    if rank == 0:
        _summary_table(res.meta, time.perf_counter() - t0)
        if profile:
            _profile_table(res.meta["timings_s"], res.meta["days"])
        console.print(f"run directory: [bold]{out}[/]")


def _launch(
    processes: int, scenario: str, agents: int | None, days: int | None, seed: int | None,
    out: Path | None, set_: list[str] | None, profile: bool, force: bool, resume: Path | None,
    checkpoint_every: int | None, quiet: bool,
) -> None:  # fmt: skip
    """``credsim run --processes P``: the same run as P ranks under mpiexec on this
    machine, its output passed through; a rank killed from outside is one line."""
    from .partition import launch
    from .sim import Sim

    try:
        if processes < 1:
            raise CredsimError(f"--processes {processes}: must be >= 1")
        args = ["--quiet"] if quiet else []
        if resume is not None:
            args += ["--resume", str(resume)]
            out = resume
        else:
            if out is None:  # where the ranks will write it: said here, to watch it
                name = Sim(scenario, agents=agents, days=days, seed=seed, overrides=set_ or [])
                out = Path("runs") / name.scenario.name
            args += [scenario, "--out", str(out)]
            for flag, v in (("--agents", agents), ("--days", days), ("--seed", seed)):
                if v is not None:
                    args += [flag, str(v)]
            for kv in set_ or []:
                args += ["--set", kv]
            if force:
                args.append("--force")
        if checkpoint_every is not None:
            args += ["--checkpoint-every", str(checkpoint_every)]
        if profile:
            args.append("--profile")
        rc = launch(processes, args, Path(out))
    except CredsimError as e:
        _fail(e)
        return
    if rc:
        raise typer.Exit(rc)


def _abort(sim: Sim | None, rank: int, what: str, code: int) -> None:
    """One line naming the rank that failed; then the whole job ends: this process exits
    at once (the other ranks wait in an exchange), and mpiexec ends the others."""
    import os

    err_console.print(f"[bold red]error:[/] rank {rank}: {what}", highlight=False, soft_wrap=True)
    if sim is not None and sim.part is not None:
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(code)
    raise typer.Exit(code)


COMPILING = (
    "compiling credsim's kernels (first run only, about a minute on 2 cores; "
    "they are cached for later runs)..."
)


def _fail_run(sim: Sim | None, what: str, code: int) -> None:
    """One line for a run that failed (or was aborted): what happened, and whether and how
    it can be resumed. Nothing finished is deleted."""
    from .rundir import CHECKPOINT

    hint = ""
    if sim is not None and sim.out is not None:
        day = sim.checkpoint_day
        if (sim.out / CHECKPOINT).exists() and day is not None:
            where = f"after day {day - 1}" if day < sim.days else "of the finished days"
            hint = (
                f"; the last checkpoint ({where}) is kept: resume with "
                f"'credsim run --resume {sim.out}'"
            )
        else:
            hint = f"; no checkpoint was written: start over with --force --out {sim.out}"
    err_console.print(f"[bold red]error:[/] {what}{hint}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _people(n: float) -> str:
    """1.4 billion, 2.5 million, 670,000."""
    for size, word in ((1e9, "billion"), (1e6, "million")):
        if n >= size:
            return f"{n / size:.3g} {word}"
    return f"{n:,.0f}"


def _times(scale: float) -> str:
    return f"x{scale:,.0f}" if scale >= 100 or scale == int(scale) else f"x{scale:.3g}"


def _mechanisms(scn: dict) -> dict[str, bool]:
    """Which of the summary's mechanisms the scenario switches on (True when unknown)."""

    def on(v: object) -> bool:
        if isinstance(v, dict) and "values" in v:  # a schedule
            return any(x != 0 for x in v["values"])
        return v is None or bool(v)

    lst = scn.get("listing", {})
    listing = on(lst.get("court_listing")) or on(lst.get("score_listing"))
    svcs = scn.get("services", {}).values()

    def deny(v: dict[str, Any]) -> bool:
        return (
            listing
            and bool(v.get("deny_listed", True) or v.get("deny_parent_listed", False))
            or v.get("deny_below", 0) is not None
        )

    return {
        "list": listing,
        "association": on(lst.get("score_listing"))
        and on(scn.get("score", {}).get("association_weight")),
        "deny": any(deny(v) for v in svcs) if svcs else True,
        "flight": deny(scn.get("services", {}).get("flight", {})),
        "train": deny(scn.get("services", {}).get("train", {})),
        "deposit": any(
            v.get("deposit_below", 0) is not None or v.get("unscored_deposit") for v in svcs
        )
        if svcs
        else True,
        "perk": any(v.get("perk_from", 0) is not None for v in svcs) if svcs else True,
        "unfriending": on(scn.get("respond", {}).get("unfriending")),
        "speech": on(scn.get("observe", {}).get("speech_monitor")),
    }


def _summary_table(meta: dict, wall: float) -> None:
    """The end-of-run summary: what the preset did (its list, services, grades,
    friendships, speech), rows that are zero and whose mechanism is off left out (all of
    it stays in run.json's summary)."""
    from .constants import SERVICES

    s = meta["summary"]
    scale = float(meta["scale"])
    represented = float(meta.get("represented", scale * meta["agents"]))
    estimate = scale != 1.0  # at one agent per person the counts are the estimates
    scn = meta.get("scenario", {})
    national = not scn.get("population", {}).get("single_region")
    on = _mechanisms(scn)
    from .results import period

    when = f" ({period(meta)})" if period(meta) else ""
    t = Table(
        title=f"{meta['preset']}: {meta['agents']:,} agents, {meta['days']} days{when}, "
        f"seed {meta['seed']} ({wall:.1f} s)"
    )
    t.add_column("measure")
    t.add_column("simulation", justify="right")
    if estimate:
        t.add_column(
            f"{'national ' if national else ''}estimate for {_people(represented)} "
            f"people ({_times(scale)})",
            justify="right",
            style="dim",
        )
    blank = [""] if estimate else []

    def count(label: str, v: int, shown: bool = True) -> None:
        if v or shown:
            t.add_row(label, f"{v:,}", *([f"{v * scale:,.0f}"] if estimate else []))

    def section(title: str) -> None:
        if t.row_count:
            t.rows[-1].end_section = True
        t.add_row(f"[bold]{title}[/]", "", *blank)

    if on["list"] or s.get("ever_listed") or s.get("listing_entries"):
        section("the list")
        count("listed at the end", s["listed_end"])
        count("ever listed", s["ever_listed"])
        count("listing entries", s["listing_entries"])
        count("  of them wrongful", s["wrongful_entries"])
        count("  by association", s["association_entries"], on["association"])
        t.add_row("wrongful share of entries", f"{s['wrongful_share_of_entries']:.1%}", *blank)
    section("services")
    svc = s.get("services", {})
    every = svc.get("all", {})
    if every:
        count("service requests", every["requests"])
    count("  denied", s["denials_total"], on["deny"])
    count("    flights denied", s["flights_denied"], on["flight"])
    count("    trains denied", s["trains_denied"], on["train"])
    if every:
        count("  with a deposit", every["deposit"], on["deposit"])
        count("  with a perk", every["perk"], on["perk"])
    section("scores and grades")
    tiers = {tier: n for tier, n in s.get("tiers_end", {}).items() if n}
    if tiers:
        t.add_row("agents by tier at the end", "", *blank)
        for tier, n in tiers.items():
            count(f"  {'unscored' if tier == 'unscored' else 'tier ' + tier}", n)
    t.add_row(
        "score mean / Gini at the end",
        f"{s['score_mean_end']:.1f} / {s['score_gini_end']:.4f}",
        *blank,
    )
    section("friendships and speech")
    count("friendships cut", s["edges_cut"], on["unfriending"])
    if on["speech"] or s.get("flags_per_speaker_year"):
        t.add_row("rumour flags per speaker-year", f"{s['flags_per_speaker_year']:.2f}", *blank)
    t.add_row(
        "speech volume, posts (day 0 -> last)",
        f"{s['posts_day0']:,} -> {s['posts_last_day']:,}",
        *blank,
    )
    console.print(t)
    _services_table(svc, SERVICES)
    if estimate:
        console.print(
            f"[dim]estimates scale the counts by the {_people(represented)} people "
            f"represented / {meta['agents']:,} agents; they are model estimates, "
            "not observations.[/]"
        )
    else:
        console.print(
            f"[dim]each agent stands for one of the {_people(represented)} people "
            "represented: the counts are the model's estimates for them, not "
            "observations.[/]"
        )


def _services_table(s: dict, services: tuple[str, ...]) -> None:
    """Requests and their outcomes other than granted, for the services that had any
    (``s``: the summary's ``services``)."""
    outcomes = [
        o for o in ("denied", "deposit", "perk") if any(s.get(svc, {}).get(o) for svc in services)
    ]
    rows = [svc for svc in services if any(s.get(svc, {}).get(o) for o in outcomes)]
    if not rows:
        if s:
            console.print("[dim]every service request was granted: no denial, deposit or perk.[/]")
        return
    t = Table(title="services that denied, asked a deposit or gave a perk (over the run)")
    t.add_column("service")
    t.add_column("requests", justify="right")
    for o in outcomes:
        t.add_column(
            {"deposit": "with a deposit", "perk": "with a perk"}.get(o, o), justify="right"
        )
    for svc in rows:
        n = s[svc]["requests"]
        t.add_row(svc.replace("_", " "), f"{n:,}", *[_of(s[svc][o], n) for o in outcomes])
    console.print(t)


def _of(k: int, n: int) -> str:
    """A count and its share of n: 11,956 (100%), 23 (0.4%), 0."""
    if not k or not n:
        return f"{k:,}"
    p = 100 * k / n
    share = f"{p:.0f}%" if p >= 10 or p == int(p) else f"{p:.1f}%" if p >= 0.1 else "<0.1%"
    return f"{k:,} ({share})"


def _profile_table(timings: dict, days: int) -> None:
    from .phases import ORDER

    day_phases = {ph.name for ph in ORDER}
    t = Table(title="time per phase")
    t.add_column("phase")
    t.add_column("total s", justify="right")
    t.add_column("ms/day", justify="right")
    t.add_column("share", justify="right")
    day_total = sum(v for k, v in timings.items() if k in day_phases)
    for k, v in timings.items():
        daily = k in day_phases
        t.add_row(
            k,
            f"{v:.3f}",
            f"{1000 * v / days:.2f}" if daily else "",
            f"{v / day_total:.1%}" if daily else "",
        )
    console.print(t)


@app.command(cls=_Command)
def presets() -> None:
    """List the shipped presets and what each one models."""
    from .scenario import PRESETS, load_scenario

    t = Table(title="presets")
    t.add_column("preset", style="bold")
    t.add_column("agents", justify="right")
    t.add_column("what it models")
    for p in PRESETS:
        s = load_scenario(p)
        t.add_row(p, f"{s.population.agents:,}", s.description)
    console.print(t)
    console.print(
        "Run one with [bold]credsim run PRESET[/]; a scenario file names a preset "
        '(preset = "...") and overrides keys.'
    )


@app.command(cls=_Command)
def report(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN", help="a run directory")],
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            show_default="the run directory",
            help="directory to write report.html and figures/ into",
        ),
    ] = None,
) -> None:
    """Write a self-contained report.html (interactive charts, opens offline) and PNGs."""
    from .report import write_report
    from .results import load_run

    t0 = time.perf_counter()
    try:
        with console.status("building the report..."):
            path = write_report(load_run(run_dir), out)
    except CredsimError as e:
        _fail(e)
        return
    pngs = len(list((path.parent / "figures").glob("*.png")))
    console.print(
        f"report: [bold]{path}[/] ({path.stat().st_size / 1e6:.1f} MB, {pngs} "
        f"figures as PNG in {path.parent / 'figures'}; "
        f"{time.perf_counter() - t0:.1f} s)"
    )


@app.command(cls=_Command)
def compare(
    a: Annotated[
        str, typer.Argument(metavar="A", help="a preset, a scenario TOML file or a run directory")
    ],
    b: Annotated[str, typer.Argument(metavar="B", help="the same kind as A")],
    replicates: Annotated[
        int | None,
        typer.Option(
            metavar="N", show_default="5", help="replicates of each (seeds seed, seed+1, ...)"
        ),
    ] = None,
    agents: AgentsOption = None,
    days: DaysOption = None,
    seed: FirstSeedOption = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", metavar="KEY=VALUE", help="override a parameter of both A and B (repeatable)"
        ),
    ] = None,
    set_a: Annotated[
        list[str] | None,
        typer.Option(
            "--set-a", metavar="KEY=VALUE", help="override a parameter of A only (repeatable)"
        ),
    ] = None,
    set_b: Annotated[
        list[str] | None,
        typer.Option(
            "--set-b", metavar="KEY=VALUE", help="override a parameter of B only (repeatable)"
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            show_default="runs/compare-A-vs-B",
            help="directory for compare.html, compare.csv and replicates.csv",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="overwrite the comparison already in the output directory")
    ] = False,
    quiet: QuietOption = False,
) -> None:
    """Compare two designs: paired differences B - A with 95 % intervals.

    Two run directories are compared as they are: --replicates, --agents, --days, --seed
    and --set apply to presets and scenario files only."""
    from .compare import check_out, rich_table
    from .compare import compare as run_compare

    bar = _bar("[bold]{task.description}", TextColumn("days"), quiet=quiet)
    tasks: list = []

    def tick(done: int, total: int, label: str) -> None:
        if not tasks:  # the bar appears once the first run has started
            bar.start()
            tasks.append(bar.add_task(label, total=total))
        bar.update(tasks[0], completed=done, total=total, description=label)

    name = "-vs-".join(_name_of(x) for x in (a, b))
    out = out or Path("runs") / f"compare-{name}"
    try:
        check_out(out, force)  # before minutes of simulation, not after
        try:
            cmp = run_compare(
                a,
                b,
                replicates=replicates,
                agents=agents,
                days=days,
                seed=seed,
                overrides=set_ or [],
                overrides_a=set_a or [],
                overrides_b=set_b or [],
                progress=tick,
            )
        finally:
            if tasks:
                bar.stop()
        path = cmp.save(out, force=force)
    except CredsimError as e:
        _fail(e)
        return
    console.print(rich_table(cmp))
    for n in cmp.meta.get("notes", []):
        console.print(f"[yellow]note:[/] {n}")
    if cmp.k > 1:
        console.print(
            "[dim]B − A: mean of the paired differences (common random numbers); "
            "green: the 95 % interval excludes 0. Counts are of simulated agents, "
            "not national estimates.[/]"
        )
    console.print(f"comparison: [bold]{path}[/] (table: compare.csv, runs: replicates.csv)")


class RunsPerMinute(ProgressColumn):
    def render(self, task: Task) -> Text:
        rate = task.fields.get("rate")
        return Text(f"{rate:.1f} runs/min" if rate else "- runs/min", style="cyan")


@app.command(cls=_Command)
def sweep(
    scenario: ScenarioArgument,
    vary: Annotated[
        list[str],
        typer.Option(
            metavar="KEY=SPEC",
            help="a parameter and its values (repeatable): a grid takes a,b,c or lo:hi:n[:log], "
            "a sampled design lo:hi[:log]; KEY[I] is the I-th value of a schedule",
        ),
    ],
    replicates: Annotated[
        int, typer.Option(metavar="R", help="runs of each point, seeds seed, seed+1, ...")
    ] = 1,
    design: Annotated[
        str, typer.Option(metavar="DESIGN", help="grid, lhs, morris or sobol")
    ] = "grid",
    samples: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="sampled designs: LHS points, Morris trajectories or Sobol base samples "
            "(a power of 2)",
        ),
    ] = None,
    agents: AgentsOption = None,
    days: DaysOption = None,
    seed: FirstSeedOption = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="KEY=VALUE", help="override a parameter at every point"),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(metavar="DIR", show_default="sweeps/SCENARIO", help="the sweep directory"),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(metavar="N", show_default="cores / threads", help="runs at once"),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(metavar="T", show_default="1, or cores / workers", help="threads of each run"),
    ] = None,
    executor: Annotated[
        str,
        typer.Option(
            metavar="KIND",
            help="processes (this machine) or mpi (under mpiexec -n P: rank 0 leads, "
            "P - 1 ranks run)",
        ),
    ] = "processes",
    keep_runs: Annotated[
        bool, typer.Option(help="keep every run's directory under DIR/runs")
    ] = False,
    force: Annotated[bool, typer.Option(help="replace the sweep in DIR")] = False,
    quiet: QuietOption = False,
) -> None:
    """Run a scenario at every point of a design, each point with the same seeds.

    Writes DIR/sweep.parquet (one row per run: the varied values, the seed, every
    headline measure, the wall time) and DIR/sweep.json (the design and the command).
    An interrupted sweep resumes: run the same command again."""
    from .sweep import plan, run_sweep

    if executor not in ("processes", "mpi"):
        _fail(CredsimError(f"--executor {executor}: must be processes or mpi"))
    out = out or Path("sweeps") / _name_of(scenario)
    command = "credsim " + " ".join(sys.argv[1:])

    def go(ex: Any, n_workers: int | None) -> None:
        bar = _bar("[bold]runs", RunsPerMinute(), quiet=quiet)
        task: list = []
        state = {"done": 0, "total": 0}

        def start(done: int, total: int) -> None:
            state.update(done=done, total=total)
            if done:
                console.print(f"resuming {out}: {done:,} of {total:,} runs done")
            bar.start()
            task.append(bar.add_task("runs", total=total, completed=done, rate=None))

        def tick(done: int, total: int, rate: float) -> None:
            state["done"] = done
            bar.update(task[0], completed=done, rate=rate)

        def stop(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt  # a scheduler's SIGTERM stops the sweep as Ctrl-C does

        previous = signal.signal(signal.SIGTERM, stop)
        try:
            p = plan(scenario, vary, replicates, design, samples, agents, days, seed, set_, command)
            try:
                df = run_sweep(
                    p,
                    out,
                    n_workers if ex is not None else workers,
                    threads,
                    keep_runs,
                    force,
                    executor=ex,
                    progress=tick,
                    on_start=start,
                )
            finally:
                bar.stop()
        except CredsimError as e:
            _fail(e)
            return
        except KeyboardInterrupt:
            err_console.print(
                f"interrupted: {state['done']:,} of {state['total']:,} runs done; run the "
                "same command again to resume"
            )
            raise typer.Exit(130) from None
        finally:
            signal.signal(signal.SIGTERM, previous)
        failed = df[df["status"] != "ok"]
        wall = float(df["wall_s"].sum())
        took = f"{wall:.1f} s" if wall < 120 else f"{wall / 60:.1f} min"
        console.print(
            f"sweep: [bold]{out}[/] ({len(df):,} runs, {took} of run time; "
            f"table: sweep.parquet, design: sweep.json)"
        )
        if len(failed):
            for r in failed.head(5).itertuples():
                err_console.print(f"[yellow]failed:[/] point {r.point}, seed {r.seed}: {r.error}")
            err_console.print(
                f"{len(failed)} run(s) failed after 2 attempts; run the same command again "
                "to retry them"
            )
            raise typer.Exit(1)

    if executor == "processes":
        go(None, None)
        return
    try:
        from mpi4py import MPI
        from mpi4py.futures import MPICommExecutor
    except ImportError:
        _fail(CredsimError("--executor mpi: mpi4py is not installed (pip install 'credsim[mpi]')"))
        return
    comm = MPI.COMM_WORLD
    if comm.Get_size() < 2:
        _fail(
            CredsimError(
                "--executor mpi needs at least 2 MPI processes: mpiexec -n P credsim sweep ... "
                "with P >= 2 (rank 0 leads, the others run)"
            )
        )
    with MPICommExecutor(comm, root=0) as ex:
        if ex is None:  # a worker rank: it ran tasks until rank 0 was done
            return
        go(ex, workers or comm.Get_size() - 1)


@app.command(cls=_Command)
def sensitivity(
    sweep_dir: Annotated[Path, typer.Argument(metavar="SWEEP", help="a sweep directory")],
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            show_default="SWEEP",
            help="directory for sensitivity.html, indices.csv, curves.csv and figures/",
        ),
    ] = None,
    measure: Annotated[
        list[str] | None,
        typer.Option(metavar="KEY", help="a headline measure to analyse (repeatable; default all)"),
    ] = None,
    force: Annotated[bool, typer.Option(help="overwrite the analysis already there")] = False,
) -> None:
    """Which parameters of a sweep drive each headline measure.

    Morris (mu*, sigma) and Sobol (first and total) indices with 95 % intervals from a
    sweep of that design, RBD-FAST first-order indices from a Latin hypercube, and
    partial-dependence curves with 95 % bands across replicates from a grid."""
    from .sensitivity import check_out
    from .sensitivity import sensitivity as analyse

    try:
        check_out(out or sweep_dir, force)
        sens = analyse(sweep_dir, measure or None)
        path = sens.save(out, force=force)
    except CredsimError as e:
        _fail(e)
        return
    console.print(_sensitivity_table(sens))
    for n in sens.notes:
        console.print(f"[yellow]note:[/] {n}", highlight=False)
    console.print(f"sensitivity: [bold]{path}[/] (indices.csv, curves.csv, figures/)")


def _sensitivity_table(sens: Any) -> Table:
    """Each measure's three most influential factors with their index, and its noise."""
    from .sensitivity import IMPORTANCE, _index, label

    index = IMPORTANCE[sens.design]
    t = Table(
        title=f"sensitivity ({sens.design}: {index}), {len(sens.factors)} factors",
        title_justify="left",
    )
    t.add_column("measure")
    for k in ("1st", "2nd", "3rd")[: len(sens.factors)]:
        t.add_column(k)
    t.add_column("noise", justify="right")
    noise = sens.indices.groupby("measure", sort=False)["noise_share"].first()
    table = sens.table()
    for m in sens.measures:
        row = table.loc[m].astype(float)
        if not (row.abs() > 0).any():
            cells = ["[dim]constant[/]"] + [""] * (min(3, len(row)) - 1)
            shown = "–"
        else:
            top = row.abs().sort_values(ascending=False).index[:3]
            cells = [f"{k} [cyan]{_index(row[k], index)}[/]" for k in top]
            shown = f"{100 * float(noise[m]):.0f} %"
        t.add_row(label(m)[0], *cells, shown)
    return t


@app.command(cls=_Command)
def validate(
    runs: Annotated[
        list[Path],
        typer.Argument(
            metavar="RUN...", help="a run directory, or several (one design, other seeds)"
        ),
    ],
    targets: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            show_default="the published figures and travel volumes shipped with credsim",
            help="a target CSV: date, figure, value, unit, source",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(metavar="FILE.csv", show_default="RUN/validation.csv", help="the fit table"),
    ] = None,
    force: Annotated[bool, typer.Option(help="overwrite --out FILE.csv")] = False,
) -> None:
    """How a run reproduces published figures, on the same definitions.

    For every target row: its date, the figure, the published and the simulated value
    (scaled to the population represented), the relative error and, for several runs,
    the range across seeds. Writes the table, RUN/validation.html and the fit figures
    (RUN/figures/validation-*.png)."""
    from .validation import FIGURES
    from .validation import validate as run_validate

    try:
        v = run_validate(runs, targets)
        page = v.save(runs[0], out, force=force)
    except CredsimError as e:
        _fail(e)
        return
    t = Table(title=f"fit to {v.meta['targets']} ({len(runs)} run(s))", title_justify="left")
    for c in ("date", "figure", "published", "simulated", "error"):
        t.add_column(c, justify="left" if c in ("date", "figure") else "right")
    if len(runs) > 1:
        t.add_column("range across seeds", justify="right")
    for r in v.table.to_dict("records"):
        err = r["rel_error"]
        color = "green" if abs(err) <= 0.15 else "red"
        row = [
            str(r["date"]),
            FIGURES[r["figure"]].label,
            f"{r['published']:,.0f}",
            f"{r['simulated']:,.0f}",
            f"[{color}]{100 * err:+.1f} %[/]",
        ]
        if len(runs) > 1:
            row.append(f"{r['sim_min']:,.0f} to {r['sim_max']:,.0f}")
        t.add_row(*row)
    console.print(t)
    for n in sorted({x for x in v.table["note"] if x}):
        console.print(f"[yellow]note:[/] {n}")
    table = out or Path(runs[0]) / "validation.csv"
    console.print(
        f"validation: [bold]{page}[/] (table: {table}, figures: figures/validation-*.png)"
    )


class BestError(ProgressColumn):
    def render(self, task: Task) -> Text:
        best = task.fields.get("best")
        return Text(f"best error {best:.4g}" if best is not None else "best error -", style="cyan")


@app.command(cls=_Command)
def calibrate(
    scenario: ScenarioArgument,
    param: Annotated[
        list[str],
        typer.Option(
            metavar="KEY=SPEC",
            help="a parameter to fit and its range lo:hi or lo:hi:log (repeatable); KEY[I] "
            "is the I-th value of a schedule",
        ),
    ],
    targets: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            show_default="the published figures and travel volumes shipped with credsim",
            help="a target CSV: date, figure, value, unit, source (and optionally weight)",
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(metavar="DATE", help="fit only on targets dated up to DATE (YYYY-MM-DD)"),
    ] = None,
    trials: Annotated[int, typer.Option(metavar="N", help="Optuna trials")] = 50,
    seeds: Annotated[
        int, typer.Option(metavar="K", help="runs of each trial, seeds seed ... seed+K-1")
    ] = 2,
    agents: AgentsOption = None,
    days: DaysOption = None,
    seed: FirstSeedOption = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="KEY=VALUE", help="override a parameter in every trial"),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR", show_default="calibrations/SCENARIO", help="the calibration directory"
        ),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(metavar="N", show_default="the cores", help="runs at once")
    ] = None,
    force: Annotated[bool, typer.Option(help="start over in DIR")] = False,
    quiet: QuietOption = False,
) -> None:
    """Fit a scenario's parameters to published figures with Optuna.

    Each trial runs the scenario with the same seeds and scores the mean of its
    simulated figures against the targets (squared log ratios). Writes DIR/best.toml
    (the best scenario: credsim run takes it), fit.csv, trials.csv, calibration.json,
    the study (study.db: the same command resumes an interrupted calibration) and the
    fit's page and figures from the best scenario run again with the same seeds."""
    from .calibrate import calibrate as run_calibrate
    from .calibrate import fit_runs

    out = out or Path("calibrations") / _name_of(scenario)
    bar = _bar("[bold]trials", BestError(), quiet=quiet)
    task: list = []

    def tick(done: int, total: int, best: float) -> None:
        if not task:
            bar.start()
            task.append(bar.add_task("trials", total=total, best=None))
        bar.update(task[0], completed=done, best=best)

    try:
        try:
            cal = run_calibrate(
                scenario,
                param,
                targets,
                trials,
                seeds,
                until,
                agents,
                days,
                seed,
                set_,
                out,
                workers,
                force,
                tick,
                "credsim " + " ".join(sys.argv[1:]),
            )
        finally:
            bar.stop()
        page = fit_runs(cal, targets)
    except CredsimError as e:
        _fail(e)
        return
    t = Table(
        title=f"best of {cal.meta['trials']} trials: error {cal.error:.4g} "
        f"(typical error {100 * cal.meta['typical_relative_error']:.0f} %)",
        title_justify="left",
    )
    t.add_column("parameter")
    t.add_column("best", justify="right")
    t.add_column("importance", justify="right")
    for k, v in cal.best.items():
        imp = cal.importances.get(k)
        t.add_row(k, f"{v:.6g}", "–" if imp is None else f"{imp:.2f}")
    console.print(t)
    f = Table(title="fit of the best trial", title_justify="left")
    for c in ("date", "figure", "published", "simulated", "error", "fitted"):
        f.add_column(c, justify="left" if c in ("date", "figure") else "right")
    for r in cal.table.to_dict("records"):
        color = "green" if abs(r["rel_error"]) <= 0.15 else "red"
        f.add_row(
            str(r["date"]),
            r["figure"],
            f"{r['published']:,.0f}",
            f"{r['simulated']:,.0f}",
            f"[{color}]{100 * r['rel_error']:+.1f} %[/]",
            "yes" if r["fitted"] else "no",
        )
    console.print(f)
    console.print(
        f"calibration: [bold]{cal.out}[/] (best.toml: credsim run {cal.out / 'best.toml'}; "
        f"fit: {page})"
    )


@app.command(cls=_Command)
def explain(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN", help="a run directory")],
    agent: Annotated[int | None, typer.Option(metavar="ID", help="the agent's index")] = None,
    pick: Annotated[
        str | None,
        typer.Option(
            metavar="KIND", help="pick an agent: wrongful, association, speaker or listed"
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR", show_default="the run directory", help="directory for explain-ID.html"
        ),
    ] = None,
) -> None:
    """One agent's story: events with their ground truth, listings, denials, its score."""
    from .explain import ExplainError
    from .explain import explain as story_of
    from .explain import pick as pick_agent
    from .results import load_run

    try:
        if (agent is None) == (pick is None):
            raise ExplainError(
                "explain: give either --agent ID or --pick wrongful|association|speaker|listed"
            )
        res = load_run(run_dir)
        aid = agent if agent is not None else pick_agent(res, str(pick))
        story = story_of(res, aid)
        path = story.save(out or run_dir)
    except CredsimError as e:
        _fail(e)
        return
    story.print(console)
    console.print(f"story: [bold]{path}[/]")


@app.command(cls=_Command)
def query(
    run_dir: Annotated[Path, typer.Argument(metavar="RUN", help="a run directory")],
    sql: Annotated[
        str,
        typer.Argument(
            metavar="SQL",
            help="one DuckDB query over the views daily, groups, services, "
            "score_hist, agents, ledger",
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="write the answer to a new .csv or .parquet file instead of "
            "printing it (never over the run's own files)",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="let --out overwrite an existing file")
    ] = False,
    limit: Annotated[int, typer.Option(metavar="N", help="rows to print at most")] = 50,
    memory_limit: Annotated[
        str,
        typer.Option(
            metavar="SIZE",
            help="DuckDB's memory cap (e.g. 500MB, 4GB); beyond it, it spills "
            "to a temporary directory or stops",
        ),
    ] = "1GB",
    unsafe: Annotated[
        bool,
        typer.Option(
            "--unsafe",
            help="a full DuckDB shell: several statements, any statement (COPY, "
            "ATTACH, INSTALL...), files and the network",
        ),
    ] = False,
) -> None:
    """SQL over a run's tables (DuckDB): print the answer, or write it to CSV/Parquet.

    The SQL is one read-only query (SELECT, WITH, VALUES, FROM, DESCRIBE, SUMMARIZE...)
    over the run's tables only: no other file, no network, no extension, and DuckDB's
    memory is capped by --memory-limit. The answer is streamed: --limit rows are
    printed, the rest counted up to a million rows.

    --unsafe is a full DuckDB shell: it lifts all of this but the memory cap (which its
    SQL may then change)."""
    from .query import head, write
    from .results import load_run

    try:
        res = load_run(run_dir)
        if out is not None:
            n = write(res, sql, out, force=force, unsafe=unsafe, memory_limit=memory_limit)
            console.print(
                f"{n:,} row{'s' if n != 1 else ''} written to [bold]{out}[/]", soft_wrap=True
            )
            return
        ans = head(res, sql, limit, unsafe=unsafe, memory_limit=memory_limit)
    except CredsimError as e:
        _fail(e)
        return
    _print_answer(ans)


MAX_CELL = 40  # characters of a printed value at most (longer ones end in ...)


def _print_answer(ans: Any) -> None:
    """A query's first rows as a table that fits the terminal: a single wide row is
    printed transposed (column | value); otherwise the columns that fit are printed,
    with a note of how many were left out."""
    import pyarrow as pa

    if not ans.table:
        console.print("done: the last statement returned no table")
        return
    numeric = [
        pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
        for t in ans.types
    ]
    cells = [[_cell(v) for v in row] for row in ans.rows]
    ncol = len(ans.columns)
    widths = [
        min(MAX_CELL, max([len(str(c))] + [len(r[i]) for r in cells]))
        for i, c in enumerate(ans.columns)
    ]
    room = console.width - 1  # a column takes its width, two of padding and a border
    if len(cells) == 1 and ncol > 1 and sum(w + 3 for w in widths) > room:
        t = Table(show_header=True)
        t.add_column("column", no_wrap=True)
        t.add_column("value", overflow="fold")
        for name, v in zip(ans.columns, cells[0]):
            t.add_row(Text(str(name)), Text(v))
        console.print(t)
        shown = ncol
    else:
        shown, used = 0, 0
        for w in widths:
            if shown and used + w + 3 > room:
                break
            used += w + 3
            shown += 1
        t = Table(show_header=True)
        for i in range(shown):
            t.add_column(
                Text(str(ans.columns[i])),
                justify="right" if numeric[i] else "left",
                no_wrap=True,
                min_width=min(widths[i], room - 4),
                max_width=MAX_CELL,
                overflow="ellipsis",
            )
        for r in cells:
            t.add_row(*[Text(v) for v in r[:shown]])
        console.print(t)
    rows = len(cells)
    if ans.total is not None:
        more = f", showing the first {rows:,}" if ans.total > rows else ""
        note = f"{ans.total:,} row{'s' if ans.total != 1 else ''}{more}"
    else:
        note = f"at least {ans.counted:,} rows (not all counted), showing the first {rows:,}"
    if shown < ncol:
        note += f"; showing {shown} of {ncol} columns"
    if shown < ncol or ans.total is None or ans.total > rows:
        note += "; --out FILE writes them all"
    console.print(f"[dim]{note}[/]", highlight=False, soft_wrap=True)


def _cell(v: object) -> str:
    """A value as printed: NULL; integers (and integral floats and decimals, such as a
    SUM) with thousands separators; other floats to about six significant digits."""
    from decimal import Decimal

    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, Decimal):
        return f"{v:,}"
    if isinstance(v, float):
        if v != v:
            return "NaN"
        a = abs(v)
        if a == float("inf"):
            return "inf" if v > 0 else "-inf"
        if v.is_integer() and a < 1e15:
            return f"{int(v):,}"
        if a >= 1e15 or a < 1:
            return f"{v:.6g}"
        decimals = max(1, 6 - len(str(int(a))))
        return f"{v:,.{decimals}f}".rstrip("0").rstrip(".")
    if isinstance(v, bytes):
        return repr(v)
    return str(v)


@app.command(cls=_Command)
def dashboard(
    port: Annotated[int, typer.Option(metavar="P", help="the port to serve on")] = 8050,
    host: Annotated[
        str, typer.Option(metavar="HOST", help="the address to bind (another machine: 0.0.0.0)")
    ] = "127.0.0.1",
    runs: Annotated[
        Path | None,
        typer.Option(metavar="DIR", help="the directory whose run directories Open lists"),
    ] = None,
    browser: Annotated[bool, typer.Option(help="open the page in the browser")] = True,
    max_runs: Annotated[
        int | None,
        typer.Option(metavar="N", show_default="the cores", help="simulations at once in all"),
    ] = None,
) -> None:
    """A web page to explore designs, compare two and open finished runs (Ctrl-C stops it)."""
    try:
        import dash  # noqa: F401
    except ImportError:
        _fail(CredsimError("dashboard: Dash is not installed (pip install 'credsim[dashboard]')"))
        return
    if not 0 < port < 65536:
        _fail(CredsimError(f"--port {port}: must be between 1 and 65535"))
    if runs is not None and not runs.is_dir():
        _fail(CredsimError(f"--runs {runs}: not a directory"))
    if max_runs is not None and max_runs < 1:
        _fail(CredsimError(f"--max-runs {max_runs}: must be at least 1"))
    from .dashboard import serve

    console.print(f"credsim dashboard on [bold]http://{host}:{port}/[/] (Ctrl-C stops it)")
    serve(host=host, port=port, runs=runs, open_browser=browser, max_running=max_runs)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except OSError as e:  # a full disk or an unwritable place, wherever it happens
        where = f"{e.filename}: " if e.filename else ""
        err_console.print(
            f"[bold red]error:[/] {where}{e.strerror or e}", highlight=False, soft_wrap=True
        )
        sys.exit(2)
    except MemoryError:
        err_console.print("[bold red]error:[/] out of memory", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
