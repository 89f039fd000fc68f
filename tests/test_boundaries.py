"""The data flow stays one-way: the engine knows no Hydra/pandas/files; analysis never SimPy."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: what the engine may not import: Hydra, configs and files, pandas, the analysis, and the
#: orchestration around it (sim.cli, sim.sweep, …)
NOT_IN_ENGINE = {"hydra", "omegaconf", "pandas", "analysis", "yaml", "pyarrow", "joblib", "ray"}
ORCHESTRATION = {p.stem for p in (ROOT / "sim").glob("*.py")} - {"__init__"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
            names |= {a.name for a in node.names if a.name.startswith("sim.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {node.module.split(".")[0], node.module}
        elif isinstance(node, ast.ImportFrom) and node.level >= 2:       # from ..cli import
            names.add("sim." + (node.module or ""))
    return names


def test_the_engine_imports_no_hydra_pandas_files_analysis_or_orchestration():
    """Every module of sim/engine, no exemptions."""
    engine = sorted((ROOT / "sim" / "engine").glob("*.py"))
    assert len(engine) >= 15
    for path in engine:
        names = _imports(path)
        bad = names & NOT_IN_ENGINE
        bad |= {n for n in names if n.startswith("sim.") and not n.startswith("sim.engine")}
        assert not bad, f"sim/engine/{path.name} imports {bad}: the engine must stay free of them"
        text = path.read_text()
        for call in (r"(?<![\w.])open\(", r"\.read_text\(", r"\.write_text\(", r"\bPath\(",
                     r"\bos\.(remove|rename|makedirs)"):
            assert not re.search(call, text), f"sim/engine/{path.name} touches files ({call})"


def test_running_a_replication_loads_no_hydra_pandas_or_analysis():
    code = ("import sys; from sim.engine.model import simulate; "
            "from sim.engine.scenario import parse_scenario, parse_run; "
            "sc = parse_scenario({'name': 'q', 'queue': {'arrivals_per_hour': 60, "
            "'aht_seconds': 120, 'agents': 3}}); simulate(sc, parse_run({'hours': 5}), 1, 0); "
            "print(sorted(m for m in ('hydra', 'pandas', 'analysis', 'omegaconf', "
            "'sim.cli', 'sim.sweep', 'sim.staffing') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"a replication loaded {out.stdout.strip()}"
    # (yaml is not checked here: numba itself loads it for its own settings file)


def test_analysis_never_imports_simpy():
    """analysis/ may use the schema (sim.engine.journey_spec, sim.engine.validate) but never loads SimPy."""
    for path in (ROOT / "analysis").glob("*.py"):
        assert "simpy" not in _imports(path), f"analysis/{path.name} imports simpy"
    mods = ", ".join(f"analysis.{p.stem}" for p in (ROOT / "analysis").glob("*.py")
                     if p.stem != "__init__")
    code = f"import sys, {mods}; print('simpy' in sys.modules, 'sim.engine.model' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"], "importing analysis loaded SimPy or the engine"


def test_no_function_in_sim_is_over_60_lines():
    """Small named steps: every function and method of sim/ (engine and orchestration) fits
    on a screen (docstring included)."""
    long = []
    for path in sorted((ROOT / "sim").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > 60:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines})")
    assert not long, "over 60 lines: " + ", ".join(long)
