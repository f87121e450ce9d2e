"""Scenario input at the edges of what is allowed: Beta shapes over their whole range."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credsim.population import N_CLASSES, beta_classes

SETTINGS = settings(max_examples=200, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))
BETA_LO, BETA_HI = 0.05, 1000.0


# ------------------------------------------------------------------------------------
# 1. Beta propensity classes over the whole allowed range of shapes

shape = st.one_of(
    st.sampled_from([BETA_LO, BETA_HI, 1.0, 0.5, 2.0]),
    st.floats(BETA_LO, BETA_HI),
    st.floats(math.log(BETA_LO), math.log(BETA_HI)).map(
        lambda t: min(BETA_HI, max(BETA_LO, math.exp(t)))))


@SETTINGS
@given(shape, shape)
def test_beta_classes_are_finite_ordered_and_keep_the_mean(a, b):
    v = beta_classes(a, b)
    assert v.dtype == np.float32 and v.shape == (N_CLASSES,)
    assert np.all(np.isfinite(v)), (a, b, int(np.isnan(v).sum()))
    assert v.min() >= 0 and v.max() <= 1
    assert np.all(np.diff(v) >= 0)
    m = a / (a + b)
    x = v.astype(np.float64)
    # float32 storage: each value is rounded to 2^-24 of itself, or of 1 near 1
    assert abs(x.mean() - m) <= 1e-7 * m, (a, b, x.mean(), m)
    assert abs((1 - x).mean() - (1 - m)) <= 1e-7, (a, b)


@SETTINGS
@given(shape, shape)
def test_beta_class_means_are_exact_in_double_precision(a, b):
    from credsim.population import beta_class_means
    v = beta_class_means(a, b)
    assert v.dtype == np.float64 and np.all(np.isfinite(v))
    assert v.min() >= 0 and v.max() <= 1 and np.all(np.diff(v) >= 0)
    m = a / (a + b)
    assert abs(v.mean() - m) <= 1e-10 * min(m, 1 - m), (a, b, v.mean(), m)
    var = a * b / ((a + b) ** 2 * (a + b + 1))
    assert v.var() <= var * (1 + 1e-9)  # classes average within: never more spread


@pytest.mark.parametrize("a", [BETA_LO, 0.2, 1.0, 3.7, 80.0, BETA_HI])
def test_beta_classes_match_the_closed_form_of_beta_a_1(a):
    """Beta(a, 1) has F(x) = x^a: class j is [(j/k)^(1/a), ((j+1)/k)^(1/a)] and its mean
    is k a/(a+1) (p1^((a+1)/a) - p0^((a+1)/a)); Beta(1, a) is its mirror image."""
    from credsim.population import beta_class_means
    k = N_CLASSES
    p = np.arange(k + 1) / k
    want = k * a / (a + 1) * np.diff(p ** ((a + 1) / a))
    np.testing.assert_allclose(beta_class_means(a, 1.0), want, rtol=1e-9, atol=1e-15)
    # (1 - want loses digits near 0: compare the mirror image near 1 instead)
    np.testing.assert_allclose(1 - beta_class_means(1.0, a)[::-1], want, rtol=1e-9,
                               atol=1e-15)
    np.testing.assert_allclose(beta_classes(a, 1.0), want.astype(np.float32), rtol=1e-6,
                               atol=1e-37)


def test_extreme_shapes_give_every_agent_a_propensity():
    from credsim import Sim
    sim = Sim("as-reported", agents=1000, days=2, seed=1,
              overrides=["population.honesty=[0.05, 1000]", "population.civility=[1000, 0.05]",
                         "population.civic=[0.05, 0.05]"])
    sim.build()
    for name in ("honesty", "civility", "civic"):
        col = sim.pop.column(name)
        assert np.all(np.isfinite(col)) and col.min() >= 0 and col.max() <= 1, name
