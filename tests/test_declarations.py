"""Each phase declares the columns it owns; allocation, the byte budget (and so the
memory estimate) and checkpoints follow from the declarations alone."""

from __future__ import annotations

import numpy as np
import pytest

from credsim import Sim
from credsim.phases import ORDER, Respond, column_bytes, day_columns, state_columns
from credsim.state import Column


def test_every_column_is_declared_once_by_one_phase():
    names = [c.name for c in state_columns() + day_columns()]
    assert len(names) == len(set(names))
    owners = {c.name: ph.name for ph in ORDER for c in ph.state_columns + ph.day_columns}
    assert owners["own"] == "score" and owners["lflags"] == "list"
    assert owners["deter"] == "respond" and owners["true_ev"] == "behave"
    assert all(ph.section for ph in ORDER)


def test_allocation_and_budget_follow_the_declarations():
    sim = Sim("as-reported", agents=500, days=3, seed=1)
    sim.build()
    assert list(sim.state.arrays()) == [c.name for c in state_columns()]
    assert list(sim.day.arrays()) == [c.name for c in day_columns()]
    for c in state_columns() + day_columns():
        a = getattr(sim.state if c in state_columns() else sim.day, c.name)
        assert a.dtype == np.dtype(c.dtype)
        assert a.shape == ((c.rows, 500) if c.rows > 1 else (500,) if c.per_agent else (0,))
    state_b, day_b = column_bytes()
    assert sim.state.nbytes() == state_b * 500 and sim.day.nbytes() == day_b * 500
    assert np.all(sim.state.pend_day == -1) and np.all(sim.state.court_until == -1)
    assert np.all(sim.state.score[sim.state.scored] >= sim.scenario.score.min)


def test_a_new_column_is_allocated_budgeted_and_checkpointed(tmp_path, monkeypatch):
    """Declaring a column in its phase is the one change: the state gets it, the estimate
    counts it, the checkpoint holds it and a resume restores it."""
    before = Sim("as-reported", agents=10**6, days=30).estimate().memory
    extra = Column("grudge", "float32", "an example column", fill=2.5)
    monkeypatch.setattr(Respond, "state_columns", Respond.state_columns + (extra,))
    after = Sim("as-reported", agents=10**6, days=30).estimate().memory
    assert after - before == pytest.approx(4 * 10**6, rel=0.01)
    from credsim.sim import prepare_out

    sim = Sim("as-reported", agents=300, days=6, seed=2)
    sim.out = tmp_path / "run"
    sim.lock = prepare_out(sim.out, False)
    sim.build()
    assert np.all(sim.state.grudge == 2.5)
    for _ in range(3):
        sim.step()
    sim.state.grudge[:] = np.arange(300)
    sim.checkpoint(sim.out)
    sim.recorder.close(remove=False)
    sim.release()
    again = Sim.resume(sim.out)
    assert np.array_equal(again.state.grudge, np.arange(300, dtype=np.float32))
    again.release()


def test_the_count_table_names_metrics_of_the_schema():
    from credsim.schema import COUNTED_COLUMNS, COUNTS, METRICS, count_table

    assert {c for c, _, _ in COUNTS} == set(COUNTED_COLUMNS)
    assert all(name in METRICS and mask > 0 for _, mask, name in COUNTS)
    for c in COUNTED_COLUMNS:
        t = count_table(c)
        union = 0
        for m in t[:-1, 0]:
            union |= int(m)
        assert t[-1, 0] == union and t[-1, 1] == -1


def test_named_parameters_follow_the_scenario():
    from credsim.phases.listing import ListParams
    from credsim.phases.observe import ObserveParams
    from credsim.phases.services import ServiceRules

    sim = Sim(
        "as-reported",
        agents=200,
        days=10,
        seed=1,
        overrides=[
            "observe.misid={days=[0, 5], values=[0.01, 0.2]}",
            "listing.p_appeal=0.3",
            "services.train.p_urban=0.5",
        ],
    )
    sim.build()
    assert ObserveParams.on(sim.scenario, sim.params, 4).misid == 0.01
    assert ObserveParams.on(sim.scenario, sim.params, 5).misid == 0.2
    assert ListParams.on(sim.scenario, sim.params, 0).p_appeal == 0.3
    from credsim.constants import SERVICES

    assert ServiceRules.on(sim.params, 3).p_urban[SERVICES.index("train")] == 0.5


def test_metrics_are_assembled_from_the_phases():
    """Every metric of the tables is declared by exactly one phase, in the day's order,
    and a phase's bit counts name its own metrics."""
    from credsim.schema import COUNTS, METRICS

    assert METRICS == [m for ph in ORDER for m in ph.metrics]
    owners = {m: ph.name for ph in ORDER for m in ph.metrics}
    assert owners["posts"] == "behave" and owners["appeals"] == "list"
    assert owners["edges_cut"] == "respond" and owners["agents"] == "record"
    for ph in ORDER:
        assert all(name in ph.metrics for _, _, name in ph.counts), ph.name
    assert COUNTS == [c for ph in ORDER for c in ph.counts]


def test_a_new_bit_count_is_one_declaration():
    """Declaring a metric and its bit count in the list phase is the whole change: the
    schema and the record kernel's count table follow."""
    from credsim.constants import LF_COURT_WRONGFUL
    from credsim.phases import List
    from credsim.schema import assemble, count_table

    class MoreList(List):
        metrics = (*List.metrics, "listed_court_wrongful")
        counts = (*List.counts, ("lflags", LF_COURT_WRONGFUL, "listed_court_wrongful"))

    order = [MoreList if ph is List else ph for ph in ORDER]
    metrics, counts = assemble(order)
    k = metrics.index("listed_court_wrongful")
    table = count_table("lflags", metrics, counts)
    assert [LF_COURT_WRONGFUL, k] in table[:-1].tolist()
    assert table[-1, 0] & LF_COURT_WRONGFUL

    class Twice(List):
        metrics = (*List.metrics, "posts")

    with pytest.raises(ValueError, match="declared twice"):
        assemble([Twice if ph is List else ph for ph in ORDER])
