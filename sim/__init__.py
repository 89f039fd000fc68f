"""ccsim's simulation engine: SimPy + numpy, no files, no Hydra, no pandas.

Public entry points: :func:`sim.scenario.parse_scenario`,
:func:`sim.scenario.parse_run` and :func:`sim.model.simulate`.
"""

__version__ = "0.1.0"
