"""Chain extraction benchmark, a ratio against the ideal measured in the same run.

P7  `iter_logs` against the local JSON-RPC face with latency L per request, C requests in
    flight and full responses of N logs, as a fraction of the ideal C x N / L logs/s
    (bar: >= 0.80). The face holds requests x N random logs spread evenly over
    requests x range blocks, so every range of `range` blocks answers N logs on average
    and the reader makes `requests` calls.

    uv run python bench/chain.py [--latency-ms 250] [--workers 4] [--logs-per-response 1000]
                                 [--requests 40] [--range 500] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from orchestration.lib.chain import ChainClient
from orchestration.lib.chain_ranges import iter_logs
from subgraph_sim.chain import POLYGON_REFERENCE_BLOCK
from subgraph_sim.process import start_sim
from subgraph_sim.synthetic_logs import DEFAULT_ADDRESSES, DEFAULT_TOPIC0S


def p7(latency_ms: float, workers: int, per_response: int, requests: int, span: int, runs: int):
    first = POLYGON_REFERENCE_BLOCK
    blocks = requests * span
    last = first + blocks - 1
    ideal = workers * per_response / (latency_ms / 1000)
    rates = []
    with start_sim(
        "tiny",
        chain_synthetic_logs=requests * per_response,
        chain_first_block=first,
        chain_blocks=blocks,
        rpc_head_block=last,
        rpc_latency_ms=latency_ms,
    ) as sim:
        for run in range(runs):
            with ChainClient(sim.rpc_url) as client:
                started = time.perf_counter()
                logs = ranges = 0
                for item in iter_logs(
                    client,
                    list(DEFAULT_ADDRESSES),
                    [list(DEFAULT_TOPIC0S)],
                    first,
                    last,
                    max_range=span,
                    workers=workers,
                ):
                    logs += len(item.logs)
                    ranges += 1
                seconds = time.perf_counter() - started
            rates.append(logs / seconds)
            print(
                f"  P7 run {run + 1}: {logs} logs, {ranges} ranges, {client.requests_sent} "
                f"requests in {seconds:.2f} s = {logs / seconds:,.0f} logs/s"
            )
    rate = statistics.median(rates)
    ratio = rate / ideal
    print(
        f"P7 chain extraction: median {rate:,.0f} logs/s vs ideal {ideal:,.0f} logs/s "
        f"(C={workers}, N={per_response}, L={latency_ms:g} ms) -> ratio {ratio:.2f} (bar >= 0.80)"
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description="chain extraction benchmark P7")
    parser.add_argument("--latency-ms", type=float, default=250)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--logs-per-response", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--range", type=int, default=500, help="blocks per eth_getLogs")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    p7(
        args.latency_ms,
        args.workers,
        args.logs_per_response,
        args.requests,
        args.range,
        args.runs,
    )


if __name__ == "__main__":
    main()
