"""The local subgraph's own costs: generating the bench preset, and serving one 1000-fill page.

    uv run python bench/sim.py [--preset bench] [--pages 50]

Prints generation time and resident memory, and the server-side time of a full page against
the round trip the extractor sees (the bar: the sim must not be the extraction bottleneck).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import psutil
import requests

from subgraph_sim.generator import generate
from subgraph_sim.process import start_sim

PAGE = (
    "query($first: Int!, $lo: BigInt!) { orderFilledEvents(first: $first, orderBy: timestamp, "
    "where: {timestamp_gte: $lo}) { id transactionHash timestamp orderHash maker taker "
    "makerAssetId takerAssetId makerAmountFilled takerAmountFilled fee } }"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="bench")
    parser.add_argument("--pages", type=int, default=50)
    args = parser.parse_args()

    rss_before = psutil.Process(os.getpid()).memory_info().rss
    started = time.perf_counter()
    dataset = generate(args.preset)
    elapsed = time.perf_counter() - started
    rss = psutil.Process(os.getpid()).memory_info().rss
    fills = dataset.table("orderbook", "OrderFilledEvent").n_rows
    print(
        f"{args.preset}: {fills:,} fills generated in {elapsed:.1f} s, "
        f"RSS +{(rss - rss_before) / 2**20:.0f} MiB"
    )
    del dataset

    with start_sim(args.preset) as sim, requests.Session() as session:
        times = []
        for i in range(args.pages):
            t = time.perf_counter()
            body = {"query": PAGE, "variables": {"first": 1000, "lo": str(1_770_000_000 + i)}}
            session.post(sim.url("orderbook"), json=body, timeout=30).raise_for_status()
            times.append(time.perf_counter() - t)
    print(f"1000-fill page round trip: median {statistics.median(times) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
