"""The platform as an operator runs it: `make pipeline` to an API answer, and `make demo`."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from orchestration.lib.warehouse import connect_warehouse

pytestmark = [pytest.mark.operate, pytest.mark.slow]
REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def embedded_env(tmp: Path, sim=None) -> dict[str, str]:
    """This process's env, on the embedded defaults, with every state path under `tmp`."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DAGSTER_HOME=str(tmp / "dagster"),
        DUCKDB_PATH=str(tmp / "warehouse.duckdb"),
        SNAPSHOT_DIR=str(tmp / "snapshot"),
        PYTHONUNBUFFERED="1",
    )
    for subgraph in ("orderbook", "pnl", "activity"):
        env.pop(f"SUBGRAPH_{subgraph.upper()}_URL", None)
        if sim is not None:
            env[f"SUBGRAPH_{subgraph.upper()}_URL"] = sim.url(subgraph)
    env.pop("GAMMA_API_URL", None)
    if sim is not None:
        env["GAMMA_API_URL"] = sim.gamma_url
    return env


def wait_for(url: str, proc: subprocess.Popen, timeout: float, ok=lambda r: True):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"exited with {proc.returncode}"
        try:
            response = requests.get(url, timeout=5)
            if response.status_code == 200 and ok(response):
                return response
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} not ready after {timeout:.0f}s")


def group_members(pgid: int) -> list[int]:
    """Live processes of a process group (zombies wait for their reaper, they do not run)."""
    import psutil

    members = []
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                members.append(proc.pid)
        except (ProcessLookupError, psutil.NoSuchProcess):
            continue
    return members


def descendants(pid: int) -> set[int]:
    import psutil

    try:
        return {p.pid for p in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def stop_group(proc: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 30) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_pipeline_then_api_serves_the_marts(sim_tiny, tmp_path):
    env = embedded_env(tmp_path, sim_tiny)
    run = subprocess.run(
        [sys.executable, "-m", "orchestration.pipeline"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "full_sync_job: succeeded" in run.stdout

    with connect_warehouse(None, env["DUCKDB_PATH"]) as wh:
        marts = wh.fetchall(
            "select wallet_address, pnl, volume, trades, pnl_rank from marts.leaderboard "
            "where time_window = '7d' order by pnl_rank, wallet_address"
        )
    assert marts, "the tiny dataset should have eligible traders in 7d"

    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1"]
    api = subprocess.Popen(
        [*command, "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/ready", api, timeout=60)
        body = requests.get(
            f"{base}/api/v1/traders/leaderboard", params={"timeframe": "7d", "limit": 100}
        ).json()
        sources = requests.get(f"{base}/api/v1/sources").json()["sources"]
        footer = requests.get(f"{base}/").text
    finally:
        stop_group(api)

    # Each subgraph's freshness as the pipeline read it: the head block's time and the lag.
    head_time = sim_tiny.state()["head_timestamp"]
    by_source = {s["source"]: s for s in sources}
    assert set(by_source) == {"orderbook", "pnl", "activity", "gamma"}
    assert by_source.pop("gamma")["head_at"] is None  # metadata has no blocks, only reads
    for source in by_source.values():
        assert source["head_at"] == datetime.fromtimestamp(head_time, UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        read_at = datetime.fromisoformat(source["read_at"].replace("Z", "+00:00"))
        assert source["lag_seconds"] == int(read_at.timestamp()) - head_time
        assert f"{source['source']} " in footer and " behind" in footer

    assert body["total"] == len(marts)
    served = [
        (t["wallet_address"], t["total_pnl"], t["volume"], t["total_trades"], t["rank"])
        for t in body["traders"]
    ]
    assert [s[0] for s in served] == [m[0] for m in marts]
    for (wallet, pnl, volume, trades, rank), mart in zip(served, marts, strict=True):
        assert abs(Decimal(str(pnl)) - mart[1]) <= Decimal("1e-6"), wallet
        assert abs(Decimal(str(volume)) - mart[2]) <= Decimal("1e-6"), wallet
        assert (trades, rank) == (mart[3], mart[4]), wallet


def test_demo_serves_a_leaderboard_and_leaves_nothing_after_ctrl_c(tmp_path):
    api_port, webserver_port = free_port(), free_port()
    env = embedded_env(tmp_path)
    command = [sys.executable, "-m", "orchestration.demo", "--dataset", "tiny", "--sim-port", "0"]
    command += ["--api-port", str(api_port), "--webserver-port", str(webserver_port)]
    command += ["--no-browser"]
    demo = subprocess.Popen(
        [*command, "--state-dir", str(tmp_path / "state")],
        cwd=REPO_ROOT,
        env=env,
        stdout=open(tmp_path / "demo.log", "wb"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    family: set[int] = set()
    try:
        base = f"http://127.0.0.1:{api_port}"
        board = wait_for(
            f"{base}/api/v1/traders/leaderboard?timeframe=7d",
            demo,
            timeout=170,
            ok=lambda r: bool(r.json()["traders"]),
        ).json()
        assert board["traders"][0]["rank"] == 1
        # The launcher announces itself once the webserver and the daemon are up too.
        deadline = time.monotonic() + 120
        while "polyboard is running" not in (tmp_path / "demo.log").read_text(errors="replace"):
            assert demo.poll() is None and time.monotonic() < deadline, "never announced"
            time.sleep(0.5)
        assert requests.get(f"http://127.0.0.1:{webserver_port}/server_info").status_code == 200
        # It opens on the web leaderboard, which lists the API's traders.
        assert f"leaderboard  {base}/ " in (tmp_path / "demo.log").read_text(errors="replace")
        page = requests.get(f"{base}/", timeout=10)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert 'id="leaderboard"' in page.text and "<tr data-wallet=" in page.text
        family = descendants(demo.pid)
        assert len(family) >= 4, "the sim, the daemon, the webserver and the API"
        # Ctrl-C in a terminal: SIGINT to the launcher's process group.
        os.killpg(demo.pid, signal.SIGINT)
        assert demo.wait(60) == 0
        # What is still alive once the launcher has exited is what it left behind.
        left = [describe(pid) for pid in family if running(pid)]
    finally:
        # On a failed assertion the launcher still gets its Ctrl-C first, so its servers stop;
        # whatever is left after that is killed group by group, so no failure leaks a process.
        family |= descendants(demo.pid)
        stop_group(demo, signal.SIGINT, timeout=60)
        for pid in family:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        log = (tmp_path / "demo.log").read_text(errors="replace")

    assert "stopped: every process of the demo has exited" in log, log[-3000:]
    assert not left, f"left running: {left}"
    assert not group_members(demo.pid)


def describe(pid: int) -> str:
    """What a process left behind was, for the failure message."""
    import psutil

    try:
        proc = psutil.Process(pid)
        return f"{pid} ({proc.status()}, parent {proc.ppid()}): {' '.join(proc.cmdline())[:200]}"
    except psutil.NoSuchProcess:
        return f"{pid} (gone)"


def running(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
