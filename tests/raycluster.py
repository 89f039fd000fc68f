"""A Ray cluster of one machine for tests and benches: ``ray start --head`` and worker nodes.

Each node is one ``ray start … --block`` in a process group of its own, stopped by that
group (so only what was started here is stopped); the head uses a temp folder of its own
and free ports; HOME is a folder of the cluster's, so its token authentication
(``~/.ray/auth_token``, ``RAY_AUTH_MODE=token``) never touches the user's.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A head and worker nodes on this machine, stopped by process group."""

    def __init__(self, base: Path, cpus_per_node: int = 1):
        self.base = base
        self.home = base / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.temp = Path(os.environ.get("TMPDIR", "/tmp")) / f"ccr{os.getpid()}{_free_port()}"
        self.port, self.client_port = _free_port(), _free_port()
        self.nodes: list[subprocess.Popen] = []
        self.cpus = cpus_per_node
        self.env = {**os.environ, "HOME": str(self.home), "RAY_AUTH_MODE": "token",
                    "RAY_ADDRESS": f"127.0.0.1:{self.port}", "RAY_USAGE_STATS_ENABLED": "0",
                    "CCSIM_RAY_HEAD_LOST_SECONDS": "8"}
        subprocess.run([str(BIN / "ray"), "get-auth-token", "--generate"], env=self.env,
                       capture_output=True, timeout=60)

    def start(self, workers: int = 1) -> Cluster:
        head = self._ray("start", "--head", f"--port={self.port}", f"--temp-dir={self.temp}",
                         f"--ray-client-server-port={self.client_port}", name="head")
        self.wait(head)
        for i in range(workers):
            self.wait(self.add_worker(f"worker{i}"))
        return self

    def add_worker(self, name: str, prefix: list[str] | None = None) -> subprocess.Popen:
        return self._ray("start", f"--address=127.0.0.1:{self.port}", name=name, prefix=prefix)

    def _ray(self, *args: str, name: str, prefix: list[str] | None = None) -> subprocess.Popen:
        cmd = [*(prefix or []), str(BIN / "ray"), *args, "--node-ip-address=127.0.0.1",
               f"--num-cpus={self.cpus}", "--disable-usage-stats", "--block"]
        if "--head" in args:
            cmd.append("--include-dashboard=false")
        log = open(self.base / f"{name}.log", "w")          # noqa: SIM115 - the node's log
        p = subprocess.Popen(cmd, env=self.env, cwd=self.base, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)
        p.name = name
        self.nodes.append(p)
        return p

    def wait(self, node: subprocess.Popen, timeout: float = 120) -> None:
        """Until the node says it runs (``ray start`` prints "Ray runtime started")."""
        log = self.base / f"{node.name}.log"
        deadline = time.time() + timeout
        while time.time() < deadline:
            if "Ray runtime started" in log.read_text(errors="replace"):
                return
            if node.poll() is not None:
                break
            time.sleep(0.3)
        raise AssertionError(f"test cluster node {node.name} did not start: "
                             + log.read_text(errors="replace")[-2000:])

    def kill(self, node: subprocess.Popen, what: str | None = None) -> None:
        """SIGKILL a node's whole process group, or only its processes named ``what``."""
        if what is None:
            os.killpg(node.pid, signal.SIGKILL)
            node.wait()
            return
        out = subprocess.run(["pgrep", "-g", str(node.pid), what], capture_output=True,
                             text=True)
        for pid in out.stdout.split():
            os.kill(int(pid), signal.SIGKILL)

    def stop(self) -> None:
        """Every process of every node this test started (their process groups), at once."""
        for p in self.nodes:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
        self.nodes.clear()
        shutil.rmtree(self.temp, ignore_errors=True)
