"""`make demo`: the local Polymarket subgraph, then the main job into the embedded warehouse.

Everything runs on this machine: the local subgraph serves the `demo` dataset (live, so new
blocks keep arriving and the source checks see a fresh source), the warehouse is the DuckDB
file of DUCKDB_PATH and the Dagster instance lives under DAGSTER_HOME.
"""

from __future__ import annotations

import argparse
import os
import sys

from orchestration.lib.entities import ENTITIES
from orchestration.lib.warehouse import connect_warehouse
from orchestration.pipeline import run_job
from subgraph_sim.process import start_sim

SAMPLE_QUERY = (
    '{"query": "{ orderFilledEvents(first: 2, orderBy: timestamp, orderDirection: desc) '
    '{ id timestamp maker makerAssetId makerAmountFilled takerAmountFilled } }"}'
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim-port", type=int, default=8030)
    parser.add_argument("--dataset", default="demo")
    args = parser.parse_args(argv)

    print(f"starting the local subgraph with the {args.dataset} dataset ...", flush=True)
    with start_sim(args.dataset, port=args.sim_port, live=True) as sim:
        for subgraph in ("orderbook", "pnl", "activity"):
            os.environ[f"SUBGRAPH_{subgraph.upper()}_URL"] = sim.url(subgraph)
            print(f"  {subgraph:9} {sim.url(subgraph)}")
        print(f"  try: curl -s {sim.url('orderbook')} -H 'content-type: application/json' "
              f"-d '{SAMPLE_QUERY}'", flush=True)  # fmt: skip
        ok = run_job("full_sync_job")

    if not ok:
        print("full_sync_job FAILED: see the run log above", file=sys.stderr)
        return 1
    with connect_warehouse() as wh:
        where = getattr(wh, "path", None) or "PostgreSQL (DATABASE_URL)"
        print(f"\nfull_sync_job succeeded; warehouse {where}:")
        for entity in ENTITIES:
            print(f"  raw.{entity.table:22} {wh.count(entity):>9,} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
