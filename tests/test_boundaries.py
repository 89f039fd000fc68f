"""The data flow stays one-way: the engine knows no Hydra/pandas/files; analysis never SimPy."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENTRY_POINTS = {"cli.py", "__main__.py", "commands.py", "calibrate.py", "sweep.py",  # commands
                "ray_cluster.py"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_engine_imports_no_hydra_pandas_or_analysis():
    for path in (ROOT / "sim").glob("*.py"):
        if path.name in ENTRY_POINTS:
            continue
        bad = _imports(path) & {"hydra", "omegaconf", "pandas", "analysis", "yaml", "pyarrow"}
        assert not bad, f"{path.name} imports {bad}: the engine must stay free of them"


def test_analysis_never_imports_simpy():
    """analysis/ may use the schema (sim.journey_spec, sim.validate) but never loads SimPy."""
    for path in (ROOT / "analysis").glob("*.py"):
        assert "simpy" not in _imports(path), f"analysis/{path.name} imports simpy"
    mods = ", ".join(f"analysis.{p.stem}" for p in (ROOT / "analysis").glob("*.py")
                     if p.stem != "__init__")
    code = f"import sys, {mods}; print('simpy' in sys.modules, 'sim.model' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"], "importing analysis loaded SimPy or the engine"
