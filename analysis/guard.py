"""How every ccsim command ends: one clear message and a documented exit code, never a traceback.

Exit codes of every command (``ccsim``, ``ccsim-staff``, ``ccsim-metrics``,
``ccsim-report``, ``ccsim-calibrate``, ``python -m analysis.study``):

* **0** — done;
* **1** — a failure: an unexpected error (its traceback is written to an
  ``error.txt`` whose path the message names), a disk that is full or a folder
  that cannot be written, a study left incomplete, a fit outside its tolerances;
* **2** — bad input: a configuration, scenario, contact log, targets or
  definitions file that is invalid, a file or folder that does not exist, a
  run too large for the machine; nothing is simulated or written;
* **130** — interrupted (Ctrl-C); **143** — terminated (SIGTERM). A sweep
  interrupted either way resumes when the same command is run again.

:func:`run_command` is the one place that turns exceptions into these codes.
"""

from __future__ import annotations

import datetime as _dt
import errno
import os
import re
import signal
import sys
import tempfile
import traceback
from pathlib import Path

__all__ = ["EXIT_OK", "EXIT_FAILURE", "EXIT_BAD_INPUT", "EXIT_INTERRUPTED", "EXIT_TERMINATED",
           "BadInput", "Failure", "Carried", "Terminated", "run_command", "quiet_start",
           "raise_if_interrupted",
           "write_traceback", "one_line", "is_disk_error", "disk_message", "folder_problem"]

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143


class BadInput(Exception):
    """The user's input is invalid: exit 2 with this message."""


class Failure(Exception):
    """The command failed for a reason its message explains fully: exit 1."""


class Carried(BaseException):
    """Carries an exception past a framework that would swallow or reprint it (Hydra catches
    ``Exception`` in its job runner and turns a callback's exception into a warning);
    :func:`run_command` unwraps it."""

    def __init__(self, exc: BaseException):
        super().__init__(exc)
        self.exc = exc


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, so that clean-up runs as for Ctrl-C."""


#: errno values of a disk or folder that cannot take what is written
DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG,
               errno.EIO}


def folder_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read as a folder (None: it can)."""
    path = Path(path)
    if path.is_dir():
        return None
    return f"{path} is not a folder" if path.exists() else f"no such folder: {path}"


def is_disk_error(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in DISK_ERRNOS


def disk_message(exc: OSError) -> str:
    """'cannot write PATH: No space left on device' and what to do about it."""
    where = str(exc.filename) if exc.filename else "a results file"
    m = re.fullmatch(r"(.*/)?\.(.+)\.\d+-[0-9a-f]+\.tmp", where)   # a file's temporary name
    if m:
        where = (m.group(1) or "") + m.group(2)
    what = exc.strerror or str(exc)
    hint = {errno.ENOSPC: "free some space or write elsewhere (hydra.run.dir=…, "
                          "hydra.sweep.dir=… or study=…)",
            errno.EDQUOT: "your disk quota is used up; free some space or write elsewhere",
            errno.EFBIG: "the file is larger than this system allows",
            errno.EROFS: "the folder is on a read-only file system; write elsewhere",
            errno.EACCES: "you may not write there; choose a folder you can write to",
            errno.EPERM: "you may not write there; choose a folder you can write to"}
    return f"cannot write {where}: {what}" + (f"; {hint[exc.errno]}" if exc.errno in hint else "")


def one_line(exc: BaseException) -> str:
    """The exception's message without trailing blank lines (Hydra's may be multi-line)."""
    text = str(exc).strip() or type(exc).__name__
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip())


def write_traceback(exc: BaseException, folder: Path | None, prog: str,
                    name: str = "error.txt") -> Path | None:
    """Write the traceback as ``folder/name`` when that folder exists, else into the
    system's temporary folder as ``<prog>-error-<time>-<pid>.txt``; None when neither can be
    written."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    candidates = []
    if folder is not None and Path(folder).is_dir():
        candidates.append(Path(folder) / name)
    candidates.append(Path(tempfile.gettempdir()) / f"{prog}-error-{stamp}-{os.getpid()}.txt")
    for path in candidates:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{prog}: unexpected error\n\n{text}")
            return path
        except OSError:
            continue
    return None


#: the signals received while :func:`run_command` runs: Python prints and drops the exception a
#: signal handler raises when the signal lands inside a finaliser (``Exception ignored in …
#: __del__``), so a command could otherwise go on and finish as if never interrupted
_PENDING: list[int] = []


def _on_sigterm(signum, frame):  # pragma: no cover - exercised by the CLI tests
    _PENDING.append(signum)
    raise Terminated()


def _on_sigint(signum, frame):  # pragma: no cover - exercised by the fault catalogue
    _PENDING.append(signum)
    raise KeyboardInterrupt


def raise_if_interrupted() -> None:
    """Call before a command makes its result final (a run's ``kpis.json``, written last): a
    Ctrl-C or SIGTERM whose exception was dropped still stops it there."""
    if _PENDING:
        raise Terminated() if _PENDING[-1] == signal.SIGTERM else KeyboardInterrupt()


def quiet_start(prog: str) -> None:
    """Call first thing in a command: until :func:`run_command` takes over, Ctrl-C or SIGTERM
    (while pandas, Hydra and numba load, about a second) end the command at once with one
    line and exit 130 / 143, not a traceback of whatever was being imported."""
    def stop(signum, frame):  # pragma: no cover - exercised by the fault catalogue
        verb = "interrupted" if signum == signal.SIGINT else "terminated"
        try:
            os.write(2, f"{prog}: {verb} while starting; nothing was done\n".encode())
        finally:
            os._exit(EXIT_INTERRUPTED if signum == signal.SIGINT else EXIT_TERMINATED)

    try:
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
    except ValueError:          # not the main thread
        pass


def run_command(prog: str, body, user_errors: tuple = (), error_folder=None,
                interrupted_hint: str = "") -> int:
    """Run ``body()`` and return the exit code; every failure ends in one message on stderr.

    ``user_errors``: further exception types that are bad input (exit 2), e.g. Hydra's
    composition errors. ``error_folder()``: where an unexpected error's traceback goes
    (default: the temporary folder). ``interrupted_hint``: said after "interrupted".
    """
    from sim.engine.validate import ConfigError

    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
        signal.signal(signal.SIGINT, _on_sigint)                     # Ctrl-C: KeyboardInterrupt
    except ValueError:          # not the main thread
        previous = None
    bad_input = (BadInput, ConfigError, *user_errors)
    _PENDING.clear()
    try:
        try:
            code = body()
        except Carried as carried:
            raise carried.exc from None
        return EXIT_OK if code is None else int(code)
    except Terminated:
        _say(prog, "terminated" + (f"; {interrupted_hint}" if interrupted_hint else ""))
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        _say(prog, "interrupted" + (f"; {interrupted_hint}" if interrupted_hint else ""))
        return EXIT_INTERRUPTED
    except SystemExit as exc:           # argparse and friends: they said what was wrong
        if exc.code is None or isinstance(exc.code, int):
            return int(exc.code or 0)
        _say(prog, str(exc.code))
        return EXIT_FAILURE
    except bad_input as exc:
        _say(prog, one_line(exc))
        return EXIT_BAD_INPUT
    except Failure as exc:
        _say(prog, one_line(exc))
        return EXIT_FAILURE
    except MemoryError:
        _say(prog, "out of memory; make the run smaller (fewer run.hours, replications or "
                   "accounts) or lower run.max_memory_gb so that the size check refuses it "
                   "before it starts")
        return EXIT_FAILURE
    except OSError as exc:
        if is_disk_error(exc):
            _say(prog, disk_message(exc))
            return EXIT_FAILURE
        return _unexpected(prog, exc, error_folder)
    except Exception as exc:  # noqa: BLE001 - the one place that catches everything
        return _unexpected(prog, exc, error_folder)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _unexpected(prog: str, exc: BaseException, error_folder) -> int:
    folder = None
    if error_folder is not None:
        try:
            folder = error_folder()
        except Exception:  # noqa: BLE001 - fall back to the temporary folder
            folder = None
    path = write_traceback(exc, folder, prog, name=f"{prog}-error.txt")
    where = f"the traceback is in {path}" if path else "the traceback could not be written"
    _say(prog, f"unexpected error ({type(exc).__name__}: {one_line(exc)}); {where}. "
               "This is a bug in ccsim: please report it with that file.")
    return EXIT_FAILURE


def _say(prog: str, message: str) -> None:
    try:
        print(f"{prog}: {message}", file=sys.stderr, flush=True)
    except OSError:                    # stderr closed: nothing more to do
        pass
