"""Source checks: each subgraph must be indexing cleanly, be fresh (DESIGN R7) and not have
gone back behind what the warehouse already holds."""

import time

import dagster as dg

from orchestration.defs.resources import PipelineSettings, SubgraphsResource, WarehouseResource
from orchestration.lib.entities import CONDITIONS, ENTITIES, ORDER_FILLED_EVENTS, SPLITS
from orchestration.lib.subgraph import SubgraphError
from orchestration.lib.warehouse import Warehouse


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
) -> dg.AssetCheckResult:
    """Pass when `_meta` answers, reports no indexing errors, lags at most the threshold and
    serves a block at or after `loaded`, the newest one the warehouse already holds."""
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
    if lag > max_lag_seconds:
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
        description="; ".join(problems) or f"{client.name} is {lag} s behind, indexing cleanly",
        metadata={
            "source": client.name,
            "url": client.url,
            "block": meta.block_number,
            "block_timestamp": meta.block_timestamp,
            "lag_seconds": lag,
            "max_lag_seconds": max_lag_seconds,
            "has_indexing_errors": meta.has_indexing_errors,
            "loaded_block": loaded,
            "deployment": meta.deployment,
        },
    )


def _source_check(subgraph: str, asset_key: list[str]) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(asset_key),
        name=f"{subgraph}_source_fresh",
        description=f"The {subgraph} subgraph indexes without errors, lags at most "
        "SOURCE_MAX_LAG_SECONDS behind the wall clock and serves no older block than the one "
        "already loaded.",
        blocking=False,
    )
    def _check(
        subgraphs: SubgraphsResource, settings: PipelineSettings, warehouse: WarehouseResource
    ) -> dg.AssetCheckResult:
        with warehouse.connect() as wh:
            loaded = loaded_block(wh, subgraph)
        return source_verdict(subgraphs, subgraph, settings.source_max_lag_seconds, loaded=loaded)

    return _check


orderbook_source_fresh = _source_check("orderbook", ORDER_FILLED_EVENTS.asset_key)
pnl_source_fresh = _source_check("pnl", CONDITIONS.asset_key)
activity_source_fresh = _source_check("activity", SPLITS.asset_key)
