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

    uv run python bench/api.py --fill 10000

The in-process cache's memory: the server's RSS before and after that many distinct
`limit=100` leaderboard requests (each a new key), with `MEMORY_CACHE_MAX_BYTES` as set.

    uv run python bench/api.py --storm [--traders 1000000] [--misses 20] [--page 1]

The cost of uncached reads: `traders_v2` of the demo marts grown to a million traders
(`scale_traders`), the in-process cache. It times, in one run: trader lookups alone (each a
cache miss), one leaderboard miss alone, then a storm of concurrent leaderboard misses (every
trader eligible, a distinct `min_volume` each) while trader lookups go on, and prints the
storm's p50/max, its statuses, and the lookups' p50/max during it as a ratio to alone.
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
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

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


def build_snapshot(preset: str, work: Path, traders: int = 0) -> Path:
    """Marts of the preset built by the real pipeline, `traders_v2` grown to `traders` rows
    when given, published as the API serves them."""
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
    run_dbt(path, work)
    if traders:
        scale_traders(path, traders, work)
    root = work / "snapshot"
    with connect_warehouse(None, str(path)) as warehouse:
        publish_snapshot(warehouse, root)
    scaled = f", traders_v2 grown to {traders:,} rows" if traders else ""
    print(
        f"marts of preset {preset!r} built{scaled} and published in "
        f"{time.perf_counter() - started:.1f}s"
    )
    return root


# Columns offset by a micro-unit per copy, so copies of one trader do not all tie.
_JITTERED = ("total_pnl", "pnl_1d", "pnl_7d", "pnl_30d", "volume", "volume_1d", "volume_7d",
             "volume_30d")  # fmt: skip


def scale_traders(duckdb_path: Path, traders: int, workdir: Path) -> None:
    """Grow `marts.traders_v2` of a built warehouse to `traders` rows, then rebuild the
    `leaderboard` mart from it with dbt, as a million-trader world would have them.

    Copies of the real traders get new wallets (the copy number in the first 8 hex digits);
    the originals keep theirs, so their positions and daily series still join.
    """
    import duckdb

    con = duckdb.connect(str(duckdb_path))
    try:
        (have,) = con.execute("select count(*) from marts.traders_v2").fetchone()
        copies = -(-traders // have)
        jitter = ", ".join(f"({c} + copy.n * 0.000001)::decimal(38, 6) as {c}" for c in _JITTERED)
        con.execute(f"""
            create or replace table marts.traders_v2 as
            select t.* replace (
                case when copy.n = 0 then wallet_address
                     else '0x' || lpad(printf('%x', copy.n), 8, '0') || substr(wallet_address, 11)
                end as wallet_address,
                {jitter}
            )
            from marts.traders_v2 as t, range({copies}) as copy(n)
            order by copy.n, wallet_address
            limit {traders}
        """)  # fmt: skip
    finally:
        con.close()
    run_dbt(duckdb_path, workdir, "--select", "leaderboard")


def run_dbt(duckdb_path: Path, work: Path, *args: str) -> None:
    env = {**os.environ, "POLYBOARD_DBT_TARGET": "duckdb", "DUCKDB_PATH": str(duckdb_path)}
    dbt = Path(sys.executable).with_name("dbt")
    project = ROOT / "dbt_project"
    subprocess.run(
        [str(dbt), "run", "--project-dir", str(project), "--profiles-dir", str(project),
         "--target-path", str(work / "target"), "--log-path", str(work / "logs"), *args],
        env=env, check=True, capture_output=True, timeout=1800,
    )  # fmt: skip


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


# ---- miss storm ------------------------------------------------------------------------

STORM = {"timeframe": "all", "min_trades": 0, "limit": 20}  # every trader eligible


def _p50(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _ms(values: list[float]) -> str:
    if not values:
        return "none"
    return f"p50 {1000 * _p50(values):7.1f} ms  max {1000 * max(values):7.1f} ms  (n={len(values)})"


async def _storm(base: str, wallets: list[str], misses: int, page: int) -> dict:
    import httpx

    limits = httpx.Limits(max_connections=misses + 4)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        unread = iter(wallets)  # each wallet once: every lookup is a cache miss

        async def lookup(wallet: str) -> float:
            started = time.perf_counter()
            response = await client.get(f"/api/v1/traders/{wallet}")
            if response.status_code != 200:
                raise RuntimeError(f"trader lookup: HTTP {response.status_code}")
            return time.perf_counter() - started

        async def miss(min_volume: float) -> tuple[float, int]:
            started = time.perf_counter()
            params = {**STORM, "page": page, "min_volume": min_volume}
            response = await client.get(LEADERBOARD, params=params)
            return time.perf_counter() - started, response.status_code

        # Alone: lookups one at a time, then one miss at a time (distinct keys: all misses).
        alone = [await lookup(next(unread)) for _ in range(20)]
        single = [(await miss(1 + i / 100))[0] for i in range(5)]
        default = []  # the default thresholds: read from the precomputed mart
        for page in range(1, 6):
            started = time.perf_counter()
            response = await client.get(LEADERBOARD, params={"timeframe": "all", "page": page})
            response.raise_for_status()
            default.append(time.perf_counter() - started)

        # The storm, and lookups one after another until it is over.
        tasks = [asyncio.create_task(miss(i / 100)) for i in range(misses)]
        during: list[float] = []
        while not all(t.done() for t in tasks) and (wallet := next(unread, None)):
            during.append(await lookup(wallet))
        results = await asyncio.gather(*tasks)
    return {
        "alone": alone,
        "single": single,
        "default": default,
        "storm": results,
        "during": during,
    }


def storm(base: str, warehouse: Path, misses: int, page: int) -> int:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:  # traders with positions and daily series: full trader pages
        wallets = [
            r[0]
            for r in con.execute(
                "select distinct wallet_address from marts.trader_markets order by 1"
            ).fetchall()
        ]
    finally:
        con.close()
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    print(f"misses: {LEADERBOARD}?{urlencode({**STORM, 'page': page})}&min_volume=<distinct>")
    r = runner(_storm(base, wallets, misses, page))
    storm_seconds = [seconds for seconds, _ in r["storm"]]
    counts = dict(sorted(Counter(status for _, status in r["storm"]).items()))
    print(f"leaderboard miss alone:        {_ms(r['single'])}")
    print(f"default-threshold miss alone:  {_ms(r['default'])}")
    print(f"trader lookup alone:           {_ms(r['alone'])}")
    print(f"storm of {misses} misses:           {_ms(storm_seconds)}  statuses {counts}")
    print(f"trader lookup during storm:    {_ms(r['during'])}")
    ratio_storm = _p50(storm_seconds) / _p50(r["single"])
    ratio_lookup = _p50(r["during"]) / _p50(r["alone"])
    worst_lookup = max(r["during"]) if r["during"] else float("nan")
    print(f"storm p50 / one miss alone: {ratio_storm:.1f}x")
    print(
        f"lookup during storm / alone: p50 {ratio_lookup:.1f}x, "
        f"worst lookup {1000 * worst_lookup:.0f} ms"
    )
    return 0


# ---- cache memory ----------------------------------------------------------------------


def fill(base: str, pid: int, keys: int) -> int:
    import httpx
    import psutil

    process = psutil.Process(pid)
    params = {"timeframe": "all", "min_trades": 0, "limit": 100}
    with httpx.Client(base_url=base, timeout=60) as client:
        client.get(LEADERBOARD, params={**params, "min_volume": 1})  # warm-up
        before = process.memory_info().rss
        body_bytes = 0
        for i in range(keys):  # a distinct min_volume each: a new key every time
            response = client.get(LEADERBOARD, params={**params, "min_volume": i / 1e6})
            response.raise_for_status()
            body_bytes += len(response.content)
        after = process.memory_info().rss
        held = client.get("/metrics").text
    cached = next(
        (float(line.split()[1]) for line in held.splitlines()
         if line.startswith("polyboard_memory_cache_bytes ")),
        float("nan"),
    )  # fmt: skip
    bound = os.environ.get("MEMORY_CACHE_MAX_BYTES", "default")
    print(
        f"{keys} keys, {body_bytes / keys / 1024:.1f} KiB a body, {body_bytes / 2**20:.0f} MiB "
        f"of bodies in all; MEMORY_CACHE_MAX_BYTES {bound}"
    )
    print(
        f"server RSS {before / 2**20:.0f} MiB -> {after / 2**20:.0f} MiB "
        f"(+{(after - before) / 2**20:.0f} MiB); cache holds {cached / 2**20:.1f} MiB"
    )
    return 0


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
    parser.add_argument("--storm", action="store_true", help="uncached reads, not P4")
    parser.add_argument("--traders", type=int, default=1_000_000, help="with --storm")
    parser.add_argument("--misses", type=int, default=20, help="with --storm")
    parser.add_argument("--page", type=int, default=1, help="leaderboard page of the misses")
    parser.add_argument("--fill", type=int, default=0, help="cache memory after N new keys")
    args = parser.parse_args(argv)
    if args.storm or args.fill:
        args.no_redis = True

    work = Path(tempfile.mkdtemp(prefix="polyboard-bench-api-"))
    prefix = f"polyboard-bench-{uuid.uuid4().hex[:8]}"
    use_redis = not args.no_redis and redis_available(args.redis_url)
    server = None
    try:
        root = build_snapshot(args.preset, work, args.traders if args.storm else 0)
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
        if args.storm:
            return storm(base, work / "warehouse.duckdb", args.misses, args.page)
        if args.fill:
            return fill(base, server.pid, args.fill)
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
