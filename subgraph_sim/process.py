"""Run the simulator as a subprocess (tests, benches, the Makefile).

    with start_sim("tiny", latency_ms=20) as sim:
        requests.post(sim.url("orderbook"), json={"query": "{ _meta { block { number } } }"})
        sim.control(fault_rate=0.1)

Every server started here is stopped by `stop()`, by the context manager, at interpreter
exit, and (through `--exit-with-parent`) by itself when this process dies.
"""

from __future__ import annotations

import atexit
import os
import re
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path
from typing import Any

import requests

from subgraph_sim.chain import SUBGRAPHS

_READY = re.compile(r"subgraph_sim ready on http://127\.0\.0\.1:(\d+)")
_REPO_ROOT = Path(__file__).resolve().parent.parent
_RUNNING: set[SimProcess] = set()


class SimProcess:
    def __init__(self, proc: subprocess.Popen, port: int, log: deque[str]) -> None:
        self.proc = proc
        self.port = port
        self.log = log  # the server's last output lines, for failure messages
        self.base_url = f"http://127.0.0.1:{port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def url(self, subgraph: str) -> str:
        """e.g. url("orderbook") -> http://127.0.0.1:PORT/subgraphs/orderbook-subgraph/0.0.1/gn"""
        name, version = SUBGRAPHS[subgraph]
        return f"{self.base_url}/subgraphs/{name}/{version}/gn"

    def urls(self) -> dict[str, str]:
        return {subgraph: self.url(subgraph) for subgraph in SUBGRAPHS}

    @property
    def gamma_url(self) -> str:
        """Gamma's face (`/markets/keyset`, `/events/keyset`, `/tags`, ...)."""
        return self.base_url

    @property
    def rpc_url(self) -> str:
        """The Polygon JSON-RPC face."""
        return f"{self.base_url}/rpc"

    def rpc_control(self, **changes: Any) -> dict[str, Any]:
        """POST /_sim/rpc: the JSON-RPC face's limits, faults, head and reorgs; its new state."""
        response = requests.post(f"{self.base_url}/_sim/rpc", json=changes, timeout=60)
        response.raise_for_status()
        return response.json()

    def control(self, **changes: Any) -> dict[str, Any]:
        """POST /_sim/control; returns the new state."""
        response = requests.post(f"{self.base_url}/_sim/control", json=changes, timeout=10)
        response.raise_for_status()
        return response.json()

    def state(self) -> dict[str, Any]:
        response = requests.get(f"{self.base_url}/_sim/control", timeout=10)
        response.raise_for_status()
        return response.json()

    def stop(self, timeout: float = 10.0) -> int | None:
        """Terminate by PID, wait, kill if it does not exit in time."""
        _RUNNING.discard(self)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        return self.proc.returncode

    def __enter__(self) -> SimProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _flags(options: dict[str, Any]) -> list[str]:
    args: list[str] = []
    for key, value in options.items():
        if value is None or value is False:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            args.append(flag)
        elif isinstance(value, list | tuple):
            args += [flag, ",".join(str(v) for v in value)]
        else:
            args += [flag, str(value)]
    return args


def start_sim(
    dataset: str = "tiny",
    port: int | None = None,
    *,
    dataset_dir: str | os.PathLike | None = None,
    ready_timeout: float = 300.0,
    idle_timeout: float | None = 900.0,
    **options: Any,
) -> SimProcess:
    """Start `python -m subgraph_sim serve` and wait until it answers.

    `options` are the serve flags in snake case (latency_ms=50, fault_rate=0.1, burst=2500,
    seed=3, live=True, ...). `port=None` lets the server pick a free port.
    """
    command = [sys.executable, "-m", "subgraph_sim", "serve", "--dataset", dataset]
    command += ["--port", str(port or 0), "--exit-with-parent"]
    if dataset_dir is not None:
        command += ["--dataset-dir", str(dataset_dir)]
    command += _flags({"idle_timeout": idle_timeout, **options})
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_REPO_ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=_REPO_ROOT,
    )
    log: deque[str] = deque(maxlen=200)
    ready = threading.Event()
    found: list[int] = []

    def drain() -> None:
        # Keeps reading for the server's whole life so a full pipe never blocks it.
        assert proc.stdout is not None
        for line in proc.stdout:
            log.append(line.rstrip("\n"))
            match = _READY.search(line)
            if match and not found:
                found.append(int(match.group(1)))
                ready.set()
        ready.set()

    threading.Thread(target=drain, name=f"subgraph-sim-{proc.pid}", daemon=True).start()
    if not ready.wait(ready_timeout) or not found:
        proc.kill()
        proc.wait()
        tail = "\n".join(log)
        raise RuntimeError(f"subgraph_sim did not become ready: {command}\n{tail}")
    sim = SimProcess(proc, found[0], log)
    _RUNNING.add(sim)
    return sim


@atexit.register
def _stop_all() -> None:
    for sim in list(_RUNNING):
        sim.stop()
