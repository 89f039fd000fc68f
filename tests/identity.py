"""Same seed, same tables: a refactoring's check that nothing simulated moved.

``python tests/identity.py take DIR`` runs short runs of ``small_centre``, ``baseline`` and
``company_x_2021`` (and any scenario named with ``--scenario``) into DIR;
``python tests/identity.py compare OLD NEW`` says, table by table, whether ``kpis.json``,
``contacts.parquet``, ``intervals.parquet`` and ``monthly.parquet`` are identical (exit 1 when
any is not). Take a snapshot before a change, another after, compare.

Where a change must move the random numbers (and only them), ``python tests/identity.py
agree OLD NEW`` compares longer runs instead (``take --long``: full years, 4 replications,
company X's two years too): every KPI's mean before and after against the CI of their
difference (independent replications), and the company X changes 2020 → 2021 likewise. About
5 % of KPIs differ beyond their 95 % CI by chance alone; more than that is a real change.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
RUNS = {
    "small_centre": ["scenario=small_centre", "run.hours=500"],
    "baseline": ["scenario=baseline", "run.hours=720"],
    "company_x_2021": ["scenario=company_x_2021", "run.hours=720"],
}
COMMON = ["run.replications=2", "seed=7", "run.progress=false"]
LONG = {
    "baseline": ["scenario=baseline"],
    "company_x_2020": ["scenario=company_x_2020"],
    "company_x_2021": ["scenario=company_x_2021"],
}
LONG_COMMON = ["run.replications=8", "seed=12", "run.progress=false", "run.write_contacts=false"]
TABLES = ("contacts.parquet", "intervals.parquet", "monthly.parquet")
#: kpis.json entries that describe the run, not what was simulated
NOT_COMPARED = ("files", "run_seconds")


def take(folder: Path, names: list[str], long: bool = False) -> None:
    runs, common = (LONG, LONG_COMMON) if long else (RUNS, COMMON)
    for name in names:
        out = folder / name
        argv = runs.get(name, [f"scenario={name}", "run.hours=720"])
        subprocess.run([sys.executable, "-m", "sim.cli", *argv, *common,
                        f"hydra.run.dir={out.resolve()}"],
                       check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        print(f"{name}: {out}")


def _differs(a: np.ndarray, b: np.ndarray) -> tuple[float, float, bool]:
    """(difference of means, 95 % CI half-width of it, beyond it?) for independent samples."""
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) < 2 or len(b) < 2:
        return math.nan, math.nan, False
    diff = b.mean() - a.mean()
    se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    half = stats.t.ppf(0.975, len(a) + len(b) - 2) * se
    return diff, half, abs(diff) > half and abs(diff) > 1e-9 * max(1.0, abs(a.mean()))


def agree(old: Path, new: Path) -> int:
    """KPIs and the company X changes before and after, within the CIs of their differences."""
    flagged = total = 0
    for run in sorted(p.name for p in old.iterdir() if (p / "replications.parquet").exists()):
        a = pd.read_parquet(old / run / "replications.parquet")
        b = pd.read_parquet(new / run / "replications.parquet")
        for col in a.columns.drop("replication"):
            diff, half, out = _differs(a[col].to_numpy(float), b[col].to_numpy(float))
            if math.isnan(diff):
                continue
            total += 1
            flagged += out
            if out:
                print(f"{run} {col}: {a[col].mean():.6g} → {b[col].mean():.6g} "
                      f"(difference {diff:+.4g} ± {half:.4g})")
    print(f"KPIs beyond the 95 % CI of their difference: {flagged} of {total} "
          f"({flagged / max(total, 1):.1%}; chance alone ≈ 5 %)")
    bad = flagged > 0.10 * total
    if (old / "company_x_2020").exists():
        print("company X changes 2020 → 2021 (mean over replications ± 95 % CI):")
        changes = {}
        for side in (old, new):
            v20 = pd.read_parquet(side / "company_x_2020" / "replications.parquet")
            v21 = pd.read_parquet(side / "company_x_2021" / "replications.parquet")
            changes[side] = {c: (v21[c] / v20[c] - 1.0).to_numpy()
                             for c in v20.columns if c.startswith("volume.")}
        for col, x in changes[old].items():
            y = changes[new][col]
            diff, half, out = _differs(x, y)
            if math.isnan(diff):
                continue
            bad |= out
            print(f"  {col[7:]:16} {x.mean():+.2%} → {y.mean():+.2%} "
                  f"(difference {diff:+.2%} ± {half:.2%}){'  BEYOND' if out else ''}")
    return 1 if bad else 0


def _kpis(path: Path) -> dict:
    data = json.loads(path.read_text())
    return {k: v for k, v in data.items() if k not in NOT_COMPARED}


def compare(old: Path, new: Path) -> int:
    bad = 0
    for run in sorted(p.name for p in old.iterdir() if p.is_dir()):
        for table in ("kpis.json", *TABLES):
            a, b = old / run / table, new / run / table
            if not b.exists():
                print(f"{run}/{table}: missing in {new}")
                bad += 1
                continue
            note = ""
            if table == "kpis.json":
                ka, kb = _kpis(a), _kpis(b)
                added = sorted(set(kb) - set(ka))        # a new record is not a change
                same = ka == {k: v for k, v in kb.items() if k not in added}
                note = f" (new: {', '.join(added)})" if added else ""
            else:
                fa, fb = pd.read_parquet(a), pd.read_parquet(b)
                same = fa.shape == fb.shape and list(fa.columns) == list(fb.columns) and \
                    fa.astype(str).equals(fb.astype(str))
            print(f"{run}/{table}: {'identical' if same else 'DIFFERENT'}{note}")
            bad += not same
    return 1 if bad else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("take", help="run the short runs into a folder")
    t.add_argument("folder", type=Path)
    t.add_argument("--scenario", action="append", default=[])
    t.add_argument("--long", action="store_true", help="full years, 4 replications, company X")
    c = sub.add_parser("compare", help="compare two snapshots")
    c.add_argument("old", type=Path)
    c.add_argument("new", type=Path)
    g = sub.add_parser("agree", help="KPIs of two --long snapshots within their CIs")
    g.add_argument("old", type=Path)
    g.add_argument("new", type=Path)
    args = p.parse_args(argv)
    if args.cmd == "take":
        take(args.folder, list(LONG if args.long else RUNS) + args.scenario, args.long)
        return 0
    return agree(args.old, args.new) if args.cmd == "agree" else compare(args.old, args.new)


if __name__ == "__main__":
    sys.exit(main())
