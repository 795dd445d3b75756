"""Source checks: each subgraph must be indexing cleanly and be fresh (DESIGN R7)."""

import time

import dagster as dg

from orchestration.defs.resources import PipelineSettings, SubgraphsResource
from orchestration.lib.entities import CONDITIONS, ORDER_FILLED_EVENTS, SPLITS
from orchestration.lib.subgraph import SubgraphError


def source_verdict(
    subgraphs: SubgraphsResource, subgraph: str, max_lag_seconds: int, now: float | None = None
) -> dg.AssetCheckResult:
    """Pass when `_meta` answers, reports no indexing errors and lags at most the threshold."""
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
            "deployment": meta.deployment,
        },
    )


def _source_check(subgraph: str, asset_key: list[str]) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=dg.AssetKey(asset_key),
        name=f"{subgraph}_source_fresh",
        description=f"The {subgraph} subgraph indexes without errors and lags at most "
        "SOURCE_MAX_LAG_SECONDS behind the wall clock.",
        blocking=False,
    )
    def _check(subgraphs: SubgraphsResource, settings: PipelineSettings) -> dg.AssetCheckResult:
        return source_verdict(subgraphs, subgraph, settings.source_max_lag_seconds)

    return _check


orderbook_source_fresh = _source_check("orderbook", ORDER_FILLED_EVENTS.asset_key)
pnl_source_fresh = _source_check("pnl", CONDITIONS.asset_key)
activity_source_fresh = _source_check("activity", SPLITS.asset_key)
