"""P4: the cached `GET /api/v1/traders/leaderboard` against a bare endpoint, same run.

One uvicorn process on 127.0.0.1 serves the real app over a published snapshot of marts
built by the real pipeline (generated dataset -> raw tables -> `dbt run` -> publish), plus
`/bench/bare`, which returns the very bytes of the cached leaderboard response with nothing
else to do. A keep-alive HTTP/1.1 load generator (asyncio, raw sockets, so the client is
not the bottleneck) holds 32 connections open and alternates rounds on the two endpoints.

    uv run python bench/api.py [--preset demo] [--connections 32] [--seconds 5] [--rounds 3]
                               [--gzip] [--no-redis]

Prints requests/s and p50/p99 latency of each, the ratio cached/bare (bar: >= 0.50) and
the p99 of the cached endpoint (bar: <= 25 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LEADERBOARD = "/api/v1/traders/leaderboard"  # what a frontend asks first: 7d by PnL, 20 a page
BARE = "/bench/bare"
BODY_FILE_ENV = "POLYBOARD_BENCH_BODY_FILE"


def bench_app():
    """uvicorn factory: the real app plus the bare endpoint (`--factory bench.api:bench_app`)."""
    from fastapi import Response

    from api.main import create_app

    app = create_app()
    body: list[bytes] = []

    @app.get(BARE, include_in_schema=False)
    async def bare() -> Response:
        if not body:
            body.append(Path(os.environ[BODY_FILE_ENV]).read_bytes())
        return Response(content=body[0], media_type="application/json")

    return app


# ---- setup -----------------------------------------------------------------------------


def build_snapshot(preset: str, work: Path) -> Path:
    from orchestration.lib.entities import ENTITIES
    from orchestration.lib.publish import publish_snapshot
    from orchestration.lib.warehouse import connect_warehouse
    from subgraph_sim.generator import generate

    started = time.perf_counter()
    dataset = generate(preset)
    path = work / "warehouse.duckdb"
    with connect_warehouse(None, str(path)) as warehouse:
        warehouse.ensure_raw_schema()
        for entity in ENTITIES:
            warehouse.upsert(
                entity, dataset.entities(entity.subgraph, entity.graphql_type), dataset.head_block
            )
    env = {**os.environ, "POLYBOARD_DBT_TARGET": "duckdb", "DUCKDB_PATH": str(path)}
    dbt = Path(sys.executable).with_name("dbt")
    project = ROOT / "dbt_project"
    subprocess.run(
        [str(dbt), "run", "--project-dir", str(project), "--profiles-dir", str(project),
         "--target-path", str(work / "target"), "--log-path", str(work / "logs")],
        env=env, check=True, capture_output=True, timeout=1800,
    )  # fmt: skip
    root = work / "snapshot"
    with connect_warehouse(None, str(path)) as warehouse:
        publish_snapshot(warehouse, root)
    print(f"marts of preset {preset!r} built and published in {time.perf_counter() - started:.1f}s")
    return root


def redis_available(url: str) -> bool:
    try:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
        ok = bool(client.ping())
        client.close()
        return ok
    except Exception:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- load generator --------------------------------------------------------------------


async def _connection(host, port, request: bytes, stop_at: float, latencies: list[float]):
    reader, writer = await asyncio.open_connection(host, port)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while True:
            started = time.perf_counter()
            if started >= stop_at:
                return
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = head[9:12]
            if status != b"200":
                raise RuntimeError(f"HTTP {status.decode()} from the server")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


async def _load(host, port, path, connections, seconds, gzip) -> list[float]:
    headers = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
    if gzip:
        headers += "Accept-Encoding: gzip\r\n"
    request = (headers + "\r\n").encode()
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds
    await asyncio.gather(
        *(_connection(host, port, request, stop_at, latencies) for _ in range(connections))
    )
    return latencies


def load(host, port, path, connections, seconds, gzip) -> dict[str, float]:
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    started = time.perf_counter()
    latencies = runner(_load(host, port, path, connections, seconds, gzip))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "requests": len(latencies),
    }


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def server_cpu(pid: int) -> float:
    """CPU seconds used so far by the server process: a cost per request that other load on
    the machine does not distort the way it distorts requests/s."""
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


# ---- main ------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="demo", help="generator preset (tiny, demo, bench)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per endpoint, alternated")
    parser.add_argument("--gzip", action="store_true", help="send Accept-Encoding: gzip")
    parser.add_argument("--no-redis", action="store_true", help="in-process cache, not Redis")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="polyboard-bench-api-"))
    prefix = f"polyboard-bench-{uuid.uuid4().hex[:8]}"
    use_redis = not args.no_redis and redis_available(args.redis_url)
    server = None
    try:
        root = build_snapshot(args.preset, work)
        port = free_port()
        body_file = work / "leaderboard.json"
        env = {
            **os.environ,
            "SNAPSHOT_DIR": str(root),
            "CACHE_KEY_PREFIX": prefix,
            "REDIS_URL": args.redis_url if use_redis else "",
            "DATABASE_URL": "",
            BODY_FILE_ENV: str(body_file),
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bench.api:bench_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
             "--log-level", "warning"],
            cwd=ROOT, env=env, start_new_session=True,
        )  # fmt: skip
        import httpx

        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the API server did not become ready")
            time.sleep(0.2)
        body = httpx.get(base + LEADERBOARD, headers={"Accept-Encoding": "identity"}).content
        body_file.write_bytes(body)
        assert httpx.get(base + BARE, headers={"Accept-Encoding": "identity"}).content == body
        cache = "Redis" if use_redis else "in-process"
        print(
            f"leaderboard body {len(body)} bytes, cache {cache}, {args.connections} connections, "
            f"gzip {'on' if args.gzip else 'off'}, {args.rounds} x {args.seconds:.0f}s rounds each"
        )

        load("127.0.0.1", port, BARE, args.connections, 1.0, args.gzip)  # warm-up
        load("127.0.0.1", port, LEADERBOARD, args.connections, 1.0, args.gzip)
        results: dict[str, list[dict]] = {"bare": [], "cached": []}
        for _ in range(args.rounds):
            for name, path in (("bare", BARE), ("cached", LEADERBOARD)):
                cpu = server_cpu(server.pid)
                result = load("127.0.0.1", port, path, args.connections, args.seconds, args.gzip)
                result["cpu_us"] = 1e6 * (server_cpu(server.pid) - cpu) / result["requests"]
                results[name].append(result)
        summary = {}
        for name, rounds in results.items():
            summary[name] = {
                key: statistics.median(r[key] for r in rounds)
                for key in ("rps", "p50_ms", "p99_ms", "cpu_us")
            }
            s = summary[name]
            print(
                f"{name:>7}: {s['rps']:8.0f} req/s   p50 {s['p50_ms']:6.2f} ms   "
                f"p99 {s['p99_ms']:6.2f} ms   server CPU {s['cpu_us']:5.0f} us/request   "
                f"(median of {len(rounds)} rounds)"
            )
        ratio = summary["cached"]["rps"] / summary["bare"]["rps"]
        p99 = summary["cached"]["p99_ms"]
        ratio_ok, p99_ok = ratio >= 0.5, p99 <= 25.0
        print(f"P4 ratio cached/bare requests/s: {ratio:.2f} (bar >= 0.50) {verdict(ratio_ok)}")
        print(f"P4 p99 cached leaderboard: {p99:.2f} ms (bar <= 25 ms) {verdict(p99_ok)}")
        return 0 if ratio_ok and p99_ok else 1
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        if use_redis:
            import redis

            client = redis.Redis.from_url(args.redis_url)
            keys = list(client.scan_iter(f"{prefix}:*"))
            if keys:
                client.delete(*keys)
            client.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
