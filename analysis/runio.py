"""Writing and reading a run directory.

A run directory holds ``scenario.yaml`` (the resolved, validated scenario),
``run.yaml`` (run settings and seed), ``contacts.parquet``,
``intervals.parquet``, ``monthly.parquet``/``.csv``, ``replications.parquet``
and, written last, ``kpis.json``. Every file is written
to a temporary name and renamed into place, so a killed run never leaves a
file that looks complete; ``kpis.json`` present means the run finished.
A run that stops on a user error leaves ``error.txt`` instead.
"""

from __future__ import annotations

import json
import math
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

__all__ = ["write_yaml", "write_text", "write_bytes", "write_csv", "write_table", "write_json",
           "write_error", "load_kpis", "KPIS_FILE",
           "TableWriter"]

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


def write_text(path, text: str) -> Path:
    """Write a text file atomically."""
    return _atomic(path, lambda p: p.write_text(text))


def write_bytes(path, data: bytes) -> Path:
    """Write a binary file atomically."""
    return _atomic(path, lambda p: p.write_bytes(data))


def write_csv(path, frame: pd.DataFrame) -> Path:
    """Write a table as CSV atomically."""
    return _atomic(path, lambda p: frame.to_csv(p, index=False))


def write_table(path, frame: pd.DataFrame) -> Path:
    """Write a table as parquet."""
    return _atomic(path, lambda p: frame.to_parquet(p, index=False))


class TableWriter:
    """Appends tables to one parquet file in a background thread (one row group each).

    The file is written under a temporary name and renamed by :meth:`close`, so
    a run that stops early leaves no table that looks complete. Writing
    overlaps with the caller's next work (pyarrow releases the GIL).
    """

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(f".{self.path.name}.tmp")
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._writer = None
        self._futures = []

    def append(self, frame: pd.DataFrame) -> None:
        self._futures.append(self._pool.submit(self._write, frame))

    def _write(self, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._writer is None:
            # dictionary-encode the category columns only: numbers and times gain
            # little from it and it nearly doubles the writing time
            names = [f.name for f in table.schema if pa.types.is_dictionary(f.type)
                     or pa.types.is_string(f.type)]
            self._writer = pq.ParquetWriter(self._tmp, table.schema, use_dictionary=names)
        self._writer.write_table(table)

    def close(self) -> Path:
        """Wait for the writes, close the file and move it into place."""
        try:
            for f in self._futures:
                f.result()
        finally:
            self._pool.shutdown()
            if self._writer is not None:
                self._writer.close()
        if self._writer is not None:
            os.replace(self._tmp, self.path)
        return self.path


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
