"""P6: seconds from a new fill in the source to the API reflecting it, under the default automation.

    uv run python bench/freshness.py [--samples 5] [--dataset demo]

Starts the local subgraph (live: its head follows the wall clock, so new fills keep appearing
with block times of about now) and the demo stack against it in a temp folder (daemon and API;
no webserver), with the default schedules and sensors. Once the API serves a leaderboard it
watches the source for new fills. For each sampled fill (one at most every --spacing seconds,
so the samples fall at different points of the fetch and build cycle) the clock runs from the
fill's block time until `/api/v1/traders/{maker}` reports a `last_trade_at` at or after it:
the fill is then in the marts the API serves. Prints each sample, the median and the maximum
against the 120 s bar, then stops everything.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from orchestration.lib.addresses import DEFAULT_EXCLUDED_ADDRESSES  # noqa: E402
from subgraph_sim.process import start_sim  # noqa: E402

BAR_SECONDS = 120.0
NEWEST_FILLS = (
    "{ orderFilledEvents(first: 20, orderBy: timestamp, orderDirection: desc) "
    "{ id timestamp maker } }"
)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_time(value: str | None) -> float | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def newest_fills(url: str) -> list[dict]:
    response = requests.post(url, json={"query": NEWEST_FILLS}, timeout=10)
    response.raise_for_status()
    return response.json()["data"]["orderFilledEvents"]


def visible(api: str, fill: dict) -> bool:
    """The API's marts contain the fill: its maker's newest trade is at or after it."""
    response = requests.get(f"{api}/api/v1/traders/{fill['maker']}", timeout=10)
    if response.status_code != 200:
        return False
    last = parse_time(response.json()["trader"].get("last_trade_at"))
    return last is not None and last >= int(fill["timestamp"])


def wait_for_leaderboard(api: str, demo: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if demo.poll() is not None:
            raise RuntimeError(
                f"the demo exited with {demo.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            response = requests.get(f"{api}/api/v1/traders/leaderboard?timeframe=7d", timeout=5)
            if response.status_code == 200 and response.json()["traders"]:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise RuntimeError(f"no leaderboard after {timeout:.0f}s:\n{log.read_text()[-3000:]}")


def stop(demo: subprocess.Popen, timeout: float = 60) -> None:
    """SIGINT, as Ctrl-C would; the demo stops its own children. Then anything left goes."""
    if demo.poll() is None:
        os.kill(demo.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            demo.wait(timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(demo.pid, signal.SIGKILL)
    demo.wait()


def measure(args: argparse.Namespace, work: Path) -> list[float]:
    overrides = {k: v for k, v in (("fills", args.fills), ("days", args.days)) if v}
    print(f"starting the local subgraph ({args.dataset}, live) ...", flush=True)
    with start_sim(args.dataset, live=True, idle_timeout=None, **overrides) as sim:
        orderbook = sim.url("orderbook")
        api_port = free_port()
        api = f"http://127.0.0.1:{api_port}"
        env = {
            **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
            **{f"SUBGRAPH_{s.upper()}_URL": sim.url(s) for s in ("orderbook", "pnl", "activity")},
            "PYTHONUNBUFFERED": "1",
        }
        log = work / "demo.log"
        command = [sys.executable, "-m", "orchestration.demo", "--no-webserver"]
        command += ["--api-port", str(api_port), "--state-dir", str(work / "state")]
        print(f"starting the demo stack in {work} (log {log}) ...", flush=True)
        with open(log, "wb") as out:
            demo = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            started = time.monotonic()
            wait_for_leaderboard(api, demo, log, timeout=args.startup_timeout)
            print(f"API serves a leaderboard after {time.monotonic() - started:.0f}s", flush=True)
            sampling_started = time.time()
            latencies = sample(args, orderbook, api, demo)
            print_runs(work / "state" / "dagster", since=sampling_started)
            return latencies
        finally:
            stop(demo)


def print_runs(dagster_home: Path, since: float) -> None:
    """Where the time went: every run of the sampling window, queued, started and ended."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        records = instance.get_run_records(
            filters=dg.RunsFilter(created_after=datetime.fromtimestamp(since, UTC)), ascending=True
        )
        print(f"\nruns while sampling ({len(records)}), seconds from the first one's creation:")
        header = ("job", "created", "start", "end", "waited", "ran")
        print("{:<28} {:>8} {:>7} {:>7} {:>7} {:>6}  status".format(*header))
        origin = records[0].create_timestamp.timestamp() if records else since
        for record in records:
            created = record.create_timestamp.timestamp() - origin
            start, end = record.start_time, record.end_time
            start_s = f"{start - origin:7.1f}" if start else "      -"
            end_s = f"{end - origin:7.1f}" if end else "      -"
            waited = f"{start - origin - created:7.1f}" if start else "      -"
            ran = f"{end - start:6.1f}" if start and end else "     -"
            run = record.dagster_run
            print(f"{run.job_name:<28} {created:8.1f} {start_s} {end_s} {waited} {ran}  ", end="")
            assets = sorted(key.path[-1] for key in run.asset_selection or ())
            assets += sorted(f"check {c.name}" for c in run.asset_check_selection or ())
            if run.job_name == "__ASSET_JOB":  # an automation run: what it was for
                print(f"{run.status.value} {', '.join(assets)}")
            else:
                print(run.status.value)


def sample(args, orderbook: str, api: str, demo: subprocess.Popen) -> list[float]:
    excluded = set(DEFAULT_EXCLUDED_ADDRESSES)
    seen = {f["id"] for f in newest_fills(orderbook)}
    pending: list[dict] = []
    latencies: list[float] = []
    last_sampled = 0.0
    deadline = time.monotonic() + args.timeout
    print(f"{'fill block time':>20} {'seen in source':>15} {'in the API':>11}", flush=True)
    while len(latencies) < args.samples and time.monotonic() < deadline:
        if demo.poll() is not None:
            raise RuntimeError(f"the demo exited with {demo.returncode}")
        fresh = [f for f in newest_fills(orderbook) if f["id"] not in seen]
        seen.update(f["id"] for f in fresh)
        fresh = [f for f in fresh if f["maker"].lower() not in excluded]
        now = time.time()
        if fresh and time.monotonic() - last_sampled >= args.spacing and len(pending) < 3:
            fill = max(fresh, key=lambda f: (int(f["timestamp"]), f["id"]))
            fill["seen"] = now - int(fill["timestamp"])
            pending.append(fill)
            last_sampled = time.monotonic()
        for fill in list(pending):
            if visible(api, fill):
                latency = time.time() - int(fill["timestamp"])
                latencies.append(latency)
                pending.remove(fill)
                stamp = time.strftime("%H:%M:%S", time.localtime(int(fill["timestamp"])))
                print(f"{stamp:>20} {fill['seen']:>14.1f}s {latency:>10.1f}s", flush=True)
        time.sleep(args.poll)
    for fill in pending:
        waited = time.time() - int(fill["timestamp"])
        print(f"  fill {fill['id'][:18]}... still not visible after {waited:.0f}s", flush=True)
        latencies.append(waited)  # counts against the bar: not visible within the run
    return latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--dataset", default="demo")
    parser.add_argument("--fills", type=int, help="local subgraph: fills to generate")
    parser.add_argument("--days", type=float, help="local subgraph: days of history")
    parser.add_argument("--spacing", type=float, default=20.0, help="seconds between samples")
    parser.add_argument("--poll", type=float, default=1.0, help="seconds between polls")
    parser.add_argument("--timeout", type=float, default=1200.0, help="sampling time limit (s)")
    parser.add_argument("--startup-timeout", type=float, default=600.0)
    parser.add_argument("--work-dir", help="keep state and logs here instead of a temp folder")
    args = parser.parse_args(argv)

    if args.work_dir:
        Path(args.work_dir).mkdir(parents=True, exist_ok=True)
        latencies = measure(args, Path(args.work_dir).resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="polyboard-freshness-") as tmp:
            latencies = measure(args, Path(tmp))
    if not latencies:
        print("no new fill was sampled", flush=True)
        return 1
    median = statistics.median(latencies)
    worst = max(latencies)
    verdict = "PASS" if worst <= BAR_SECONDS else "FAIL"
    print(
        f"\nP6 new fill -> API: {len(latencies)} samples, median {median:.1f}s, "
        f"max {worst:.1f}s; bar {BAR_SECONDS:.0f}s: {verdict}",
        flush=True,
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
