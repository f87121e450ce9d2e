"""The command line: ``credsim run``, ``credsim presets``."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
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

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="credsim: simulate social credit systems on synthetic populations. "
                       "It never scores real people.")
console = Console()
err_console = Console(stderr=True)


class DaysPerSecond(ProgressColumn):
    def render(self, task) -> Text:  # type: ignore[no-untyped-def]
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f} days/s" if speed else "- days/s", style="cyan")


def _fail(e: Exception) -> None:
    err_console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
    raise typer.Exit(getattr(e, "exit_code", 2))


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="a preset name or a scenario TOML file")]
    = "as-reported",
    agents: Annotated[int | None, typer.Option(help="number of synthetic agents")] = None,
    days: Annotated[int | None, typer.Option(help="days to simulate")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed")] = None,
    out: Annotated[Path | None, typer.Option(help="run directory to write "
                                                "(default runs/<scenario>)")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="override a parameter: key=value (repeatable), "
                      "e.g. --set observe.misid=0.001")] = None,
    profile: Annotated[bool, typer.Option(help="print the time spent in each phase")] = False,
    force: Annotated[bool, typer.Option(help="overwrite an existing run directory")] = False,
    resume: Annotated[Path | None, typer.Option(
        help="continue the interrupted run in this run directory")] = None,
    checkpoint_every: Annotated[int, typer.Option(
        help="write a checkpoint every K days (0: never)")] = 30,
    quiet: Annotated[bool, typer.Option(help="no progress bar")] = False,
) -> None:
    """Run a scenario and write its run directory (run.json and Parquet tables).

    A checkpoint is written every --checkpoint-every days; Ctrl-C stops at the end of
    the current day and writes one; --resume RUN continues from it."""
    from .sim import Sim, prepare_out

    try:
        if checkpoint_every < 0:
            raise CredsimError(f"--checkpoint-every {checkpoint_every}: must be >= 0")
        t0 = time.perf_counter()
        if resume is not None:
            if set_ or agents or days or seed is not None or out or scenario != "as-reported":
                raise CredsimError("--resume continues a run as it was started: give no "
                                   "scenario, --agents, --days, --seed, --set or --out")
            with console.status(f"rebuilding the run in {resume}..."):
                sim = Sim.resume(resume)
            out = resume
            console.print(f"resuming {sim.scenario.name} at day {sim.day_done} of {sim.days}")
        else:
            sim = Sim(scenario, agents=agents, days=days, seed=seed, overrides=set_ or [])
            out = out or Path("runs") / sim.scenario.name
            prepare_out(out, force)
            sim.out = out
            with console.status(f"building {sim.n:,} agents and their friend network..."):
                sim.build()
            console.print(f"built {sim.n:,} agents and {sim.graph.nnz // 2:,} friendships "
                          f"in {time.perf_counter() - t0:.1f} s")
        previous = signal.getsignal(signal.SIGINT)

        def stop(signum, frame):  # type: ignore[no-untyped-def]
            if sim.stop_requested:  # a second Ctrl-C: stop now
                signal.signal(signal.SIGINT, previous)
                raise KeyboardInterrupt
            sim.stop_requested = True
            err_console.print("stopping at the end of the day (Ctrl-C again to abort)...")

        signal.signal(signal.SIGINT, stop)
        try:
            with Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                          MofNCompleteColumn(), TextColumn("days"), DaysPerSecond(),
                          TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                          console=console, disable=quiet) as bar:
                task = bar.add_task(sim.scenario.name, total=sim.days,
                                    completed=sim.day_done)
                res = sim.run(out=out, checkpoint_every=checkpoint_every,
                              progress=lambda d, n: bar.update(task, completed=d))
        finally:
            signal.signal(signal.SIGINT, previous)
    except CredsimError as e:
        _fail(e)
        return
    wall = time.perf_counter() - t0
    _summary_table(res.meta, wall)
    if profile:
        _profile_table(res.meta["timings_s"], sim.days)
    console.print(f"run directory: [bold]{out}[/]")


def _summary_table(meta: dict, wall: float) -> None:
    s = meta["summary"]
    scale = meta["scale"]
    t = Table(title=f"{meta['preset']}: {meta['agents']:,} agents, {meta['days']} days, "
                    f"seed {meta['seed']} ({wall:.1f} s)")
    t.add_column("measure")
    t.add_column("agents", justify="right")
    t.add_column(f"national estimate (x{scale:,.0f})", justify="right", style="dim")
    rows = [("listed at the end", "listed_end"), ("ever listed", "ever_listed"),
            ("listing entries", "listing_entries"), ("  of them wrongful", "wrongful_entries"),
            ("  by association", "association_entries"),
            ("service denials", "denials_total"), ("  flights denied", "flights_denied"),
            ("  trains denied", "trains_denied"), ("friendships cut", "edges_cut")]
    for label, key in rows:
        v = s[key]
        t.add_row(label, f"{v:,}", f"{v * scale:,.0f}")
    t.add_row("wrongful share of entries", f"{s['wrongful_share_of_entries']:.1%}", "")
    t.add_row("rumour flags per speaker-year", f"{s['flags_per_speaker_year']:.2f}", "")
    t.add_row("speech volume, posts (day 0 -> last)",
              f"{s['posts_day0']:,} -> {s['posts_last_day']:,}", "")
    t.add_row("score mean / Gini at the end",
              f"{s['score_mean_end']:.1f} / {s['score_gini_end']:.4f}", "")
    console.print(t)
    console.print("[dim]national estimates scale the agent counts by represented/agents; "
                  "they are model estimates, not observations.[/]")


def _profile_table(timings: dict, days: int) -> None:
    t = Table(title="time per phase")
    t.add_column("phase")
    t.add_column("total s", justify="right")
    t.add_column("ms/day", justify="right")
    t.add_column("share", justify="right")
    day_total = sum(v for k, v in timings.items() if k in
                    ("behave", "observe", "score", "list", "services", "respond", "record"))
    for k, v in timings.items():
        per = f"{1000 * v / days:.2f}" if k in ("behave", "observe", "score", "list",
                                                 "services", "respond", "record") else ""
        share = f"{v / day_total:.1%}" if per else ""
        t.add_row(k, f"{v:.3f}", per, share)
    console.print(t)


@app.command()
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
    console.print("Run one with [bold]credsim run PRESET[/]; a scenario file names a preset "
                  "(preset = \"...\") and overrides keys.")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
