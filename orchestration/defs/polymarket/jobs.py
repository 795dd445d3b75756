"""Extraction jobs (the seed's Celery tasks, as Dagster jobs)."""

import dagster as dg

from orchestration.lib.entities import CONDITIONS, MARKET_DATA, USER_POSITIONS

POLYMARKET = dg.AssetSelection.groups("polymarket")
# The chain's raw assets exist only when POLYGON_RPC_URL is set (defs/chain/definitions.py).
CHAIN = dg.AssetSelection.groups("chain")
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


# Each extraction job also builds what follows from its raw assets (`.downstream()`: the dbt
# models and the API publication) in the same run. The marts would follow anyway through their
# eager automation conditions, but that costs a second run (and a third for the publication),
# each waiting for an automation tick and paying a run worker's start: on a small machine that
# is most of the path from a new fill to the API (P6). A run that builds what follows its own
# extraction leaves the automation nothing to do, as every asset ends newer than its parents;
# the automation still catches what a manual materialization or a backfill lands.
# Positions hang off the fills (the top traders): their own job syncs them and their view.
# Market metadata follows the conditions too, but on its own schedule (defs/gamma): a Gamma
# that rejects requests must not hold back the money marts of a fetch.
GAMMA = dg.AssetSelection.groups("gamma")
FETCHED = ((POLYMARKET | CHAIN) - POSITIONS).downstream() - POSITIONS.downstream() - GAMMA
# The models the fetched ones read that hang off sources this job does not extract (the
# chain's tables where the chain source is off, the market metadata): a first fetch into a new
# warehouse must create them too. Over empty or unchanged sources they cost next to nothing.
MODELS_READ = FETCHED.upstream() & dg.AssetSelection.groups("staging", "intermediate", "marts")

fetch_traders_job = dg.define_asset_job(
    "fetch_traders_job",
    selection=FETCHED | MODELS_READ,
    description=(
        "Trades, activity and reference entities from the subgraphs into raw tables, "
        "then the dbt models and the API publication that follow from them."
    ),
    tags={**serial("fetch_traders_job"), "dagster/max_runtime": "3600"},
)

sync_positions_job = dg.define_asset_job(
    "sync_positions_job",
    selection=POSITIONS.downstream(),
    description="The pnl subgraph's positions of the followed wallets, and their staging view.",
    tags=serial("sync_positions_job"),
)

refresh_reference_job = dg.define_asset_job(
    "refresh_reference_job",
    selection=REFERENCE.downstream(),
    description="Tokens and conditions, rescanned in full when configured so, then the marts.",
    tags=serial("refresh_reference_job"),
)
