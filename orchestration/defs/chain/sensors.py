"""`chain_head_sensor`: requests fetch_traders_job when the confirmed chain head moves, as
`source_head_sensor` does for the subgraphs' `_meta`."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.polymarket.schedules import busy
from orchestration.defs.polymarket.sensors import FETCH_JOB, SOURCE_HEAD_INTERVAL_SECONDS
from orchestration.defs.resources import ChainResource
from orchestration.lib.chain import ChainRpcError


def build_chain_sensor() -> dg.SensorDefinition:
    @dg.sensor(
        name="chain_head_sensor",
        job_name=FETCH_JOB,
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=SOURCE_HEAD_INTERVAL_SECONDS,
        description=(
            "Requests fetch_traders_job when the Polygon head less CHAIN_CONFIRMATIONS has "
            "moved past the last block requested (checked every 15 s)."
        ),
    )
    def chain_head_sensor(context: dg.SensorEvaluationContext, chain: ChainResource):
        previous = int(context.cursor) if context.cursor and context.cursor.isdigit() else -1
        if busy(context.instance, FETCH_JOB):
            return dg.SkipReason(f"a {FETCH_JOB} run is in flight")
        # A tick has a time limit: a short timeout, one retry; a failing RPC is reported by
        # its freshness check.
        with chain.client(timeout=10.0, max_attempts=2) as client:
            try:
                confirmed = client.block_number() - chain.confirmations
            except ChainRpcError as exc:
                return dg.SkipReason(f"the chain head could not be read ({exc})")
        if confirmed <= previous:
            return dg.SkipReason(f"no new confirmed block since {previous}")
        context.update_cursor(str(confirmed))
        return dg.RunRequest(
            tags={"polyboard/trigger": "chain_head", "polyboard/heads": f"chain {confirmed}"}
        )

    return chain_head_sensor
