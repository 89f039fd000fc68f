"""ccsim's simulation engine: one replication of a scenario, SimPy + numpy + numba.

No files, no Hydra, no pandas, no :mod:`analysis` (tests/test_boundaries.py holds it to that,
without exemptions). Public entry points: :func:`sim.engine.scenario.parse_scenario`,
:func:`sim.engine.scenario.parse_run` and :func:`sim.engine.model.simulate`.
"""
