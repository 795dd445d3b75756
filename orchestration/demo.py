"""`make demo`: the whole platform on this machine, kept fresh until Ctrl-C.

1. The local Polymarket sources serve the `demo_v2` world in live mode: V1 history in the
   subgraphs, frozen at the world's cutover as the real ones are at 2026-04-28, and the V2 era
   on the local chain (`/rpc`, POLYGON_RPC_URL), whose head keeps the wall clock's time while
   new V2 trades keep landing (the world is dated so that its V2 era ends now). When
   SUBGRAPH_ORDERBOOK_URL, SUBGRAPH_PNL_URL and SUBGRAPH_ACTIVITY_URL are all set, those
   endpoints (and POLYGON_RPC_URL, if set) are used and no local source starts.
2. `full_sync_job` runs once (`make pipeline`, in a child process) on the Dagster instance of
   DAGSTER_HOME (so the run shows in the UI), into the warehouse: PostgreSQL when DATABASE_URL
   is set, else the DuckDB file of DUCKDB_PATH, whose marts are published to SNAPSHOT_DIR for
   the API.
3. `dagster-webserver`, `dagster-daemon` (schedules, sensors, the run queue) and the read API
   start, each in its own process group, with the same environment. The API serves the web
   leaderboard at its root: its URL is printed, and opened in a browser where there is a
   desktop (not with --no-browser). The daemon's
   `source_head_sensor` and the eager automation keep the marts following the source.
4. Ctrl-C (SIGINT) or SIGTERM stops them all: SIGTERM to each process group, a wait, then
   SIGKILL for anything left, then the local subgraph.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
import webbrowser
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil
import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
SUBGRAPHS = ("orderbook", "pnl", "activity")
STOP_TIMEOUT_SECONDS = 15.0
DEMO_CHAIN_CONFIRMATIONS = 3
DEMO_CHAIN_MAX_BLOCK_RANGE = 20_000


class Shutdown(Exception):
    """SIGINT or SIGTERM arrived: unwind and stop everything."""


@dataclass
class Child:
    """A server started in its own process group (its PID is the group id)."""

    name: str
    proc: subprocess.Popen
    log_path: Path
    url: str | None = None
    ready_path: str = "/"
    stopped: bool = field(default=False)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def group_alive(self) -> bool:
        try:
            os.killpg(self.proc.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def stop_children(children: list[Child], timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """SIGTERM every group at once, wait for the groups to empty, SIGKILL what is left."""
    live = [c for c in children if not c.stopped]
    # Run workers started by the daemon's code server may sit in sessions of their own, out of
    # reach of a group signal: remember every descendant now, and make sure each one ends.
    tree = [p for c in live for p in _descendants(c.proc.pid)]
    for child in live:
        child.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in live:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.proc.wait(max(0.1, deadline - time.monotonic()))
    # The leader's exit does not end the group: code servers and run workers may linger.
    while any(c.group_alive() for c in live) and time.monotonic() < deadline:
        time.sleep(0.2)
    for child in live:
        if child.group_alive():
            print(f"  {child.name} did not stop in {timeout:.0f}s: killing it", flush=True)
            child.signal_group(signal.SIGKILL)
        if child.alive():
            child.proc.kill()
        child.proc.wait()
        child.stopped = True
    for proc in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
    _, lingering = psutil.wait_procs(tree, timeout=10)
    for proc in lingering:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(lingering, timeout=10)


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def cancel_orphaned_runs(since: datetime) -> None:
    """Mark the runs this session's daemon started and the shutdown killed as canceled.

    The default run launcher cannot tell a dead run worker from a slow one, so a killed run
    would stay STARTED for ever, and the schedules and sensors, which skip while a run of their
    job is in flight, would never fire again.
    """
    import dagster as dg

    from orchestration.pipeline import instance

    statuses = [
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
        dg.DagsterRunStatus.CANCELING,
    ]
    with instance() as dagster_instance:
        runs = dagster_instance.get_runs(dg.RunsFilter(statuses=statuses, created_after=since))
        for run in runs:
            dagster_instance.report_run_canceled(run, message="stopped with the demo")
            print(f"  run {run.run_id} of {run.job_name} was stopped with the demo", flush=True)


def _bin(name: str) -> str:
    """An entry point of this environment (the venv's bin folder), else from PATH."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else name


def start_child(name: str, command: list[str], env: dict[str, str], log_dir: Path, **kw) -> Child:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Its own group: a terminal's Ctrl-C reaches only this launcher, which then stops
            # every group in order, and a group signal also reaches the server's own children.
            start_new_session=True,
        )
    return Child(name, proc, log_path, **kw)


def wait_ready(child: Child, timeout: float) -> None:
    assert child.url is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited with {child.proc.returncode}:\n{child.tail()}")
        try:
            if requests.get(child.url + child.ready_path, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{child.name} not ready after {timeout:.0f}s:\n{child.tail()}")


def configure_paths(state_dir: str | None) -> dict[str, str]:
    """DAGSTER_HOME, DUCKDB_PATH, SNAPSHOT_DIR: under --state-dir, else from the env or defaults."""
    if state_dir:
        root = Path(state_dir).resolve()
        os.environ["DAGSTER_HOME"] = str(root / "dagster")
        os.environ["DUCKDB_PATH"] = str(root / "warehouse.duckdb")
        os.environ["SNAPSHOT_DIR"] = str(root / "snapshot")
    root = REPO_ROOT / ".polyboard"
    os.environ.setdefault("DAGSTER_HOME", str(root / "dagster"))
    os.environ.setdefault("DUCKDB_PATH", str(root / "warehouse.duckdb"))
    # Beside the warehouse file, as the defaults are, so one state folder holds everything.
    snapshot = Path(os.environ["DUCKDB_PATH"]).resolve().parent / "snapshot"
    os.environ.setdefault("SNAPSHOT_DIR", str(snapshot))
    for name in ("DAGSTER_HOME", "DUCKDB_PATH", "SNAPSHOT_DIR"):
        os.environ[name] = str(Path(os.environ[name]).resolve())
    return {n: os.environ[n] for n in ("DAGSTER_HOME", "DUCKDB_PATH", "SNAPSHOT_DIR")}


def _on_signal(signum: int, _frame) -> None:
    raise Shutdown(signal.Signals(signum).name)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset", default="demo_v2", help="local world preset (default demo_v2: V1 and V2 eras)"
    )
    parser.add_argument("--fills", type=int, help="local subgraph: fills to generate")
    parser.add_argument("--days", type=float, help="local subgraph: days of history")
    parser.add_argument("--sim-port", type=int, default=8030, help="0 picks a free port")
    parser.add_argument("--webserver-port", type=int, default=3000)
    parser.add_argument("--api-port", type=int, default=8000)
    parser.add_argument("--no-webserver", action="store_true", help="skip the Dagster UI")
    parser.add_argument(
        "--no-browser", action="store_true", help="do not open the leaderboard in a browser"
    )
    parser.add_argument("--state-dir", help="DAGSTER_HOME, warehouse and snapshot under here")
    parser.add_argument(
        "--exit-after", type=float, help="stop after this many seconds of serving (tests)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    paths = configure_paths(args.state_dir)
    # dbt and the dagster commands live beside this interpreter, even when PATH lacks them.
    bin_dir = str(Path(sys.executable).parent)
    os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    log_dir = Path(paths["DAGSTER_HOME"]).parent / "logs"
    sim = None
    children: list[Child] = []
    session_start = datetime.now(UTC)
    try:
        sim = _source(args)
        _initial_sync()
        children = _serve(args, log_dir)
        _announce(args, children, log_dir)
        _follow(children, args.exit_after)
        return 0
    except Shutdown as exc:
        print(f"\n{exc}: stopping ...", flush=True)
        return 0
    except RuntimeError as exc:
        print(f"demo FAILED: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        # A second Ctrl-C must not cut the cleanup short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_children(children)
        if children:
            cancel_orphaned_runs(session_start)
        if sim is not None:
            sim.stop()
        if children or sim is not None:
            print("stopped: every process of the demo has exited", flush=True)


def _source(args: argparse.Namespace):
    """The local subgraph, unless all three endpoints are configured."""
    configured = {s: os.environ.get(f"SUBGRAPH_{s.upper()}_URL") for s in SUBGRAPHS}
    if all(configured.values()):
        print("using the configured subgraphs (SUBGRAPH_*_URL):", flush=True)
        for subgraph, url in configured.items():
            print(f"  {subgraph:9} {url}")
        return None
    from subgraph_sim.chain import polygon_chain
    from subgraph_sim.generator import PRESETS
    from subgraph_sim.process import start_sim

    overrides = {k: v for k, v in (("fills", args.fills), ("days", args.days)) if v}
    preset = {**PRESETS[args.dataset], **overrides}
    crossing = preset.get("v2_days", 0) > 0
    if crossing:
        overrides["end_time"] = _live_cutover(preset["v2_days"])
    print(f"starting the local subgraph ({args.dataset} dataset, live) ...", flush=True)
    sim = start_sim(
        args.dataset, port=args.sim_port or None, live=True, idle_timeout=None, **overrides
    )
    for subgraph in SUBGRAPHS:
        os.environ[f"SUBGRAPH_{subgraph.upper()}_URL"] = sim.url(subgraph)
        print(f"  {subgraph:9} {sim.url(subgraph)}")
    os.environ["GAMMA_API_URL"] = sim.gamma_url
    print(f"  {'gamma':9} {sim.gamma_url}")
    if not crossing:
        return sim  # a V1-only world has no chain to read
    # The local chain: its blocks come every 2 s, so a few confirmations keep the boards
    # moving while one watches. It begins with the world, and has no provider's range limit.
    os.environ["POLYGON_RPC_URL"] = sim.rpc_url
    os.environ.setdefault("CHAIN_CONFIRMATIONS", str(DEMO_CHAIN_CONFIRMATIONS))
    first_block = polygon_chain().block_at(overrides["end_time"] - int(preset["days"] * 86400))
    os.environ.setdefault("CHAIN_START_BLOCK", str(first_block))
    os.environ.setdefault("CHAIN_MAX_BLOCK_RANGE", str(DEMO_CHAIN_MAX_BLOCK_RANGE))
    print(f"  {'chain':9} {sim.rpc_url}")
    return sim


def _live_cutover(v2_days: float) -> int:
    """Where a live demo world's V1 era ends: `v2_days` before now, so that its V2 era, and
    the chain's head, reach the wall clock as Polygon's does and the freshness checks judge
    the demo as they would judge production. The whole world moves forward in time; the V1
    subgraphs still stop where the chain takes over, as the real ones stopped on 2026-04-28."""
    return int(time.time() - v2_days * 86400)


def _initial_sync() -> None:
    """`make pipeline` in a child process: the run shows in the UI all the same, and whatever
    the in-process execution starts beside itself (multiprocessing's resource tracker) ends
    with that child, not with the launcher."""
    where = (
        "PostgreSQL (DATABASE_URL)" if os.environ.get("DATABASE_URL") else os.environ["DUCKDB_PATH"]
    )
    print(
        f"\nfull_sync_job into {where}, on the instance in {os.environ['DAGSTER_HOME']} ...",
        flush=True,
    )
    started = time.monotonic()
    command = [sys.executable, "-m", "orchestration.pipeline", "--job", "full_sync_job"]
    if subprocess.run(command, cwd=REPO_ROOT, check=False).returncode != 0:
        raise RuntimeError("full_sync_job failed: see the run log above")
    print(f"full_sync_job succeeded in {time.monotonic() - started:.0f}s\n", flush=True)


def _serve(args: argparse.Namespace, log_dir: Path) -> list[Child]:
    webserver_url = f"http://127.0.0.1:{args.webserver_port}"
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "DAGSTER_GRAPHQL_URL": os.environ.get("DAGSTER_GRAPHQL_URL") or f"{webserver_url}/graphql",
    }
    workspace = str(REPO_ROOT / "workspace.yaml")
    children: list[Child] = []
    try:
        daemon = start_child(
            "dagster-daemon", [_bin("dagster-daemon"), "run", "-w", workspace], env, log_dir
        )
        children.append(daemon)
        if not args.no_webserver:
            command = [_bin("dagster-webserver"), "-h", "127.0.0.1", "-p", str(args.webserver_port)]
            children.append(
                start_child(
                    "dagster-webserver",
                    [*command, "-w", workspace],
                    env,
                    log_dir,
                    url=webserver_url,
                    ready_path="/server_info",
                )
            )
        api_command = [sys.executable, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1"]
        api = start_child(
            "api",
            [*api_command, "--port", str(args.api_port)],
            env,
            log_dir,
            url=f"http://127.0.0.1:{args.api_port}",
            ready_path="/ready",
        )
        children.append(api)
        for child in children:
            if child.url:
                wait_ready(child, timeout=180)
        return children
    except BaseException:
        stop_children(children)
        raise


def _announce(args: argparse.Namespace, children: list[Child], log_dir: Path) -> None:
    api = f"http://127.0.0.1:{args.api_port}"
    leaderboard = f"{api}/"
    print("polyboard is running:")
    print(f"  leaderboard  {leaderboard}  (the web pages: traders, charts, positions)")
    if not args.no_webserver:
        print(f"  Dagster UI   http://127.0.0.1:{args.webserver_port}  (assets, runs, automation)")
    print(f"  API          {api}/docs")
    print(f"  logs         {log_dir}/{{dagster-daemon,dagster-webserver,api}}.log")
    print(f"  try:         curl '{api}/api/v1/traders/leaderboard?timeframe=7d'")
    print("New source blocks are fetched within ~30 s (source_head_sensor); the marts and the")
    print("API follow by eager automation. Ctrl-C stops everything.\n", flush=True)
    if not args.no_browser and _has_display():
        webbrowser.open(leaderboard)


def _has_display() -> bool:
    # Without a desktop, webbrowser would start a text browser in this terminal: print only.
    return sys.platform == "darwin" or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )


def _follow(children: list[Child], exit_after: float | None) -> None:
    """Watch the servers; report each new publication the API switches to."""
    api = next(c for c in children if c.name == "api")
    started = time.monotonic()
    served = None
    while exit_after is None or time.monotonic() - started < exit_after:
        for child in children:
            if not child.alive():
                raise RuntimeError(
                    f"{child.name} exited with {child.proc.returncode}:\n{child.tail()}"
                )
        try:
            ready = requests.get(f"{api.url}/ready", timeout=2).json()
        except (requests.RequestException, ValueError):
            ready = {}
        if ready.get("version") and ready.get("version") != served:
            if served is not None:
                stamp = time.strftime("%H:%M:%S")
                print(
                    f"{stamp} API serves publication {ready['version']} "
                    f"(data as of {ready.get('as_of')})",
                    flush=True,
                )
            served = ready["version"]
        time.sleep(2)


if __name__ == "__main__":
    sys.exit(main())
