"""A real two-node Ray cluster on 127.0.0.1 for the tests: two `ray start --block`
processes started here, each in a session of its own, and stopped by their process ids
(their whole process group), so that no Ray process is left behind."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from conftest import processes

RAY = Path(sys.executable).parent / "ray"
GPU_RESOURCE = "filmc_gpu"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Cluster:
    address: str
    starters: list[subprocess.Popen[bytes]]
    temp: Path

    def env(self, **extra: str) -> dict[str, str]:
        """The environment for a driver of this cluster."""
        env = {**os.environ, "RAY_ADDRESS": self.address, "RAY_AUTH_MODE": "disabled",
               "FILMC_RAY_GPU_RESOURCE": GPU_RESOURCE, **extra}
        return env

    def sessions(self) -> set[int]:
        return {p.pid for p in self.starters}

    def pids(self) -> list[int]:
        """Every live process of the cluster (by the sessions its starters lead)."""
        mine = self.sessions()
        return [pid for pid, _, _, sid in processes() if sid in mine]


def _start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    return subprocess.Popen([str(RAY), "start", "--block", "--node-ip-address=127.0.0.1",
                             "--disable-usage-stats", *args],
                            stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)


def _wait_for_nodes(address: str, count: int, timeout: float = 90.0) -> None:
    script = (f"import ray, json; ray.init(address={address!r}, "
              "_node_ip_address='127.0.0.1', log_to_driver=False, logging_level='ERROR'); "
              "print(json.dumps(sum(1 for n in ray.nodes() if n['Alive'])))")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                             env={**os.environ, "RAY_AUTH_MODE": "disabled"}, timeout=60)
        with contextlib.suppress(ValueError, IndexError):
            if out.returncode == 0 and json.loads(out.stdout.strip().splitlines()[-1]) >= count:
                return
        time.sleep(1.0)
    raise TimeoutError(f"the Ray cluster at {address} did not get {count} nodes")


@contextlib.contextmanager
def two_nodes(cpus: int = 2) -> Iterator[Cluster]:
    """A head and a worker node, `cpus` CPUs each; the worker has one GPU-type resource."""
    temp = Path(tempfile.mkdtemp(prefix="fr"))  # short: Ray's socket paths have a limit
    port = free_port()
    address = f"127.0.0.1:{port}"
    starters = [_start(["--head", f"--port={port}", f"--num-cpus={cpus}", "--num-gpus=0",
                        "--include-dashboard=false", f"--temp-dir={temp}",
                        "--object-store-memory=100000000"], temp / "head.log")]
    cluster = Cluster(address, starters, temp)
    try:
        time.sleep(2.0)
        starters.append(_start([f"--address={address}", f"--num-cpus={cpus}", "--num-gpus=0",
                                f"--resources={json.dumps({GPU_RESOURCE: 1})}",
                                "--object-store-memory=100000000"], temp / "worker.log"))
        _wait_for_nodes(address, 2)
        yield cluster
    finally:
        stop(cluster)


def stop(cluster: Cluster) -> None:
    """Stop each node by its starter's process group; then whatever of its session is
    left, by pid."""
    for starter in reversed(cluster.starters):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(starter.pid, signal.SIGTERM)
    for starter in cluster.starters:
        try:
            starter.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(starter.pid, signal.SIGKILL)
            starter.wait(timeout=10)
    deadline = time.monotonic() + 5
    while cluster.pids() and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in cluster.pids():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    shutil.rmtree(cluster.temp, ignore_errors=True)
