"""The console commands' entry points, kept light.

A console script imports its entry point before running it; ``sim.cli`` and friends load
pandas, Hydra and numba (about a second). These functions say how to stop first
(:func:`analysis.guard.quiet_start`: a Ctrl-C meanwhile ends in one line, exit 130), then
import the command and run it; a broken install is one line too (exit 1).
"""

from __future__ import annotations

import importlib
import sys

__all__ = ["ccsim", "ccsim_staff", "ccsim_calibrate", "ccsim_metrics", "ccsim_report"]


def _start(prog: str, module: str, func: str):
    from analysis.guard import quiet_start

    quiet_start(prog)
    try:
        target = getattr(importlib.import_module(module), func)
    except ImportError as exc:
        sys.stderr.write(f"{prog}: cannot start ({exc}); reinstall ccsim (pip install -e .)\n")
        raise SystemExit(1) from None
    return target()


def ccsim():
    return _start("ccsim", "sim.cli", "main")


def ccsim_staff():
    return _start("ccsim-staff", "sim.cli", "staff")


def ccsim_calibrate():
    sys.exit(_start("ccsim-calibrate", "sim.calibrate", "main"))


def ccsim_metrics():
    sys.exit(_start("ccsim-metrics", "analysis.metrics", "main"))


def ccsim_report():
    sys.exit(_start("ccsim-report", "analysis.study_report", "main"))
