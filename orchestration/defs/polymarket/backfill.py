"""Day-partitioned backfills of the event tables, launched from the UI for any range of days.

A partition reads one UTC day of every event entity at the sources' newest block. It keeps
its own cursor, so a failed partition resumes, and it never moves the incremental watermark:
backfills and the scheduled incremental runs can overlap safely because loads are idempotent.
"""

import dagster as dg

from orchestration.defs.polymarket.assets import fail_at_once_on_rejection
from orchestration.defs.polymarket.jobs import WAREHOUSE_WRITER
from orchestration.defs.resources import SubgraphsResource, WarehouseResource
from orchestration.lib import extract
from orchestration.lib.entities import MERGES, ORDER_FILLED_EVENTS, REDEMPTIONS, SPLITS

EVENT_ENTITIES = (ORDER_FILLED_EVENTS, SPLITS, MERGES, REDEMPTIONS)
# Polymarket's CLOB exchange went live in late 2022: no fills exist before this day.
days = dg.DailyPartitionsDefinition(start_date="2022-11-01", timezone="UTC")


class BackfillConfig(dg.Config):
    workers: int = 4
    """Pages in flight at once, over disjoint time ranges."""


@dg.op(
    out=dg.Out(dg.Nothing), retry_policy=dg.RetryPolicy(max_retries=3, delay=15), pool="warehouse"
)
def backfill_event_day(
    context: dg.OpExecutionContext,
    config: BackfillConfig,
    warehouse: WarehouseResource,
    subgraphs: SubgraphsResource,
):
    """Extract one day of fills, splits, merges and redemptions."""
    window = context.partition_time_window
    start, end = int(window.start.timestamp()), int(window.end.timestamp())
    with fail_at_once_on_rejection(), warehouse.connect() as wh:
        for entity in EVENT_ENTITIES:
            result = extract.extract_events(
                subgraphs.client(entity.subgraph),
                wh,
                entity,
                start=start,
                end=end,
                workers=config.workers,
                progress=context.log.info,
                warn=context.log.warning,
            )
            context.log_event(
                dg.AssetMaterialization(
                    asset_key=entity.asset_key,
                    partition=None,
                    description=f"backfill of {context.partition_key}",
                    metadata={**result.metadata(), "backfill_day": context.partition_key},
                )
            )


@dg.job(partitions_def=days, tags={"polyboard/kind": "backfill", **WAREHOUSE_WRITER})
def backfill_events_job():
    """Backfill the raw event tables one UTC day per partition."""
    backfill_event_day()
