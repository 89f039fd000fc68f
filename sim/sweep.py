"""Studies: resumable sweeps (``ccsim -m study=NAME …``) that two processes may share.

In a multirun every job is one *run*, keyed by a hash of its validated
scenario, run settings, seed, metric definitions and the ccsim version
(:func:`run_key`). Its folder is ``results/<study>/runs/<scenario>-<key>/``.

**Before the first simulation** (:class:`StudyCallback`, a Hydra callback in
``conf/config.yaml``) every point of the sweep is composed and validated, and
its size estimated; any problem stops the sweep with every bad point named
(exit 2) and nothing written. ``plan.json`` then records the base scenario,
every job's overrides and its run folder, and when the sweep started.

**A run** (:class:`RunSlot`) is taken under a lock (``runs/.locks/<run>``,
``fcntl.flock``: released by the kernel when its process dies, also on
SIGKILL). A process that finds the lock held waits, then skips the run if the
other process finished it. The run is written to a temporary folder of its
own, ``runs/.tmp-<run>-<host>-<pid>-<random>/``, and renamed into place when
complete; a temporary folder is removed only by its owner, or under the lock
when its owner provably no longer runs (same host, no such process). A run
folder counts as finished only when :func:`analysis.runio.run_problems` finds
nothing wrong (``kpis.json`` readable, every file of its manifest present
with its size); a broken one is simulated again. A run that fails keeps its
``error.txt`` in ``runs/.failed-<run>/`` and the sweep goes on with the others.

**When the sweep ends** the summary (:mod:`analysis.study`) is built from the
finished runs; a planned run that is not finished, or a summary that cannot be
built, ends the command with exit 1 and the failed runs named. Re-running the
same command resumes: finished runs are skipped, the rest are done again.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import socket
import sys
import time
import uuid
from pathlib import Path

from hydra.experimental.callback import Callback

__all__ = ["run_key", "RunSlot", "StudyCallback", "progress_line", "PLAN_FILE", "LOCK_DIR",
           "pid_alive", "planned_jobs"]

PLAN_FILE = "plan.json"   # the study's planned runs: the report names what is missing
LOCK_DIR = ".locks"
SUMMARY_FILES = ("summary.parquet", "summary.csv", "runs.csv")
HOST = socket.gethostname().replace("-", "_") or "host"
STALE_FILE_SECONDS = 600   # a temporary file this old, of no process here, is a leftover


def run_key(parts: dict) -> str:
    """A stable hash of the plain-data parts of a run (key order does not matter)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:          # it runs, under another user
        return True
    return True


def _owner(tmp_name: str, prefix: str) -> tuple[str, int] | None:
    """(host, pid) from a temporary folder's name ``<prefix><host>-<pid>-<random>``."""
    rest = tmp_name[len(prefix):]
    parts = rest.split("-")
    if len(parts) < 3:
        return None
    try:
        return "-".join(parts[:-2]), int(parts[-2])
    except ValueError:
        return None


class RunSlot:
    """Where one run of a study goes, and the lock that makes one process its writer.

    ``claim()`` → False when the run is already finished (then nothing else is to be done);
    True when this process now owns the run and writes it to ``tmp``; then exactly one of
    ``commit()`` (complete: rename into place), ``fail()`` (keep only ``error.txt``, in
    ``failed``) or ``abandon()`` (interrupted: remove what was written).
    """

    def __init__(self, study_dir: Path, name: str, key: str):
        self.study_dir = Path(study_dir)
        self.runs = self.study_dir / "runs"
        self.name = f"{name}-{key}"
        self.final = self.runs / self.name
        self.failed = self.runs / f".failed-{self.name}"
        self._prefix = f".tmp-{self.name}-"
        self.tmp = self.runs / f"{self._prefix}{HOST}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._lock = None

    @property
    def done(self) -> bool:
        from analysis.runio import run_problems

        return not run_problems(self.final)

    def claim(self, say=None) -> bool:
        """Take the run's lock (waiting while another process holds it); False if finished."""
        import fcntl

        if self.done:
            return False
        lock_dir = self.runs / LOCK_DIR
        lock_dir.mkdir(parents=True, exist_ok=True)
        self._lock = open(lock_dir / self.name, "a+")        # noqa: SIM115 - held until release
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if say:
                say(f"another process is writing {self.name}; waiting for it")
            fcntl.flock(self._lock, fcntl.LOCK_EX)
        except OSError as exc:     # a file system without locks: the rename still decides
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS):
                raise
        if self.done:              # the other process finished it while we waited
            self.release()
            return False
        try:
            self._clear_stale()
            if self.final.exists():    # a broken run (truncated, files missing): done again
                broken = self.runs / f".broken-{self.name}-{uuid.uuid4().hex[:6]}"
                os.rename(self.final, broken)
                shutil.rmtree(broken, ignore_errors=True)
            self.tmp.mkdir(parents=True)
        except BaseException:
            self.release()
            raise
        return True

    def _clear_stale(self) -> None:
        """Temporary folders of this run whose owner no longer runs on this host."""
        clear_stale(self.runs, self._prefix)

    def commit(self) -> None:
        """Rename the finished temporary folder into place and release the run."""
        try:
            os.rename(self.tmp, self.final)
        except OSError:
            if not self.done:                 # not another writer's finished run: a real error
                raise
            shutil.rmtree(self.tmp, ignore_errors=True)
        shutil.rmtree(self.failed, ignore_errors=True)
        self.release()

    def fail(self) -> Path:
        """Keep the failed attempt's ``error.txt`` in ``runs/.failed-<run>/``; release the run."""
        try:
            shutil.rmtree(self.failed, ignore_errors=True)
            os.rename(self.tmp, self.failed)
        except OSError:
            shutil.rmtree(self.tmp, ignore_errors=True)
        self.release()
        return self.failed

    def abandon(self) -> None:
        """Remove what this process wrote of the run (interrupted) and release it."""
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.release()

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()              # closing the file releases the flock
            self._lock = None


#: the study this process is sweeping (set when the sweep starts), for clean-up on Ctrl-C
ACTIVE_STUDY: Path | None = None


def tidy_after_interrupt(wait_seconds: float = 3.0) -> None:
    """After Ctrl-C or SIGTERM of a sweep: the workers got the signal too; wait briefly for
    them to end, then remove the temporary run folders they could not remove themselves (a
    re-run would, too — this leaves the study as tidy as an ended sweep)."""
    if ACTIVE_STUDY is None:
        return
    runs = ACTIVE_STUDY / "runs"
    deadline = time.monotonic() + wait_seconds
    while True:
        clear_stale(runs)
        live = [p for p in runs.glob(".tmp-*") if (o := _owner(p.name, ".tmp-")) is not None
                and o[0] == HOST and pid_alive(o[1])] if runs.is_dir() else []
        if not live or time.monotonic() > deadline:
            return
        time.sleep(0.1)


def clear_stale(folder: Path, prefix: str = ".tmp-") -> int:
    """Remove what processes that no longer run on this host left in ``folder``: temporary
    run folders (``<prefix>…-<host>-<pid>-<random>``) and temporary files
    (``.<name>.<pid>-<random>.tmp``, over 10 minutes old). A folder or file of a live
    process, or a folder of another host, is left alone. Returns how many were removed."""
    import re

    removed = 0
    if not Path(folder).is_dir():
        return 0
    for path in Path(folder).iterdir():
        if path.is_dir() and path.name.startswith(prefix):
            owner = _owner(path.name, prefix)
            if owner is not None and owner[0] == HOST and not pid_alive(owner[1]):
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
        elif path.is_file():
            m = re.fullmatch(r"\..+\.(\d+)-[0-9a-f]+\.tmp", path.name)
            # the name has no host: a file of another host's live process is spared by age
            if m and not pid_alive(int(m.group(1))) and \
                    time.time() - path.stat().st_mtime > STALE_FILE_SECONDS:
                path.unlink(missing_ok=True)
                removed += 1
    return removed


# ---------------------------------------------------------------- the plan and progress

def planned_jobs(config) -> list[list[str]]:
    """The overrides of every job the basic sweeper makes of this multirun's overrides."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    params = config.hydra.sweeper.get("params") or {}
    text = [f"{k}={v}" for k, v in params.items()] + list(config.hydra.overrides.task)
    overrides = OverridesParser.create().parse_overrides(text)
    return [list(job) for batch in BasicSweeper.split_arguments(overrides, None) for job in batch]


def _finished(study_dir: Path, names) -> int:
    """How many of the run folders ``names`` are finished (``kpis.json`` present: cheap)."""
    runs = Path(study_dir) / "runs"
    return sum((runs / n / "kpis.json").is_file() for n in set(names))


def write_plan(study_dir: Path, plan: list[list[str]], runs: list[str], config) -> None:
    """``plan.json``: the base scenario, the default scenario, every job's overrides and run
    folder, when the sweep started and how many of its runs were finished before."""
    from analysis.runio import write_text

    choices = config.hydra.runtime.get("choices") or {}
    write_text(study_dir / PLAN_FILE, json.dumps({
        "base_scenario": config.get("base_scenario") or "baseline",
        "default_scenario": choices.get("scenario"),
        "jobs": plan, "runs": runs, "started": time.time(),
        "finished_before": _finished(study_dir, runs)}, indent=1))
    record_calibrations(study_dir)


CALIBRATIONS_FILE = "calibrations.json"


def record_calibrations(study_dir: Path) -> None:
    """``calibrations.json``: each calibration of ``conf/calibration/`` as it stands when the
    sweep starts (its targets file and the fitted values it applied), so the report reads its
    study folder only — from an installed package or a copied study too."""
    import yaml

    from analysis.runio import write_text

    from .calibrate import checks_path
    from .cli import CONF_DIR

    root = Path(CONF_DIR).parent
    out = {}
    for spec_path in sorted((Path(CONF_DIR) / "calibration").glob("*.yaml")):
        try:
            spec = yaml.safe_load(spec_path.read_text()) or {}
            if not isinstance(spec, dict) or not spec.get("fit_file") or "extends" in spec:
                continue                    # a check of another fit (a placebo), not a fit
            fit_path = root / spec["fit_file"]
            fit = yaml.safe_load(fit_path.read_text()) if fit_path.is_file() else None
            checks_file = checks_path(fit_path)
            checks = json.loads(checks_file.read_text()) if checks_file.is_file() else None
        except (OSError, ValueError, yaml.YAMLError):
            continue
        out[spec_path.stem] = {"spec_file": str(spec_path.relative_to(root)), "spec": spec,
                               "fit_file": spec.get("fit_file"), "fit": fit, "checks": checks}
    write_text(study_dir / CALIBRATIONS_FILE, json.dumps(out, indent=1))


def progress_line(study_dir: Path, skipped: bool = False) -> str | None:
    """The study's progress after one more job: runs finished, left, and time to go."""
    study_dir = Path(study_dir)
    try:
        plan = json.loads((study_dir / PLAN_FILE).read_text())
        names, started, before = plan["runs"], float(plan["started"]), int(plan["finished_before"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    total = len(set(names))
    done = _finished(study_dir, names)
    left = max(total - done, 0)
    ran = done - before
    to_go = (time.time() - started) / ran * left if ran > 0 else None
    eta = f", about {_duration(to_go)} to go" if to_go is not None and left else ""
    return (f"[ccsim] study {study_dir.name}: {done}/{total} runs done "
            f"({min(before, done)} finished before this sweep), {left} left{eta}")


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


# ---------------------------------------------------------------- the callback

MAX_POINTS_TOLD = 10     # bad points named in the message (the rest are counted)


class PointComposer:
    """The composed config of every point of a sweep, as Hydra's job would compose it.

    Hydra composes each job from its defaults list (about 0.1 s a point). Points that choose
    the same config groups (``scenario=…``) differ only in value overrides, so the groups
    are composed once and each point's value overrides applied to a copy, the way Hydra
    applies them after composing (``ConfigLoaderImpl._apply_overrides_to_config``); an
    override that this cannot apply is composed in full (Hydra's own error message).
    """

    def __init__(self, loader, config):
        from hydra.core.override_parser.overrides_parser import OverridesParser

        self.loader, self.config = loader, config
        self.parser = OverridesParser.create()
        self.cache: dict = {}

    def __call__(self, job: list[str]):
        import copy

        from hydra._internal.config_loader_impl import ConfigLoaderImpl

        try:
            parsed = self.parser.parse_overrides(job)
            repo = self.loader.repository
            groups = [o for o in parsed
                      if repo.group_exists(o.key_or_group) and not isinstance(o.value(), dict)]
            values = [o for o in parsed if o not in groups]
            key = tuple(o.input_line for o in groups)
            if key not in self.cache:
                self.cache[key] = _without_hydra(self.loader.load_sweep_config(self.config,
                                                                               list(key)))
            cfg = copy.deepcopy(self.cache[key])
            ConfigLoaderImpl._apply_overrides_to_config(values, cfg)
            return cfg
        except Exception:  # noqa: BLE001 - the full composition says what is wrong
            return self.loader.load_sweep_config(self.config, job)


def _validated_points(config, plan: list[list[str]]) -> list[str]:
    """Compose and validate every point of the sweep before the first simulation; the run
    folder names, or a ConfigError naming the bad points (at most ``MAX_POINTS_TOLD``)."""
    from hydra.core.global_hydra import GlobalHydra

    from .cli import hydra_message, job_config, prepare_run
    from .engine.validate import ConfigError

    loader = GlobalHydra.instance().config_loader()
    if len(plan) > 50:
        print(f"[ccsim] checking the {len(plan)} points of the sweep …", file=sys.stderr,
              flush=True)
    problems, runs, bad_points = [], [], 0
    common = set.intersection(*(set(j) for j in plan)) if len(plan) > 1 else set()
    compose = PointComposer(loader, config)
    for i, job in enumerate(plan):
        swept = [o for o in job if o not in common]
        where = f"point {i + 1} of {len(plan)} ({' '.join(swept) or 'no overrides'})"
        try:
            prep = prepare_run(job_config(compose(job)))
        except ConfigError as exc:
            found = [f"{where}: {p}" for p in exc.problems]
        except Exception as exc:  # noqa: BLE001 - Hydra's own composition errors
            found = [f"{where}: {hydra_message(exc)}"]
        else:
            runs.append(prep.folder_name)
            continue
        bad_points += 1
        if bad_points <= MAX_POINTS_TOLD:
            problems += found
    if problems:
        if bad_points > MAX_POINTS_TOLD:
            problems.append(f"… and {bad_points - MAX_POINTS_TOLD} more of the "
                            f"{len(plan)} points")
        raise ConfigError(problems, prefix="The sweep was not started")
    return runs


class StudyCallback(Callback):
    """Hydra callback: validate every point and write the plan at the start; check every
    planned run and write the summary at the end."""

    def __init__(self) -> None:
        self.runs: list[str] = []

    def on_multirun_start(self, config, **kwargs) -> None:
        _escalate(self._start, config)

    def on_multirun_end(self, config, **kwargs) -> None:
        _escalate(self._end, config)

    def _start(self, config) -> None:
        study_dir = absolute_sweep_dir(config)
        plan = planned_jobs(config)
        self.runs = _validated_points(config, plan)
        ray = None
        from .ray_cluster import is_ray_launcher
        if is_ray_launcher(config):
            from . import ray_cluster as ray
            ray.connect(config)                     # nothing is written if it cannot
        existed = study_dir.exists()
        (study_dir / "runs").mkdir(parents=True, exist_ok=True)
        if ray is not None:
            try:
                ray.check_nodes(study_dir)
            except BaseException:
                if not existed:
                    shutil.rmtree(study_dir, ignore_errors=True)
                raise
            if ray.watches_head(config):
                ray.watch_head(study_dir)
        clear_stale(study_dir / "runs")           # left by killed sweeps of this host
        clear_stale(study_dir)
        global ACTIVE_STUDY
        ACTIVE_STUDY = study_dir
        write_plan(study_dir, plan, self.runs, config)
        for name in SUMMARY_FILES:       # a summary of an earlier sweep is rebuilt at the end
            (study_dir / name).unlink(missing_ok=True)
        before = _finished(study_dir, self.runs)
        print(f"[ccsim] study {study_dir.name}: {len(plan)} runs → {study_dir}"
              + (f" ({before} finished before)" if before else ""), file=sys.stderr, flush=True)

    def _end(self, config) -> None:
        from analysis.guard import Failure
        from analysis.runio import run_problems
        from analysis.study import write_summary

        study_dir = Path(config.hydra.sweep.dir)
        runs = study_dir / "runs"
        missing = []
        for name in dict.fromkeys(self.runs):
            problems = run_problems(runs / name)
            if problems:
                err = runs / f".failed-{name}" / "error.txt"
                missing.append(f"{name} ({'error: ' + str(err) if err.exists() else problems[0]})")
        try:
            path = write_summary(study_dir, config.get("base_scenario") or "baseline")
        except (ValueError, KeyError, TypeError, LookupError) as exc:
            raise Failure(f"the summary of study {study_dir} could not be built ({exc})") from exc
        if path is not None:
            print(f"[ccsim] study summary: {path}", flush=True)
        if missing:
            n = len(set(self.runs))
            raise Failure(
                f"study {study_dir.name} is incomplete: {len(missing)} of {n} runs did not "
                f"finish: {'; '.join(missing)}. "
                + (f"The summary holds the {n - len(missing)} finished run"
                   f"{'s' if n - len(missing) != 1 else ''}. " if path else "")
                + "Run the same command again to retry them (finished runs are kept).")
        if path is None:
            raise Failure(f"study {study_dir.name}: no run finished, no summary written")
        print(f"[ccsim] leadership report: ccsim-report {study_dir}", flush=True)


def absolute_sweep_dir(config) -> Path:
    """Make ``hydra.sweep.dir`` absolute, for the callback and for every job (jobs are
    composed again from the master config's Hydra overrides, so one more override reaches
    them all): a job running elsewhere (a Ray worker starts in its node's folder) writes
    where the sweep says."""
    from omegaconf import open_dict, read_write

    study = Path(str(config.hydra.sweep.dir)).absolute()
    quoted = str(study).replace("\\", "\\\\").replace("'", "\\'")
    with read_write(config.hydra.overrides):
        config.hydra.overrides.hydra.append(f"hydra.sweep.dir='{quoted}'")
    with read_write(config.hydra), open_dict(config.hydra):
        config.hydra.sweep.dir = str(study)
    return study


def _without_hydra(cfg):
    """The composed config without Hydra's own node (a point's value overrides never touch
    it, and copying it costs most of the time)."""
    from omegaconf import OmegaConf, flag_override

    with flag_override(cfg, ["struct", "readonly"], [False, False]):
        cfg.pop("hydra", None)
    OmegaConf.set_struct(cfg, True)
    return cfg


def _escalate(step, config) -> None:
    """Run a callback step; its error ends the command (Hydra would turn it into a warning)."""
    from analysis.guard import Carried

    try:
        step(config)
    except Exception as exc:
        raise Carried(exc) from None
