"""The chain source's freshness check (DESIGN R7): its head must keep up with the wall clock,
and must not be behind the block already loaded."""

import time

import dagster as dg

from orchestration.defs.resources import ChainResource, PipelineSettings, WarehouseResource
from orchestration.lib.chain import ChainRpcError
from orchestration.lib.chain_extract import CURSOR
from orchestration.lib.chain_tables import CHAIN_ORDER_FILLED


def chain_verdict(
    chain: ChainResource, max_lag_seconds: int, loaded: int | None, now: float | None = None
) -> dg.AssetCheckResult:
    """Pass when the RPC answers, its head block is at most `max_lag_seconds` old and not
    behind `loaded`. The endpoint is named without its key (`ChainClient.endpoint`)."""
    with chain.client(timeout=10.0, max_attempts=2) as client:
        try:
            head = client.block_number()
            head_time = client.get_blocks([head])[head].timestamp
        except ChainRpcError as exc:
            return dg.AssetCheckResult(
                passed=False,
                description=f"Polygon RPC {client.endpoint} did not answer: {exc}",
                metadata={"rpc": client.endpoint},
            )
    lag = int((now if now is not None else time.time()) - head_time)
    problems = []
    if lag > max_lag_seconds:
        problems.append(
            f"Polygon RPC {client.endpoint} lags {lag} s behind the wall clock "
            f"(max {max_lag_seconds} s)"
        )
    if loaded is not None and head < loaded:
        problems.append(
            f"Polygon RPC {client.endpoint} went back to block {head}, "
            f"{loaded - head} blocks behind block {loaded} already loaded"
        )
    return dg.AssetCheckResult(
        passed=not problems,
        description="; ".join(problems) or f"Polygon RPC {client.endpoint} is {lag} s behind",
        metadata={
            "rpc": client.endpoint,
            "head": head,
            "head_time": head_time,
            "lag_seconds": lag,
            "max_lag_seconds": max_lag_seconds,
            "loaded_block": loaded if loaded is not None else -1,
            "lag_blocks": head - loaded if loaded is not None else -1,
        },
    )


def build_chain_checks() -> list[dg.AssetChecksDefinition]:
    @dg.asset_check(
        asset=dg.AssetKey(CHAIN_ORDER_FILLED.asset_key),
        name="chain_source_fresh",
        description="The Polygon RPC's head block is at most SOURCE_MAX_LAG_SECONDS old and "
        "not behind the block already loaded.",
        blocking=False,
    )
    def chain_source_fresh(
        chain: ChainResource, settings: PipelineSettings, warehouse: WarehouseResource
    ) -> dg.AssetCheckResult:
        with warehouse.connect() as wh:
            loaded = (wh.get_cursor(CURSOR) or {}).get("block")
        return chain_verdict(chain, settings.source_max_lag_seconds, loaded)

    return [chain_source_fresh]
