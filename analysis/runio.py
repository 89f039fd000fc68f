"""Writing and reading a run directory.

A run directory holds ``scenario.yaml`` (the resolved, validated scenario),
``run.yaml`` (run settings and seed), ``contacts.parquet``,
``intervals.parquet`` and, written last, ``kpis.json``. Every file is written
to a temporary name and renamed into place, so a killed run never leaves a
file that looks complete; ``kpis.json`` present means the run finished.
A run that stops on a user error leaves ``error.txt`` instead.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd
import yaml

__all__ = ["write_yaml", "write_table", "write_json", "write_error", "load_kpis", "KPIS_FILE"]

KPIS_FILE = "kpis.json"


def _atomic(path: Path, write) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)
    return path


def write_yaml(path, data) -> Path:
    """Write plain data as YAML (key order kept)."""
    return _atomic(path, lambda p: p.write_text(yaml.safe_dump(data, sort_keys=False)))


def write_table(path, frame: pd.DataFrame) -> Path:
    """Write a table as parquet."""
    return _atomic(path, lambda p: frame.to_parquet(p, index=False))


def _clean(obj):
    """JSON-safe copy: NaN/inf become null, numpy scalars become Python numbers."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item"):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json(path, data) -> Path:
    """Write data as indented JSON; NaN is written as null."""
    text = json.dumps(_clean(data), indent=2)
    return _atomic(path, lambda p: p.write_text(text + "\n"))


def write_error(run_dir, message: str) -> Path:
    """Record why a run stopped (a user error), next to its config."""
    return _atomic(Path(run_dir) / "error.txt", lambda p: p.write_text(message + "\n"))


def load_kpis(run_dir) -> dict:
    """The KPIs of a finished run (raises FileNotFoundError if it did not finish)."""
    return json.loads((Path(run_dir) / KPIS_FILE).read_text())
