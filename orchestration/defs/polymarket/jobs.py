"""Extraction jobs (the seed's Celery tasks, as Dagster jobs)."""

import dagster as dg

from orchestration.lib.entities import CONDITIONS, MARKET_DATA, USER_POSITIONS

POLYMARKET = dg.AssetSelection.groups("polymarket")
POSITIONS = dg.AssetSelection.assets(dg.AssetKey(USER_POSITIONS.asset_key))
REFERENCE = dg.AssetSelection.assets(
    dg.AssetKey(MARKET_DATA.asset_key), dg.AssetKey(CONDITIONS.asset_key)
)


# Every run that writes the warehouse carries this tag, and dagster.yaml lets one such run
# go at a time: the embedded DuckDB file takes a single writer process.
WAREHOUSE_WRITER = {"polyboard/warehouse": "writer"}


def serial(name: str) -> dict[str, str]:
    """Run tags that keep two runs of one job from overlapping (dagster.yaml run_queue)."""
    return {"polyboard/serial": name, **WAREHOUSE_WRITER}


fetch_traders_job = dg.define_asset_job(
    "fetch_traders_job",
    selection=POLYMARKET - POSITIONS,
    description="Trades, activity and reference entities from the subgraphs into raw tables.",
    tags={**serial("fetch_traders_job"), "dagster/max_runtime": "3600"},
)

sync_positions_job = dg.define_asset_job(
    "sync_positions_job",
    selection=POSITIONS,
    description="The pnl subgraph's positions of the followed wallets.",
    tags=serial("sync_positions_job"),
)

refresh_reference_job = dg.define_asset_job(
    "refresh_reference_job",
    selection=REFERENCE,
    description="Tokens and conditions, rescanned in full when configured so.",
    tags=serial("refresh_reference_job"),
)
