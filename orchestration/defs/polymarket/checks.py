"""Source checks: each subgraph must be indexing cleanly, be fresh (DESIGN R7) and not have
gone back behind what the warehouse already holds.

Polymarket's official subgraphs stopped at the V2 migration (2026-04-28). Where the chain
source reads the V2 era (POLYGON_RPC_URL set), a subgraph whose head reached the cutover holds
all of its history and is not stale: its check passes and says so. Without the chain, or for a
subgraph that stopped before the cutover, the lag fails the check as before."""

import time

import dagster as dg

from orchestration.defs.resources import (
    ChainResource,
    PipelineSettings,
    SubgraphsResource,
    WarehouseResource,
)
from orchestration.lib.entities import CONDITIONS, ENTITIES, ORDER_FILLED_EVENTS, SPLITS
from orchestration.lib.subgraph import SubgraphError
from orchestration.lib.warehouse import Warehouse

# 2026-04-28T00:00:00Z: the day Polymarket's V1 exchanges stopped and V2 took over.
V2_CUTOVER = 1_777_334_400


def loaded_block(warehouse: Warehouse, subgraph: str) -> int:
    """The newest block the warehouse has loaded any entity of `subgraph` from (0: none)."""
    cursors = (warehouse.get_cursor(e.table) or {} for e in ENTITIES if e.subgraph == subgraph)
    return max((int(c.get("block") or 0) for c in cursors), default=0)


def source_verdict(
    subgraphs: SubgraphsResource,
    subgraph: str,
    max_lag_seconds: int,
    now: float | None = None,
    loaded: int = 0,
    chain_covers_v2: bool = False,
) -> dg.AssetCheckResult:
    """Pass when `_meta` answers, reports no indexing errors, lags at most the threshold (or,
    with `chain_covers_v2`, reached the V2 cutover) and serves a block at or after `loaded`,
    the newest one the warehouse already holds."""
    client = subgraphs.client(subgraph)
    try:
        meta = client.meta()
    except SubgraphError as exc:
        return dg.AssetCheckResult(
            passed=False,
            description=f"{client.name} did not answer `_meta`: {exc}",
            metadata={"source": client.name, "url": client.url},
        )
    lag = int((now if now is not None else time.time()) - meta.block_timestamp)
    problems = []
    if meta.has_indexing_errors:
        problems.append(f"{client.name} reports indexing errors")
    complete = chain_covers_v2 and meta.block_timestamp >= V2_CUTOVER
    if lag > max_lag_seconds and not complete:
        problems.append(
            f"{client.name} lags {lag} s behind the wall clock (max {max_lag_seconds} s)"
        )
    if meta.block_number < loaded:
        problems.append(
            f"{client.name} went back to block {meta.block_number}, "
            f"{loaded - meta.block_number} blocks behind block {loaded} already loaded"
        )
    return dg.AssetCheckResult(
        passed=not problems,
        description="; ".join(problems)
        or (
            f"{client.name} holds the V1 era to the 2026-04-28 cutover (head {lag} s old); "
            "the V2 era is read from the chain"
            if complete and lag > max_lag_seconds
            else f"{client.name} is {lag} s behind, indexing cleanly"
        ),
        metadata={
            "source": client.name,
            "url": client.url,
            "block": meta.block_number,
            "block_timestamp": meta.block_timestamp,
            "lag_seconds": lag,
            "max_lag_seconds": max_lag_seconds,
            "has_indexing_errors": meta.has_indexing_errors,
            "loaded_block": loaded,
            "v1_era_complete": complete,
            "deployment": meta.deployment,
        },
    )


def _source_check(subgraph: str, asset_key: list[str]) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(asset_key),
        name=f"{subgraph}_source_fresh",
        description=f"The {subgraph} subgraph indexes without errors, lags at most "
        "SOURCE_MAX_LAG_SECONDS behind the wall clock (or, with the chain source on, reached the "
        "V2 cutover) and serves no older block than the one already loaded.",
        blocking=False,
    )
    def _check(
        subgraphs: SubgraphsResource,
        settings: PipelineSettings,
        warehouse: WarehouseResource,
        chain: ChainResource,
    ) -> dg.AssetCheckResult:
        with warehouse.connect() as wh:
            loaded = loaded_block(wh, subgraph)
        return source_verdict(
            subgraphs,
            subgraph,
            settings.source_max_lag_seconds,
            loaded=loaded,
            chain_covers_v2=bool(chain.rpc_url),
        )

    return _check


orderbook_source_fresh = _source_check("orderbook", ORDER_FILLED_EVENTS.asset_key)
pnl_source_fresh = _source_check("pnl", CONDITIONS.asset_key)
activity_source_fresh = _source_check("activity", SPLITS.asset_key)
