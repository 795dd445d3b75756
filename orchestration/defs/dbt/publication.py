"""Publication of the marts to the read API, after every build of the marts."""

import dagster as dg

from orchestration.defs.resources import PublicationSettings, WarehouseResource
from orchestration.lib.publish import publish_snapshot

MARTS = ["traders_v2", "trader_stats", "trader_markets", "leaderboard", "data_watermark"]


@dg.asset(
    key=["api", "marts_publication"],
    group_name="api",
    kinds={"parquet"},
    deps=[dg.AssetKey(["marts", m]) for m in MARTS],
    automation_condition=dg.AutomationCondition.eager(),
    pool="warehouse",
)
def marts_publication(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    publication: PublicationSettings,
) -> dg.MaterializeResult:
    """The version of the marts the API serves (and, on DuckDB, their Parquet snapshot)."""
    with warehouse.connect() as wh:
        version = publish_snapshot(wh, publication.snapshot_dir)
    context.log.info(f"published marts version {version}")
    return dg.MaterializeResult(metadata={"version": version, "warehouse": wh.kind})
