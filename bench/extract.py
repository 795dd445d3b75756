"""Extraction benchmarks, each a ratio against a baseline measured in the same run.

P1  extraction rate against the local subgraph with latency L per page and C pages in flight,
    as a fraction of the ideal C x 1000 / L rows/s                           (bar: >= 0.80)
P2  loading parsed rows into raw tables (upserts in the extractor's batches), as a fraction
    of the speed of `COPY FROM` a file of the same rows into the same table (bar: >= 0.50)
P5  peak memory (RSS) of extracting 1M fills over that of 100k fills       (bar: <= 1.30)

    uv run python bench/extract.py [--p1-fills 200000] [--latency-ms 250] [--workers 4]
                                   [--runs 3] [--only p1,p2,p5]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from orchestration.lib.entities import ORDER_FILLED_EVENTS
from orchestration.lib.extract import LOAD_BATCH_ROWS, extract_events
from orchestration.lib.subgraph import SubgraphClient
from orchestration.lib.warehouse import connect_warehouse
from subgraph_sim.generator import generate

try:
    from subgraph_sim.process import start_sim
except ImportError:
    start_sim = None

PG_ADMIN = os.environ.get("POLYBOARD_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
quiet = lambda _msg: None  # noqa: E731


def extract_fills(
    url: str, workers: int, database_url: str | None = None, duckdb_path: str | None = None
) -> tuple[int, float]:
    client = SubgraphClient("orderbook-subgraph", url)
    with connect_warehouse(database_url, duckdb_path) as wh:
        wh.ensure_raw_schema()
        started = time.perf_counter()
        result = extract_events(client, wh, ORDER_FILLED_EVENTS, workers=workers, progress=quiet)
        return result.rows, time.perf_counter() - started


def p1(fills: int, latency_ms: int, workers: int, runs: int) -> float:
    ideal = workers * 1000 / (latency_ms / 1000)
    rates = []
    with start_sim("bench", fills=fills, latency_ms=latency_ms) as sim:
        for run in range(runs):
            with tempfile.TemporaryDirectory() as tmp:
                rows, seconds = extract_fills(
                    sim.url("orderbook"), workers, duckdb_path=f"{tmp}/w.duckdb"
                )
            rates.append(rows / seconds)
            print(
                f"  P1 run {run + 1}: {rows} rows in {seconds:.2f} s = {rows / seconds:,.0f} rows/s"
            )
    rate = statistics.median(rates)
    ratio = rate / ideal
    print(
        f"P1 extraction: median {rate:,.0f} rows/s vs ideal {ideal:,.0f} rows/s "
        f"(C={workers}, L={latency_ms} ms) -> ratio {ratio:.2f} (bar >= 0.80)"
    )
    return ratio


def _pg_url(name: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def _pg_database() -> str:
    name = f"polyboard_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as con:
        con.execute(f'create database "{name}"')
    return name


def _drop_pg_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as con:
        con.execute(f'drop database if exists "{name}" with (force)')


def _load_pages(wh, rows: list[dict]) -> float:
    """Load as extraction does when loading is the bottleneck: queued pages, one batch each."""
    started = time.perf_counter()
    for i in range(0, len(rows), LOAD_BATCH_ROWS):
        wh.upsert(ORDER_FILLED_EVENTS, rows[i : i + LOAD_BATCH_ROWS], block_number=1)
    return time.perf_counter() - started


def _csv_file(rows: list[dict], path: Path) -> None:
    now = "2026-01-01 00:00:00+00"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        for row in rows:
            writer.writerow([*(row[c] for c in ORDER_FILLED_EVENTS.fields), 1, now])


def p2(rows: list[dict], runs: int) -> dict[str, float]:
    ratios: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "fills.csv"
        _csv_file(rows, data)
        for kind in ("postgres", "duckdb"):
            load_times, copy_times = [], []
            for _ in range(runs):
                if kind == "postgres":
                    name = _pg_database()
                    wh = connect_warehouse(_pg_url(name))
                else:
                    name, wh = None, connect_warehouse(None, f"{tmp}/{uuid.uuid4().hex}.duckdb")
                try:
                    wh.ensure_raw_schema()
                    load_times.append(_load_pages(wh, rows))
                    # The baseline table is the raw table itself, primary key included.
                    ddl = wh.table_ddl(ORDER_FILLED_EVENTS)
                    wh.execute_script([ddl.replace("raw.order_filled_events", "raw.copy_baseline")])
                    copy_times.append(_copy_file(wh, data))
                finally:
                    wh.close()
                    if name:
                        _drop_pg_database(name)
            load, copy = statistics.median(load_times), statistics.median(copy_times)
            ratios[kind] = copy / load
            print(
                f"P2 load ({kind}): {len(rows)} rows in batches {load:.2f} s "
                f"({len(rows) / load:,.0f} rows/s); COPY FROM file {copy:.2f} s "
                f"({len(rows) / copy:,.0f} rows/s) -> ratio {copy / load:.2f} (bar >= 0.50)"
            )
    return ratios


def _copy_file(wh, data: Path) -> float:
    started = time.perf_counter()
    if wh.kind == "postgres":
        with (
            wh.con.transaction(),
            wh.con.cursor() as cur,
            cur.copy("copy raw.copy_baseline from stdin (format csv)") as copy,
            data.open("rb") as f,
        ):
            while chunk := f.read(1 << 20):
                copy.write(chunk)
    else:
        wh.con.execute(f"copy raw.copy_baseline from '{data}' (format csv, header false)")
    return time.perf_counter() - started


def p5_child(url: str, kind: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "postgres":
            name = _pg_database()
            try:
                rows, seconds = extract_fills(url, 4, database_url=_pg_url(name))
            finally:
                _drop_pg_database(name)
        else:
            rows, seconds = extract_fills(url, 4, duckdb_path=f"{tmp}/w.duckdb")
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_kb": peak_kb}))


def p5(small: int, large: int) -> dict[str, float]:
    """Peak RSS of the extracting process; the local subgraph runs in a process of its own."""
    peaks: dict[tuple[str, int], int] = {}
    for fills in (small, large):
        with start_sim("bench", fills=fills) as sim:
            for kind in ("postgres", "duckdb"):
                out = subprocess.run(
                    [sys.executable, __file__, "--p5-child", sim.url("orderbook"), kind],
                    capture_output=True, text=True, check=True,
                )  # fmt: skip
                report = json.loads(out.stdout.strip().splitlines()[-1])
                peaks[kind, fills] = report["peak_kb"]
                print(
                    f"  P5 {kind}: {report['rows']:,} fills extracted in "
                    f"{report['seconds']:.1f} s, peak RSS {report['peak_kb'] / 1024:.0f} MiB"
                )
    ratios = {}
    for kind in ("postgres", "duckdb"):
        ratios[kind] = peaks[kind, large] / peaks[kind, small]
        print(
            f"P5 memory ({kind}): peak at {large:,} / at {small:,} fills -> "
            f"ratio {ratios[kind]:.2f} (bar <= 1.30)"
        )
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description="extraction benchmarks P1, P2, P5")
    parser.add_argument("--p1-fills", type=int, default=200_000)
    parser.add_argument("--p2-fills", type=int, default=200_000)
    parser.add_argument("--latency-ms", type=int, default=250)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--p5-sizes", default="100000,1000000")
    parser.add_argument("--only", default="p1,p2,p5")
    parser.add_argument("--p5-child", nargs=2, metavar=("URL", "KIND"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.p5_child:
        p5_child(*args.p5_child)
        return
    only = set(args.only.split(","))
    if "p1" in only:
        p1(args.p1_fills, args.latency_ms, args.workers, args.runs)
    if "p2" in only:
        dataset = generate("bench", fills=args.p2_fills)
        rows = dataset.entities("orderbook", ORDER_FILLED_EVENTS.graphql_type)
        p2(rows, args.runs)
    if "p5" in only:
        small, large = (int(x) for x in args.p5_sizes.split(","))
        p5(small, large)


if __name__ == "__main__":
    main()
