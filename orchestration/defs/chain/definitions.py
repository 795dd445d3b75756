"""The chain source joins the code location only when POLYGON_RPC_URL is set; without it the
location (and every job) is exactly the subgraph-only one."""

import os

import dagster as dg

from orchestration.defs.chain.assets import build_chain_assets
from orchestration.defs.chain.checks import build_chain_checks
from orchestration.defs.chain.sensors import build_chain_sensor


@dg.definitions
def chain() -> dg.Definitions:
    if not os.environ.get("POLYGON_RPC_URL"):
        return dg.Definitions()
    return dg.Definitions(
        assets=[build_chain_assets()],
        asset_checks=build_chain_checks(),
        sensors=[build_chain_sensor()],
    )
