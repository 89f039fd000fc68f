"""The simulated single queue agrees with Erlang C / Erlang A inside its 95 % CI: every case on
the compiled engine (the default), and on the SimPy reference engine (``run.engine=simpy``) the
cases that take it seconds — the two give the same contacts for the same seed
(tests/test_fast_engine.py), so running every case on both would test the theory twice."""

from __future__ import annotations

import functools

import pytest
from conftest import queue_scenario, run_kpis
from scipy import stats

from analysis.erlang import erlang_a, erlang_c

KPIS = ("service_level", "asa_seconds", "p_wait", "p_abandon", "occupancy")

# (name, arrivals/h, AHT s, agents, mean patience s or None, hours, replications)
CASES = [
    ("light rho=0.5 c=2 Erlang C", 20.0, 180.0, 2, None, 1500, 8),
    ("worked example rho=0.71 c=14 Erlang C", 200.0, 180.0, 14, None, 300, 8),
    ("rho=0.9 c=50 Erlang A", 900.0, 180.0, 50, 120.0, 150, 8),
    ("heavy rho=0.98 c=200 Erlang A", 3920.0, 180.0, 200, 300.0, 40, 8),
    ("overloaded rho=1.2 c=20 Erlang A", 480.0, 180.0, 20, 180.0, 300, 8),
    ("overloaded rho=1.5 c=5 Erlang A", 150.0, 180.0, 5, 60.0, 600, 8),
    ("rho=0.5 c=100 Erlang A no waiting", 1000.0, 180.0, 100, 600.0, 40, 8),
]


ENGINES = ("simpy", "fast")
#: the cases also run on the SimPy engine (the others take it 6–9 s each)
ON_SIMPY = ("light rho=0.5 c=2 Erlang C", "worked example rho=0.71 c=14 Erlang C",
            "overloaded rho=1.5 c=5 Erlang A")
RUNS = [(c, e) for c in CASES for e in ENGINES if e == "fast" or c[0] in ON_SIMPY]


@functools.cache
def _compare(case, engine="simpy") -> list[tuple[str, float, float, float]]:
    """(kpi, simulated mean, 95 % CI half-width, theory) for one case, simulated once."""
    name, lam, aht, agents, patience, hours, reps = case
    kpis = run_kpis(queue_scenario(lam, aht, agents, patience), hours, reps, warmup_hours=2,
                    engine=engine)
    sim = kpis["channels"]["phone"]
    theory = erlang_c(lam, aht, agents, 20.0) if patience is None else \
        erlang_a(lam, aht, agents, patience, 20.0)
    # a CI of zero (nobody ever waits) still allows rounding noise
    return [(k, sim[k], max(sim[f"{k}_ci"], 1e-4), getattr(theory, k)) for k in KPIS]


def _widen(half95: float, reps: int, confidence: float) -> float:
    """The half-width at another confidence level, from the 95 % one (Student t)."""
    df = reps - 1
    return half95 * stats.t.ppf(0.5 + confidence / 2, df) / stats.t.ppf(0.975, df)


@pytest.mark.parametrize("case, engine", RUNS, ids=[f"{c[0]}-{e}" for c, e in RUNS])
def test_single_queue_matches_theory(case, engine):
    """Every KPI of every case is inside its 99.9 % CI (a hard miss means a model error)."""
    for k, mean, half, expected in _compare(case, engine):
        half999 = _widen(half, case[-1], 0.999)
        assert abs(mean - expected) <= half999, (
            f"{case[0]}: simulated {k} {mean:.4f} ± {half999:.4f} (99.9 % CI) "
            f"does not contain theory {expected:.4f}")


def test_theory_inside_95_percent_ci_as_often_as_expected():
    """Across all cases the theory lies inside the 95 % CI at least 90 % of the time.

    With 35 comparisons about 1.75 are expected outside by chance; more than
    10 % outside means the CIs are too narrow or the model biased.
    """
    rows = [(c[0], *r) for c in CASES for r in _compare(c, "fast")]
    outside = [f"{n} {k}: {m:.4f} ± {h:.4f} vs {e:.4f}" for n, k, m, h, e in rows
               if abs(m - e) > h]
    assert len(outside) <= 0.10 * len(rows), "theory outside the 95 % CI:\n" + "\n".join(outside)


def test_reference_simpy_model_agrees_with_erlang_a():
    """The idiomatic SimPy yardstick of the benchmark is itself right (so the comparison is fair)."""
    from reference_model import run_reference

    out = run_reference(900.0, 180.0, 50, 120.0, hours=150, seed=3)
    theory = erlang_a(900.0, 180.0, 50, 120.0, 20.0)
    assert abs(out["abandoned"] / out["offered"] - theory.p_abandon) < 0.004
    assert abs(out["waited"] / out["offered"] - theory.p_wait) < 0.02
