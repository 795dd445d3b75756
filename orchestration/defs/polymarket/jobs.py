"""Extraction jobs (the seed's Celery tasks, as Dagster jobs)."""

import dagster as dg

from orchestration.lib.entities import USER_POSITIONS

POLYMARKET = dg.AssetSelection.groups("polymarket")
POSITIONS = dg.AssetSelection.assets(dg.AssetKey(USER_POSITIONS.asset_key))

fetch_traders_job = dg.define_asset_job(
    "fetch_traders_job",
    selection=POLYMARKET - POSITIONS,
    description="Trades, activity and reference entities from the subgraphs into raw tables.",
    tags={"dagster/max_runtime": "3600"},
)

sync_positions_job = dg.define_asset_job(
    "sync_positions_job",
    selection=POSITIONS,
    description="The pnl subgraph's positions of the followed wallets.",
)
