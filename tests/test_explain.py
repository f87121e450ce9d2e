"""An agent's story adds up: its events, their decay, the false events struck on appeal
and the association term rebuild its final ledger and score."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from conftest import MID_SETS

from credsim import Sim, load_run
from credsim.explain import _recon_rows, decay_factors, pick

# due process on (appeals strike false events), association on, a half-life schedule
SETS = MID_SETS + [
    "listing.due_process=true",
    "listing.p_appeal=0.05",
    "score.half_life={days=[0,100],values=[365,120]}",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("explain") / "run"
    Sim("as-reported", agents=20_000, days=200, seed=6, overrides=SETS).run(out=out)
    return load_run(out)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-3 + 1e-6 * abs(b)  # float32 precision of a few hundred points


def test_decay_follows_the_half_life_schedule(run):
    d = decay_factors(run.meta)
    assert d.size == 200
    assert d[0] == 0.5 ** (1 / 365) and d[99] == 0.5 ** (1 / 365)
    assert d[100] == 0.5 ** (1 / 120) and d[199] == 0.5 ** (1 / 120)


def test_stories_add_up_to_the_final_score(run):
    led = run.ledger
    agents = run.agents.set_index("agent")
    lst = led[led.kind == "listing"]
    struck = sorted(set(led.loc[(led.kind == "appeal") & (led.what == "overturned"), "agent"]))
    wrongful = sorted(set(lst.loc[lst.truth == "wrongful", "agent"]))
    assoc = sorted(set(lst.loc[lst.by_association, "agent"]))
    rng = np.random.default_rng(0)
    kept = sorted(set(led.agent))
    sample = rng.choice(kept, size=min(80, len(kept)), replace=False).tolist()
    chosen = sorted(set(struck[:60] + wrongful[:30] + assoc[:30] + sample))
    n_strikes = n_assoc = n_false = 0
    for a in chosen:
        s = run.explain(a)
        r = s.reconciliation
        assert s.kept
        assert r["adds_up"], (a, r)
        assert _close(r["own_rebuilt"], float(agents.loc[a, "own"])), (a, r)
        assert _close(r["own_false_rebuilt"], float(agents.loc[a, "own_false"])), (a, r)
        assert _close(r["score_rebuilt"], float(agents.loc[a, "score"])), (a, r)
        # the events' decayed deltas, less the struck ones, are the ledger (float64 sum)
        assert abs(s.events["left at the end"].sum() - r["own_rebuilt"]) < 0.01, (a, r)
        n_strikes += bool(r["strike_days"])
        n_assoc += r["assoc"] != 0
        n_false += (s.events["truth"] != "true").any()
    # the run exercises every term of the story
    assert n_strikes > 0 and n_assoc > 0 and n_false > 0


def test_agent_without_a_kept_history(run):
    ag = run.agents
    plain = ag[~ag.tracked & ~ag.ever_listed].agent.iloc[0]
    s = run.explain(int(plain))
    assert not s.kept and len(s.events) == 0
    assert s.attributes["region"] == ag.set_index("agent").loc[plain, "region"]
    # no history: the story says why, and claims no reconciliation from events
    assert s.reconciliation["adds_up"] is None
    said = " ".join(s.summary_lines())
    assert "its events were not recorded" in said and "not in the tracked sample" in said
    html = s.to_html()
    assert "not in the tracked sample" in html and "How the story adds up" not in html
    rows = dict(_recon_rows(s.reconciliation))
    assert not any(v == "yes" for v in rows.values()), rows
    # it names tracked agents to choose from instead
    tracked = set(ag.loc[ag.tracked, "agent"])
    near = s.meta["suggest"]
    assert near and set(near) <= tracked
    assert all(str(a) in said for a in near)


def test_untracked_agent_on_the_command_line(run, tmp_path):
    ag = run.agents
    plain = int(ag[~ag.tracked & ~ag.ever_listed].agent.iloc[-1])
    r = _cli("explain", str(run.path), "--agent", str(plain), "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    out = " ".join(r.stdout.split())
    assert "its events were not recorded" in out and "--pick" in out
    assert "how the story adds up" not in out
    assert "not checked" in out


@pytest.mark.parametrize("which", ["wrongful", "association", "speaker", "listed"])
def test_pick(run, which):
    a = pick(run, which)
    s = run.explain(a)
    led = run.ledger
    rows = led[(led.agent == a) & (led.kind == "listing")]
    if which == "wrongful":
        assert (rows.truth == "wrongful").any()
    elif which == "association":
        assert rows.by_association.any()
    elif which == "listed":
        assert len(rows)
    else:
        assert s.attributes["speaker"]


def test_story_page(run, tmp_path):
    s = run.explain(pick(run, "wrongful"))
    path = s.save(tmp_path)
    html = path.read_text()
    assert path.name == f"explain-{s.agent}.html"
    assert "<svg" in html and "wrongful" in html and "How the story adds up" in html
    assert "plotly" not in html.lower() and len(html) < 1_000_000


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "credsim.cli", *args], capture_output=True, text=True
    )


def test_explain_command(run, tmp_path):
    r = _cli("explain", str(run.path), "--pick", "listed", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert "how the story adds up" in r.stdout
    assert len(list(tmp_path.glob("explain-*.html"))) == 1


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--agent", "20000"], "no agent 20000"),
        (["--agent", "-3"], "no agent -3"),
        ([], "either --agent ID or --pick"),
        (["--pick", "nobody"], "must be one of"),
    ],
)
def test_bad_agent_is_one_line(run, tmp_path, args, needle):
    r = _cli("explain", str(run.path), *args, "--out", str(tmp_path))
    assert r.returncode == 2
    assert needle in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.stderr
