"""Publication of the marts to the read API, only after a dbt build whose data tests passed.

In a run that builds the marts, Dagster runs this asset after the dbt step, and only when that
step succeeded: `dbt build` wrote the models and every data test it ran passed (a failing test
fails the step, see assets.py). Launched on its own (from the UI, or by its automation
condition after a build in another run), the asset checks the same of the builds it would
publish, from the instance's event log: the newest materialization of every mart must come
from a dbt step that succeeded. Otherwise it fails, and the API keeps the previous publication.
"""

import dagster as dg

from orchestration.defs.resources import PublicationSettings, WarehouseResource
from orchestration.lib.publish import publish_snapshot

MARTS = [
    "traders_v2",
    "trader_stats",
    "trader_markets",
    "trader_categories",
    "leaderboard",
    "data_watermark",
]
MART_KEYS = [dg.AssetKey(["marts", m]) for m in MARTS]


def unchecked_marts(instance: dg.DagsterInstance) -> list[str]:
    """Why the marts as they stand may not be published: one reason per mart, or none."""
    reasons = []
    succeeded: dict[str, set[str]] = {}  # run id -> the steps that succeeded in it
    for key in MART_KEYS:
        event = instance.get_latest_materialization_event(key)
        if event is None:
            reasons.append(f"{key.to_user_string()} was never built")
            continue
        if event.run_id not in succeeded:
            succeeded[event.run_id] = {
                e.step_key
                for e in instance.all_logs(event.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)
            }
        if event.step_key not in succeeded[event.run_id]:
            reasons.append(
                f"{key.to_user_string()} was last built by run {event.run_id}, "
                "whose dbt build failed (see its asset checks and logs)"
            )
    return reasons


@dg.asset(
    key=["api", "marts_publication"],
    group_name="api",
    kinds={"parquet", "postgres"},
    deps=MART_KEYS,
    automation_condition=dg.AutomationCondition.eager(),
    pool="warehouse",
)
def marts_publication(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    publication: PublicationSettings,
) -> dg.MaterializeResult:
    """The tested marts the API serves: a Parquet snapshot (DuckDB) or a schema (PostgreSQL)."""
    reasons = unchecked_marts(context.instance)
    if reasons:
        raise dg.Failure(
            description="not published, the API keeps the previous publication: "
            + "; ".join(reasons),
            allow_retries=False,
        )
    with warehouse.connect() as wh:
        version = publish_snapshot(wh, publication.snapshot_dir)
    context.log.info(f"published marts version {version}")
    return dg.MaterializeResult(metadata={"version": version, "warehouse": wh.kind})
