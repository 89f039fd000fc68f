"""Writing and reading a run directory.

A run directory holds ``scenario.yaml`` (the resolved, validated scenario),
``run.yaml`` (run settings and seed), ``contacts.parquet``,
``intervals.parquet``, ``monthly.parquet``/``.csv``, ``replications.parquet``
and, written last, ``kpis.json``, whose ``files`` entry lists every other file
of the run with its size in bytes (the manifest). Every file is written to a
temporary name of its own (``.<name>.<pid>-<random>.tmp``) and renamed into
place; a write that fails removes its temporary file. A run is complete when
:func:`run_problems` finds nothing: ``kpis.json`` readable, every file of the
manifest present with its size, ``run.yaml`` and ``scenario.yaml`` readable.
A run that stops on an error leaves ``error.txt`` instead.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

__all__ = ["write_yaml", "write_text", "write_bytes", "write_csv", "write_table", "write_json",
           "write_error", "load_kpis", "KPIS_FILE", "ERROR_FILE", "TableWriter", "manifest",
           "run_problems", "DATA_FILES", "remove_run_files", "temp_name"]

KPIS_FILE = "kpis.json"
ERROR_FILE = "error.txt"
#: Every file a run may write (besides kpis.json and error.txt): what a failed run removes.
DATA_FILES = ("scenario.yaml", "run.yaml", "contacts.parquet", "intervals.parquet",
              "monthly.parquet", "monthly.csv", "replications.parquet", "staffing.parquet",
              "staffing_monthly.csv")
#: Files every complete run has, whatever its settings (older runs have no manifest).
_ALWAYS = ("scenario.yaml", "run.yaml", "intervals.parquet", "monthly.parquet", "monthly.csv",
           "replications.parquet")


def temp_name(path: Path) -> Path:
    """A temporary name beside ``path`` that no other process or thread uses."""
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")


def _atomic(path: Path, write) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
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
    a run that stops early leaves no table that looks complete; :meth:`abort`
    removes the temporary file. Writing overlaps with the caller's next work
    (pyarrow releases the GIL).
    """

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = temp_name(self.path)
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._writer = None
        self._futures = []

    def append(self, frame: pd.DataFrame) -> None:
        self._futures.append(self._pool.submit(self._write, frame))
        done = [f for f in self._futures if f.done()]
        for f in done:                 # a failed write (a full disk) stops the run early
            f.result()
        self._futures = [f for f in self._futures if not f.done()]

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
        except BaseException:
            self.abort()
            raise
        self._pool.shutdown()
        if self._writer is not None:
            try:
                self._writer.close()
                os.replace(self._tmp, self.path)
            except BaseException:
                self._tmp.unlink(missing_ok=True)
                raise
        return self.path

    def abort(self) -> None:
        """Stop writing and remove the temporary file (the run failed or was interrupted)."""
        for f in self._futures:
            f.cancel()
        self._pool.shutdown(wait=True)
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception:  # noqa: BLE001 - the file is removed anyway
                pass
        self._tmp.unlink(missing_ok=True)


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
    """Record why a run stopped (a user error, or a traceback), next to its config."""
    return _atomic(Path(run_dir) / ERROR_FILE, lambda p: p.write_text(message + "\n"))


def remove_run_files(run_dir) -> None:
    """Remove every data file of a run and any temporary file left in its folder (a run that
    failed keeps only ``error.txt``, so nothing in it looks complete)."""
    run_dir = Path(run_dir)
    for name in (*DATA_FILES, KPIS_FILE):
        (run_dir / name).unlink(missing_ok=True)
    for tmp in run_dir.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)


def manifest(run_dir) -> dict[str, int]:
    """``{file name: size in bytes}`` of the run's data files present now (for ``kpis.json``)."""
    run_dir = Path(run_dir)
    return {name: (run_dir / name).stat().st_size for name in DATA_FILES
            if (run_dir / name).is_file()}


def load_kpis(run_dir) -> dict:
    """The KPIs of a finished run. Raises FileNotFoundError if it did not finish and
    ValueError if ``kpis.json`` is not a readable JSON object."""
    path = Path(run_dir) / KPIS_FILE
    try:
        data = json.loads(path.read_text())
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict) or "scenario" not in data:
        raise ValueError(f"{path} does not hold a run's KPIs (a JSON object with 'scenario', "
                         f"'metrics', 'channels', …)")
    return data


def run_problems(run_dir) -> list[str]:
    """Why a run folder is not a complete run (empty: it is). Cheap: reads ``kpis.json`` and
    ``run.yaml``, and checks every file of the manifest by size (runs without a manifest:
    every file a run always has, parquet footers readable)."""
    run_dir = Path(run_dir)
    if not (run_dir / KPIS_FILE).is_file():
        return [f"{KPIS_FILE} is missing (the run did not finish)"]
    try:
        kpis = load_kpis(run_dir)
    except (OSError, ValueError) as exc:
        return [str(exc)]
    problems = []
    files = kpis.get("files")
    if isinstance(files, dict):
        for name, size in files.items():
            path = run_dir / str(name)
            if not path.is_file():
                problems.append(f"{name} is missing")
            elif path.stat().st_size != size:
                problems.append(f"{name} has {path.stat().st_size} bytes, not {size}")
    else:
        for name in _ALWAYS:
            path = run_dir / name
            if not path.is_file():
                problems.append(f"{name} is missing")
            elif name.endswith(".parquet"):
                try:
                    pq.read_metadata(path)
                except Exception as exc:  # noqa: BLE001 - any reader failure: not readable
                    problems.append(f"{name} cannot be read ({type(exc).__name__})")
    if not problems:
        try:
            meta = yaml.safe_load((run_dir / "run.yaml").read_text())
            if not isinstance(meta, dict):
                problems.append("run.yaml does not hold the run settings")
        except (OSError, ValueError, yaml.YAMLError) as exc:
            problems.append(f"run.yaml cannot be read ({type(exc).__name__})")
    return problems
