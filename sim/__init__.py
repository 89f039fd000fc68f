"""ccsim: the simulation engine (:mod:`sim.engine`) and the orchestration around it.

* :mod:`sim.engine` runs one replication of a scenario — SimPy, numpy, numba; no files, no
  Hydra, no pandas, no :mod:`analysis`;
* the orchestration joins the engine and :mod:`analysis` and is the only code that does:
  the ``ccsim`` command (:mod:`sim.cli`), sweeps (:mod:`sim.sweep`, :mod:`sim.ray_cluster`),
  the staffing search (:mod:`sim.staffing`) and calibration (:mod:`sim.calibrate`);
  :mod:`sim.commands` holds the console entry points.
"""

__version__ = "0.1.0"
