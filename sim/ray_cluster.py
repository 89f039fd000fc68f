"""Sweeps on Ray (``hydra/launcher=ray``): in this process, or on a cluster already running.

Hydra's Ray launcher (``hydra-ray-launcher``) ships each job of a sweep to a Ray worker.
:func:`connect`, :func:`check_nodes` and :func:`watch_head`, called by the study callback
(:mod:`sim.sweep`) before the first run, add what a study on a cluster needs:

* **joining an existing cluster as written**: ``+hydra.launcher.ray.init.address=auto`` (the
  cluster this machine belongs to, or ``RAY_ADDRESS``) or ``…address=ray://HEAD:10001``
  (Ray Client). The plugin's fixed object-store size, which Ray refuses when joining a
  cluster, is only given to a Ray started in this process;
* **one results folder for every node**: the study folder is already absolute
  (:class:`sim.sweep.StudyCallback`: a Ray worker starts in the folder its node was started
  from, so a relative ``results/…`` would land elsewhere); before the first run a probe on
  every live node checks that it sees the folder, can write to it and can import ccsim — if
  not, the sweep stops there, naming the node (exit 2);
* **faults**: a job whose worker or node dies is run again by Ray (``max_retries``, 3 by
  default) on a node still alive; the run's lock died with its process, and the new attempt
  takes the run over. A lost head node or a cluster that cannot be reached ends the command
  with one message (exit 1, :func:`lost_cluster_message`), and the same command resumes:
  finished runs are kept.
"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

__all__ = ["is_ray_launcher", "connect", "probe_node", "check_nodes", "watch_head",
           "watches_head", "lost_cluster_message"]

PROBE_SECONDS = 180.0


def is_ray_launcher(config) -> bool:
    """Whether the sweep runs on Hydra's Ray launcher."""
    target = str((config.hydra.get("launcher") or {}).get("_target_", ""))
    return "hydra_ray_launcher" in target and "aws" not in target.lower()


def connect(config) -> None:
    """Before the first run: start or join Ray with the launcher's settings (BadInput when
    the cluster cannot be reached); then :func:`check_nodes` and :func:`watch_head`."""
    from hydra_plugins.hydra_ray_launcher._launcher_util import start_ray
    from omegaconf import open_dict, read_write

    from analysis.guard import BadInput

    init = config.hydra.launcher.ray.init
    address = init.get("address")
    with read_write(init), open_dict(init):
        if address:
            if "object_store_memory" not in init:
                # the plugin would set its own size, which Ray refuses when joining a cluster
                init["object_store_memory"] = None
        else:
            # no address: Ray in this process, also when RAY_ADDRESS or a cluster file left
            # by an earlier `ray start` (/tmp/ray/ray_current_cluster) names another one
            init["address"] = "local"
            init.setdefault("object_store_memory", IN_PROCESS_OBJECT_STORE_BYTES)
    if address and address != "local":
        _token_auth_if_available()
    try:
        if address and not str(address).startswith(("ray://", "local")):
            _check_reachable(str(address))    # ray.init would wait for it for minutes
        _start(start_ray, init, client=str(address or "").startswith("ray://"))
    except (ConnectionError, TimeoutError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "Ray on this machine"
        raise BadInput(
            f"cannot start or join {where} ({_first_line(exc)}). A cluster: start it with "
            "`ray start --head` and join nodes with `RAY_AUTH_MODE=token ray start "
            "--address=HEAD:6379`; `+hydra.launcher.ray.init.address=auto` joins the "
            "cluster of this machine (or RAY_ADDRESS), `…=ray://HEAD:10001` one elsewhere"
        ) from None


def _start(start_ray, init, client: bool, attempts: int = 3) -> None:
    """``ray.init``; a Ray Client connection is tried again: the head starts a server per
    client, and the first one can fail while the head is busy ("Initialization failure")."""
    import time

    import ray

    for attempt in range(attempts if client else 1):
        try:
            start_ray(init)
            return
        except ConnectionError:
            if attempt + 1 >= (attempts if client else 1):
                raise
            ray.shutdown()
            time.sleep(3.0 * (attempt + 1))


def watches_head(config) -> bool:
    """Whether the sweep joined a cluster by its GCS address (its head can be watched)."""
    address = str(config.hydra.launcher.ray.init.get("address") or "")
    return bool(address) and not address.startswith(("ray://", "local"))


#: The head is lost when its GCS port has not answered for this long (Ray's own process
#: would exit after 60 s with a C++ log line and no word on what to do); the environment
#: variable CCSIM_RAY_HEAD_LOST_SECONDS sets another (the tests take 8 s).
HEAD_LOST_SECONDS = float(os.environ.get("CCSIM_RAY_HEAD_LOST_SECONDS", "30"))


def watch_head(study: Path, every: float = 2.0) -> None:
    """A daemon thread that ends the command with one message (exit 1) when the cluster's
    head stops answering: the runs finished so far are kept, the same command resumes."""
    import threading
    import time

    import ray

    try:
        host, _, port = ray.get_runtime_context().gcs_address.rpartition(":")
        port = int(port)
    except Exception:  # noqa: BLE001 - no address to watch: Ray's own handling remains
        return

    def watch() -> None:
        lost_since = None
        while True:
            time.sleep(every)
            try:
                socket.create_connection((host, port), timeout=3).close()
                lost_since = None
            except OSError:
                lost_since = lost_since or time.monotonic()
                if time.monotonic() - lost_since >= HEAD_LOST_SECONDS:
                    import sys
                    print(f"ccsim: the Ray cluster's head ({host}:{port}) has not answered for "
                          f"{HEAD_LOST_SECONDS:.0f} s: the cluster was lost during the sweep; "
                          f"finished runs are kept in {study}/runs: run the same command "
                          "again, once the cluster is back, to finish the study",
                          file=sys.stderr, flush=True)
                    os._exit(1)

    threading.Thread(target=watch, name="ccsim-watch-head", daemon=True).start()


def _check_reachable(address: str, seconds: float = 10.0) -> None:
    """Raise ConnectionError unless the cluster's GCS port answers (``auto``: the cluster of
    this machine or RAY_ADDRESS)."""
    from ray._private.services import canonicalize_bootstrap_address

    gcs = canonicalize_bootstrap_address(address)      # ConnectionError: no cluster found
    if gcs is None:
        return
    host, _, port = gcs.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=seconds).close()
    except OSError as exc:
        raise ConnectionError(f"nothing answers at {gcs} ({exc.strerror or exc}); is the "
                              "cluster running?") from None


def _token_auth_if_available() -> None:
    """Join with token authentication when a token is at hand and RAY_AUTH_MODE is unset, as
    ``ray start`` does for a node: a cluster with tokens needs it, one without accepts it."""
    if "RAY_AUTH_MODE" in os.environ or not _token_available():
        return
    try:
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )
        maybe_enable_token_auth_if_token_available(warn_if_disabled=False)
    except ImportError:            # another Ray: the variable alone
        os.environ["RAY_AUTH_MODE"] = "token"


def _token_available() -> bool:
    """Whether a Ray authentication token is at hand (``RAY_AUTH_TOKEN``,
    ``RAY_AUTH_TOKEN_PATH`` or ``~/.ray/auth_token``)."""
    if os.environ.get("RAY_AUTH_TOKEN"):
        return True
    path = os.environ.get("RAY_AUTH_TOKEN_PATH") or str(Path.home() / ".ray" / "auth_token")
    return Path(path).is_file()


#: The object store of a Ray started in this process (the plugin's setting: small machines
#: and CI have little shared memory); a cluster's own setting is used when joining one.
IN_PROCESS_OBJECT_STORE_BYTES = 78_643_200


def lost_cluster_message(exc: BaseException) -> str | None:
    """The message for an error of Ray itself during a sweep (None: not one of Ray's)."""
    module = type(exc).__module__ or ""
    if not module.startswith("ray"):
        return None
    return (f"the Ray cluster failed during the sweep ({type(exc).__name__}: "
            f"{_first_line(exc)}); finished runs are kept: run the same command again, once "
            "the cluster is back, to finish the study")


def probe_node(folder: str, token: str) -> dict:
    """On one node: does it see the study folder (the probe file the sweep wrote) and may it
    write there? Runs on the worker, so it also shows that ccsim can be imported there."""
    path = Path(folder)
    out = {"host": socket.gethostname(), "pid": os.getpid(), "ok": False, "why": ""}
    probe = path / f".probe-{token}"
    try:
        if not probe.is_file() or probe.read_text() != token:
            out["why"] = f"{folder} is not the folder the sweep writes (no probe file there)"
            return out
        mine = path / "runs" / f".probe-{token}-{out['host']}-{out['pid']}"
        mine.parent.mkdir(parents=True, exist_ok=True)
        mine.write_text("ok")
        mine.unlink()
    except OSError as exc:
        out["why"] = f"cannot write in {folder}: {exc.strerror or exc}"
        return out
    out["ok"] = True
    return out


def check_nodes(study: Path) -> None:
    """Probe every live node before the first run (see :func:`probe_node`); raise BadInput
    naming the nodes that cannot take part."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from analysis.guard import BadInput

    token = uuid.uuid4().hex
    probe = study / f".probe-{token}"
    probe.write_text(token)
    try:
        nodes = [n for n in ray.nodes() if n.get("Alive")]
        remote = ray.remote(num_cpus=0, max_retries=0)(probe_node)
        refs = {n["NodeManagerAddress"] + " " + n["NodeID"][:8]: remote.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)
        ).remote(str(study), token) for n in nodes}
        bad = []
        for name, ref in refs.items():
            try:
                result = ray.get(ref, timeout=PROBE_SECONDS)
            except ray.exceptions.RayTaskError as exc:
                cause = exc.cause if getattr(exc, "cause", None) is not None else exc
                why = (f"ccsim cannot be imported there ({_first_line(cause)}); install it on "
                       "every node (pip install -e '.[ray]')"
                       if isinstance(cause, ImportError) else _first_line(cause))
                bad.append(f"node {name}: {why}")
                continue
            except ray.exceptions.GetTimeoutError:
                bad.append(f"node {name}: no answer within {PROBE_SECONDS:.0f} s")
                continue
            except (ray.exceptions.TaskUnschedulableError, ray.exceptions.NodeDiedError,
                    ray.exceptions.WorkerCrashedError):
                continue            # the node left the cluster: no job will run there
            if not result["ok"]:
                bad.append(f"node {name} (host {result['host']}): {result['why']}")
        if bad:
            raise BadInput(
                f"not every node of the Ray cluster can write the study folder {study}: "
                + "; ".join(bad) + ". Every node must mount the results folder at the same "
                "path (a shared file system): set hydra.sweep.dir=/shared/path/<study>")
    finally:
        probe.unlink(missing_ok=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
